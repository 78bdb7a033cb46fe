//! Storage: what the service remembers, behind one trait with two backends.
//!
//! - [`embedded::EmbeddedStore`]: SQLite in one file under the data directory, the zero-setup
//!   default.
//! - [`redis::RedisStore`]: Redis (key layout in [`redis::keys`]).
//!
//! Both pass the same conformance suite (`tests/storage`). The store decides nothing: the scan
//! service reads a person's state, the domain decides, and [`Store::commit_scan`] writes the
//! outcome only if the person's state did not change in between (optimistic concurrency), so
//! two concurrent scans by one person cannot leave two open visits.

pub mod embedded;
pub mod redis;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::alert::Alert;
use crate::domain::audit::AuditRecord;
use crate::domain::delivery::{AlertRecord, ClaimedAlert, Settlement};
use crate::domain::staff::{StaffAccount, Username};
use crate::domain::vehicle::{Plate, VehiclePass};
use crate::domain::visitor::VisitorPass;
use crate::domain::{Phone, Resident, ResidentId, ScanEvent, Venue, VenueId, Visit};

/// How long idempotency records are kept: 48 hours, twice the longest accepted `client_time`
/// skew (24 h), so an offline client's retry always finds its first answer.
pub const IDEMPOTENCY_TTL_SECONDS: u64 = 48 * 3600;

/// The message of the [`StoreError::Conflict`] of [`Store::put_resident`] when the phone
/// belongs to another resident.
pub const PHONE_TAKEN: &str = "the phone belongs to another resident";

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or timed out; the call may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A unique value (a resident's phone) belongs to another record.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Stored data could not be read back (a bug or a foreign writer).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The call's input breaks the method's contract (for example an open visit given to
    /// [`Store::import_visits`]); nothing was written.
    #[error("refused: {0}")]
    Refused(String),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Whether a put made a new record or replaced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// There was no record with that key.
    Created,
    /// A record with that key was replaced.
    Updated,
}

/// The stored answer to a scan, kept under its idempotency key (contract, visit rule 6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// SHA-256 (hex) of the request's meaningful fields: the same key with another body is
    /// refused.
    pub fingerprint: String,
    /// The JSON answer given the first time, as written then: kept as text, not as a
    /// `serde_json::Value` tree, which cost every scan a map of allocations to build and
    /// write out (docs/scaling.md).
    pub answer: Box<serde_json::value::RawValue>,
}

/// Records are equal when their fingerprints and their answers' JSON texts are.
impl PartialEq for IdempotencyRecord {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint && self.answer.get() == other.answer.get()
    }
}

/// A person's scan state as read before a scan.
#[derive(Debug, Clone, Default)]
pub struct PersonState {
    /// Bumped by every committed scan; the commit checks it.
    pub version: u64,
    /// The open visit, if any (at most one).
    pub open: Option<Visit>,
    /// The record stored under the scan's idempotency key, if one was asked for and exists.
    pub idempotent: Option<IdempotencyRecord>,
    /// The person's registration (home, household, watch-list tags), if any.
    pub resident: Option<Resident>,
    /// The latest scan time among the person's committed scans (UTC, to the millisecond);
    /// `None` before the first. A scan older than this is late, and the person's visits are
    /// derived again around it (contract, visit rule 7).
    pub latest_scan_time: Option<DateTime<Utc>>,
}

/// Everything one scan writes, atomically.
#[derive(Debug, Clone)]
pub struct ScanCommit {
    /// Whose state.
    pub resident_id: ResidentId,
    /// The version read; the commit fails with [`CommitResult::Conflict`] if it moved.
    pub expected_version: u64,
    /// The event to append.
    pub event: ScanEvent,
    /// Visits to write whole (insert or replace by id); presence follows from them.
    pub changed: Vec<Visit>,
    /// Visits to remove, by id, from the person's and their venue's records and from presence:
    /// visits a late scan's re-derivation no longer gives (contract, visit rule 7). Empty
    /// for a scan in time order.
    pub removed: Vec<Visit>,
    /// The person's open visit after the scan.
    pub open_after: Option<Visit>,
    /// The idempotency key and the answer to keep under it.
    pub idempotency: Option<(String, IdempotencyRecord)>,
    /// Alerts the scan raised, kept with it.
    pub alerts: Vec<Alert>,
}

/// The result of [`Store::commit_scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitResult {
    /// Written.
    Committed,
    /// Another scan of the same person was committed first; read again and decide again.
    Conflict,
}

