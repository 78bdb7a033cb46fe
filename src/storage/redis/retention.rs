//! The Redis store's retention purge: owners due in the `retention` index lose what is past
//! the cutoff, each item only if still as read (see `keys.rs`, "Retention").

use chrono::{DateTime, Utc};

use super::commit::day_of;
use super::{record, RedisStore};
use crate::domain::vehicle::VehiclePass;
use crate::domain::visitor::VisitorPass;
use crate::domain::{ResidentId, VenueId};
use crate::storage::{PurgeReport, StoreError};

/// A Redis value read as bytes.
type Bytes = Vec<u8>;

/// How many owners one purge step takes from the retention index.
const PURGE_BATCH: usize = 256;

impl RedisStore {
    /// The retention purge (see [`crate::storage::Store::purge`]): every owner due in `retention`, then
    /// old alerts and audit records.
    pub(super) async fn purge_due(
        &self,
        visits_before: DateTime<Utc>,
        audit_before: DateTime<Utc>,
    ) -> Result<PurgeReport, StoreError> {
        let cut = visits_before.timestamp_millis();
        let mut report = PurgeReport::default();
        let mut seen = std::collections::HashSet::new();
        loop {
            let due: Vec<(String, String)> = redis::cmd("ZRANGEBYSCORE")
                .arg(self.keys.retention())
                .arg("-inf")
                .arg(format!("({cut}"))
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(PURGE_BATCH)
                .query_async(&mut self.conn())
                .await?;
            let fresh: Vec<(String, String)> = due
                .into_iter()
                .filter(|(owner, _)| seen.insert(owner.clone()))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for (owner, score) in fresh {
                let (done, oldest) = self.purge_owner(&owner, visits_before).await?;
                // A venue holds copies of persons' visits: count each visit once.
                if owner.starts_with("p:") {
                    report.visits += done.visits;
                    report.events += done.events;
                }
                let new_score = oldest.map_or_else(|| "+inf".to_owned(), |ms| ms.to_string());
                let _: i64 = self
                    .scripts
                    .rescore
                    .key(self.keys.retention())
                    .arg(&owner)
                    .arg(&score)
                    .arg(new_score)
                    .invoke_async(&mut self.conn())
                    .await?;
            }
        }
        let old_alerts: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.keys.alerts())
            .arg("-inf")
            .arg(format!("({cut}"))
            .query_async(&mut self.conn())
            .await?;
        self.forget_deliveries(&old_alerts).await?;
        let _: i64 = redis::cmd("ZREMRANGEBYSCORE")
            .arg(self.keys.alerts())
            .arg("-inf")
            .arg(format!("({cut}"))
            .query_async(&mut self.conn())
            .await?;
        report.vehicle_passes = self.purge_vehicle_passes(cut).await?;
        self.purge_visitor_passes(cut).await?;
        report.audit = redis::cmd("ZREMRANGEBYSCORE")
            .arg(self.keys.audit())
            .arg("-inf")
            .arg(format!("({}", audit_before.timestamp_millis()))
            .query_async(&mut self.conn())
            .await?;
        Ok(report)
    }

    /// Up to [`PURGE_BATCH`] members of the time index `index` scored before `cut` (ms).
    async fn due_batch(&self, index: &str, cut: i64) -> Result<Vec<String>, StoreError> {
        Ok(redis::cmd("ZRANGEBYSCORE")
            .arg(index)
            .arg("-inf")
            .arg(format!("({cut}"))
            .arg("LIMIT")
            .arg(0)
            .arg(PURGE_BATCH)
            .query_async(&mut self.conn())
            .await?)
    }

    /// Removes the vehicle passes recorded before `cut` (ms) from the pass hash and its three
    /// indexes, one `MULTI` per batch. Returns how many records were removed.
    async fn purge_vehicle_passes(&self, cut: i64) -> Result<u64, StoreError> {
        let mut removed = 0;
        loop {
            let ids = self.due_batch(&self.keys.vehicle_passes(), cut).await?;
            if ids.is_empty() {
                return Ok(removed);
            }
            let raws: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(self.keys.vehicle_pass())
                .arg(&ids)
                .query_async(&mut self.conn())
                .await?;
            let mut pipe = redis::pipe();
            pipe.atomic();
            for (id, raw) in ids.iter().zip(raws) {
                // The indexes of a pass that cannot be read are left; its id leaves the time
                // index so the purge does not meet it again.
                if let Some(p) = raw.and_then(|r| serde_json::from_str::<VehiclePass>(&r).ok()) {
                    pipe.cmd("ZREM")
                        .arg(self.keys.venue_vehicle_passes(&p.venue_id))
                        .arg(id)
                        .ignore()
                        .cmd("ZREM")
                        .arg(self.keys.plate_vehicle_passes(&p.plate))
                        .arg(id)
                        .ignore();
                }
                pipe.cmd("ZREM")
                    .arg(self.keys.vehicle_passes())
                    .arg(id)
                    .ignore();
            }
            let (gone,): (u64,) = pipe
                .cmd("HDEL")
                .arg(self.keys.vehicle_pass())
                .arg(&ids)
                .query_async(&mut self.conn())
                .await?;
            removed += gone;
        }
    }

    /// Removes the visitor passes whose validity ended before `cut` (ms): the record, its
    /// phone's list entry and its index entry, one `MULTI` per batch.
    async fn purge_visitor_passes(&self, cut: i64) -> Result<(), StoreError> {
        loop {
            let ids = self.due_batch(&self.keys.visitor_pass_ends(), cut).await?;
            if ids.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            pipe.atomic();
            for id in &ids {
                let raw: Option<String> = redis::cmd("GET")
                    .arg(self.keys.visitor_pass(id))
                    .query_async(&mut self.conn())
                    .await?;
                if let Some(p) = raw.and_then(|r| serde_json::from_str::<VisitorPass>(&r).ok()) {
                    pipe.cmd("SREM")
                        .arg(self.keys.visitor_passes(&p.phone))
                        .arg(id)
                        .ignore();
                }
                pipe.cmd("DEL")
                    .arg(self.keys.visitor_pass(id))
                    .ignore()
                    .cmd("ZREM")
                    .arg(self.keys.visitor_pass_ends())
                    .arg(id)
                    .ignore();
            }
            let () = pipe.query_async(&mut self.conn()).await?;
        }
    }

    /// Removes one owner's (`p:RID` or `v:VID`) visits and events past `cutoff`. Returns the
    /// counts and the owner's new retention score (`None`: it holds nothing).
    async fn purge_owner(
        &self,
        owner: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<(PurgeReport, Option<i64>), StoreError> {
        match owner.split_once(':') {
            Some(("p", id)) => {
                let rid = ResidentId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                self.purge_person(&rid, cutoff.timestamp_millis()).await
            }
            Some(("v", id)) => {
                let vid = VenueId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let oldest = self.purge_venue(&vid, cutoff.timestamp_millis()).await?;
                Ok((PurgeReport::default(), oldest))
            }
            _ => Err(StoreError::Corrupt(format!(
                "retention index holds {owner:?}"
            ))),
        }
    }

    /// A person's closed visits, open visit and events past `cut` (ms).
    async fn purge_person(
        &self,
        rid: &ResidentId,
        cut: i64,
    ) -> Result<(PurgeReport, Option<i64>), StoreError> {
        let k = &self.keys;
        let (filed, open, events): (Option<Bytes>, Option<Bytes>, Vec<Bytes>) = redis::pipe()
            .cmd("GET")
            .arg(k.person_visits(rid))
            .cmd("HGET")
            .arg(k.person_state(rid))
            .arg("open")
            .cmd("LRANGE")
            .arg(k.person_events(rid))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn())
            .await?;
        let filed = filed.unwrap_or_default();
        let side = record::Side::Person(rid);
        let sorted = Sorted::of(&filed, side, cut)?;
        let mut oldest = sorted.oldest_kept;
        let open = open.filter(|bytes| !bytes.is_empty());
        let mut end_open: &[u8] = &[];
        if let Some(bytes) = &open {
            let end = record::unframe(bytes, side)?
                .latest_end()
                .timestamp_millis();
            if end < cut {
                end_open = bytes;
            } else {
                keep(&mut oldest, end);
            }
        }
        let mut old_events = Vec::new();
        for raw in events {
            match super::event_record::decode(&raw) {
                Ok(e) if e.scan_time.timestamp_millis() < cut => old_events.push(raw),
                Ok(e) => keep(&mut oldest, e.scan_time.timestamp_millis()),
                // An event that cannot be read is left for readers to report, not dropped.
                Err(_) => {}
            }
        }
        let (rewritten, ended, events): (u64, u64, u64) = self
            .scripts
            .purge_person
            .key(k.person_visits(rid))
            .key(k.person_state(rid))
            .key(k.person_events(rid))
            .arg(&filed)
            .arg(&sorted.kept)
            .arg(end_open)
            .arg(&old_events)
            .invoke_async(&mut self.conn())
            .await?;
        if rewritten == 0 {
            // Written meanwhile (or nothing to drop): what was past the cutoff is still there.
            if let Some(end) = sorted.oldest_dropped {
                keep(&mut oldest, end);
            }
        }
        let report = PurgeReport {
            visits: rewritten * sorted.dropped + ended,
            events,
            ..PurgeReport::default()
        };
        Ok((report, oldest))
    }

    /// A venue's closed visits (by day), presence entries, and events past `cut` (ms).
    /// Returns its new retention score.
    async fn purge_venue(&self, vid: &VenueId, cut: i64) -> Result<Option<i64>, StoreError> {
        let k = &self.keys;
        let mut oldest = None;
        // Visits that began after the cutoff's day end after the cutoff: only earlier days.
        let side = record::Side::Venue(vid);
        self.purge_day_strings(
            &k.venue_days(vid),
            |day| k.venue_day(vid, day),
            |filed| Sorted::of(filed, side, cut),
            cut,
            &mut oldest,
        )
        .await?;
        let present: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
            .arg(k.venue_open(vid))
            .query_async(&mut self.conn())
            .await?;
        for (rid, bytes) in present {
            let end = record::unframe(&bytes, record::Side::Venue(vid))?
                .latest_end()
                .timestamp_millis();
            if end < cut {
                let _: i64 = self
                    .scripts
                    .hdel_if
                    .key(k.venue_open(vid))
                    .arg(&rid)
                    .arg(&bytes)
                    .invoke_async(&mut self.conn())
                    .await?;
            } else {
                keep(&mut oldest, end);
            }
        }
        // The venue's newest events, then its events by time.
        let recent: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(k.venue_recent(vid))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn())
            .await?;
        for raw in recent {
            if let Ok(e) = super::event_record::decode(&raw) {
                if e.scan_time.timestamp_millis() < cut {
                    let _: i64 = redis::cmd("LREM")
                        .arg(k.venue_recent(vid))
                        .arg(1)
                        .arg(&raw)
                        .query_async(&mut self.conn())
                        .await?;
                }
            }
        }
        self.purge_day_strings(
            &k.venue_event_days(vid),
            |day| k.venue_event_day(vid, day),
            |filed| Sorted::of_events(filed, cut),
            cut,
            &mut oldest,
        )
        .await?;
        // Events as earlier builds kept them: a sorted set by time.
        let by_time = k.venue_events(vid);
        let (_, first): (i64, Vec<(Bytes, f64)>) = redis::pipe()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&by_time)
            .arg("-inf")
            .arg(format!("({cut}"))
            .cmd("ZRANGE")
            .arg(&by_time)
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .query_async(&mut self.conn())
            .await?;
        if let Some((_, at)) = first.first() {
            #[allow(clippy::cast_possible_truncation)]
            keep(&mut oldest, *at as i64);
        }
        Ok(oldest)
    }
}

