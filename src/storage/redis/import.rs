//! Bulk import of closed visits ([`Store::import_visits`](crate::storage::Store::import_visits)):
//! each person's records appended to the person's `visits` in one write, each venue's through
//! the venue step of a scan's commit (`venue_write` in `scripts.rs`), and their owners into
//! `retention`; every call stays in one slot, so it works on a cluster too. Readers keep one
//! record per visit id, so an import that stopped half way can simply be run again.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt, TryStreamExt};

use super::commit::{VenueWrite, VisitWrite};
use super::{record, RedisStore};
use crate::domain::{ResidentId, VenueId, Visit};
use crate::storage::StoreError;

/// How many visits one call writes. A call keeps Redis busy for about a millisecond per few
/// hundred visits; other clients wait that long at most.
const CHUNK: usize = 500;
/// How many calls are in flight at once on the shared connection.
const IN_FLIGHT: usize = 32;

/// One call of an import, owning what it writes.
enum Call {
    /// A person's closed visits: their framed records, concatenated.
    Person(ResidentId, Vec<u8>),
    /// A venue's closed visits, written by the venue's step of a scan.
    Venue(VenueWrite),
    Retention(Vec<(i64, String)>),
}

impl RedisStore {
    /// Writes already checked closed visits: per person, per venue and into `retention`, in
    /// chunks of [`CHUNK`], [`IN_FLIGHT`] calls at a time.
    pub(super) async fn import_closed_visits(&self, visits: &[Visit]) -> Result<(), StoreError> {
        let mut people: BTreeMap<&ResidentId, Vec<Vec<u8>>> = BTreeMap::new();
        let mut venues: BTreeMap<&VenueId, Vec<VisitWrite>> = BTreeMap::new();
        let mut owners: BTreeMap<String, i64> = BTreeMap::new();
        for v in visits {
            people
                .entry(&v.resident_id)
                .or_default()
                .push(record::frame(v, record::Side::Person(&v.resident_id))?);
            venues
                .entry(&v.venue_id)
                .or_default()
                .push(VisitWrite::of(v)?);
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
        for (rid, records) in people {
            calls.extend(
                records
                    .chunks(CHUNK)
                    .map(|c| Call::Person(rid.clone(), c.concat())),
            );
        }
        for (vid, mut writes) in venues {
            // Day by day, so that each day is finished (and compacted) once.
            writes.sort_by_key(VisitWrite::day);
            calls.extend(writes.chunks(CHUNK).map(|c| {
                Call::Venue(VenueWrite {
                    venue: vid.clone(),
                    event: None,
                    visits: c.to_vec(),
                })
            }));
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
            Call::Person(rid, records) => {
                let _: i64 = self
                    .scripts
                    .add_records
                    .key(self.keys.person_visits(&rid))
                    .key(self.keys.person_scratch(&rid))
                    .arg(records)
                    .invoke_async(&mut self.conn())
                    .await?;
            }
            Call::Venue(write) => {
                let mut call = self.scripts.venue_step.prepare_invoke();
                // With the keys the script names itself, as a cluster's step passes them.
                for key in write
                    .keys(&self.keys)
                    .into_iter()
                    .chain(write.named_keys(&self.keys))
                {
                    call.key(key);
                }
                // Exact: an import's days come in any order. Not a replay: run the import again
                // and the same records are added again, which readers fold into one.
                call.arg(write.args("x"));
                let finished: Vec<i64> = call.invoke_async(&mut self.conn()).await?;
                self.compact_days(&write.venue, finished).await;
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