/// What one retention purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Visits removed.
    pub visits: u64,
    /// Scan events removed.
    pub events: u64,
    /// Audit records removed.
    pub audit: u64,
    /// Vehicle passes removed.
    pub vehicle_passes: u64,
}

impl PurgeReport {
    /// Whether nothing was removed.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A pending one-time code for a phone.
#[derive(Clone, Serialize, Deserialize)]
pub struct OtpRecord {
    /// SHA-256 (hex) of the code.
    pub code_hash: String,
    /// When it stops being accepted, UTC.
    pub expires_at: DateTime<Utc>,
    /// Wrong codes tried so far against this one.
    #[serde(default)]
    pub attempts: u32,
}

/// The store interface. Every method is one round trip's worth of work or close to it; all are
/// safe to call concurrently.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A real write and read, for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// A handle on this store for the calling thread, when the store has a better one than
    /// the shared handle: on Redis, a clone with a connection of its own whose I/O is driven by
    /// the calling thread's runtime, so a service worker's commands do not hop to another
    /// thread and back (profiles of the scan path showed those wake-ups as about a quarter of
    /// the service's CPU). `None`: use the shared handle (the embedded store, or when the
    /// connection could not be opened).
    async fn for_this_thread(&self) -> Option<Arc<dyn Store>> {
        None
    }

    /// Inserts or replaces a venue by id.
    async fn put_venue(&self, venue: &Venue) -> Result<Upsert, StoreError>;
    /// Inserts a venue only when no venue has its id, atomically: of two concurrent inserts of
    /// one id exactly one returns `true`; `false` means nothing was written.
    async fn insert_venue(&self, venue: &Venue) -> Result<bool, StoreError>;
    /// Replaces a venue only if its stored `revision` is still `expected` (compare and set);
    /// `false` means another change came first and nothing was written. The caller passes the
    /// venue with its new revision.
    async fn replace_venue(&self, venue: &Venue, expected: u64) -> Result<bool, StoreError>;
    /// One venue.
    async fn venue(&self, id: &VenueId) -> Result<Option<Venue>, StoreError>;
    /// The ids of the venues whose `parent` is `parent` (its sub-locations), ordered by id.
    async fn sub_locations(&self, parent: &VenueId) -> Result<Vec<VenueId>, StoreError>;
    /// All venues, ordered by id.
    async fn venues(&self) -> Result<Vec<Venue>, StoreError>;

    /// Inserts or replaces a resident by id. Fails with [`StoreError::Conflict`] when the phone
    /// belongs to another resident.
    async fn put_resident(&self, resident: &Resident) -> Result<Upsert, StoreError>;
    /// One resident.
    async fn resident(&self, id: &ResidentId) -> Result<Option<Resident>, StoreError>;
    /// The residents registered with `home` as their home compound, ordered by id (for
    /// household, building and compound contacts).
    async fn residents_at_home(&self, home: &VenueId) -> Result<Vec<Resident>, StoreError>;
    /// The resident with this phone.
    async fn resident_by_phone(&self, phone: &Phone) -> Result<Option<Resident>, StoreError>;

    /// Inserts or replaces a staff account.
    async fn put_staff(&self, account: &StaffAccount) -> Result<Upsert, StoreError>;
    /// Inserts a staff account whose username is new, atomically: `false` (nothing written)
    /// when the username is taken, so of two creations racing for one name one wins.
    async fn add_staff(&self, account: &StaffAccount) -> Result<bool, StoreError>;
    /// One staff account.
    async fn staff(&self, username: &Username) -> Result<Option<StaffAccount>, StoreError>;

    /// Keeps a one-time code for a phone, replacing any earlier one.
    async fn put_otp(&self, phone: &Phone, otp: &OtpRecord) -> Result<(), StoreError>;
    /// Puts back a code taken by a wrong try, unless the phone has another by now (a new code
    /// sent meanwhile is kept), atomically.
    async fn restore_otp(&self, phone: &Phone, otp: &OtpRecord) -> Result<(), StoreError>;
    /// Takes (reads and deletes) the pending code of a phone: each code gets one try.
    async fn take_otp(&self, phone: &Phone) -> Result<Option<OtpRecord>, StoreError>;