impl RedisStore {
    /// A venue's day strings of one kind (visits or events), listed in `index`: each day up to
    /// the cutoff's is rewritten with what `sort` keeps of it (a day left empty goes, with its
    /// entry in `index`), each only if still as read. Lowers `oldest` to the earliest time of
    /// what is kept, and of what should have gone but was written meanwhile.
    async fn purge_day_strings(
        &self,
        index: &str,
        key_of: impl Fn(i64) -> String,
        sort: impl Fn(&[u8]) -> Result<Sorted, StoreError>,
        cut: i64,
        oldest: &mut Option<i64>,
    ) -> Result<(), StoreError> {
        let days: Vec<i64> = redis::cmd("ZRANGEBYSCORE")
            .arg(index)
            .arg("-inf")
            .arg(day_of(cut))
            .query_async(&mut self.conn())
            .await?;
        for day in days {
            let key = key_of(day);
            let filed: Option<Bytes> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut self.conn())
                .await?;
            let filed = filed.unwrap_or_default();
            let sorted = sort(&filed)?;
            if let Some(at) = sorted.oldest_kept {
                keep(oldest, at);
            }
            let rewritten: i64 = if sorted.dropped > 0 || filed.is_empty() {
                self.scripts
                    .purge_day
                    .key(&key)
                    .key(index)
                    .arg(&filed)
                    .arg(&sorted.kept)
                    .arg(day)
                    .invoke_async(&mut self.conn())
                    .await?
            } else {
                0
            };
            if rewritten == 0 {
                // Written meanwhile: what was past the cutoff is still there.
                if let Some(at) = sorted.oldest_dropped {
                    keep(oldest, at);
                }
            }
        }
        if let Some(day) = self.first_day_after(index, cut).await? {
            keep(oldest, day * 86_400_000);
        }
        Ok(())
    }

    /// The first day in a venue's index of days (`days` or `edays`) after the day of `cut` (ms).
    async fn first_day_after(&self, index: &str, cut: i64) -> Result<Option<i64>, StoreError> {
        let later: Vec<(String, f64)> = redis::cmd("ZRANGEBYSCORE")
            .arg(index)
            .arg(format!("({}", day_of(cut)))
            .arg("+inf")
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(1)
            .query_async(&mut self.conn())
            .await?;
        #[allow(clippy::cast_possible_truncation)]
        Ok(later.first().map(|(_, day)| *day as i64))
    }
}

