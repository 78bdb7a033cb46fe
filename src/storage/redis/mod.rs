//! The Redis store: every [`Store`] call as a few commands or one Lua script on Redis 6.2 or
//! later (it uses `SET … GET`, `GETDEL` and `LPOS`), on one node or on a Redis Cluster.
//!
//! One connection ([`conn::Conn`]: a multiplexed connection that reconnects by itself, or a
//! cluster connection) is shared by all clones of the store, except the handle each of the
//! service's worker threads opens for itself ([`Store::for_this_thread`]). Connecting and every command are bounded ([`Timeouts`], 2 s each by
//! default, and one quick reconnection retry), so a dead or stuck Redis fails fast with
//! [`StoreError::Unavailable`] instead of hanging requests; the command that meets a broken
//! connection fails, and the manager reconnects in the background for the next one.
//!
//! The key layout is written down in [`keys`]; the scripts are in `scripts.rs`.

mod alerts;
mod commit;
pub mod conn;
mod event_record;
mod import;
pub mod keys;
mod parsed;
mod record;
mod refreshed;
mod residents;
mod retention;
mod scripts;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use redis::FromRedisValue;

pub use self::commit::Faults;
use self::conn::Conn;
use self::keys::Keys;
use self::scripts::Scripts;
use super::{
    lookback, refuse_open_visits, CommitResult, IdempotencyRecord, OtpRecord, PersonState,
    PurgeReport, ScanCommit, Store, StoreError, Upsert,
};
use crate::domain::audit::AuditRecord;
use crate::domain::delivery::{AlertRecord, ClaimedAlert, Settlement};
use crate::domain::staff::{StaffAccount, Username};
use crate::domain::vehicle::{Plate, VehiclePass};
use crate::domain::visitor::VisitorPass;
use crate::domain::{Phone, Resident, ResidentId, ScanEvent, Venue, VenueId, Visit};

/// How long the store waits on Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long one connection attempt may take (two are made before giving up).
    pub connection: Duration,
    /// How long one command may wait for its answer.
    pub response: Duration,
}

impl Default for Timeouts {
    /// 2 s to connect, 2 s per answer.
    fn default() -> Self {
        Self {
            connection: Duration::from_secs(2),
            response: Duration::from_secs(2),
        }
    }
}

/// How long after its `expires_at` a one-time code is kept: a late try still reads it back, as
/// from the embedded store (which never drops codes), and the caller judges `expires_at`.
pub const OTP_GRACE_SECONDS: i64 = 300;

/// Redis-backed [`Store`]. Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    /// Where `conn` leads, to open another connection there ([`Store::for_this_thread`]).
    /// Holds the password when the URL has one: never printed.
    url: Arc<str>,
    timeouts: Timeouts,
    keys: Arc<Keys>,
    scripts: Arc<Scripts>,
    /// `PEXPIRE` set on a person's and a venue's visit keys at each write, ms; 0: none.
    idle_expiry_ms: u64,
    /// Venues whose idle expiries this instance knows to be refreshed today (a hint).
    refreshed: Arc<refreshed::Refreshed>,
    /// Venues and registrations as last parsed, with their JSON (`parsed.rs`).
    parsed: Arc<parsed::ParsedRecords>,
    /// Faults injected by tests; none otherwise.
    faults: Faults,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.keys.prefix())
            .field("cluster", &self.conn.is_cluster())
            .finish_non_exhaustive()
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        StoreError::Unavailable(format!("redis: {e}"))
    }
}

/// Runs a read, and runs it once more when it met a connection that had dropped. A connection
/// that reconnects by itself fails the first command sent after Redis went away (it learns of
/// the break then, and reconnects for the next one); each service worker has its own, so
/// without this every worker would answer one 503 after Redis is back. Only for reads: a
/// write that met a broken connection may or may not have been applied.
async fn read_again_if_dropped<T, F, Fut>(read: F) -> Result<T, redis::RedisError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, redis::RedisError>>,
{
    match read().await {
        Err(e) if e.is_connection_dropped() || e.is_io_error() => read().await,
        other => other,
    }
}

