//! Bulk import of closed visits ([`Store::import_visits`](crate::storage::Store::import_visits)):
//! each person's visits in one write to the person's slot, each venue's through the venue step
//! of a scan's commit (`venue_write` in `scripts.rs`), and their owners into `retention`;
//! every call stays in one slot, so it works on a cluster too. Writing a visit again gives the
//! same result, so an import that stopped half way can simply be run again.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt, TryStreamExt};

use super::RedisStore;
use crate::domain::{ResidentId, VenueId, Visit};
use crate::storage::StoreError;

/// How many visits one call writes. A call keeps Redis busy for about a millisecond per few
/// hundred visits; other clients wait that long at most.
const CHUNK: usize = 500;
/// How many calls are in flight at once on the shared connection.
const IN_FLIGHT: usize = 32;

/// A visit as an import writes it: id, start ms, JSON, resident id.
type Item = (String, i64, String, String);

/// One call of an import, owning what it writes.
enum Call {
    Person(ResidentId, Vec<Item>),
    Venue(VenueId, Vec<Item>),
    Retention(Vec<(i64, String)>),
}

impl RedisStore {
    /// Writes already checked closed visits: per person, per venue and into `retention`, in
    /// chunks of [`CHUNK`], [`IN_FLIGHT`] calls at a time.
    pub(super) async fn import_closed_visits(&self, visits: &[Visit]) -> Result<(), StoreError> {
        let mut people: BTreeMap<&ResidentId, Vec<Item>> = BTreeMap::new();
        let mut venues: BTreeMap<&VenueId, Vec<Item>> = BTreeMap::new();
        let mut owners: BTreeMap<String, i64> = BTreeMap::new();
        for v in visits {
            let item = (
                v.id.clone(),
                v.start().timestamp_millis(),
                serde_json::to_string(v)?,
                v.resident_id.as_str().to_owned(),
            );
            people.entry(&v.resident_id).or_default().push(item.clone());
            venues.entry(&v.venue_id).or_default().push(item);
            let ends = v.latest_end().timestamp_millis();
            for owner in [
                format!("p:{}", v.resident_id.as_str()),
                format!("v:{}", v.venue_id.as_str()),
            ] {
                let score = owners.entry(owner).or_insert(ends);
                *score = (*score).min(ends);
            }
        }
        let mut calls = Vec::new();
        for (rid, items) in people {
            calls.extend(
                items
                    .chunks(CHUNK)
                    .map(|c| Call::Person(rid.clone(), c.to_vec())),
            );
        }
        for (vid, items) in venues {
            calls.extend(
                items
                    .chunks(CHUNK)
                    .map(|c| Call::Venue(vid.clone(), c.to_vec())),
            );
        }
        let owners: Vec<(i64, String)> = owners.into_iter().map(|(o, s)| (s, o)).collect();
        calls.extend(owners.chunks(CHUNK).map(|c| Call::Retention(c.to_vec())));
        stream::iter(calls.into_iter().map(|call| self.import_call(call)))
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn import_call(&self, call: Call) -> Result<(), StoreError> {
        match call {
            Call::Person(rid, items) => {
                let mut hset = redis::cmd("HSET");
                let mut zadd = redis::cmd("ZADD");
                hset.arg(self.keys.person_visit(&rid));
                zadd.arg(self.keys.person_visits(&rid));
                for (id, start, json, _) in &items {
                    hset.arg(id).arg(json);
                    zadd.arg(start).arg(id);
                }
                let mut pipe = redis::pipe();
                pipe.add_command(hset).ignore().add_command(zadd).ignore();
                if self.idle_expiry_ms > 0 {
                    for key in [self.keys.person_visit(&rid), self.keys.person_visits(&rid)] {
                        pipe.cmd("PEXPIRE")
                            .arg(key)
                            .arg(self.idle_expiry_ms)
                            .ignore();
                    }
                }
                let () = pipe.query_async(&mut self.conn()).await?;
            }
            Call::Venue(vid, items) => {
                let mut call = self.scripts.venue_step.prepare_invoke();
                for key in self.venue_keys(&vid) {
                    call.key(key);
                }
                // No event; every visit closed (`venue_write`'s arguments).
                call.arg(self.idle_expiry_ms)
                    .arg("")
                    .arg(0)
                    .arg(items.len());
                for (id, start, json, rid) in &items {
                    call.arg(id).arg(start).arg("0").arg(json).arg(rid);
                }
                let _: i64 = call.invoke_async(&mut self.conn()).await?;
            }
            Call::Retention(owners) => {
                let mut zadd = redis::cmd("ZADD");
                zadd.arg(self.keys.retention()).arg("LT");
                for (score, owner) in owners {
                    zadd.arg(score).arg(owner);
                }
                let _: i64 = zadd.query_async(&mut self.conn()).await?;
            }
        }
        Ok(())
    }
}