/// Lowers `oldest` to `at`.
fn keep(oldest: &mut Option<i64>, at: i64) {
    *oldest = Some(oldest.map_or(at, |o| o.min(at)));
}

/// A string of visit records sorted by a cutoff: the latest record of each visit id is kept
/// when its latest end is at or after the cutoff, and every record of the id goes otherwise.
/// Scan events are sorted the same way by their scan time ([`Sorted::of_events`]).
struct Sorted {
    /// The kept records, framed again, one per visit id.
    kept: Vec<u8>,
    /// How many visits go.
    dropped: u64,
    /// The earliest latest end (ms) among the kept visits.
    oldest_kept: Option<i64>,
    /// The earliest latest end (ms) among the visits that go.
    oldest_dropped: Option<i64>,
}

impl Sorted {
    fn empty() -> Self {
        Self {
            kept: Vec::new(),
            dropped: 0,
            oldest_kept: None,
            oldest_dropped: None,
        }
    }

    /// A string of framed scan events sorted by the cutoff: an event goes when its scan time
    /// is before it.
    fn of_events(filed: &[u8], cut: i64) -> Result<Self, StoreError> {
        let mut sorted = Self::empty();
        for body in record::frames(filed)? {
            let at = super::event_record::decode(body)?
                .scan_time
                .timestamp_millis();
            if at < cut {
                sorted.dropped += 1;
                keep(&mut sorted.oldest_dropped, at);
            } else {
                sorted.kept.extend(record::framed(body));
                keep(&mut sorted.oldest_kept, at);
            }
        }
        Ok(sorted)
    }

    fn of(filed: &[u8], side: record::Side<'_>, cut: i64) -> Result<Self, StoreError> {
        let mut sorted = Self::empty();
        for v in record::latest(record::unframe_all(filed, side)?, []) {
            let end = v.latest_end().timestamp_millis();
            if end < cut {
                sorted.dropped += 1;
                keep(&mut sorted.oldest_dropped, end);
            } else {
                sorted.kept.extend(record::frame(&v, side)?);
                keep(&mut sorted.oldest_kept, end);
            }
        }
        Ok(sorted)
    }
}
