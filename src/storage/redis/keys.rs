//! The Redis key layout: the one place it is written down, and the functions that build keys.
//!
//! Every key starts with the configured prefix and a colon (`PREFIX:`), so several deployments
//! (or test runs) can share one Redis and an operator can find all of one deployment's keys
//! with `SCAN MATCH PREFIX:*`. The prefix is 1 to 64 of `[A-Za-z0-9_.:-]`: no braces, so it can
//! never become a hash tag itself, and no glob characters.
//!
//! ## Layout
//!
//! `RID` is a resident id, `VID` a venue id, `VISIT` a visit id (UUID v7).
//!
//! | key | type | contents | written by |
//! | --- | --- | --- | --- |
//! | `PREFIX:{p:RID}:state` | hash | `version` (decimal, scans committed so far; missing = 0), `open` (framed record of the open visit, or empty), `last` (the latest scan time, ms), `xday` (`DAY:MS:2`: the UTC day, by Redis's clock, the person's idle expiries were last refreshed, with an idle expiry of `MS` ms; empty without them), `iday` (`N`: the day whose `idems:N` hash was last given its expiry), `epoch` (Redis's time when the state was made, `SECONDS.MICROS`; empty for a state made before epochs: a state made again after it expired counts versions from 1 in a new epoch) | `commit_scan` |
//! | `PREFIX:{p:RID}:visits` | string | the person's closed visits, framed binary records (`record.rs`) appended in the order written; a later record of an id replaces an earlier one | `commit_scan`, `import_visits`, `purge` |
//! | `PREFIX:{p:RID}:scratch` | string | never holds data between scripts: where a script copies the person's visits string to leave it at its exact size (`append_exact` in `scripts.rs`) | `commit_scan`, `import_visits` |
//! | `PREFIX:{p:RID}:events` | list | scan event JSON, in the order recorded (`RPUSH`) | `commit_scan` |
//! | `PREFIX:{p:RID}:idems:N` | hash | the idempotency records written on UTC day `N` (days since 1970-01-01, the writer's clock): idempotency key → `EXPIRES:JSON`, when the record expires (ms since 1970, the writer's clock: `IDEMPOTENCY_TTL_SECONDS` after the scan was committed) and the idempotency record JSON; a reader looks in the days `N` of the last 48 hours and the next day (a writer whose clock is ahead at midnight) and ignores an expired record; the hash expires `IDEMPOTENCY_TTL_SECONDS` plus a day after its first record was written (`iday`), so after every record of its day, and nothing else removes records | `commit_scan` |
//! | `PREFIX:{p:RID}:idem:KEY` | string | read only: the idempotency record JSON as builds before the `idems:N` hashes wrote it, `EX` = `IDEMPOTENCY_TTL_SECONDS` | (earlier builds) |
//! | `PREFIX:{p:RID}:outbox` | hash | cluster only: person version → JSON of the scan's writes in other slots still owed (see `commit.rs`) | `commit_scan`, `repair` |
//! | `PREFIX:{repair}:pending` | sorted set | cluster only: resident ids whose outbox may hold entries, scored by when marked (ms) | `commit_scan`, `repair` |
//! | `PREFIX:{p:RID}:resident` | string | resident JSON | `put_resident` |
//! | `PREFIX:phone:PHONE` | string | the id of the resident with that phone (unique index) | `put_resident` |
//! | `PREFIX:{v:VID}:venue` | string | venue JSON | `put_venue`, `insert_venue`, `replace_venue` |
//! | `PREFIX:venues` | set | every venue id (listing) | `put_venue` |
//! | `PREFIX:{v:VID}:day:N` | string | a copy of the closed visits at the venue that began on UTC day `N` (days since 1970-01-01), framed records appended | `commit_scan`, `import_visits`, `purge` |
//! | `PREFIX:{v:VID}:scratch` | string | never holds data between scripts: where a script copies a day string to leave it at its exact size | `commit_scan`, `import_visits` |
//! | `PREFIX:{v:VID}:xday` | string | `DAY:MS:2`: the UTC day (by Redis's clock) the idle expiries of the venue's keys were last refreshed, and the idle expiry set | `commit_scan`, `import_visits` |
//! | `PREFIX:{v:VID}:days` | sorted set | each `N` with a `day:N` string, scored by `N` | `commit_scan`, `import_visits`, `purge` |
//! | `PREFIX:{v:VID}:applied` | hash | resident id → the person's version of the last scan step applied here, and `RID:e` → the epoch of the person's state then (missing: ''); on a cluster only | `commit_scan` |
//! | `PREFIX:{v:VID}:children` | set | ids of the venues registered as its sub-locations (their `parent` is VID; a parent never changes) | `put_venue`, `insert_venue` |
//! | `PREFIX:{v:VID}:residents` | set | ids of the residents registered with this venue as home | `put_resident` |
//! | `PREFIX:{v:VID}:eday:N` | string | the scan events at the venue whose scan time falls on UTC day `N` (days since 1970-01-01), framed binary records (`event_record.rs`) appended in the order written (the daily report, flags); left at its exact size when the first event of each of the next two days is written, unless that event is a late one (see `venue_write`) | `commit_scan`, `purge` |
//! | `PREFIX:{v:VID}:edays` | sorted set | each `N` with an `eday:N` string, scored by `N` (added when the string is made) | `commit_scan`, `purge` |
//! | `PREFIX:{v:VID}:events` | sorted set | read and purged only: the scan events as builds before the `eday:N` strings kept them, scored by scan time (ms); goes by retention | (earlier builds), `purge` |
//! | `PREFIX:{v:VID}:recent` | list | the venue's newest scan event JSONs, newest first, at most `RECENT_SCANS_KEPT` + `RECENT_SLACK` (the guard view reads the first `RECENT_SCANS_KEPT`) | `commit_scan`, `purge` |
//! | `PREFIX:{v:VID}:open` | hash | `RID` → framed record of that person's open visit here (presence) | `commit_scan`; `import_visits` only removes the entry of a visit it writes closed |
//! | `PREFIX:staff:USERNAME` | string | staff account JSON | `put_staff`, `add_staff` (`SET NX`) |
//! | `PREFIX:otp:PHONE` | string | pending one-time code JSON, expires 300 s after its `expires_at` | `put_otp`, `take_otp` (`GETDEL`) |
//! | `PREFIX:ping` | string | the last `/readyz` probe value, `EX` 60 s | `ping` |
//! | `PREFIX:audit` | sorted set | audit record JSON scored by its time (ms); removed only by the retention purge, after `retention.audit_days` | `append_audit`, `purge` |
//! | `PREFIX:{visitors}:pass:ID` | string | visitor pass JSON | `put_visitor_pass`, `purge` |
//! | `PREFIX:{visitors}:phone:PHONE` | set | ids of the visitor passes for that phone | `put_visitor_pass`, `purge` |
//! | `PREFIX:{visitors}:ends` | sorted set | every visitor pass id scored by its `valid_until` (ms): the retention index of passes | `put_visitor_pass`, `purge` |
//! | `PREFIX:{alerts}:log` | sorted set | alert JSON scored by the scan's time (ms); removed by the retention purge with visits | `commit_scan`, `purge` |
//! | `PREFIX:{alerts}:due` | sorted set | ids of alerts whose webhook delivery is pending, scored by when it is next tried (ms; a claim moves it to the lease's end) | `commit_scan`, `claim_alerts`, `settle_alert`, `purge` |
//! | `PREFIX:{alerts}:delivery` | hash | `ID:alert` → alert JSON, `ID:state` → delivery state JSON (absent: never tried), `ID:claim` → the claim holding it | `commit_scan`, `claim_alerts`, `settle_alert`, `purge` |
//! | `PREFIX:{vpass}:pass` | hash | `PASS` (vehicle pass id: UUID v7, or v5 of officer, plate and idempotency key) → vehicle pass JSON | `add_vehicle_pass`, `purge` |
//! | `PREFIX:{vpass}:all` | sorted set | every `PASS` scored by the pass's `at` (ms): the time index the retention purge reads | `add_vehicle_pass`, `purge` |
//! | `PREFIX:{vpass}:venue:VID` | sorted set | the checkpoint's `PASS` ids scored by `at` (ms) | `add_vehicle_pass`, `purge` |
//! | `PREFIX:{vpass}:plate:PLATE` | sorted set | a plate's `PASS` ids scored by `at` (ms); `PLATE` is the normalised plate (`云D12345`, UTF-8) | `add_vehicle_pass`, `purge` |
//! | `PREFIX:retention` | sorted set | `p:RID` and `v:VID` (owners of visits and events), each scored by the earliest time (ms) any of its data can fall out of retention: a visit's latest end, an event's scan time; `+inf` when it holds nothing | `commit_scan` (`ZADD LT`), `purge` |
//!
//! ## Retention
//!
//! Redis 7.0 cannot expire one field of a hash, so retention works at two levels. The purge
//! (`Store::purge`, run periodically) takes the owners in `retention` scored before the cutoff
//! and rewrites their visit strings without the visits past it (a venue's days past it go
//! whole), and removes their events (a venue's `recent` list and event days included), each
//! only if still as read. And when the store is opened with an idle expiry (the retention period
//! plus the longest stay), the keys a scan writes expire that long after their last write: a
//! person or venue with no new scan for that long is dropped by Redis itself, whether or not a
//! purge runs. The person's `state`, `events` and `visits` and the venue's `open`, `days`,
//! `recent`, `events` and `edays` get it at the first write of each UTC day (one day longer,
//! marked by the person's `xday` field and the venue's `xday` key) and when a write creates
//! them; a venue's `day:N` and `eday:N` strings when they are made and at each write after
//! their day, one day longer (see `scripts.rs`). Imports set the expiry of what they write.
//!
//! Vehicle passes are personal data too and go with visits: the purge removes every pass whose
//! `at` is before the cutoff, found through `{vpass}:all`, from the hash and its three indexes in
//! one `MULTI`.
//!
//! ## Visits
//!
//! A visit is held as a compact binary record (`record.rs`, about 60 bytes), twice: in the
//! person's `visits` string and in its venue's day string, or, while open, in the person's
//! `state` and the venue's `open` hash. Strings of appended records keep a visit in its own
//! bytes plus one length byte, where a hash field and a sorted-set member would add well over
//! a hundred bytes of Redis bookkeeping each. A window query reads the person's string, or the
//! venue's days in the window (found through `days`), keeps the latest record of each id and
//! the visits whose start falls in `[from - lookback(), to]`, and orders them by start (ms),
//! then id, as the embedded store's `ORDER BY start_ms, id` does.
//!
//! ## Redis Cluster
//!
//! The braces are hash tags: Redis Cluster places a key by the text between its first `{` and
//! the next `}`, so everything about one person (`{p:RID}`) lives in one slot, and everything
//! about one venue (`{v:VID}`) in another. Resident ids and venue ids contain only
//! `[A-Za-z0-9_.-]` ([`crate::domain::ids`]), so they cannot close a tag early or open another.
//!
//! Every atomic step touches one slot:
//! - a scan's commit is one script on a single node, and on a cluster a sequence of single-slot
//!   steps (the person's first, then each venue's, `retention`'s and the alerts'), with an
//!   outbox in the person's slot that makes a stop half way repairable (see `commit.rs`);
//! - the small shared records are grouped under one tag each, so that each of their
//!   multi-key writes is one `MULTI` in one slot: `{alerts}` (the log, the delivery queue and
//!   states), `{visitors}` (visitor passes and their indexes) and `{vpass}` (vehicle passes
//!   and their indexes). These are written at a tiny fraction of the scan rate;
//! - a resident's record, phone index and home list are written one key at a time, in an
//!   order that makes a stop half way harmless (see `residents.rs`);
//! - a venue's record and the venue lists are written one key at a time, listed first;
//! - reads across many slots (the venue list, a home's residents, the events of many venues)
//!   are one pipeline on a node and concurrent commands on a cluster.
//!
//! `retention` and `{repair}:pending` take one command per scan each and sit on one node of
//! a cluster; both could be split by a hash of the owner if that node became the hot one.

