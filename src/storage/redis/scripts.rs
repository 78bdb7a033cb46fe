//! The Lua scripts of the Redis store: the writes that must be atomic and one consistent read.
//!
//! Each runs with `EVALSHA` (loaded on first use by `redis::Script`). Every key a script touches
//! is passed in `KEYS`, except the keys the single-node commit names itself (see `sibling`
//! below; a cluster's steps pass those too); the key layout is in [`super::keys`].

use redis::Script;

/// How many of a venue's newest scan events its `recent` list keeps (the guard view).
pub const RECENT_SCANS_KEPT: usize = 100;

/// How many events past [`RECENT_SCANS_KEPT`] a venue's `recent` list may hold before it is
/// trimmed back (trimming at every scan cost one more command a scan).
pub const RECENT_SLACK: usize = 32;

/// The Lua functions that write a scan, one per slot it touches. On one node `COMMIT_SCAN`
/// calls them all in one atomic script; on a cluster each runs as its own script in its own
/// slot (`PERSON_STEP`, `VENUE_STEP`, `ALERT_STEP`), the person's first (see `commit.rs`).
/// Visits are framed binary records (`record.rs`), appended to strings once closed.
///
/// `append_exact(key, scratch, bytes)`: appends to a string and leaves it at its exact size.
/// `APPEND` grows a string with as much again in reserve; `COPY` makes an exact-size copy in
/// `scratch` (same slot) and `RENAME` puts it back, expiry and all. The bytes never pass
/// through Lua, whose string interning reads every byte: reading a person's visits into Lua
/// and writing them back was a fifth of Redis's time per scan (docs/scaling.md).
///
/// Idle expiries (`idle` ms, `0`: none): the keys a scan writes again and again (a person's
/// `state` and `events`; a venue's `open`, `recent`, `events` and `days`) are refreshed by the
/// first write of each UTC day by Redis's clock with a given `idle` (`refresh_mark`: the day
/// and `idle`, in a person's `xday` field and a venue's `{v}:xday` key), to `idle` plus one
/// day, so that each still expires no sooner than `idle` after its last write; and a write that creates one of them (an emptied key comes back)
/// sets its expiry at once. A venue's `open` hash empties whenever its last person leaves, so
/// a check-in refreshes it. A person's string of closed visits goes with the person's daily
/// refresh. A venue's day strings (visits, events) get `idle` plus one day when made, and
/// again at each write after their day (late scans, visits closed the next day): written
/// during their day, they are then not touched again until then. This saves five to six
/// `PEXPIRE`s a scan, about a tenth of Redis's time (docs/scaling.md).
///
/// Keys a write needs only now and then are not passed in `KEYS` but named in the script after
/// a key of the same person or venue (`sibling`: same hash tag, so the same slot): each key
/// passed costs Redis its parsing and the script a Lua string at every scan, and twelve of a
/// scan's nineteen keys were used only on a day's first write, with an idempotency key, at a
/// check-out or with alerts (docs/scaling.md). That is for the single-node commit only: Redis
/// checks the slots of the keys passed before a script runs, and while a cluster's slot
/// migrates, a script touching a key it did not pass would be stopped half way with its
/// writes kept, so a cluster's steps pass the named keys too (unread by the script).
///
/// `person_write(k, a, o)`: the person's truth, if its version is still the expected one.
/// `k`: 1 `{p}:state`, 2 `{p}:visits`, 3 `{p}:events`; named after `{p}:state`: `{p}:idems:N`
/// (today's by the writer's clock, `N` from `a`) and `{p}:scratch`. `a` from `o`: 0 expected version, 1 the open visit's
/// record after the scan or empty, 2 the event's record, 3 idempotency record as `EXPIRES:JSON` or
/// empty, 4 its idempotency key, 5 the records of the visits the
/// scan closed or rewrote and the removals of those it removed, concatenated (appended to
/// `{p}:visits`), 6 the scan's time ms (`last`, the person's latest scan time, is raised to
/// it), 7 the day `N`, 8 the version after the write. The store's idle expiry, what a refresh
/// sets and how long a day's hash of idempotency records is kept after its first record (the
/// records' own time plus a day) are written into the script (`IDLE`, `KEEP`, `IDEM_KEEP`). The state's `iday` field names the day
/// whose hash last got its expiry. Returns the state's epoch (set when the state is made, ''
/// for a state made before epochs) when written, false (nothing written) when the version
/// moved.
///
/// Idempotency records live in one small hash per person and UTC day rather than a key each:
/// a key of its own per scan made Redis's keyspace as large as two days of scans, and its
/// lookups and growth cost Redis about a fifth of its time per scan (docs/scaling.md). Redis
/// 7.0 cannot expire a field, so a record carries its expiry and readers ignore an expired
/// one; a day's hash goes whole when its last record has expired, so no script ever reads
/// records to remove them (an earlier version did, once a day, and one person's 43,000
/// records held Redis for 134 ms).
///
/// `venue_write(k, a, o)`: one venue's part: presence, the closed visits by day, and the scan
/// event if the scan was at this venue. `k`: 1 `{v}:open`, 2 `{v}:recent`, 3 `{v}:eday:D`
/// (the event's day), then the `{v}:day:N` strings the visits fall in; named after
/// `{v}:open`: `{v}:events` (kept by earlier builds; refreshed only), `{v}:days`,
/// `{v}:scratch`, `{v}:xday`, `{v}:edays`, `{v}:eday:D-1` and `{v}:eday:D-2`. `a` from `o`: 0 flags:
/// `x` to rewrite day strings at their exact size rather than `APPEND` (an import, whose days
/// arrive in any order), `l` when the event's day is before today by the writer's clock (a
/// late scan's), `s` to skip reading `xday` (the caller's instance saw this venue's mark
/// read on Redis's day that is its own today; `refreshed.rs`), 1 the event's record or empty, 2 the event's day `D`, 3 number of visits `n`;
/// then six per visit: `1` if open else `0`, resident id, framed record, the id's bytes, the
/// index in `k` of its day's string, the day. The event goes, framed (a LEB128 length, as
/// `record.rs` frames visits), into its day's string by `APPEND` (which keeps reserve, up to
/// as much again); the write that makes a day's string adds the day to `edays`, and, unless
/// late, leaves the two days before at their exact size: the day before no longer grows, and
/// the one before that has had a day more for late scans (offline phones). A late scan for
/// an older day, or a day after which the venue had no scans for two days, keeps its reserve
/// until it expires: copying a day's string at each late scan would hold Redis for as long as
/// the string is large. Kept so rather than in a sorted set, an event takes its own bytes and one
/// length byte where a sorted-set member took about a hundred more (docs/scaling.md). An open visit becomes the
/// person's presence entry; a closed one is appended to its day and ends the presence entry
/// if that was this visit. With idle expiries on, a visit's day goes into `days` when its
/// string is made, or when it is not Redis's today (`days` may have expired before a string
/// of another day): a string of today that was there was indexed today, and `days`, written
/// or refreshed today, lives at least a day more. Without them it goes in at every write, as
/// `days` may still carry an expiry from when they were on. Returns the days this write finished: when a visit's
/// day is new to `days` and the newest, the two newest days before it (the caller compacts
/// them with `COMPACT_DAY`; `days` is read only then; none for an import, which writes
/// exact). Not safe to run twice by itself: a cluster runs it through `VENUE_REPLAY_STEP`,
/// which is.
///
/// `alerts_write(k, a, o)`: alerts into the log and the delivery queue, due at once. `k`:
/// 1 `{alerts}:log`, 2 `{alerts}:due`, 3 `{alerts}:delivery`. `a` from `o` to the end: three
/// per alert: time ms, JSON, id. The first alert of an id is kept and later ones are dropped
/// (`HSETNX`), so it is safe to run again.
pub(super) const WRITE_FUNCTIONS: &str = r#"
-- Numbers stay the strings they came as wherever the script only compares or passes them on:
-- `tonumber` parses a string twice with `strtod`, and a number given to `redis.call` is
-- printed with `snprintf`; together a tenth of Redis's work a scan (docs/scaling.md).

