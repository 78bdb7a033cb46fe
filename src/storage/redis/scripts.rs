//! The Lua scripts of the Redis store: the writes that must be atomic and one consistent read.
//!
//! Each runs with `EVALSHA` (loaded on first use by `redis::Script`). Every key a script touches
//! is passed in `KEYS`; the key layout is in [`super::keys`].

use redis::Script;

/// Reads a person's state before a scan: version, open visit JSON, idempotency record and
/// registration.
///
/// `KEYS`: 1 `{p}:state`, 2 `{p}:visit`, 3 `{p}:resident`, 4 `{p}:idem:KEY` (only when a key
/// was asked for).
/// Returns `{version, open visit JSON or nil, idempotency JSON or nil, resident JSON or nil}`.
const PERSON_STATE: &str = r"
local st = redis.call('HMGET', KEYS[1], 'version', 'open')
local open = false
if st[2] and st[2] ~= '' then
  open = redis.call('HGET', KEYS[2], st[2])
end
local idem = false
if KEYS[4] then
  idem = redis.call('GET', KEYS[4])
end
return {st[1] or '0', open, idem, redis.call('GET', KEYS[3])}
";

/// How many of a venue's newest scan events its `recent` list keeps (the guard view).
pub const RECENT_SCANS_KEPT: usize = 100;

/// The Lua functions that write a scan, one per slot it touches. On one node `COMMIT_SCAN`
/// calls them all in one atomic script; on a cluster each runs as its own script in its own
/// slot (`PERSON_STEP`, `VENUE_STEP`, `ALERT_STEP`), the person's first (see `commit.rs`).
///
/// `person_write(k, a, o)`: the person's truth, if its version is still the expected one.
/// `k`: 1 `{p}:state`, 2 `{p}:visit`, 3 `{p}:visits`, 4 `{p}:events`, 5 `{p}:idem:KEY` (only
/// read when an idempotency record is given). `a` from `o`: 0 expected version, 1 open visit id
/// after the scan or empty, 2 event JSON, 3 idempotency record JSON or empty, 4 idempotency TTL
/// seconds, 5 idle expiry ms (`0`: none), 6 number of visits `n`; then three per visit: id,
/// start ms, JSON. Returns false (nothing written) when the version moved.
///
/// `venue_write(k, a, o)`: one venue's copy of the visits that changed there, its presence,
/// and the scan event if the scan was at this venue. `k`: 1 `{v}:visit`, 2 `{v}:visits`,
/// 3 `{v}:open`, 4 `{v}:recent`, 5 `{v}:events`. `a` from `o`: 0 idle expiry ms, 1 event JSON
/// or empty, 2 event time ms, 3 number of visits `n`; then five per visit: id, start ms, `1` if
/// open else `0`, JSON, resident id. Safe to run again, and late: an open visit is not
/// written over a stored copy that is already closed (a repair replaying an older scan after a
/// newer one), and an event already in `recent` is not pushed twice.
///
/// `alerts_write(k, a, o)`: alerts into the log and the delivery queue, due at once. `k`:
/// 1 `{alerts}:log`, 2 `{alerts}:due`, 3 `{alerts}:delivery`. `a` from `o` to the end: three
/// per alert: time ms, JSON, id. Safe to run again (`HSETNX`).
pub(super) const WRITE_FUNCTIONS: &str = r#"
local function person_write(k, a, o)
  local version = tonumber(redis.call('HGET', k[1], 'version') or '0')
  if version ~= tonumber(a[o]) then
    return false
  end
  redis.call('HSET', k[1], 'version', string.format('%d', version + 1), 'open', a[o + 1])
  redis.call('RPUSH', k[4], a[o + 2])
  for i = 0, tonumber(a[o + 6]) - 1 do
    local b = o + 7 + i * 3
    redis.call('HSET', k[2], a[b], a[b + 2])
    redis.call('ZADD', k[3], a[b + 1], a[b])
  end
  if a[o + 3] ~= '' then
    redis.call('SET', k[5], a[o + 3], 'EX', a[o + 4])
  end
  local idle = tonumber(a[o + 5])
  if idle > 0 then
    for j = 1, 4 do
      redis.call('PEXPIRE', k[j], idle)
    end
  end
  return true
end

local function venue_write(k, a, o)
  local idle = tonumber(a[o])
  for i = 0, tonumber(a[o + 3]) - 1 do
    local b = o + 4 + i * 5
    local id, open, json, rid = a[b], a[b + 2], a[b + 3], a[b + 4]
    local stale = false
    if open == '1' then
      local before = redis.call('HGET', k[1], id)
      stale = before and not string.find(before, '"closed_by":null', 1, true)
    end
    if not stale then
      redis.call('HSET', k[1], id, json)
      redis.call('ZADD', k[2], a[b + 1], id)
      if open == '1' then
        redis.call('HSET', k[3], rid, id)
      elseif redis.call('HGET', k[3], rid) == id then
        redis.call('HDEL', k[3], rid)
      end
    end
  end
  local touched = 3
  if a[o + 1] ~= '' then
    if not redis.call('LPOS', k[4], a[o + 1]) then
      redis.call('LPUSH', k[4], a[o + 1])
      redis.call('LTRIM', k[4], 0, RECENT_LAST)
    end
    redis.call('ZADD', k[5], a[o + 2], a[o + 1])
    touched = 5
  end
  if idle > 0 then
    for j = 1, touched do
      redis.call('PEXPIRE', k[j], idle)
    end
  end
