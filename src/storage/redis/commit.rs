//! Committing a scan on Redis, on one node or on a cluster, and repairing what a cluster
//! commit left half done.
//!
//! A scan writes the person's keys (`{p:RID}`), the keys of each venue whose visits changed
//! (`{v:VID}`), the retention index and, when it raised alerts, the alerts' keys (`{alerts}`).
//! On one node all of it is one atomic script (`COMMIT_SCAN`). A cluster cannot run a script
//! across slots, so there the commit is a sequence of steps, each atomic in its own slot:
//!
//! 1. the person is marked in `{repair}:pending` (scored by the time);
//! 2. the person's step (`PERSON_STEP`) checks the version and writes the person's state,
//!    event, visits and idempotency record, and keeps the rest of the scan's writes (the
//!    *followups*) in the person's outbox under the new version. **This step is the truth**:
//!    once it is written the scan is committed and the answer is given from it;
//! 3. the followups: each venue's step (`VENUE_STEP`: the venue's copy of the visits, its
//!    presence and events), the retention index (`ZADD LT`) and the alerts (`ALERT_STEP`);
//!    every one can run again, and late, with the same result: each venue keeps, by resident,
//!    the person's version of the last step it applied (`{v}:applied`), and a step of that
//!    version or an older one is skipped (`VENUE_REPLAY_STEP`), so a check-in's venue step
//!    that lands after its check-out's (a paused instance) does not make the person present
//!    again, and a step run twice writes once;
//! 4. the outbox entry is removed, and when the outbox is empty the mark too (only if it is
//!    still the one set in 1).
//!
//! A commit that stops between 2 and 4 (the instance dies, Redis fails) leaves the entry in the
//! outbox and the mark in `pending`. It is finished by the person's next scan, whose step 2
//! returns the older entries so that their followups are run first, or by [`RedisStore::repair`],
//! which every instance runs periodically for marks older than a grace period. Until then a
//! reader can observe the person's side without the venue's: the person's visits and state
//! are right, while the venue's presence and visit copies (occupancy, the guard view, a
//! venue's visit list and the contacts found through the venue) lag by that scan.

use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};

use super::{record, RedisStore};
use crate::domain::{VenueId, Visit};
use crate::storage::{
    CommitResult, IdempotencyRecord, ScanCommit, StoreError, IDEMPOTENCY_TTL_SECONDS,
};

/// How many marked persons one repair pass takes at a time.
const REPAIR_BATCH: usize = 128;

/// The writes of a scan outside the person's slot. Kept as JSON in the person's outbox on a
/// cluster until they are done.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Followups {
    /// One entry per venue whose keys the scan writes.
    venues: Vec<VenueWrite>,
    /// Owners (`p:RID`, `v:VID`) and the earliest time (ms) their data can fall out of
    /// retention.
    retention: Vec<(String, i64)>,
    /// Alerts raised: time ms, JSON, id.
    alerts: Vec<(i64, String, String)>,
}

/// One venue's part of a scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct VenueWrite {
    pub venue: VenueId,
    /// The scan event's record (`event_record.rs`) and time (ms), for the venue scanned.
    pub event: Option<(Vec<u8>, i64)>,
    /// The changed visits at this venue.
    pub visits: Vec<VisitWrite>,
}

/// A changed visit as the venue's step writes it (see `venue_write` in `scripts.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct VisitWrite {
    open: bool,
    rid: String,
    /// The framed record (`record.rs`).
    record: Vec<u8>,
    /// The bytes of its id in the record.
    id: Vec<u8>,
    /// The UTC day of its start, days since 1970-01-01.
    day: i64,
}

impl VisitWrite {
    /// The venue's write of `visit`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the visit cannot be encoded.
    pub fn of(visit: &Visit) -> Result<Self, StoreError> {
        Ok(Self {
            open: visit.is_open(),
            rid: visit.resident_id.as_str().to_owned(),
            record: record::frame(visit, record::Side::Venue(&visit.venue_id))?,
            id: record::id_bytes(&visit.id),
            day: day_of(visit.start().timestamp_millis()),
        })
    }
}