-- The store's idle expiry (ms, `0`: none), what a day's refresh sets (the idle expiry and a
-- day, ms) and how long a day's hash of idempotency records is kept after its first record
-- (ms): the store's constants, written in when the script is made (`with_functions`) rather
-- than passed at each scan, where each argument costs Redis its parsing and a Lua string.
local IDLE, KEEP, IDEM_KEEP = '@IDLE@', '@KEEP@', '@IDEM_KEEP@'

-- Whether `x` is a larger count than `y`, both decimal digits without leading zeros (ms and
-- days since 1970).
local function later(x, y)
  return #x > #y or (#x == #y and x > y)
end

-- Redis's clock, read once a script: a scan's person and venue writes share it.
local clock = nil
local function redis_time()
  clock = clock or redis.call('TIME')
  return clock
end

-- The UTC day by Redis's clock (days since 1970-01-01).
local function redis_day()
  return math.floor(tonumber(redis_time()[1]) / 86400)
end

-- The same, as the digits a day is passed as; printed once a script.
local today_digits = nil
local function redis_day_digits()
  today_digits = today_digits or string.format('%d', redis_day())
  return today_digits
end

-- The mark of a day's refresh: the UTC day by Redis's clock and the idle expiry it set (ms,
-- `IDLE`), so that a store opened with another idle expiry that day refreshes again.
-- `:2`: marks of builds that set the idle expiry of strings of visits at every write (and so
-- did not refresh them daily) do not count, so the first write of this build refreshes.
local function refresh_mark(idle)
  return redis_day_digits() .. ':' .. idle .. ':2'