end

local function alerts_write(k, a, o)
  for b = o, #a, 3 do
    redis.call('ZADD', k[1], a[b], a[b + 1])
    if redis.call('HSETNX', k[3], a[b + 2] .. ':alert', a[b + 1]) == 1 then
      redis.call('ZADD', k[2], a[b], a[b + 2])
    end
  end
end

local function slice(t, from, n)
  local out = {}
  for i = 1, n do
    out[i] = t[from + i - 1]
  end
  return out
end
"#;

/// Commits one scan on a single node, atomically: the person's step, each venue's step, the
/// retention index and the alerts, in one script (functions in [`WRITE_FUNCTIONS`]).
///
/// `KEYS`: the five person keys of `person_write`; then five per venue of `venue_write`; then
/// `retention`, `{alerts}:log`, `{alerts}:due`, `{alerts}:delivery`.
///
/// `ARGV`: 1 number of venues `g`, 2 number of person arguments `pa`; then `g` counts, the
/// arguments of each venue; then the person's `pa` arguments, then each venue's, then the
/// number of retention entries `r`, two per entry (score ms, owner `p:RID` or `v:VID`, each
/// scored by the earliest time any of its data can fall out of retention: `ZADD LT` keeps the
/// lowest), then the alerts' arguments of `alerts_write` to the end.
///
/// Returns 1 when committed, 0 when the version moved (nothing written).
const COMMIT_SCAN: &str = r"
local g, pa = tonumber(ARGV[1]), tonumber(ARGV[2])
local o = 3 + g
if not person_write(slice(KEYS, 1, 5), ARGV, o) then
  return 0
end
o = o + pa
for i = 1, g do
  venue_write(slice(KEYS, 1 + i * 5, 5), ARGV, o)
  o = o + tonumber(ARGV[2 + i])
end
local rk = 6 + g * 5
for i = 0, tonumber(ARGV[o]) - 1 do
  redis.call('ZADD', KEYS[rk], 'LT', ARGV[o + 1 + i * 2], ARGV[o + 2 + i * 2])
end
alerts_write(slice(KEYS, rk + 1, 3), ARGV, o + 1 + tonumber(ARGV[o]) * 2)
return 1
";

/// A cluster's first step of a scan, in the person's slot: `person_write`, and the writes that
/// must follow in other slots kept in the person's outbox until they are done.
///
/// `KEYS`: the five of `person_write`, then 6 `{p}:outbox`. `ARGV`: 1 the followups' JSON
/// (opaque here), then `person_write`'s arguments.
///
/// Returns `{1, version, …}` when committed, where `…` are the version and followups' JSON of
/// each other entry still in the outbox (older scans whose followups are not known to be done),
/// or `{0}` when the version moved (nothing written).
const PERSON_STEP: &str = r"
if not person_write(KEYS, ARGV, 2) then
  return {0}
end
local version = redis.call('HGET', KEYS[1], 'version')
local out = {1, version}
local pending = redis.call('HGETALL', KEYS[6])
for i = 1, #pending, 2 do
  table.insert(out, pending[i])
  table.insert(out, pending[i + 1])
end
redis.call('HSET', KEYS[6], version, ARGV[1])
local idle = tonumber(ARGV[7])
if idle > 0 then
  redis.call('PEXPIRE', KEYS[6], idle)
end
return out
";

/// A cluster's step in one venue's slot: `venue_write`. `KEYS` and `ARGV` as that function's.
const VENUE_STEP: &str = r"
venue_write(KEYS, ARGV, 1)
return 1
";

/// A cluster's step in the alerts' slot: `alerts_write`. `KEYS` and `ARGV` as that function's.
const ALERT_STEP: &str = r"
alerts_write(KEYS, ARGV, 1)
return 1
";

/// Marks an outbox entry done, in the person's slot.
///
/// `KEYS`: 1 `{p}:outbox`. `ARGV`: 1 the entry's version. Returns how many entries are left.
const OUTBOX_DONE: &str = r"
redis.call('HDEL', KEYS[1], ARGV[1])
return redis.call('HLEN', KEYS[1])
";

/// Takes a person out of the repair index if the mark is still the one this caller set.
///
/// `KEYS`: 1 `{repair}:pending`. `ARGV`: 1 resident id, 2 the mark's score as set.
/// Returns 1 when removed.
const UNMARK: &str = r"
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
";