use crate::domain::staff::Username;
use crate::domain::vehicle::Plate;
use crate::domain::{Phone, ResidentId, VenueId};

/// The longest key prefix accepted.
pub const MAX_PREFIX_LEN: usize = 64;

/// Builds every key of one deployment from its prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix`, which must be 1 to [`MAX_PREFIX_LEN`] of `[A-Za-z0-9_.:-]`.
    ///
    /// # Errors
    /// A message saying what is wrong with the prefix.
    pub fn new(prefix: &str) -> Result<Self, String> {
        let ok = !prefix.is_empty()
            && prefix.len() <= MAX_PREFIX_LEN
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
        if ok {
            Ok(Self {
                prefix: prefix.to_owned(),
            })
        } else {
            Err(format!(
                "the Redis key prefix must be 1 to {MAX_PREFIX_LEN} of letters, digits, \
                 '_', '.', ':' and '-'"
            ))
        }
    }

    /// The prefix, without the colon that follows it in keys.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A glob matching every key of this prefix, for `SCAN MATCH`.
    pub fn pattern(&self) -> String {
        format!("{}:*", self.prefix)
    }

    /// `PREFIX:{TAG ID}:` followed by `what`, joined. Built by concatenation: a scan builds
    /// about thirty keys, and `format!` made them cost 7 % of the service's CPU in a profile of
    /// the scan path under load (docs/scaling.md).
    fn tagged(&self, tag: &str, id: &str, what: &[&str]) -> String {
        let length = self.prefix.len()
            + tag.len()
            + id.len()
            + what.iter().map(|w| w.len()).sum::<usize>()
            + 4;
        let mut key = String::with_capacity(length);
        key.push_str(&self.prefix);
        key.push_str(":{");
        key.push_str(tag);
        key.push_str(id);
        key.push_str("}:");
        for w in what {
            key.push_str(w);
        }
        key
    }

    fn person(&self, id: &ResidentId, what: &str) -> String {
        self.tagged("p:", id.as_str(), &[what])
    }

    fn place(&self, id: &VenueId, what: &str) -> String {
        self.tagged("v:", id.as_str(), &[what])
    }

    /// `PREFIX:{p:RID}:state`: the person's version and open visit id.
    pub fn person_state(&self, id: &ResidentId) -> String {
        self.person(id, "state")
    }

    /// `PREFIX:{p:RID}:visits`: the person's closed visits, framed records appended.
    pub fn person_visits(&self, id: &ResidentId) -> String {
        self.person(id, "visits")
    }

    /// `PREFIX:{p:RID}:scratch`: where a script copies one of the person's strings to leave it
    /// at its exact size (see `append_exact` in `scripts.rs`); empty between scripts.
    pub fn person_scratch(&self, id: &ResidentId) -> String {
        self.person(id, "scratch")
    }

    /// `PREFIX:{p:RID}:events`: the person's scan events in order.
    pub fn person_events(&self, id: &ResidentId) -> String {
        self.person(id, "events")
    }

    /// `PREFIX:{p:RID}:idems:N`: the answers kept under the person's idempotency keys on
    /// UTC day `day` (days since 1970-01-01).
    pub fn person_idempotency(&self, id: &ResidentId, day: i64) -> String {
        self.tagged(
            "p:",
            id.as_str(),
            &["idems:", itoa::Buffer::new().format(day)],
        )
    }

    /// `PREFIX:{p:RID}:idem:KEY`: one answer kept under an idempotency key, as builds before
    /// the `idems:N` hashes wrote it (read only, until the last one expires 48 hours after such a
    /// build's last scan).
    pub fn legacy_person_idempotency(&self, id: &ResidentId, key: &str) -> String {
        self.tagged("p:", id.as_str(), &["idem:", key])
    }

    /// `PREFIX:{p:RID}:resident`: the resident record.
    pub fn resident(&self, id: &ResidentId) -> String {
        self.person(id, "resident")
    }

    /// `PREFIX:phone:PHONE`: which resident has this phone.
    pub fn phone(&self, phone: &Phone) -> String {
        format!("{}:phone:{}", self.prefix, phone.as_str())
    }

    /// `PREFIX:{v:VID}:venue`: the venue record.
    pub fn venue(&self, id: &VenueId) -> String {
        self.place(id, "venue")
    }

    /// `PREFIX:venues`: the set of all venue ids.
    pub fn venues(&self) -> String {
        format!("{}:venues", self.prefix)
    }

    /// `PREFIX:{v:VID}:day:N`: the venue's copy of the closed visits that began on UTC day
    /// `N` (days since 1970-01-01), framed records appended.
    pub fn venue_day(&self, id: &VenueId, day: i64) -> String {
        self.tagged(
            "v:",
            id.as_str(),
            &["day:", itoa::Buffer::new().format(day)],
        )
    }

    /// `PREFIX:{v:VID}:scratch`: where a script copies one of the venue's day strings to leave
    /// it at its exact size (see `append_exact` in `scripts.rs`); empty between scripts.
    pub fn venue_scratch(&self, id: &VenueId) -> String {
        self.place(id, "scratch")
    }

    /// `PREFIX:{v:VID}:xday`: `DAY:MS:2`, the UTC day (days since 1970-01-01, by Redis's clock)
    /// on which the idle expiries of the venue's keys were last refreshed, and the idle expiry
    /// (ms) set then (see `scripts.rs`).
    pub fn venue_expiry_day(&self, id: &VenueId) -> String {
        self.place(id, "xday")
    }

    /// `PREFIX:{v:VID}:days`: the days `N` for which the venue has a `day:N` string, each
    /// scored by itself.
    pub fn venue_days(&self, id: &VenueId) -> String {
        self.place(id, "days")
    }

    /// `PREFIX:{v:VID}:recent`: the venue's newest scan events.
    pub fn venue_recent(&self, id: &VenueId) -> String {
        self.place(id, "recent")
    }

    /// `PREFIX:{v:VID}:events`: the venue's scan events by scan time, as builds before the
    /// `eday:N` strings kept them (read and purged only).
    pub fn venue_events(&self, id: &VenueId) -> String {
        self.place(id, "events")
    }

    /// `PREFIX:{v:VID}:eday:N`: the venue's scan events of UTC day `N` (days since
    /// 1970-01-01), framed records appended.
    pub fn venue_event_day(&self, id: &VenueId, day: i64) -> String {
        self.tagged(
            "v:",
            id.as_str(),
            &["eday:", itoa::Buffer::new().format(day)],
        )
    }

    /// `PREFIX:{v:VID}:edays`: the days `N` for which the venue has an `eday:N` string, each
    /// scored by itself.
    pub fn venue_event_days(&self, id: &VenueId) -> String {
        self.place(id, "edays")
    }

    /// `PREFIX:{v:VID}:applied`: resident id → the person's version of the last scan step this
    /// venue applied (a cluster's commits only; see `VENUE_REPLAY_STEP`).
    pub fn venue_applied(&self, id: &VenueId) -> String {
        self.place(id, "applied")
    }

    /// `PREFIX:{v:VID}:open`: resident id → the record of their open visit here (presence).
    pub fn venue_open(&self, id: &VenueId) -> String {
        self.place(id, "open")
    }

    /// `PREFIX:{v:VID}:children`: the venue's sub-locations.
    pub fn venue_children(&self, id: &VenueId) -> String {
        self.place(id, "children")
    }

    /// `PREFIX:{v:VID}:residents`: the residents whose home this venue is.
    pub fn venue_residents(&self, id: &VenueId) -> String {
        self.place(id, "residents")
    }

    /// `PREFIX:staff:USERNAME`: a staff account.
    pub fn staff(&self, username: &Username) -> String {
        format!("{}:staff:{}", self.prefix, username.as_str())
    }

    /// `PREFIX:otp:PHONE`: the pending one-time code of a phone.
    pub fn otp(&self, phone: &Phone) -> String {
        format!("{}:otp:{}", self.prefix, phone.as_str())
    }

    /// `PREFIX:audit`: the audit trail, record JSON scored by time in milliseconds.
    pub fn audit(&self) -> String {
        format!("{}:audit", self.prefix)
    }

    /// `PREFIX:{visitors}:pass:ID`: a visitor pass.
    pub fn visitor_pass(&self, id: &str) -> String {
        format!("{}:{{visitors}}:pass:{id}", self.prefix)
    }

    /// `PREFIX:{visitors}:ends`: visitor pass ids by the end of their validity.
    pub fn visitor_pass_ends(&self) -> String {
        format!("{}:{{visitors}}:ends", self.prefix)
    }

    /// `PREFIX:{visitors}:phone:PHONE`: the visitor passes of a phone.
    pub fn visitor_passes(&self, phone: &Phone) -> String {
        format!("{}:{{visitors}}:phone:{}", self.prefix, phone.as_str())
    }

    /// `PREFIX:{alerts}:log`: alerts by time.
    pub fn alerts(&self) -> String {
        format!("{}:{{alerts}}:log", self.prefix)
    }

    /// `PREFIX:{alerts}:due`: pending alert deliveries by when they are next tried.
    pub fn alerts_due(&self) -> String {
        format!("{}:{{alerts}}:due", self.prefix)
    }

    /// `PREFIX:{alerts}:delivery`: each alert's JSON, delivery state and claim.
    pub fn alerts_delivery(&self) -> String {
        format!("{}:{{alerts}}:delivery", self.prefix)
    }

    /// `PREFIX:{vpass}:pass`: vehicle passes by id.
    pub fn vehicle_pass(&self) -> String {
        format!("{}:{{vpass}}:pass", self.prefix)
    }

    /// `PREFIX:{vpass}:all`: every vehicle pass id by time (the retention index of passes).
    pub fn vehicle_passes(&self) -> String {
        format!("{}:{{vpass}}:all", self.prefix)
    }

    /// `PREFIX:{vpass}:venue:VID`: a checkpoint's vehicle pass ids by time.
    pub fn venue_vehicle_passes(&self, id: &VenueId) -> String {
        format!("{}:{{vpass}}:venue:{}", self.prefix, id.as_str())
    }

    /// `PREFIX:{vpass}:plate:PLATE`: a plate's vehicle pass ids by time.
    pub fn plate_vehicle_passes(&self, plate: &Plate) -> String {
        format!("{}:{{vpass}}:plate:{}", self.prefix, plate.as_str())
    }

    /// `PREFIX:{p:RID}:outbox`: on a cluster, the writes in other slots still owed by the
    /// person's committed scans, version → followups JSON.
    pub fn person_outbox(&self, id: &ResidentId) -> String {
        self.person(id, "outbox")
    }

    /// `PREFIX:{repair}:pending`: on a cluster, resident ids whose outbox may hold entries,
    /// scored by when they were marked (ms).
    pub fn repair_pending(&self) -> String {
        format!("{}:{{repair}}:pending", self.prefix)
    }

    /// `PREFIX:retention`: owners of visits and events by when their oldest data expires.
    pub fn retention(&self) -> String {
        format!("{}:retention", self.prefix)
    }

    /// `PREFIX:ping`: the readiness probe's key.
    pub fn ping(&self) -> String {
        format!("{}:ping", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::new("checkin").expect("a valid prefix")
    }

    /// The commit scripts name a person's and a venue's rarely written keys after the one key
    /// passed (`sibling` in `scripts.rs`): the names must be the ones built here.
    #[test]
    fn the_keys_a_script_names_itself_are_the_ones_built_here() {
        let k = keys();
        let rid = ResidentId::parse("R00001").expect("a valid id");
        let state = k.person_state(&rid);
        let person = state
            .strip_suffix("state")
            .expect("a person's state key ends so");
        assert_eq!(format!("{person}scratch"), k.person_scratch(&rid));
        assert_eq!(
            format!("{person}idems:20000"),
            k.person_idempotency(&rid, 20_000)
        );
        let vid = VenueId::parse("V0001").expect("a valid id");
        let open = k.venue_open(&vid);
        let venue = open
            .strip_suffix("open")
            .expect("a venue's open key ends so");
        for (name, built) in [
            ("events", k.venue_events(&vid)),
            ("days", k.venue_days(&vid)),
            ("scratch", k.venue_scratch(&vid)),
            ("xday", k.venue_expiry_day(&vid)),
            ("edays", k.venue_event_days(&vid)),
            ("eday:20000", k.venue_event_day(&vid, 20_000)),
        ] {
            assert_eq!(format!("{venue}{name}"), built);
        }
    }

    #[test]
    fn a_persons_keys_share_one_hash_tag() {
        let rid = ResidentId::parse("R00001").expect("a valid id");
        let k = keys();
        for key in [
            k.person_state(&rid),
            k.person_visits(&rid),
            k.person_events(&rid),
            k.person_idempotency(&rid, 20_000),
            k.legacy_person_idempotency(&rid, "abc"),
            k.person_scratch(&rid),
            k.resident(&rid),
        ] {
            assert!(key.starts_with("checkin:{p:R00001}:"), "{key}");
        }
        assert_eq!(k.person_state(&rid), "checkin:{p:R00001}:state");
        assert_eq!(
            k.person_idempotency(&rid, 20_000),
            "checkin:{p:R00001}:idems:20000"
        );
        assert_eq!(
            k.legacy_person_idempotency(&rid, "abc"),
            "checkin:{p:R00001}:idem:abc"
        );
    }

    #[test]
    fn a_venues_keys_share_one_hash_tag() {
        let vid = VenueId::parse("GC-C001").expect("a valid id");
        let k = keys();
        for key in [
            k.venue(&vid),
            k.venue_day(&vid, 18_331),
            k.venue_days(&vid),
            k.venue_open(&vid),
            k.venue_scratch(&vid),
            k.venue_expiry_day(&vid),
            k.venue_event_day(&vid, 18_331),
            k.venue_event_days(&vid),
        ] {
            assert!(key.starts_with("checkin:{v:GC-C001}:"), "{key}");
        }
        assert_eq!(
            k.venue_event_day(&vid, 18_331),
            "checkin:{v:GC-C001}:eday:18331"
        );
        assert_eq!(k.venue_day(&vid, -1), "checkin:{v:GC-C001}:day:-1");
        assert_eq!(k.venue_open(&vid), "checkin:{v:GC-C001}:open");
    }

    #[test]
    fn a_prefix_with_a_brace_or_a_glob_is_refused() {
        assert!(Keys::new("a{b").is_err());
        assert!(Keys::new("a*").is_err());
        assert!(Keys::new("").is_err());
        assert!(Keys::new("checkin:prod-1").is_ok());
    }
}