end

-- The key of the same person or venue as `key` (whose name ends with `what`) named `name`.
local function sibling(key, what, name)
  return string.sub(key, 1, #key - #what) .. name
end

local function append_exact(key, scratch, bytes)
  local length = redis.call('APPEND', key, bytes)
  redis.call('COPY', key, scratch, 'REPLACE')
  redis.call('RENAME', scratch, key)
  return length
end

-- `body` behind its LEB128 length (`record.rs` frames visits the same way).
local function framed(body)
  local n, prefix = #body, ''
  while n >= 128 do
    prefix = prefix .. string.char(n % 128 + 128)
    n = math.floor(n / 128)
  end
  return prefix .. string.char(n) .. body
end

local function person_write(k, a, o)
  local st = redis.call('HMGET', k[1], 'version', 'last', 'xday', 'iday', 'epoch')
  if (st[1] or '0') ~= a[o] then
    return false
  end
  -- Which life of the person's state this is: set when the state is made, so that versions
  -- counted again after it expired are not taken for old ones ('' for a state made before).
  local epoch = st[5]
  if not epoch then
    if a[o] == '0' then
      local now = redis_time()
      epoch = now[1] .. '.' .. now[2]
    else
      epoch = ''
    end
  end
  local last = a[o + 6]
  if st[2] and later(st[2], last) then
    last = st[2]
  end
  local idle, keep = IDLE ~= '0', KEEP
  local today = ''
  if idle then
    today = refresh_mark(IDLE)
  end
  local first_today = st[3] ~= today
  -- A day's hash of idempotency records gets its expiry from its first record.
  local idem_expiry = a[o + 3] ~= '' and st[4] ~= a[o + 7]
  local iday = idem_expiry and a[o + 7] or (st[4] or '')
  -- The marks and the epoch only when they change: fewer fields, less for Redis to write.
  if first_today or idem_expiry or not st[5] then
    redis.call('HSET', k[1], 'version', a[o + 8], 'open', a[o + 1], 'last', last,
      'xday', today, 'iday', iday, 'epoch', epoch)
  else
    redis.call('HSET', k[1], 'version', a[o + 8], 'open', a[o + 1], 'last', last)
  end
  local created = redis.call('RPUSH', k[3], a[o + 2]) == 1
  if idle and first_today then
    redis.call('PEXPIRE', k[1], keep)
    redis.call('PEXPIRE', k[3], keep)
    redis.call('PEXPIRE', k[2], keep)
  elseif idle and created then
    redis.call('PEXPIRE', k[3], keep)
  end
  if a[o + 5] ~= '' then
    -- Refreshed with the day's refresh above (the copy and rename keep its expiry); a string
    -- this write makes gets its expiry now.
    if append_exact(k[2], sibling(k[1], 'state', 'scratch'), a[o + 5]) == #a[o + 5] and idle then
      redis.call('PEXPIRE', k[2], keep)
    end
  end
  if a[o + 3] ~= '' then
    local idems = sibling(k[1], 'state', 'idems:' .. a[o + 7])
    redis.call('HSET', idems, a[o + 4], a[o + 3])
    if idem_expiry then
      redis.call('PEXPIRE', idems, IDEM_KEEP)
    end
  end
  return epoch
end

local function venue_write(k, a, o)
  local function named(name)
    return sibling(k[1], 'open', name)
  end
  local idle, keep_ms = IDLE ~= '0', KEEP
  local exact = string.find(a[o], 'x', 1, true)
  local today, refresh = '', false
  if idle then
    today = refresh_mark(IDLE)
    -- `s`: the caller's instance saw this mark read today (refreshed.rs): it is today's.
    refresh = not string.find(a[o], 's', 1, true) and redis.call('GET', named('xday')) ~= today
  else
    -- Keys this write creates get no expiry: the next write with one must refresh them.
    redis.call('DEL', named('xday'))
  end
  -- Set on a key this write creates, when the day's refresh (at the end) does not run.
  local keep = idle and not refresh
  local finished = {}
  local pending = {}
  local days = nil
  local last = o + 3 + tonumber(a[o + 3]) * 6
  for b = o + 4, last, 6 do
    local rid, record = a[b + 1], a[b + 2]
    if a[b] == '1' then
      redis.call('HSET', k[1], rid, record)
      if keep then
        redis.call('PEXPIRE', k[1], keep_ms)
      end
    else
      local day, n = k[tonumber(a[b + 4])], a[b + 5]
      local made = false
      if exact then
        pending[day] = pending[day] or {}
        table.insert(pending[day], record)
      else
        local size = redis.call('APPEND', day, record)
        made = size == #record
        -- A day's string is written during its day, and after it only by visits that began
        -- then and closed later: its expiry is set when it is made and by those later writes.
        if idle and (made or later(redis_day_digits(), n)) then
          redis.call('PEXPIRE', day, keep_ms)
        end
      end
      -- Into `days` when the string is made or is not of today (see above): one call fewer
      -- a check-out. An import writes its days at their exact size (below): nothing to finish.
      local indexed = exact or made or not idle or n ~= redis_day_digits()
      days = indexed and (days or named('days')) or days
      if exact then
        redis.call('ZADD', days, n, n)
      elseif indexed and redis.call('ZADD', days, n, n) == 1 then
        if keep then
          redis.call('PEXPIRE', days, keep_ms)
        end
        -- A new day, read only then: if it is the newest, the two before it are left at their
        -- exact size (the one before no longer grows; the one before that has had a day more
        -- for the visits that began on it and closed the next day).
        local top = redis.call('ZREVRANGE', days, 0, 2)
        if top[1] == n then
          for j = 2, #top do
            table.insert(finished, top[j])
          end
        end
      end
      local present = redis.call('HGET', k[1], rid)
      if present and string.find(present, a[b + 3], 1, true) then
        redis.call('HDEL', k[1], rid)
      end
    end
  end
  for day, records in pairs(pending) do
    append_exact(day, named('scratch'), table.concat(records))
    if idle then
      redis.call('PEXPIRE', day, keep_ms)
    end
  end
  if a[o + 1] ~= '' then
    -- Trimmed once every RECENT_SLACK pushes rather than at each: one command fewer a scan.
    local length = redis.call('LPUSH', k[2], a[o + 1])
    if length > RECENT_LAST + RECENT_SLACK then
      redis.call('LTRIM', k[2], '0', 'RECENT_LAST')
    end
    if length == 1 and keep then
      redis.call('PEXPIRE', k[2], keep_ms)
    end
    local event = framed(a[o + 1])
    local late = string.find(a[o], 'l', 1, true)
    local size = redis.call('APPEND', k[3], event)
    if size == #event then
      -- The day's string was made: index it. Made by a scan of its day (or one dated a little
      -- ahead, as a phone's clock may be), the two days before it are left at their exact
      -- size: the one before no longer grows, and the one before that has had a day more for
      -- late scans and for a day compacted early by a scan dated ahead.
      local edays = named('edays')
      if redis.call('ZADD', edays, a[o + 2], a[o + 2]) == 1 and keep then
        redis.call('PEXPIRE', edays, keep_ms)
      end
      if not late then
        local scratch, d = named('scratch'), tonumber(a[o + 2])
        for back = 1, 2 do
          local before = named('eday:' .. string.format('%d', d - back))
          if redis.call('COPY', before, scratch, 'REPLACE') == 1 then
            redis.call('RENAME', scratch, before)
          end
        end
      end
    end
    -- Written during its day, and after it only by late scans, which refresh it.
    if idle and (size == #event or late) then
      redis.call('PEXPIRE', k[3], keep_ms)
    end
  end
  if refresh then
    for _, key in ipairs({k[1], k[2], named('events'), named('days'), named('edays')}) do
      redis.call('PEXPIRE', key, keep_ms)
    end
    redis.call('SET', named('xday'), today, 'PX', keep_ms)
  end
  return finished
end

local function alerts_write(k, a, o)
  for b = o, #a, 3 do
    -- Kept once per id, as the embedded store keeps it: a scan judged again later (a late
    -- scan put before it) may raise another kind, which does not replace the first.
    if redis.call('HSETNX', k[3], a[b + 2] .. ':alert', a[b + 1]) == 1 then
      redis.call('ZADD', k[1], a[b], a[b + 1])
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
/// `KEYS`: the three person keys of `person_write`; then each venue's keys of `venue_write`;
/// then `retention`, and `{alerts}:log`, `{alerts}:due`, `{alerts}:delivery` when the scan
/// raised alerts.
///
/// `ARGV`: 1 number of venues `g`, 2 number of person arguments; then `g` counts of each
/// venue's arguments, then `g` counts of each venue's keys; then the person's arguments, then
/// each venue's, then the number of retention entries `r`, two per entry (score ms, owner
/// `p:RID` or `v:VID`, each scored by the earliest time any of its data can fall out of
/// retention: `ZADD LT` keeps the lowest), then the alerts' arguments of `alerts_write` to the
/// end.
///
/// Returns `{1, DAY, …}` when committed, where `DAY` is the UTC day by Redis's clock when the
/// script read it (idle expiries on), else -1, and `…` are two per finished day (see
/// `venue_write`): the venue's place among the venues (1-based) and the day; `{0}` when the
/// version moved (nothing written).
const COMMIT_SCAN: &str = r"
local g, pa = tonumber(ARGV[1]), tonumber(ARGV[2])
local o = 3 + g * 2
if not person_write(slice(KEYS, 1, 3), ARGV, o) then
  return {0}
end
o = o + pa
local kk = 4
-- Redis's day, when a write read Redis's clock (for idle expiries): the caller remembers the
-- venues refreshed on it (refreshed.rs).
local out = {1, clock and redis_day() or -1}
for i = 1, g do
  local nk = tonumber(ARGV[2 + g + i])
  for _, day in ipairs(venue_write(slice(KEYS, kk, nk), ARGV, o)) do
    table.insert(out, i)
    table.insert(out, day)
  end
  o = o + tonumber(ARGV[2 + i])
  kk = kk + nk
end
-- One ZADD for every entry (one call fewer a scan than a ZADD each).
local r = tonumber(ARGV[o])
if r > 0 then
  redis.call('ZADD', KEYS[kk], 'LT', unpack(ARGV, o + 1, o + r * 2))
end
if #ARGV > o + r * 2 then
  alerts_write(slice(KEYS, kk + 1, 3), ARGV, o + 1 + r * 2)
end
return out
";

/// A cluster's first step of a scan, in the person's slot: `person_write`, and the writes that
/// must follow in other slots kept in the person's outbox until they are done.
///
/// `KEYS`: the three of `person_write`, then 4 `{p}:outbox`, then the two `person_write`
/// names itself (`{p}:scratch`, `{p}:idems:N`; passed only so that Redis checks their slot
/// first). `ARGV`: 1 the followups' JSON
/// (opaque here), then `person_write`'s arguments.
///
/// Returns `{1, version, epoch, …}` when committed, where `epoch` is the state's (see
/// `person_write`) and `…` are the version and followups' JSON of each other entry still in
/// the outbox (older scans whose followups are not known to be done), or `{0}` when the
/// version moved (nothing written).
const PERSON_STEP: &str = r"
local epoch = person_write(KEYS, ARGV, 2)
if not epoch then
  return {0}
end
local version = ARGV[10]
local out = {1, version, epoch}
local pending = redis.call('HGETALL', KEYS[4])
for i = 1, #pending, 2 do
  table.insert(out, pending[i])
  table.insert(out, pending[i + 1])
end
redis.call('HSET', KEYS[4], version, ARGV[1])
if IDLE ~= '0' then
  redis.call('PEXPIRE', KEYS[4], IDLE)
end
return out
";

/// One venue's part of a scan or an import, in the venue's slot: `venue_write`. `KEYS`: the
/// function's, then the seven it names itself (for the slot check; see `VENUE_REPLAY_STEP`);
/// `ARGV` as the function's; returns the days it finished.
const VENUE_STEP: &str = r"
return venue_write(KEYS, ARGV, 1)
";

/// A cluster's step of a scan in one venue's slot: `venue_write`, unless a step of the same
/// person with this version or a later one was already applied at this venue. Each venue keeps
/// the person's version and epoch of the last step it applied (`{v}:applied`: resident id →
/// version, as before epochs, so that an earlier build still reads it; `RID:e` → epoch,
/// missing for ''), so a step run twice (by the
/// scan and by the person's next scan or the repair) or late (after a newer scan's step, from
/// a paused instance) changes nothing. A person's steps reach a venue in version order:
/// whoever runs a newer step has run the older ones first. A step of another epoch is applied:
/// the person's state expired and was made again, counting versions from 1.
///
/// `KEYS`: `venue_write`'s, then the seven it names itself (passed only so that Redis checks
/// their slot first), then `{v}:applied`. `ARGV`: 1 resident id, 2 the person's version
/// after the scan, 3 the state's epoch, then `venue_write`'s arguments. Returns the days it
/// finished.
const VENUE_REPLAY_STEP: &str = r"
local applied = KEYS[#KEYS]
local before = redis.call('HMGET', applied, ARGV[1], ARGV[1] .. ':e')
if before[1] and (before[2] or '') == ARGV[3] and not later(ARGV[2], before[1]) then
  return {}
end
local finished = venue_write(KEYS, ARGV, 4)
redis.call('HSET', applied, ARGV[1], ARGV[2], ARGV[1] .. ':e', ARGV[3])
if IDLE ~= '0' then
  redis.call('PEXPIRE', applied, IDLE)
end
return finished
";

/// Adds records to a person's closed visits, leaving the string at its exact size
/// (`append_exact`).
///
/// `KEYS`: 1 `{p}:visits`, 2 `{p}:scratch`. `ARGV`: 1 the framed records. With idle expiries
/// on, the string gets what a day's refresh sets (`KEEP`). Returns 1.
const ADD_RECORDS: &str = r"
append_exact(KEYS[1], KEYS[2], ARGV[1])
if IDLE ~= '0' then
  redis.call('PEXPIRE', KEYS[1], KEEP)
end
return 1
";

/// Leaves a venue's finished day string at its exact size: a string grown by `APPEND` keeps
/// up to as much again in reserve, which a day that no longer grows does not need. Copied
/// and renamed, as in `append_exact`, so the day's bytes never pass through Lua.
///
/// `KEYS`: 1 `{v}:day:N`, 2 `{v}:scratch`. Returns 1 when rewritten.
const COMPACT_DAY: &str = r"
if redis.call('COPY', KEYS[1], KEYS[2], 'REPLACE') == 0 then
  return 0
end
redis.call('RENAME', KEYS[2], KEYS[1])
return 1
";

/// A cluster's step in the alerts' slot: `alerts_write`. `KEYS` and `ARGV` as that function's.
const ALERT_STEP: &str = r"
alerts_write(KEYS, ARGV, 1)
return 1
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

/// Removes a person's data past retention, each part only if it is still as read (a scan that
/// wrote meanwhile keeps it; the next purge tries again).
///
/// `KEYS`: 1 `{p}:visits`, 2 `{p}:state`, 3 `{p}:events`. `ARGV`: 1 the closed visits' records
/// as read, 2 the records to keep (empty: delete the key), 3 the open visit's record to end
/// (past retention) or empty; then the scan event JSONs to remove from `{p}:events`.
///
/// Returns `{1 if the visits were rewritten else 0, 1 if the open visit ended else 0, events
/// removed}`.
const PURGE_PERSON: &str = r"
local rewritten, ended, events = 0, 0, 0
if (redis.call('GET', KEYS[1]) or '') == ARGV[1] and ARGV[1] ~= ARGV[2] then
  if ARGV[2] == '' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  end
  rewritten = 1
end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[2], 'open') == ARGV[3] then
  redis.call('HSET', KEYS[2], 'open', '')
  redis.call('HINCRBY', KEYS[2], 'version', 1)
  ended = 1
end
for i = 4, #ARGV do
  events = events + redis.call('LREM', KEYS[3], 1, ARGV[i])
end
return {rewritten, ended, events}
";

/// Rewrites one of a venue's day strings without its visits past retention, if it is still as
/// read.
///
/// `KEYS`: 1 `{v}:day:N`, 2 `{v}:days`. `ARGV`: 1 the records as read, 2 the records to keep
/// (empty: delete the day), 3 `N`. Returns 1 when rewritten.
const PURGE_DAY: &str = r"
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
end
return 1
";

/// Stores a vehicle pass unless its id is stored already (`Store::add_vehicle_pass`). `KEYS`
/// (all in the `{vpass}` slot): 1 the passes by id, 2 every pass by time, 3 the checkpoint's
/// and 4 the plate's passes by time. `ARGV`: 1 the id, 2 the pass's JSON, 3 its time (ms).
/// Returns the stored pass's JSON when there was one (nothing written), else false.
const ADD_VEHICLE_PASS: &str = r"
local kept = redis.call('HGET', KEYS[1], ARGV[1])
if kept then
  return kept
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for i = 2, 4 do
  redis.call('ZADD', KEYS[i], ARGV[3], ARGV[1])
end
return false
";

/// Deletes a hash field only if it holds the given value. `KEYS`: 1 the hash. `ARGV`: 1 the
/// field, 2 the value. Returns 1 when deleted.
const HDEL_IF: &str = r"
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
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

/// Raises a person's latest scan time (`last` in `{p}:state`) to a value, if it is lower or
/// missing and the person has a state: a person stored by a build before `last` existed gets
/// it on their first read. `KEYS`: 1 `{p}:state`. `ARGV`: 1 time ms. Returns 1 when raised.
const RAISE_LAST: &str = r"
local st = redis.call('HMGET', KEYS[1], 'version', 'last')
if st[1] and tonumber(ARGV[1]) > tonumber(st[2] or '0') then
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
  return 1
end
return 0
";

/// The scripts, hashed once per store.
pub(super) struct Scripts {
    /// See [`COMMIT_SCAN`].
    pub commit_scan: Script,
    /// See [`PERSON_STEP`].
    pub person_step: Script,
    /// See [`VENUE_STEP`].
    pub venue_step: Script,
    /// See [`VENUE_REPLAY_STEP`].
    pub venue_replay_step: Script,
    /// See [`COMPACT_DAY`].
    pub compact_day: Script,
    /// See [`ADD_RECORDS`].
    pub add_records: Script,
    /// See [`ALERT_STEP`].
    pub alert_step: Script,
    /// See [`UNMARK`].
    pub unmark: Script,
    /// See [`SET_IF`].
    pub set_if: Script,
    /// See [`DEL_IF`].
    pub del_if: Script,
    /// See [`RAISE_LAST`].
    pub raise_last: Script,
    /// See [`REPLACE_VENUE`].
    pub replace_venue: Script,
    /// See [`PURGE_PERSON`].
    pub purge_person: Script,
    /// See [`PURGE_DAY`].
    pub purge_day: Script,
    /// See [`HDEL_IF`].
    pub hdel_if: Script,
    /// See [`ADD_VEHICLE_PASS`].
    pub add_vehicle_pass: Script,
    /// See [`RESCORE`].
    pub rescore: Script,
    /// See [`super::alerts::CLAIM_ALERTS`].
    pub claim_alerts: Script,
    /// See [`super::alerts::SETTLE_ALERT`].
    pub settle_alert: Script,
}

/// A script that calls the functions of [`WRITE_FUNCTIONS`], for a store whose idle expiry
/// is `idle_ms` (ms, `0`: none).
fn with_functions(body: &str, idle_ms: u64) -> Script {
    let functions = WRITE_FUNCTIONS
        .replace("RECENT_LAST", &(RECENT_SCANS_KEPT - 1).to_string())
        .replace("RECENT_SLACK", &RECENT_SLACK.to_string())
        .replace("@IDLE@", &idle_ms.to_string())
        .replace("@KEEP@", &refresh_keep_ms(idle_ms).to_string())
        .replace("@IDEM_KEEP@", &IDEMPOTENCY_HASH_KEEP_MS.to_string());
    Script::new(&format!("{functions}{body}"))
}

/// How long a key written with an idle expiry of `idle_ms` is kept after its day's refresh:
/// the idle expiry and a day, in ms (see [`WRITE_FUNCTIONS`]).
fn refresh_keep_ms(idle_ms: u64) -> u64 {
    idle_ms.saturating_add(86_400_000)
}

/// How long a day's hash of idempotency records is kept after its first record, ms: a
/// record's own life ([`crate::storage::IDEMPOTENCY_TTL_SECONDS`]) and a day, so that the
/// day's last record outlives its life.
const IDEMPOTENCY_HASH_KEEP_MS: u64 = (crate::storage::IDEMPOTENCY_TTL_SECONDS + 86_400) * 1000;

impl Scripts {
    /// Hashes the scripts (they are loaded into Redis on first use) of a store whose idle
    /// expiry is `idle_ms` (ms, `0`: none), written into them.
    pub fn new(idle_ms: u64) -> Self {
        Self {
            commit_scan: with_functions(COMMIT_SCAN, idle_ms),
            person_step: with_functions(PERSON_STEP, idle_ms),
            venue_step: with_functions(VENUE_STEP, idle_ms),
            venue_replay_step: with_functions(VENUE_REPLAY_STEP, idle_ms),
            compact_day: Script::new(COMPACT_DAY),
            add_records: with_functions(ADD_RECORDS, idle_ms),
            alert_step: with_functions(ALERT_STEP, idle_ms),
            unmark: Script::new(UNMARK),
            set_if: Script::new(SET_IF),
            del_if: Script::new(DEL_IF),
            raise_last: Script::new(RAISE_LAST),
            replace_venue: Script::new(REPLACE_VENUE),
            purge_person: Script::new(PURGE_PERSON),
            purge_day: Script::new(PURGE_DAY),
            hdel_if: Script::new(HDEL_IF),
            add_vehicle_pass: Script::new(ADD_VEHICLE_PASS),
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
