//! The Redis store's retention purge: owners due in the `retention` index lose what is past
//! the cutoff, each item only if still as read (see `keys.rs`, "Retention").

use chrono::{DateTime, Utc};

use super::{RedisStore, HMGET_CHUNK};
use crate::domain::vehicle::VehiclePass;
use crate::domain::visitor::VisitorPass;
use crate::domain::{ResidentId, ScanEvent, VenueId, Visit};
use crate::storage::{PurgeReport, StoreError};

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
        let cut = cutoff.timestamp_millis();
        let (kind, keys) = match owner.split_once(':') {
            Some(("p", id)) => {
                let rid = ResidentId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let k = &self.keys;
                let person = [
                    k.person_visit(&rid),
                    k.person_visits(&rid),
                    k.person_state(&rid),
                    k.person_events(&rid),
                ];
                ("p", person)
            }
            Some(("v", id)) => {
                let vid = VenueId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let k = &self.keys;
                (
                    "v",
                    [
                        k.venue_visit(&vid),
                        k.venue_visits(&vid),
                        k.venue_open(&vid),
                        k.venue_recent(&vid),
                    ],
                )
            }
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "retention index holds {owner:?}"
                )))
            }
        };
        // Only visits that began before the cutoff can have ended before it.
        let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(&keys[1])
            .arg("-inf")
            .arg(format!("({cut}"))
            .query_async(&mut self.conn())
            .await?;
        let mut gone: Vec<(String, String, String)> = Vec::new();
        let mut oldest_kept: Option<i64> = None;
        let mut keep = |at: i64| oldest_kept = Some(oldest_kept.map_or(at, |o| o.min(at)));
        for chunk in ids.chunks(HMGET_CHUNK) {
            let raws: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(&keys[0])
                .arg(chunk)
                .query_async(&mut self.conn())
                .await?;
            for (id, raw) in chunk.iter().zip(raws) {
                let Some(json) = raw else { continue };
                // A record that cannot be read is left for readers to report, not dropped.
                let Ok(visit) = serde_json::from_str::<Visit>(&json) else {
                    continue;
                };
                let end = visit.latest_end().timestamp_millis();
                if end < cut {
                    gone.push((id.clone(), json, visit.resident_id.to_string()));
                } else {
                    keep(end);
                }
            }
        }
        // A person's event log, or a venue's newest events.
        let mut old_events: Vec<String> = Vec::new();
        let raws: Vec<String> = redis::cmd("LRANGE")
            .arg(&keys[3])
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn())
            .await?;
        for raw in raws {
            match serde_json::from_str::<ScanEvent>(&raw) {
                Ok(e) if e.scan_time.timestamp_millis() < cut => old_events.push(raw),
                Ok(e) => keep(e.scan_time.timestamp_millis()),
                Err(_) => {}
            }
        }
        let mut call = self.scripts.purge_owner.prepare_invoke();
        for key in &keys {
            call.key(key);
        }
        call.arg(kind).arg(gone.len());
        for (id, json, rid) in &gone {
            call.arg(id).arg(json).arg(rid);
        }
        for e in &old_events {
            call.arg(e);
        }
        let (visits, events): (u64, u64) = call.invoke_async(&mut self.conn()).await?;
        if kind == "v" {
            // The venue's events by time: whatever is older than the cutoff goes.
            if let Some(vid) = owner
                .strip_prefix("v:")
                .and_then(|id| VenueId::parse(id).ok())
            {
                let by_time = self.keys.venue_events(&vid);
                let (_, first): (i64, Vec<(String, f64)>) = redis::pipe()
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
                    keep(*at as i64);
                }
            }
        }
        // Visits that began at or after the cutoff end after it too.
        let later: Vec<(String, f64)> = redis::cmd("ZRANGEBYSCORE")
            .arg(&keys[1])
            .arg(cut)
            .arg("+inf")
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(1)
            .query_async(&mut self.conn())
            .await?;
        if let Some((_, start)) = later.first() {
            #[allow(clippy::cast_possible_truncation)]
            keep(*start as i64);
        }
        let report = PurgeReport {
            visits,
            events,
            ..PurgeReport::default()
        };
        Ok((report, oldest_kept))
    }
}