    /// A person's state before a scan, with the idempotency record under `idempotency_key`.
    async fn person_state(
        &self,
        resident: &ResidentId,
        idempotency_key: Option<&str>,
    ) -> Result<PersonState, StoreError>;
    /// [`Store::person_state`] and [`Store::venue`] together, as a scan with a code reads
    /// them: one round trip where the store can make it one (a single Redis node), both at
    /// once otherwise. The venue's outcome is its own: a venue that cannot be read leaves the
    /// person's state, and so a retry's first answer, readable.
    ///
    /// # Errors
    /// The outer error when the person's state cannot be read.
    async fn person_state_and_venue(
        &self,
        resident: &ResidentId,
        idempotency_key: Option<&str>,
        venue: &VenueId,
    ) -> Result<(PersonState, Result<Option<Venue>, StoreError>), StoreError> {
        person_state_beside_venue(self, resident, idempotency_key, venue).await
    }
    /// Writes a scan's outcome if the person's version is still `expected_version`, and
    /// raises the person's latest scan time to the event's scan time if it is later.
    async fn commit_scan(&self, commit: &ScanCommit) -> Result<CommitResult, StoreError>;
    /// Bulk load of closed visits from another system's history (a migration, a benchmark).
    ///
    /// Writes each visit and its person and venue indexes exactly as [`Store::commit_scan`]
    /// writes a changed closed visit: inserted, or replaced when its id is already stored (a
    /// replacement must keep the stored visit's person and venue, as a scan's rewrite does), so
    /// [`Store::resident_visits`], [`Store::venue_visits`] and the contacts built on them
    /// return imported visits like committed ones. It records no scan event and leaves every
    /// person's state (version, open visit) as it is; importing over a visit that is still
    /// someone's open visit is not what it is for.
    ///
    /// All of `visits` is checked before anything is written: if any is open (`closed_by` is
    /// `None`) the call fails with [`StoreError::Refused`] naming it, and nothing is written.
    /// The embedded store writes the slice in one transaction. Redis writes it in atomic
    /// chunks of a few hundred visits, so a failure part way (Redis gone) can leave a prefix
    /// of the slice written; importing the same slice again is safe, as it replaces by id.
    /// Callers pass batches of some thousands of visits: one call holds the store (the SQLite
    /// writer lock, or Redis for each chunk) while it writes.
    async fn import_visits(&self, visits: &[Visit]) -> Result<(), StoreError>;
    /// A venue's newest scan events, newest first, at most `limit` (at most 100 are kept per
    /// venue on Redis), admitted and denied: the guard view.
    async fn recent_scans(
        &self,
        venue: &VenueId,
        limit: usize,
    ) -> Result<Vec<ScanEvent>, StoreError>;
    /// The scan events at any of `venues` with a scan time in `[from, to]`, admitted and
    /// denied, ordered by scan time then id: the daily report's input.
    async fn venue_events(
        &self,
        venues: &[VenueId],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ScanEvent>, StoreError>;
    /// Every scan event of a person, in the order recorded.
    async fn scan_events(&self, resident: &ResidentId) -> Result<Vec<ScanEvent>, StoreError>;

    /// A person's visits whose start lies in `[from - 7 days, to]` (a superset of those that
    /// overlap `[from, to]`; callers filter), ordered by start.
    async fn resident_visits(
        &self,
        resident: &ResidentId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Visit>, StoreError>;
    /// The same for a venue's visits.
    async fn venue_visits(
        &self,
        venue: &VenueId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Visit>, StoreError> {
        self.venue_visits_starting(venue, from - lookback(), to)
            .await
    }
    /// A venue's visits whose start lies in `[starts_from, to]`, ordered by start then id: for
    /// a caller that knows how long visits there can last (see `Venue::stay_bound`) and so
    /// how far back one that overlaps `[from, to]` can have begun.
    async fn venue_visits_starting(
        &self,
        venue: &VenueId,
        starts_from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Visit>, StoreError>;
    /// Inserts or replaces a visitor pass by id.
    async fn put_visitor_pass(&self, pass: &VisitorPass) -> Result<(), StoreError>;
    /// One visitor pass.
    async fn visitor_pass(&self, id: &str) -> Result<Option<VisitorPass>, StoreError>;
    /// The passes registered for a visitor's phone, oldest first.
    async fn visitor_passes(&self, phone: &Phone) -> Result<Vec<VisitorPass>, StoreError>;
    /// Stores a new vehicle pass, atomically: when a pass with its id is already stored, that
    /// one is kept and returned (and nothing is written), so two registrations racing with one
    /// id (a guard's retry under an idempotency key) store one pass.
    async fn add_vehicle_pass(&self, pass: &VehiclePass)
        -> Result<Option<VehiclePass>, StoreError>;
    /// The vehicle passes at a checkpoint venue with `at` in `[from, to]`, oldest first (ties
    /// by id).
    async fn vehicle_passes_at(
        &self,
        venue: &VenueId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VehiclePass>, StoreError>;
    /// The vehicle passes of a plate, at any checkpoint, with `at` in `[from, to]`, oldest
    /// first (ties by id).
    async fn vehicle_passes_by_plate(
        &self,
        plate: &Plate,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VehiclePass>, StoreError>;
    /// Alerts with `at` in `[from, to]`, oldest first, with their delivery state.
    async fn alerts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AlertRecord>, StoreError>;
    /// Claims up to `limit` alerts whose delivery is pending and due at `now` (a new alert is
    /// due at once), oldest due first, until `lease_until`: until then no other claim returns
    /// them, so of several instances one posts each alert at a time. A claim not settled by
    /// `lease_until` (its instance died) lapses and the alert is due again.
    async fn claim_alerts(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ClaimedAlert>, StoreError>;
    /// Records how a claimed delivery attempt ended, only if `claim` still holds the alert;
    /// `false` means the lease lapsed and another claim took over, and nothing was written.
    async fn settle_alert(
        &self,
        alert_id: &str,
        claim: &str,
        settlement: &Settlement,
    ) -> Result<bool, StoreError>;
    /// Appends an audit record. Records are never changed or removed through the service.
    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError>;
    /// Audit records with `at` in `[from, to]`, oldest first.
    async fn audit(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// The venue's open visits as stored (callers drop those past their auto close).
    async fn open_visits(&self, venue: &VenueId) -> Result<Vec<Visit>, StoreError>;

    /// Removes visits whose latest end ([`Visit::latest_end`]) is before `visits_before`, scan
    /// events, alerts and vehicle passes (by `at`) from before it, visitor passes whose validity
    /// ended before it, and audit records from before `audit_before` (the retention purge; never
    /// called by a request). Idempotent; safe beside concurrent scans.
    async fn purge(
        &self,
        visits_before: DateTime<Utc>,
        audit_before: DateTime<Utc>,
    ) -> Result<PurgeReport, StoreError>;

    /// Finishes scan commits that stopped half way: a store whose commit is several steps
    /// (Redis Cluster, see `redis/commit.rs`) runs the steps still owed by commits begun
    /// before `begun_before`. Returns how many commits it finished. Idempotent; safe beside
    /// concurrent scans. Stores whose commit is one atomic write have nothing to do.
    async fn repair(&self, begun_before: DateTime<Utc>) -> Result<u64, StoreError> {
        let _ = begun_before;
        Ok(0)
    }
}

/// Checks that every visit of a bulk import is closed ([`Store::import_visits`]).
///
/// # Errors
/// [`StoreError::Refused`] naming the first open visit.
pub fn refuse_open_visits(visits: &[Visit]) -> Result<(), StoreError> {
    match visits.iter().find(|v| v.is_open()) {
        Some(v) => Err(StoreError::Refused(format!(
            "visit {} of {} at {} is open: only closed visits can be imported",
            v.id, v.resident_id, v.venue_id
        ))),
        None => Ok(()),
    }
}

/// How far before a window's start a visit may begin and still overlap it: the longest stay a
/// venue may set (see [`crate::domain::venue::MAX_STAY_CAP_MINUTES`]).
pub fn lookback() -> chrono::Duration {
    chrono::Duration::minutes(i64::from(crate::domain::venue::MAX_STAY_CAP_MINUTES))
}

/// [`Store::person_state`] and [`Store::venue`] at once, as two reads: what
/// [`Store::person_state_and_venue`] does where one round trip is not possible.
///
/// # Errors
/// When the person's state cannot be read; the venue's outcome is returned as it came.
pub async fn person_state_beside_venue<S: Store + ?Sized>(
    store: &S,
    resident: &ResidentId,
    idempotency_key: Option<&str>,
    venue: &VenueId,
) -> Result<(PersonState, Result<Option<Venue>, StoreError>), StoreError> {
    let (person, venue) = futures::join!(
        store.person_state(resident, idempotency_key),
        store.venue(venue)
    );
    Ok((person?, venue))
}