/// One answer of a pipeline as `T`; an answer of another type, or Redis's `WRONGTYPE`, is
/// [`StoreError::Corrupt`] (a key holding what this store never writes there). Any other
/// error Redis answers (`LOADING` while it reads its file after a restart, `BUSY`, `OOM`,
/// `MASTERDOWN`, `TRYAGAIN`) is [`StoreError::Unavailable`]: Redis cannot answer now, and
/// nothing stored is wrong.
fn answer<T: FromRedisValue>(value: redis::Value) -> Result<T, StoreError> {
    if let redis::Value::ServerError(e) = &value {
        if e.code() != "WRONGTYPE" {
            return Err(StoreError::Unavailable(format!(
                "redis: {} {}",
                e.code(),
                e.details().unwrap_or_default()
            )));
        }
    }
    redis::from_redis_value(value).map_err(|e| StoreError::Corrupt(format!("redis: {e}")))
}

/// Parses stored JSON, a parse failure being [`StoreError::Corrupt`].
fn parse<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, StoreError> {
    Ok(serde_json::from_str(raw)?)
}

/// The visits whose start (ms) lies in `[from, to]`, in their order.
fn within(visits: Vec<Visit>, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Visit> {
    let (min, max) = (from.timestamp_millis(), to.timestamp_millis());
    visits
        .into_iter()
        .filter(|v| (min..=max).contains(&v.start().timestamp_millis()))
        .collect()
}

/// Parses stored JSON when there is any.
fn parse_opt<T: serde::de::DeserializeOwned>(raw: Option<String>) -> Result<Option<T>, StoreError> {
    raw.as_deref().map(parse).transpose()
}

impl RedisStore {
    /// Lists a venue's id (and under its parent) and SETs its record with one option (`GET`:
    /// answers the record it replaced; `NX`: only if absent, answers `OK` when written).
    /// Listed first: should the write stop half way, a listed id without a record is skipped
    /// by `venues`, while a record that is not listed would be lost to it. (Not MULTI: the
    /// keys are in different cluster slots.)
    async fn list_and_set_venue(
        &self,
        venue: &Venue,
        option: &str,
    ) -> Result<Option<String>, StoreError> {
        let json = serde_json::to_string(venue)?;
        if let Some(parent) = &venue.parent {
            let _: i64 = redis::cmd("SADD")
                .arg(self.keys.venue_children(parent))
                .arg(venue.id.as_str())
                .query_async(&mut self.conn())
                .await?;
        }
        let _: i64 = redis::cmd("SADD")
            .arg(self.keys.venues())
            .arg(venue.id.as_str())
            .query_async(&mut self.conn())
            .await?;
        Ok(redis::cmd("SET")
            .arg(self.keys.venue(&venue.id))
            .arg(json)
            .arg(option)
            .query_async(&mut self.conn())
            .await?)
    }

    /// Runs commands that may touch different slots and answers each in order: one pipeline
    /// on a node, concurrent commands on a cluster (a cluster pipeline must stay in one slot).
    async fn each<T: FromRedisValue>(&self, cmds: Vec<redis::Cmd>) -> Result<Vec<T>, StoreError> {
        if cmds.is_empty() {
            return Ok(Vec::new());
        }
        if self.conn.is_cluster() {
            return try_join_all(cmds.iter().map(|cmd| async move {
                Ok::<T, StoreError>(cmd.query_async(&mut self.conn()).await?)
            }))
            .await;
        }
        let mut pipe = redis::pipe();
        for cmd in cmds {
            pipe.add_command(cmd);
        }
        Ok(pipe.query_async(&mut self.conn()).await?)
    }

    /// Connects to the Redis at `url` (`redis://[:password@]host:port[/db]`, or a cluster: see
    /// [`conn`]), keeping every key under `key_prefix` (see [`keys`]), with the default
    /// [`Timeouts`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL or the prefix is invalid, or Redis cannot be
    /// reached (two attempts of 2 s at most).
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, key_prefix, Timeouts::default()).await
    }

    /// [`RedisStore::connect`] with the given timeouts.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL or the prefix is invalid, or Redis cannot be
    /// reached in two attempts of `timeouts.connection`.
    pub async fn connect_with(
        url: &str,
        key_prefix: &str,
        timeouts: Timeouts,
    ) -> Result<Self, StoreError> {
        let keys = Keys::new(key_prefix).map_err(StoreError::Unavailable)?;
        let conn = Conn::open(url, timeouts).await?;
        Ok(Self {
            conn,
            url: Arc::from(url),
            timeouts,
            keys: Arc::new(keys),
            scripts: Arc::new(Scripts::new(0)),
            idle_expiry_ms: 0,
            refreshed: Arc::new(refreshed::Refreshed::new()),
            parsed: Arc::new(parsed::ParsedRecords::new()),
            faults: Faults::default(),
        })
    }

    /// Injects `faults` (for tests of what a crash leaves behind).
    #[doc(hidden)]
    #[must_use]
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Whether the store is on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// Has Redis drop a person's or venue's visit keys (`state`, `visit`, `visits`, `events`,
    /// `open`) when nothing was written to them for `after` (the retention period plus the
    /// longest stay, in the service). The default is no expiry.
    #[must_use]
    pub fn expire_idle_after(mut self, after: chrono::Duration) -> Self {
        self.idle_expiry_ms = u64::try_from(after.num_milliseconds()).unwrap_or(0);
        // The scan scripts carry the idle expiry in their text.
        self.scripts = Arc::new(Scripts::new(self.idle_expiry_ms));
        self.refreshed = Arc::new(refreshed::Refreshed::new());
        self
    }

    /// The key prefix in use.
    pub fn key_prefix(&self) -> &str {
        self.keys.prefix()
    }

    fn conn(&self) -> Conn {
        self.conn.clone()
    }

    /// `SET` of a phone's pending code, kept until its expiry and a grace; with `only_new`,
    /// `NX`: left alone when the phone has a code by now.
    async fn set_otp(
        &self,
        phone: &Phone,
        otp: &OtpRecord,
        only_new: bool,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(otp)?;
        let keep_until = otp.expires_at + chrono::Duration::seconds(OTP_GRACE_SECONDS);
        let ttl_ms = (keep_until - Utc::now()).num_milliseconds().max(1000);
        let mut set = redis::cmd("SET");
        set.arg(self.keys.otp(phone))
            .arg(json)
            .arg("PX")
            .arg(ttl_ms);
        if only_new {
            set.arg("NX");
        }
        let _: Option<String> = set.query_async(&mut self.conn()).await?;
        Ok(())
    }

    /// The person's state before a scan (see [`Store::person_state`]) and, when `venue` is
    /// given, that venue, in one pipeline: plain commands rather than a script, as the read
    /// needs no atomicity (the commit checks the version it was decided on) and a script's
    /// own machinery cost Redis more than the commands in it (docs/scaling.md). The venue's
    /// key must be on the same node as the person's (not on a cluster).
    async fn read_person(
        &self,
        resident: &ResidentId,
        idempotency_key: Option<&str>,
        venue: Option<&VenueId>,
    ) -> Result<(PersonState, Result<Option<Venue>, StoreError>), StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET")
            .arg(self.keys.person_state(resident))
            .arg("version")
            .arg("open")
            .arg("last")
            .cmd("GET")
            .arg(self.keys.resident(resident));
        // A record lives 48 hours: it was written today, yesterday or the day before; or
        // tomorrow, by a writer whose clock is a little ahead of this one's at midnight.
        let now = Utc::now();
        let today = commit::idempotency_day(now);
        let idem_days = [today, today - 1, today - 2, today + 1];
        if let Some(k) = idempotency_key {
            for day in idem_days {
                pipe.cmd("HGET")
                    .arg(self.keys.person_idempotency(resident, day))
                    .arg(k);
            }
            pipe.cmd("GET")
                .arg(self.keys.legacy_person_idempotency(resident, k));
        }
        if let Some(v) = venue {
            pipe.cmd("GET").arg(self.keys.venue(v));
        }
        // Each answer on its own: a key holding another type is that key's error (`Corrupt`),
        // not the pipeline's, so a venue that cannot be read leaves the person readable.
        pipe.ignore_errors();
        let answers: Vec<redis::Value> = read_again_if_dropped(|| {
            let (pipe, mut conn) = (&pipe, self.conn());
            async move { pipe.query_async(&mut conn).await }
        })
        .await?;
        let mut answers = answers.into_iter();
        let mut next = || answers.next().unwrap_or(redis::Value::Nil);
        type State = (Option<String>, Option<Vec<u8>>, Option<i64>);
        let (version, open, latest): State = answer(next())?;
        let registration: Option<String> = answer(next())?;
        let idempotent = match idempotency_key {
            Some(_) => {
                let mut found = None;
                for _ in idem_days {
                    let kept: Option<Vec<u8>> = answer(next())?;
                    if let (None, Some(value)) = (&found, kept) {
                        found = commit::idempotency_record(&value, now)?;
                    }
                }
                let legacy: Option<String> = answer(next())?;
                match found {
                    Some(record) => Some(record),
                    None => parse_opt::<IdempotencyRecord>(legacy)?,
                }
            }
            None => None,
        };
        // The venue's answer is kept apart: a venue that cannot be read fails the scan's check,
        // which a retry under an idempotency key never reaches.
        let venue: Result<Option<Venue>, StoreError> = match venue {
            Some(v) => answer::<Option<String>>(next())
                .and_then(|raw| self.parsed.venues.parse(v.as_str(), raw)),
            None => Ok(None),
        };
        let version = match version {
            None => 0,
            Some(v) => v
                .parse::<u64>()
                .map_err(|e| StoreError::Corrupt(format!("person version {v:?}: {e}")))?,
        };
        let mut latest = latest.and_then(DateTime::from_timestamp_millis);
        if latest.is_none() && version > 0 {
            // Stored by a build before `last` existed: its newest event says it, once.
            latest = self.backfill_latest(resident).await?;
        }
        let person = PersonState {
            version,
            open: open
                .as_deref()
                .filter(|bytes| !bytes.is_empty())
                .map(|bytes| record::unframe(bytes, record::Side::Person(resident)))
                .transpose()?,
            idempotent,
            resident: self
                .parsed
                .residents
                .parse(resident.as_str(), registration)?,
            latest_scan_time: latest,
        };
        Ok((person, venue))
    }

    /// `SET key json GET`: writes and tells whether a value was there before.
    async fn upsert(&self, key: String, json: String) -> Result<Upsert, StoreError> {
        let before: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(json)
            .arg("GET")
            .query_async(&mut self.conn())
            .await?;
        Ok(if before.is_some() {
            Upsert::Updated
        } else {
            Upsert::Created
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: String,
    ) -> Result<Option<T>, StoreError> {
        parse_opt(self.get_string(key).await?)
    }

    /// `GET key`, read again once if the connection dropped.
    async fn get_string(&self, key: String) -> Result<Option<String>, StoreError> {
        let get = redis::cmd("GET").arg(key).clone();
        Ok(read_again_if_dropped(|| {
            let (get, mut conn) = (&get, self.conn());
            async move { get.query_async(&mut conn).await }
        })
        .await?)
    }

    /// A person's visits, closed and open, whose start (ms) lies in `[from, to]`, ordered by
    /// start then id.
    async fn person_visits_in(
        &self,
        rid: &ResidentId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Visit>, StoreError> {
        let (filed, open): (Option<Vec<u8>>, Option<Vec<u8>>) = redis::pipe()
            .cmd("GET")
            .arg(self.keys.person_visits(rid))
            .cmd("HGET")
            .arg(self.keys.person_state(rid))
            .arg("open")
            .query_async(&mut self.conn())
            .await?;
        let side = record::Side::Person(rid);
        let filed = record::unframe_all(filed.as_deref().unwrap_or_default(), side)?;
        let open = match open.as_deref() {
            Some(bytes) if !bytes.is_empty() => Some(record::unframe(bytes, side)?),
            _ => None,
        };
        Ok(within(record::latest(filed, open), from, to))
    }

    /// A venue's visits, closed and open, whose start (ms) lies in `[from, to]`, ordered by
    /// start then id: the day strings of the days in the window, and the open visits.
    async fn venue_visits_in(
        &self,
        venue: &VenueId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Visit>, StoreError> {
        let (min, max) = (from.timestamp_millis(), to.timestamp_millis());
        if min > max {
            return Ok(Vec::new());
        }
        let (days, open): (Vec<i64>, Vec<Vec<u8>>) = redis::pipe()
            .cmd("ZRANGEBYSCORE")
            .arg(self.keys.venue_days(venue))
            .arg(commit::day_of(min))
            .arg(commit::day_of(max))
            .cmd("HVALS")
            .arg(self.keys.venue_open(venue))
            .query_async(&mut self.conn())
            .await?;
        let filed: Vec<Option<Vec<u8>>> = if days.is_empty() {
            Vec::new()
        } else {
            let mut pipe = redis::pipe();
            for day in &days {
                pipe.cmd("GET").arg(self.keys.venue_day(venue, *day));
            }
            pipe.query_async(&mut self.conn()).await?
        };
        let side = record::Side::Venue(venue);
        let mut records = Vec::new();
        for bytes in filed.iter().flatten() {
            records.extend(record::unframe_all(bytes, side)?);
        }
        let open = open
            .iter()
            .map(|bytes| record::unframe(bytes, side))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(within(record::latest(records, open), from, to))
    }

    /// The vehicle passes indexed in `zset` with `at` in `[from, to]` that `keep` accepts,
    /// ordered by `at` then id. An indexed id with no record (purged meanwhile) is skipped.
    async fn passes_in(
        &self,
        zset: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        keep: impl Fn(&VehiclePass) -> bool,
    ) -> Result<Vec<VehiclePass>, StoreError> {
        let (min, max) = (from.timestamp_millis(), to.timestamp_millis());
        if min > max {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(&zset)
            .arg(min)
            .arg(max)
            .query_async(&mut self.conn())
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raws: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.keys.vehicle_pass())
            .arg(&ids)
            .query_async(&mut self.conn())
            .await?;
        let mut passes = Vec::new();
        for raw in raws.into_iter().flatten() {
            let pass: VehiclePass = parse(&raw)?;
            // A pass replaced with another venue or plate leaves a stale index entry behind. (The
            // window is the scores', in ms, as the embedded store compares it.)
            if keep(&pass) {
                passes.push(pass);
            }
        }
        passes.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(passes)
    }
}

impl RedisStore {
    /// The latest scan time of a person stored before each person's state kept it (`last`),
    /// from their scan events, written into their state so that this happens once.
    async fn backfill_latest(
        &self,
        resident: &ResidentId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let newest = self
            .scan_events(resident)
            .await?
            .iter()
            .map(|e| e.scan_time)
            .max();
        if let Some(t) = newest {
            let _: i64 = self
                .scripts
                .raise_last
                .key(self.keys.person_state(resident))
                .arg(t.timestamp_millis())
                .invoke_async(&mut self.conn())
                .await?;
        }
        Ok(newest)
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn for_this_thread(&self) -> Option<Arc<dyn Store>> {
        match Conn::open(&self.url, self.timeouts).await {
            Ok(conn) => Some(Arc::new(Self {
                conn,
                ..self.clone()
            })),
            Err(e) => {
                tracing::warn!(error = %e, "no connection of this thread's own; using the shared one");
                None
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let key = self.keys.ping();
        let value = uuid::Uuid::new_v4().to_string();
        let pipe = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(&value)
            .arg("EX")
            .arg(60)
            .cmd("GET")
            .arg(&key)
            .clone();
        let ((), back): ((), Option<String>) = read_again_if_dropped(|| {
            let (pipe, mut conn) = (&pipe, self.conn());
            async move { pipe.query_async(&mut conn).await }
        })
        .await?;
        if self.conn.is_cluster() {
            // The key above lives on one master; every master must answer.
            let _: String = redis::cmd("PING").query_async(&mut self.conn()).await?;
        }
        if back.as_deref() == Some(value.as_str()) {
            Ok(())
        } else {
            Err(StoreError::Unavailable(
                "ping read back another value".into(),
            ))
        }
    }

    async fn put_venue(&self, venue: &Venue) -> Result<Upsert, StoreError> {
        let before = self.list_and_set_venue(venue, "GET").await?;
        Ok(if before.is_some() {
            Upsert::Updated
        } else {
            Upsert::Created
        })
    }

    async fn insert_venue(&self, venue: &Venue) -> Result<bool, StoreError> {
        // SET NX decides which of concurrent inserts wins.
        Ok(self.list_and_set_venue(venue, "NX").await?.is_some())
    }

    async fn replace_venue(&self, venue: &Venue, expected: u64) -> Result<bool, StoreError> {
        let json = serde_json::to_string(venue)?;
        let replaced: i64 = self
            .scripts
            .replace_venue
            .key(self.keys.venue(&venue.id))
            .arg(json)
            .arg(expected)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(replaced == 1)
    }

    async fn venue(&self, id: &VenueId) -> Result<Option<Venue>, StoreError> {
        let raw = self.get_string(self.keys.venue(id)).await?;
        self.parsed.venues.parse(id.as_str(), raw)
    }

    async fn venues(&self) -> Result<Vec<Venue>, StoreError> {
        let mut ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.venues())
            .query_async(&mut self.conn())
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        ids.sort_unstable();
        let mut gets = Vec::with_capacity(ids.len());
        for raw in &ids {
            let id =
                VenueId::parse(raw).map_err(|e| StoreError::Corrupt(format!("venue list: {e}")))?;
            gets.push(redis::cmd("GET").arg(self.keys.venue(&id)).clone());
        }
        let raws: Vec<Option<String>> = self.each(gets).await?;
        raws.into_iter()
            .flatten()
            .map(|json| parse(&json))
            .collect()
    }

    async fn put_resident(&self, resident: &Resident) -> Result<Upsert, StoreError> {
        self.write_resident(resident).await
    }

    async fn sub_locations(&self, parent: &VenueId) -> Result<Vec<VenueId>, StoreError> {
        let mut ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.venue_children(parent))
            .query_async(&mut self.conn())
            .await?;
        ids.sort_unstable();
        let mut children = Vec::new();
        for id in ids {
            let id = VenueId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            // Listed when written; read as the record says.
            if let Some(v) = self.venue(&id).await? {
                if v.parent.as_ref() == Some(parent) {
                    children.push(id);
                }
            }
        }
        Ok(children)
    }

    async fn residents_at_home(&self, home: &VenueId) -> Result<Vec<Resident>, StoreError> {
        let mut ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.venue_residents(home))
            .query_async(&mut self.conn())
            .await?;
        ids.sort_unstable();
        let mut gets = Vec::with_capacity(ids.len());
        for id in &ids {
            let rid = ResidentId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            gets.push(redis::cmd("GET").arg(self.keys.resident(&rid)).clone());
        }
        let raws: Vec<Option<String>> = self.each(gets).await?;
        let mut people = Vec::new();
        for raw in raws.into_iter().flatten() {
            let person: Resident = parse(&raw)?;
            // The set is written with the record, but read it as the record says.
            if person.home.as_ref() == Some(home) {
                people.push(person);
            }
        }
        Ok(people)
    }

    async fn resident(&self, id: &ResidentId) -> Result<Option<Resident>, StoreError> {
        let raw = self.get_string(self.keys.resident(id)).await?;
        self.parsed.residents.parse(id.as_str(), raw)
    }

    async fn resident_by_phone(&self, phone: &Phone) -> Result<Option<Resident>, StoreError> {
        let owner: Option<String> = redis::cmd("GET")
            .arg(self.keys.phone(phone))
            .query_async(&mut self.conn())
            .await?;
        let Some(owner) = owner else {
            return Ok(None);
        };
        let id = ResidentId::parse(&owner)
            .map_err(|e| StoreError::Corrupt(format!("phone index: {e}")))?;
        let resident: Option<Resident> = self.get_json(self.keys.resident(&id)).await?;
        // The index is kept with the record; a mismatch can only be a foreign writer.
        Ok(resident.filter(|r| &r.phone == phone))
    }

    async fn put_staff(&self, account: &StaffAccount) -> Result<Upsert, StoreError> {
        let json = serde_json::to_string(account)?;
        self.upsert(self.keys.staff(&account.username), json).await
    }

    async fn add_staff(&self, account: &StaffAccount) -> Result<bool, StoreError> {
        let set: Option<String> = redis::cmd("SET")
            .arg(self.keys.staff(&account.username))
            .arg(serde_json::to_string(account)?)
            .arg("NX")
            .query_async(&mut self.conn())
            .await?;
        Ok(set.is_some())
    }

    async fn staff(&self, username: &Username) -> Result<Option<StaffAccount>, StoreError> {
        self.get_json(self.keys.staff(username)).await
    }

    async fn put_otp(&self, phone: &Phone, otp: &OtpRecord) -> Result<(), StoreError> {
        self.set_otp(phone, otp, false).await
    }

    async fn restore_otp(&self, phone: &Phone, otp: &OtpRecord) -> Result<(), StoreError> {
        self.set_otp(phone, otp, true).await
    }

    async fn take_otp(&self, phone: &Phone) -> Result<Option<OtpRecord>, StoreError> {
        let raw: Option<String> = redis::cmd("GETDEL")
            .arg(self.keys.otp(phone))
            .query_async(&mut self.conn())
            .await?;
        parse_opt(raw)
    }

    async fn person_state(
        &self,
        resident: &ResidentId,
        idempotency_key: Option<&str>,
    ) -> Result<PersonState, StoreError> {
        Ok(self.read_person(resident, idempotency_key, None).await?.0)
    }

    async fn person_state_and_venue(
        &self,
        resident: &ResidentId,
        idempotency_key: Option<&str>,
        venue: &VenueId,
    ) -> Result<(PersonState, Result<Option<Venue>, StoreError>), StoreError> {
        if self.conn.is_cluster() {
            // The venue's key is in another slot, most likely on another master.
            return crate::storage::person_state_beside_venue(
                self,
                resident,
                idempotency_key,
                venue,
            )
            .await;
        }
        self.read_person(resident, idempotency_key, Some(venue))
            .await
    }

    async fn commit_scan(&self, commit: &ScanCommit) -> Result<CommitResult, StoreError> {
        self.commit(commit).await
    }

    async fn import_visits(&self, visits: &[Visit]) -> Result<(), StoreError> {
        refuse_open_visits(visits)?;
        self.import_closed_visits(visits).await
    }

    async fn recent_scans(
        &self,
        venue: &VenueId,
        limit: usize,
    ) -> Result<Vec<ScanEvent>, StoreError> {
        let last = isize::try_from(limit.clamp(1, scripts::RECENT_SCANS_KEPT)).unwrap_or(1) - 1;
        let raws: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(self.keys.venue_recent(venue))
            .arg(0)
            .arg(last)
            .query_async(&mut self.conn())
            .await?;
        raws.iter().map(|raw| event_record::decode(raw)).collect()
    }

    async fn venue_events(
        &self,
        venues: &[VenueId],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ScanEvent>, StoreError> {
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        let mut events = Vec::new();
        for chunk in venues.chunks(100) {
            // Each venue's days with events in the window, and its events as earlier builds
            // kept them (a sorted set by time).
            let ranges = chunk
                .iter()
                .flat_map(|v| {
                    [
                        redis::cmd("ZRANGEBYSCORE")
                            .arg(self.keys.venue_event_days(v))
                            .arg(commit::day_of(from_ms))
                            .arg(commit::day_of(to_ms))
                            .clone(),
                        redis::cmd("ZRANGEBYSCORE")
                            .arg(self.keys.venue_events(v))
                            .arg(from_ms)
                            .arg(to_ms)
                            .clone(),
                    ]
                })
                .collect();
            let answers: Vec<Vec<Vec<u8>>> = self.each(ranges).await?;
            let mut gets = Vec::new();
            for (v, pair) in chunk.iter().zip(answers.chunks(2)) {
                let [days, legacy] = pair else { continue };
                for raw in legacy {
                    events.push(event_record::decode(raw)?);
                }
                for day in days {
                    let day: i64 = std::str::from_utf8(day)
                        .ok()
                        .and_then(|d| d.parse().ok())
                        .ok_or_else(|| StoreError::Corrupt(format!("venue {v}: an event day")))?;
                    gets.push(
                        redis::cmd("GET")
                            .arg(self.keys.venue_event_day(v, day))
                            .clone(),
                    );
                }
            }
            let strings: Vec<Option<Vec<u8>>> = self.each(gets).await?;
            for bytes in strings.iter().flatten() {
                for body in record::frames(bytes)? {
                    let e = event_record::decode(body)?;
                    let at = e.scan_time.timestamp_millis();
                    if (from_ms..=to_ms).contains(&at) {
                        events.push(e);
                    }
                }
            }
        }
        events.sort_by(|a, b| (a.scan_time, &a.id).cmp(&(b.scan_time, &b.id)));
        Ok(events)
    }

    async fn scan_events(&self, resident: &ResidentId) -> Result<Vec<ScanEvent>, StoreError> {
        let raws: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(self.keys.person_events(resident))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn())
            .await?;
        raws.iter().map(|raw| event_record::decode(raw)).collect()
    }

    async fn resident_visits(
        &self,
        resident: &ResidentId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Visit>, StoreError> {
        self.person_visits_in(resident, from - lookback(), to).await
    }

    async fn venue_visits_starting(
        &self,
        venue: &VenueId,
        starts_from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Visit>, StoreError> {
        self.venue_visits_in(venue, starts_from, to).await
    }

    async fn put_visitor_pass(&self, pass: &VisitorPass) -> Result<(), StoreError> {
        // Listed first: a listed id without a record is skipped when read. (All in the
        // `{visitors}` slot.)
        let () = redis::pipe()
            .atomic()
            .cmd("SADD")
            .arg(self.keys.visitor_passes(&pass.phone))
            .arg(&pass.id)
            .ignore()
            .cmd("SET")
            .arg(self.keys.visitor_pass(&pass.id))
            .arg(serde_json::to_string(pass)?)
            .ignore()
            .cmd("ZADD")
            .arg(self.keys.visitor_pass_ends())
            .arg(pass.valid_until.timestamp_millis())
            .arg(&pass.id)
            .ignore()
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    async fn visitor_pass(&self, id: &str) -> Result<Option<VisitorPass>, StoreError> {
        self.get_json(self.keys.visitor_pass(id)).await
    }

    async fn visitor_passes(&self, phone: &Phone) -> Result<Vec<VisitorPass>, StoreError> {
        let mut ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.visitor_passes(phone))
            .query_async(&mut self.conn())
            .await?;
        ids.sort_unstable();
        let mut passes = Vec::new();
        for id in ids {
            if let Some(p) = self.visitor_pass(&id).await? {
                passes.push(p);
            }
        }
        Ok(passes)
    }

    async fn add_vehicle_pass(
        &self,
        pass: &VehiclePass,
    ) -> Result<Option<VehiclePass>, StoreError> {
        let kept: Option<String> = self
            .scripts
            .add_vehicle_pass
            .key(self.keys.vehicle_pass())
            .key(self.keys.vehicle_passes())
            .key(self.keys.venue_vehicle_passes(&pass.venue_id))
            .key(self.keys.plate_vehicle_passes(&pass.plate))
            .arg(&pass.id)
            .arg(serde_json::to_string(pass)?)
            .arg(pass.at.timestamp_millis())
            .invoke_async(&mut self.conn())
            .await?;
        parse_opt(kept)
    }

    async fn vehicle_passes_at(
        &self,
        venue: &VenueId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VehiclePass>, StoreError> {
        self.passes_in(self.keys.venue_vehicle_passes(venue), from, to, |p| {
            &p.venue_id == venue
        })
        .await
    }

    async fn vehicle_passes_by_plate(
        &self,
        plate: &Plate,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VehiclePass>, StoreError> {
        self.passes_in(self.keys.plate_vehicle_passes(plate), from, to, |p| {
            &p.plate == plate
        })
        .await
    }

    async fn alerts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        self.alert_records(from, to).await
    }

    async fn claim_alerts(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ClaimedAlert>, StoreError> {
        self.claim_due_alerts(now, lease_until, limit).await
    }

    async fn settle_alert(
        &self,
        alert_id: &str,
        claim: &str,
        settlement: &Settlement,
    ) -> Result<bool, StoreError> {
        self.settle_claimed_alert(alert_id, claim, settlement).await
    }

    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(record)?;
        let _: i64 = redis::cmd("ZADD")
            .arg(self.keys.audit())
            .arg(record.at.timestamp_millis())
            .arg(json)
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    async fn audit(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let raw: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.keys.audit())
            .arg(from.timestamp_millis())
            .arg(to.timestamp_millis())
            .query_async(&mut self.conn())
            .await?;
        let mut records = raw
            .iter()
            .map(|j| serde_json::from_str::<AuditRecord>(j))
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(records)
    }

    async fn purge(
        &self,
        visits_before: DateTime<Utc>,
        audit_before: DateTime<Utc>,
    ) -> Result<PurgeReport, StoreError> {
        self.purge_due(visits_before, audit_before).await
    }

    async fn repair(&self, begun_before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.repair_marked(begun_before).await
    }

    async fn open_visits(&self, venue: &VenueId) -> Result<Vec<Visit>, StoreError> {
        let raws: Vec<Vec<u8>> = redis::cmd("HVALS")
            .arg(self.keys.venue_open(venue))
            .query_async(&mut self.conn())
            .await?;
        let open = raws
            .iter()
            .map(|bytes| record::unframe(bytes, record::Side::Venue(venue)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(record::latest(Vec::new(), open))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(resp: &[u8]) -> redis::Value {
        redis::parse_redis_value(resp).unwrap_or(redis::Value::Nil)
    }

    #[test]
    fn an_error_redis_answers_in_a_pipeline_is_unavailable_unless_the_key_holds_another_type() {
        for busy in [
            &b"-LOADING Redis is loading the dataset in memory\r\n"[..],
            b"-BUSY Redis is busy running a script\r\n",
            b"-OOM command not allowed when used memory > 'maxmemory'\r\n",
        ] {
            let got = answer::<Option<String>>(reply(busy));
            assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
        }
        let wrong = answer::<Option<String>>(reply(
            b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ));
        assert!(matches!(wrong, Err(StoreError::Corrupt(_))), "{wrong:?}");
        let fine = answer::<Option<String>>(reply(b"$2\r\nok\r\n"));
        assert_eq!(fine.ok().flatten().as_deref(), Some("ok"));
    }
}