impl VisitWrite {
    /// The venue's write of the removal of `visit` (see `record.rs`): filed in the day of the
    /// visit's start, and ending the person's presence if it was this visit.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the id cannot be encoded.
    pub fn removal(visit: &Visit) -> Result<Self, StoreError> {
        Ok(Self {
            open: false,
            rid: visit.resident_id.as_str().to_owned(),
            record: record::frame_removal(&visit.id)?,
            id: record::id_bytes(&visit.id),
            day: day_of(visit.start().timestamp_millis()),
        })
    }

    /// The UTC day of the visit's start.
    pub fn day(&self) -> i64 {
        self.day
    }
}

/// The UTC day (days since 1970-01-01) of a time in ms.
pub(super) fn day_of(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}

/// How an idempotency record is kept in a person's `idem` hash (see [`super::keys`]):
/// `EXPIRES:JSON`, where `EXPIRES` is `now` plus [`IDEMPOTENCY_TTL_SECONDS`], in ms since 1970.
///
/// # Errors
/// [`StoreError::Corrupt`] when the record does not serialise.
pub(super) fn idempotency_value(
    record: &IdempotencyRecord,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, StoreError> {
    let ttl = chrono::Duration::seconds(i64::try_from(IDEMPOTENCY_TTL_SECONDS).unwrap_or(i64::MAX));
    let expires = (now + ttl).timestamp_millis();
    let mut value = format!("{expires}:").into_bytes();
    serde_json::to_writer(&mut value, record)?;
    Ok(value)
}

/// The idempotency record of a value of a person's `idem` hash, or `None` when it expired by
/// `now` (see [`idempotency_value`]).
///
/// # Errors
/// [`StoreError::Corrupt`] when the value is not `EXPIRES:JSON`.
pub(super) fn idempotency_record(
    value: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let corrupt = || StoreError::Corrupt("an idempotency record is not EXPIRES:JSON".into());
    let colon = value.iter().position(|b| *b == b':').ok_or_else(corrupt)?;
    let expires: i64 = std::str::from_utf8(&value[..colon])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(corrupt)?;
    if expires <= now.timestamp_millis() {
        return Ok(None);
    }
    Ok(Some(serde_json::from_slice(&value[colon + 1..])?))
}

/// The UTC day (days since 1970-01-01) whose hash of idempotency records holds a record
/// written at `at` (`PREFIX:{p:RID}:idems:N`).
pub(super) fn idempotency_day(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(86_400)
}

/// A scan ready to write: the person's arguments and the followups.
struct Prepared {
    /// When the scan was prepared, by this writer's clock (the idempotency record's day).
    written: DateTime<Utc>,
    person_args: Vec<Vec<u8>>,
    followups: Followups,
}

/// `written`: now by this writer's clock; its UTC day is the day of the scan's idempotency
/// record (see [`idempotency_day`]).
fn prepare(commit: &ScanCommit, written: DateTime<Utc>) -> Result<Prepared, StoreError> {
    let rid = commit.resident_id.as_str().to_owned();
    let event_bytes = super::event_record::encode(&commit.event)?;
    let event_ms = commit.event.scan_time.timestamp_millis();
    let (idem_key, idem_value) = match &commit.idempotency {
        Some((key, rec)) => (key.as_str(), idempotency_value(rec, written)?),
        None => ("", Vec::new()),
    };
    let person_side = record::Side::Person(&commit.resident_id);
    let open_record = match &commit.open_after {
        Some(v) => record::frame(v, person_side)?,
        None => Vec::new(),
    };
    let mut venues: Vec<VenueWrite> = vec![VenueWrite {
        venue: commit.event.venue_id.clone(),
        event: Some((event_bytes.clone(), event_ms)),
        visits: Vec::new(),
    }];
    let mut retention: Vec<(String, i64)> = Vec::new();
    let mut keep = |owner: String, at: i64| match retention.iter_mut().find(|(o, _)| *o == owner) {
        Some((_, score)) => *score = (*score).min(at),
        None => retention.push((owner, at)),
    };
    keep(["v:", commit.event.venue_id.as_str()].concat(), event_ms);
    keep(["p:", rid.as_str()].concat(), event_ms);
    let mut filed: Vec<u8> = Vec::new();
    // Removals first: a visit removed and written again by id in one scan ends up written.
    for v in &commit.removed {
        filed.extend(record::frame_removal(&v.id)?);
        file_at_venue(&mut venues, v, VisitWrite::removal(v)?);
    }
    for v in &commit.changed {
        let is_open_after = commit.open_after.as_ref().is_some_and(|o| o.id == v.id);
        if !is_open_after {
            filed.extend(record::frame(v, person_side)?);
        }
        file_at_venue(&mut venues, v, VisitWrite::of(v)?);
        let ends = v.latest_end().timestamp_millis();
        keep(["p:", rid.as_str()].concat(), ends);
        keep(["v:", v.venue_id.as_str()].concat(), ends);
    }
    let person_args = vec![
        commit.expected_version.to_string().into_bytes(),
        open_record,
        event_bytes,
        idem_value,
        idem_key.as_bytes().to_vec(),
        filed,
        event_ms.to_string().into_bytes(),
        idempotency_day(written).to_string().into_bytes(),
        (commit.expected_version + 1).to_string().into_bytes(),
    ];
    let alerts = commit
        .alerts
        .iter()
        .map(|a| {
            Ok((
                a.at.timestamp_millis(),
                serde_json::to_string(a)?,
                a.id.clone(),
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Prepared {
        written,
        person_args,
        followups: Followups {
            venues,
            retention,
            alerts,
        },
    })
}

/// Adds `write` (of `visit`) to its venue's entry in `venues`, making the entry if needed.
fn file_at_venue(venues: &mut Vec<VenueWrite>, visit: &Visit, write: VisitWrite) {
    match venues.iter_mut().find(|w| w.venue == visit.venue_id) {
        Some(w) => w.visits.push(write),
        None => venues.push(VenueWrite {
            venue: visit.venue_id.clone(),
            event: None,
            visits: vec![write],
        }),
    }
}

impl VenueWrite {
    /// The distinct days the visits fall in, in the order of `keys`' day keys.
    fn days(&self) -> Vec<i64> {
        let mut days: Vec<i64> = Vec::new();
        for v in &self.visits {
            if !days.contains(&v.day) {
                days.push(v.day);
            }
        }
        days
    }

    /// The UTC day of the scan event (days since 1970-01-01; 0 without an event).
    fn event_day(&self) -> i64 {
        self.event.as_ref().map_or(0, |(_, at)| day_of(*at))
    }

    /// `venue_write`'s keys: `open`, `recent`, the event's day string, then one per day of
    /// the visits (the script names the venue's other keys after `open`).
    pub fn keys(&self, keys: &super::keys::Keys) -> Vec<String> {
        let mut out = vec![
            keys.venue_open(&self.venue),
            keys.venue_recent(&self.venue),
            keys.venue_event_day(&self.venue, self.event_day()),
        ];
        out.extend(
            self.days()
                .into_iter()
                .map(|d| keys.venue_day(&self.venue, d)),
        );
        out
    }

    /// The keys `venue_write` names itself (after `open`: `scratch`, `days`, `xday`, `edays`,
    /// `events`, the two days' event strings before the event's), for a cluster's steps to
    /// pass after [`VenueWrite::keys`]. The script does not read them from `KEYS`, but Redis
    /// checks only the keys passed before a script runs: while a slot migrates, a script that
    /// touched a key it had not passed would be stopped half way with its writes kept, where
    /// one that passed it is refused whole (`TRYAGAIN`) and retried.
    pub fn named_keys(&self, keys: &super::keys::Keys) -> [String; 7] {
        let (v, day) = (&self.venue, self.event_day());
        [
            keys.venue_scratch(v),
            keys.venue_days(v),
            keys.venue_expiry_day(v),
            keys.venue_event_days(v),
            keys.venue_events(v),
            keys.venue_event_day(v, day - 1),
            keys.venue_event_day(v, day - 2),
        ]
    }

    /// `venue_write`'s arguments (see `scripts.rs`) with its flags (`x` exact, `s` skip the
    /// refresh check). An event of a day before today (by this writer's clock) is flagged late
    /// (`l`).
    pub fn args(&self, flags: &str) -> Vec<Vec<u8>> {
        let day = self.event_day();
        let event = self
            .event
            .as_ref()
            .map_or(Vec::new(), |(bytes, _)| bytes.clone());
        let mut flags = flags.to_owned();
        if self.event.is_some() && day < day_of(Utc::now().timestamp_millis()) {
            flags.push('l');
        }
        let mut args = vec![
            flags.into_bytes(),
            event,
            day.to_string().into_bytes(),
            self.visits.len().to_string().into_bytes(),
        ];
        let days = self.days();
        for v in &self.visits {
            let index = 4 + days.iter().position(|d| *d == v.day).unwrap_or(0);
            args.extend([
                if v.open { b"1".to_vec() } else { b"0".to_vec() },
                v.rid.clone().into_bytes(),
                v.record.clone(),
                v.id.clone(),
                index.to_string().into_bytes(),
                v.day.to_string().into_bytes(),
            ]);
        }
        args
    }
}

impl Followups {
    /// `alerts_write`'s arguments.
    fn alert_args(&self) -> Vec<String> {
        self.alerts
            .iter()
            .flat_map(|(at, json, id)| [at.to_string(), json.clone(), id.clone()])
            .collect()
    }
}

impl RedisStore {
    /// The three keys of `person_write` (the script names the person's other keys after the
    /// first).
    fn person_keys(&self, commit: &ScanCommit) -> [String; 3] {
        let rid = &commit.resident_id;
        let k = &self.keys;
        [
            k.person_state(rid),
            k.person_visits(rid),
            k.person_events(rid),
        ]
    }

    /// See [`crate::storage::Store::commit_scan`]: one script on a node, steps on a cluster.
    pub(super) async fn commit(&self, commit: &ScanCommit) -> Result<CommitResult, StoreError> {
        let prepared = prepare(commit, Utc::now())?;
        if self.conn.is_cluster() {
            self.commit_in_steps(commit, prepared).await
        } else {
            self.commit_at_once(commit, &prepared).await
        }
    }

    async fn commit_at_once(
        &self,
        commit: &ScanCommit,
        prepared: &Prepared,
    ) -> Result<CommitResult, StoreError> {
        let f = &prepared.followups;
        let today = day_of(prepared.written.timestamp_millis());
        let venue_keys: Vec<Vec<String>> = f.venues.iter().map(|w| w.keys(&self.keys)).collect();
        let flags: Vec<&str> = f
            .venues
            .iter()
            .map(|w| self.refresh_flag(&w.venue, today))
            .collect();
        let venue_args: Vec<Vec<Vec<u8>>> = f
            .venues
            .iter()
            .zip(&flags)
            .map(|(w, flag)| w.args(flag))
            .collect();
        // `EVALSHA` built as one command: `ScriptInvocation` would first copy each key and
        // argument into a vector of its own (docs/scaling.md).
        let script = &self.scripts.commit_scan;
        let person_keys = self.person_keys(commit);
        let mut shared_keys = vec![self.keys.retention()];
        if !f.alerts.is_empty() {
            shared_keys.extend([
                self.keys.alerts(),
                self.keys.alerts_due(),
                self.keys.alerts_delivery(),
            ]);
        }
        let key_count =
            person_keys.len() + venue_keys.iter().map(Vec::len).sum::<usize>() + shared_keys.len();
        let mut call = redis::cmd("EVALSHA");
        call.arg(script.get_hash()).arg(key_count);
        call.arg(&person_keys[..]);
        for keys in &venue_keys {
            call.arg(&keys[..]);
        }
        call.arg(&shared_keys[..]);
        call.arg(f.venues.len()).arg(prepared.person_args.len());
        for args in &venue_args {
            call.arg(args.len());
        }
        for keys in &venue_keys {
            call.arg(keys.len());
        }
        call.arg(&prepared.person_args);
        for args in &venue_args {
            call.arg(args);
        }
        call.arg(f.retention.len());
        for (owner, at) in &f.retention {
            call.arg(at).arg(owner);
        }
        call.arg(f.alert_args());
        let mut conn = self.conn();
        let answer: Vec<i64> = match call.query_async(&mut conn).await {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                // A Redis that restarted, or saw `SCRIPT FLUSH`, has forgotten it.
                script.prepare_invoke().load_async(&mut conn).await?;
                call.query_async(&mut conn).await?
            }
            answer => answer?,
        };
        if answer.first() != Some(&1) {
            return Ok(CommitResult::Conflict);
        }
        if let Some(&redis_day) = answer.get(1) {
            // Only the venues whose mark the script read (and refreshed if it was old).
            let checked = f
                .venues
                .iter()
                .zip(&flags)
                .filter(|(_, flag)| flag.is_empty());
            self.remember_refreshed(checked.map(|(w, _)| w), redis_day);
        }
        for (index, w) in f.venues.iter().enumerate() {
            let days = answer
                .get(2..)
                .unwrap_or_default()
                .chunks(2)
                .filter_map(|pair| match pair {
                    [venue, day] if usize::try_from(*venue - 1).ok() == Some(index) => Some(*day),
                    _ => None,
                })
                .collect();
            self.compact_days(&w.venue, days).await;
        }
        Ok(CommitResult::Committed)
    }

    /// `venue_write`'s flag `s` (skip the day's refresh check) for a venue that a commit of
    /// this instance saw refreshed on `today` (this instance's UTC day; see `refreshed.rs`),
    /// else none.
    fn refresh_flag(&self, venue: &VenueId, today: i64) -> &'static str {
        if self.idle_expiry_ms > 0 && self.refreshed.on(venue, today) {
            "s"
        } else {
            ""
        }
    }

    /// Remembers the venues of a single node's commit, which ran their writes with idle
    /// expiries: their refresh of `redis_day` (Redis's UTC day, -1 when the script did not read
    /// Redis's clock) has run. A cluster's venue steps are not remembered: a step may be
    /// skipped as already applied, and then refreshes nothing.
    fn remember_refreshed<'a>(&self, venues: impl Iterator<Item = &'a VenueWrite>, redis_day: i64) {
        if self.idle_expiry_ms > 0 && redis_day >= 0 {
            for w in venues {
                self.refreshed.remember(&w.venue, redis_day);
            }
        }
    }

    /// Rewrites a venue's finished days at their exact size (`COMPACT_DAY`), each once. Only
    /// memory depends on it, and the write it follows is done: a failure is logged, not
    /// answered (a scan answered 503 after its commit would be sent again).
    pub(super) async fn compact_days(&self, venue: &VenueId, mut days: Vec<i64>) {
        days.sort_unstable();
        days.dedup();
        for day in days {
            let done: Result<i64, _> = self
                .scripts
                .compact_day
                .key(self.keys.venue_day(venue, day))
                .key(self.keys.venue_scratch(venue))
                .invoke_async(&mut self.conn())
                .await;
            if let Err(e) = done {
                tracing::warn!(venue = %venue, day, error = %e, "a finished day was not compacted");
            }
        }
    }

    async fn commit_in_steps(
        &self,
        commit: &ScanCommit,
        prepared: Prepared,
    ) -> Result<CommitResult, StoreError> {
        let rid = &commit.resident_id;
        let mark = Utc::now().timestamp_millis();
        let _: i64 = redis::cmd("ZADD")
            .arg(self.keys.repair_pending())
            .arg(mark)
            .arg(rid.as_str())
            .query_async(&mut self.conn())
            .await?;
        let mut call = self.scripts.person_step.prepare_invoke();
        for key in self.person_keys(commit) {
            call.key(key);
        }
        // The keys `person_write` names itself, passed so that Redis checks their slot before
        // the script runs (see `VenueWrite::named_keys`).
        call.key(self.keys.person_outbox(rid))
            .key(self.keys.person_scratch(rid))
            .key(
                self.keys
                    .person_idempotency(rid, idempotency_day(prepared.written)),
            )
            .arg(serde_json::to_string(&prepared.followups)?)
            .arg(&prepared.person_args);
        let answer: Vec<String> = call.invoke_async(&mut self.conn()).await?;
        let mut answer = answer.into_iter();
        if answer.next().as_deref() != Some("1") {
            return Ok(CommitResult::Conflict);
        }
        let version: u64 = parse_version(answer.next())?;
        let epoch = answer.next().unwrap_or_default();
        if self.faults.stop_after_person_step {
            return Err(StoreError::Unavailable(
                "stopped after the person's step (a fault injected by a test)".into(),
            ));
        }
        if let Some(pause) = self.faults.hold_after_person_step {
            tokio::time::sleep(pause).await;
        }
        // Older scans' followups go first, so that a venue sees a person's scans in order.
        // Every one runs as a replay, this scan's own too: another caller (the next scan, a
        // repair) may run the same entry, and either may land after a newer scan's steps
        // (a slow node), so a write must not undo what a newer one wrote.
        let mut owed: Vec<(u64, Followups)> = Vec::new();
        while let Some(v) = answer.next() {
            let json = answer.next().unwrap_or_default();
            owed.push((parse_version(Some(v))?, serde_json::from_str(&json)?));
        }
        owed.sort_by_key(|(v, _)| *v);
        owed.push((version, prepared.followups));
        for (v, followups) in &owed {
            self.run_followups(rid, *v, &epoch, followups).await?;
        }
        let done: Vec<u64> = owed.iter().map(|(v, _)| *v).collect();
        if self.outbox_done(rid, &done).await? == 0 {
            self.unmark(rid.as_str(), mark).await?;
        }
        Ok(CommitResult::Committed)
    }

    /// Runs the followups of `rid`'s scan that made `version`: each venue's step (skipped where
    /// it or a newer one was applied), the retention index, the alerts. Each can run again,
    /// and late, with the same result.
    async fn run_followups(
        &self,
        rid: &crate::domain::ResidentId,
        version: u64,
        epoch: &str,
        f: &Followups,
    ) -> Result<(), StoreError> {
        try_join_all(f.venues.iter().map(|w| {
            let mut call = self.scripts.venue_replay_step.prepare_invoke();
            for key in w
                .keys(&self.keys)
                .into_iter()
                .chain(w.named_keys(&self.keys))
            {
                call.key(key);
            }
            call.key(self.keys.venue_applied(&w.venue))
                .arg(rid.as_str())
                .arg(version)
                .arg(epoch)
                .arg(w.args(""));
            async move {
                let finished: Vec<i64> = call.invoke_async(&mut self.conn()).await?;
                self.compact_days(&w.venue, finished).await;
                Ok::<_, StoreError>(())
            }
        }))
        .await?;
        let mut zadd = redis::cmd("ZADD");
        zadd.arg(self.keys.retention()).arg("LT");
        for (owner, at) in &f.retention {
            zadd.arg(at).arg(owner);
        }
        let _: i64 = zadd.query_async(&mut self.conn()).await?;
        if !f.alerts.is_empty() {
            let _: i64 = self
                .scripts
                .alert_step
                .key(self.keys.alerts())
                .key(self.keys.alerts_due())
                .key(self.keys.alerts_delivery())
                .arg(f.alert_args())
                .invoke_async(&mut self.conn())
                .await?;
        }
        Ok(())
    }

    /// Removes done entries (by version) from a person's outbox; answers how many are left.
    /// Plain commands rather than a script (a script's own machinery cost more than the two
    /// commands): an entry another scan adds between them is counted, which only keeps the
    /// person marked for the repair a while longer.
    async fn outbox_done(
        &self,
        rid: &crate::domain::ResidentId,
        versions: &[u64],
    ) -> Result<u64, StoreError> {
        let key = self.keys.person_outbox(rid);
        let mut pipe = redis::pipe();
        if !versions.is_empty() {
            pipe.cmd("HDEL").arg(&key).arg(versions).ignore();
        }
        let (left,): (u64,) = pipe
            .cmd("HLEN")
            .arg(&key)
            .query_async(&mut self.conn())
            .await?;
        Ok(left)
    }

    async fn unmark(&self, rid: &str, mark: i64) -> Result<(), StoreError> {
        let _: i64 = self
            .scripts
            .unmark
            .key(self.keys.repair_pending())
            .arg(rid)
            .arg(mark)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Finishes the commits that stopped half way on a cluster: for every person marked in
    /// `{repair}:pending` before `marked_before`, runs the followups still in the outbox, in
    /// version order, then removes the mark if nothing is left and the mark is unchanged.
    /// Returns how many outbox entries were finished. Nothing to do on one node.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis fails; what was finished stays finished.
    pub(super) async fn repair_marked(
        &self,
        marked_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let cut = marked_before.timestamp_millis();
        let mut finished = 0;
        let mut seen = std::collections::HashSet::new();
        loop {
            let due: Vec<(String, i64)> = redis::cmd("ZRANGEBYSCORE")
                .arg(self.keys.repair_pending())
                .arg("-inf")
                .arg(format!("({cut}"))
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(REPAIR_BATCH)
                .query_async(&mut self.conn())
                .await?;
            let fresh: Vec<(String, i64)> = due
                .into_iter()
                .filter(|(rid, _)| seen.insert(rid.clone()))
                .collect();
            if fresh.is_empty() {
                return Ok(finished);
            }
            for (raw, mark) in fresh {
                let rid = crate::domain::ResidentId::parse(&raw)
                    .map_err(|e| StoreError::Corrupt(format!("repair index: {e}")))?;
                let entries: Vec<(String, String)> = redis::cmd("HGETALL")
                    .arg(self.keys.person_outbox(&rid))
                    .query_async(&mut self.conn())
                    .await?;
                let mut owed = entries
                    .into_iter()
                    .map(|(v, json)| {
                        Ok::<_, StoreError>((
                            parse_version(Some(v))?,
                            serde_json::from_str::<Followups>(&json)?,
                        ))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                owed.sort_by_key(|(v, _)| *v);
                // The state's epoch is the entries' own: an outbox expires before its state
                // (idle, from its last write, against idle and a day from the state's first
                // write of the day), so no entry outlives the state that wrote it.
                let epoch: Option<String> = if owed.is_empty() {
                    None
                } else {
                    redis::cmd("HGET")
                        .arg(self.keys.person_state(&rid))
                        .arg("epoch")
                        .query_async(&mut self.conn())
                        .await?
                };
                let epoch = epoch.unwrap_or_default();
                for (v, followups) in &owed {
                    self.run_followups(&rid, *v, &epoch, followups).await?;
                    finished += 1;
                }
                let done: Vec<u64> = owed.iter().map(|(v, _)| *v).collect();
                if self.outbox_done(&rid, &done).await? == 0 {
                    self.unmark(&raw, mark).await?;
                }
            }
        }
    }
}

fn parse_version(raw: Option<String>) -> Result<u64, StoreError> {
    let raw = raw.unwrap_or_default();
    raw.parse()
        .map_err(|e| StoreError::Corrupt(format!("outbox version {raw:?}: {e}")))
}

/// Faults a test can inject into the Redis store to see what a crash leaves behind.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// On a cluster, stop a scan's commit right after the person's step, as if the instance
    /// died there: the scan is committed, its followups are left in the outbox.
    pub stop_after_person_step: bool,
    /// On a cluster, wait this long between a scan's person step and its venue steps, as a
    /// paused process or a slow node would: other scans of the person may commit meanwhile.
    pub hold_after_person_step: Option<std::time::Duration>,
}