/// Removes one owner's data past retention, each item only if it is still as read (a scan
/// that rewrote a visit meanwhile keeps it).
///
/// `KEYS`: 1 the owner's visit hash, 2 its visit index (sorted set), 3 for a person its
/// `state` hash, for a venue its `open` hash, 4 for a person its `events` list, for a venue its
/// `recent` list.
///
/// `ARGV`: 1 `p` or `v`, 2 the number of visits `n`; then three per visit: id, JSON as read,
/// resident id; then the scan event JSONs to remove from `KEYS[4]`.
///
/// Returns `{visits removed, events removed}`.
const PURGE_OWNER: &str = r"
local n = tonumber(ARGV[2])
local visits, events = 0, 0
for i = 1, n do
  local a = 2 + (i - 1) * 3
  local id, json, rid = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  if redis.call('HGET', KEYS[1], id) == json then
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    visits = visits + 1
    if ARGV[1] == 'p' then
      if redis.call('HGET', KEYS[3], 'open') == id then
        redis.call('HSET', KEYS[3], 'open', '')
        redis.call('HINCRBY', KEYS[3], 'version', 1)
      end
    elseif redis.call('HGET', KEYS[3], rid) == id then
      redis.call('HDEL', KEYS[3], rid)
    end
  end
end
for i = 3 + n * 3, #ARGV do
  events = events + redis.call('LREM', KEYS[4], 1, ARGV[i])
end
return {visits, events}
";

/// Moves an owner's retention score only if it is still the one read, so that a scan that
/// lowered it meanwhile is not hidden from the next purge.
///
/// `KEYS`: 1 `retention`. `ARGV`: 1 member, 2 score as read, 3 new score (`+inf`: nothing
/// left). Returns 1 when moved.
const RESCORE: &str = r"
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
";

/// Sets a key only if it holds the expected value (empty: only if it is missing): one key, so
/// one slot.
///
/// `KEYS`: 1 the key. `ARGV`: 1 the expected value or empty, 2 the new value.
/// Returns 1 when set, 0 when the key held something else (nothing written).
const SET_IF: &str = r"
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
";

/// Deletes a key only if it holds the given value. `KEYS`: 1 the key. `ARGV`: 1 the value.
/// Returns 1 when deleted.
const DEL_IF: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The scripts, hashed once per store.
pub(super) struct Scripts {
    /// See [`PERSON_STATE`].
    pub person_state: Script,
    /// See [`COMMIT_SCAN`].
    pub commit_scan: Script,
    /// See [`PERSON_STEP`].
    pub person_step: Script,
    /// See [`VENUE_STEP`].
    pub venue_step: Script,
    /// See [`ALERT_STEP`].
    pub alert_step: Script,
    /// See [`OUTBOX_DONE`].
    pub outbox_done: Script,
    /// See [`UNMARK`].
    pub unmark: Script,
    /// See [`SET_IF`].
    pub set_if: Script,
    /// See [`DEL_IF`].
    pub del_if: Script,
    /// See [`REPLACE_VENUE`].
    pub replace_venue: Script,
    /// See [`PURGE_OWNER`].
    pub purge_owner: Script,
    /// See [`RESCORE`].
    pub rescore: Script,
    /// See [`super::alerts::CLAIM_ALERTS`].
    pub claim_alerts: Script,
    /// See [`super::alerts::SETTLE_ALERT`].
    pub settle_alert: Script,
}

/// A script that calls the functions of [`WRITE_FUNCTIONS`].
fn with_functions(body: &str) -> Script {
    let functions = WRITE_FUNCTIONS.replace("RECENT_LAST", &(RECENT_SCANS_KEPT - 1).to_string());
    Script::new(&format!("{functions}{body}"))
}

impl Scripts {
    /// Hashes the scripts (they are loaded into Redis on first use).
    pub fn new() -> Self {
        Self {
            person_state: Script::new(PERSON_STATE),
            commit_scan: with_functions(COMMIT_SCAN),
            person_step: with_functions(PERSON_STEP),
            venue_step: with_functions(VENUE_STEP),
            alert_step: with_functions(ALERT_STEP),
            outbox_done: Script::new(OUTBOX_DONE),
            unmark: Script::new(UNMARK),
            set_if: Script::new(SET_IF),
            del_if: Script::new(DEL_IF),
            replace_venue: Script::new(REPLACE_VENUE),
            purge_owner: Script::new(PURGE_OWNER),
            rescore: Script::new(RESCORE),
            claim_alerts: Script::new(super::alerts::CLAIM_ALERTS),
            settle_alert: Script::new(super::alerts::SETTLE_ALERT),
        }
    }
}

/// Replaces a venue if its stored revision is the expected one.
///
/// `KEYS`: 1 `{v}:venue`. `ARGV`: 1 the new venue JSON, 2 the expected revision.
/// Returns 1 when replaced, 0 when the venue is missing or its revision moved.
const REPLACE_VENUE: &str = r"
local raw = redis.call('GET', KEYS[1])
if not raw then
  return 0
end
local stored = cjson.decode(raw)
if (tonumber(stored.revision) or 0) ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
";
