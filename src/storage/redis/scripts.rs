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

/// The one way a visit is written, put in front of every script that writes visits
/// (`COMMIT_SCAN` here, the bulk import in `import.rs`): the visit JSON into the person's and
/// the venue's visit hash, its id into both sorted sets scored by start, the venue's presence
/// entry for the person set (open) or dropped (closed, if it pointed at this visit), both
/// owners in `retention` (`ZADD LT` with the visit's latest end), and, when `idle` > 0, the
/// idle expiry in ms on the five keys written.
pub(super) const WRITE_VISIT: &str = r"
local function write_visit(pv, pvs, vv, vvs, vopen, retention,
                           id, start, json, open, ends, rid, venue, idle)
  redis.call('HSET', pv, id, json)
  redis.call('ZADD', pvs, start, id)
  redis.call('HSET', vv, id, json)
  redis.call('ZADD', vvs, start, id)
  if open == '1' then
    redis.call('HSET', vopen, rid, id)
  elseif redis.call('HGET', vopen, rid) == id then
    redis.call('HDEL', vopen, rid)
  end
  redis.call('ZADD', retention, 'LT', ends, 'p:' .. rid)
  redis.call('ZADD', retention, 'LT', ends, 'v:' .. venue)
  if idle > 0 then
    for _, key in ipairs({pv, pvs, vv, vvs, vopen}) do
      redis.call('PEXPIRE', key, idle)
    end
  end
end
";

/// Commits one scan if the person's version is still the expected one.
///
/// `KEYS`: 1 `{p}:state`, 2 `{p}:visit`, 3 `{p}:visits`, 4 `{p}:events`, 5 `retention`,
/// 6 `alerts`, 7 `{v}:recent` of the scanned venue (the newest [`RECENT_SCANS_KEPT`] events,
/// newest first), 8 `{alerts}:due`, 9 `{alerts}:delivery`, 10 `{v}:events` of the scanned
/// venue; then three per changed visit: `{v}:visit`, `{v}:visits`, `{v}:open` of that
/// visit's venue; then, last, the idempotency key when `ARGV[4]` is not empty.
///
/// `ARGV`: 1 expected version, 2 open visit id after the scan or empty, 3 event JSON,
/// 4 idempotency record JSON or empty, 5 idempotency TTL seconds, 6 resident id, 7 number of
/// changed visits `n`, 8 idle expiry in ms (`0`: none), 9 the event's scan time ms, 10 number
/// of alerts `m`, 11 the scanned venue's id; then six per changed visit: id, start ms, `1` if
/// open else `0`, JSON, latest end ms, venue id; then three per alert: time ms, JSON, id. Each
/// alert is also queued for webhook delivery, due at once. The event is kept in the person's
/// log, the venue's `recent` list and its `events` by time; both owners are scored in
/// `retention` with its time.
///
/// Each owner (`p:RID`, `v:VID`) in `retention` is scored by the earliest time any of its data
/// can fall out of retention (`ZADD LT` keeps the lowest), so the purge finds it. Visits are
/// written by [`WRITE_VISIT`].
///
/// Returns 1 when committed, 0 when the version moved (nothing written).
const COMMIT_SCAN: &str = r"
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'version', string.format('%d', version + 1), 'open', ARGV[2])
redis.call('RPUSH', KEYS[4], ARGV[3])
redis.call('LPUSH', KEYS[7], ARGV[3])
redis.call('LTRIM', KEYS[7], 0, RECENT_LAST)
redis.call('ZADD', KEYS[10], ARGV[9], ARGV[3])
redis.call('ZADD', KEYS[5], 'LT', ARGV[9], 'v:' .. ARGV[11])
redis.call('ZADD', KEYS[5], 'LT', ARGV[9], 'p:' .. ARGV[6])
local idle = tonumber(ARGV[8])
local n = tonumber(ARGV[7])
for i = 1, n do
  local k = 10 + (i - 1) * 3
  local a = 11 + (i - 1) * 6
  write_visit(KEYS[2], KEYS[3], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[5],
    ARGV[a + 1], ARGV[a + 2], ARGV[a + 4], ARGV[a + 3], ARGV[a + 5], ARGV[6], ARGV[a + 6], idle)
end
if idle > 0 then
  redis.call('PEXPIRE', KEYS[1], idle)
  redis.call('PEXPIRE', KEYS[4], idle)
  redis.call('PEXPIRE', KEYS[7], idle)
  redis.call('PEXPIRE', KEYS[10], idle)
end
for j = 1, tonumber(ARGV[10]) do
  local b = 11 + n * 6 + (j - 1) * 3
  redis.call('ZADD', KEYS[6], ARGV[b + 1], ARGV[b + 2])
  if redis.call('HSETNX', KEYS[9], ARGV[b + 3] .. ':alert', ARGV[b + 2]) == 1 then
    redis.call('ZADD', KEYS[8], ARGV[b + 1], ARGV[b + 3])
  end
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[10 + n * 3 + 1], ARGV[4], 'EX', ARGV[5])
end
return 1
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

/// Writes a resident, its phone index and its home's list of residents, refusing a phone that belongs to someone else.
///
/// `KEYS`: 1 `{p}:resident`, 2 `phone:NEW`, 3 `phone:OLD` (the phone of the record read
/// before; the same as 2 when there was none or it is unchanged); then `{v:HOME}:residents`
/// of the new home when it has one, then that of the old home when it had another.
///
/// `ARGV`: 1 resident id, 2 new resident JSON, 3 the record as read before (empty: none),
/// 4 two flags, `1` or `0`: whether the new-home key and the old-home key are passed.
///
/// Returns `conflict` (the phone is taken: nothing written), `retry` (the record changed since
/// it was read: nothing written), `created` or `updated`.
const PUT_RESIDENT: &str = r"
local before = redis.call('GET', KEYS[1])
if (before or '') ~= ARGV[3] then
  return 'retry'
end
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[1] then
  return 'conflict'
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
if KEYS[3] ~= KEYS[2] and redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
end
local k = 4
if string.sub(ARGV[4], 1, 1) == '1' then
  redis.call('SADD', KEYS[k], ARGV[1])
  k = k + 1
end
if string.sub(ARGV[4], 2, 2) == '1' then
  redis.call('SREM', KEYS[k], ARGV[1])
end
if before then
  return 'updated'
end
return 'created'
";

/// The scripts, hashed once per store.
pub(super) struct Scripts {
    /// See [`PERSON_STATE`].
    pub person_state: Script,
    /// See [`COMMIT_SCAN`].
    pub commit_scan: Script,
    /// See [`PUT_RESIDENT`].
    pub put_resident: Script,
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

impl Scripts {
    /// Hashes the scripts (they are loaded into Redis on first use).
    pub fn new() -> Self {
        Self {
            person_state: Script::new(PERSON_STATE),
            commit_scan: Script::new(&format!(
                "{WRITE_VISIT}{}",
                COMMIT_SCAN.replace("RECENT_LAST", &(RECENT_SCANS_KEPT - 1).to_string())
            )),
            put_resident: Script::new(PUT_RESIDENT),
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
