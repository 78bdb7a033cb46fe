//! Bulk import of closed visits ([`Store::import_visits`](crate::storage::Store::import_visits)):
//! the visit writes of `COMMIT_SCAN` (see `scripts.rs`), for many visits at once and without
//! the person's state, events or idempotency.

use std::sync::LazyLock;

use redis::{Script, ScriptInvocation};

use super::RedisStore;
use crate::domain::Visit;
use crate::storage::StoreError;

/// How many visits one script call writes. A call keeps Redis busy for about a millisecond
/// per few hundred visits; other clients wait that long at most.
const CHUNK: usize = 500;
/// How many chunks are sent at once on the shared connection (pipelined).
const IN_FLIGHT: usize = 8;

/// Writes closed visits with their person and venue indexes, as `COMMIT_SCAN` writes a closed
/// changed visit: the visit JSON into the person's and the venue's visit hash, its id into both
/// sorted sets scored by start, the venue's presence entry for the person dropped when it
/// pointed at this visit, both owners in `retention` (`ZADD LT` with the visit's end), and the
/// idle expiry on the keys written when one is set.
///
/// `KEYS`: 1 `retention`; then five per visit: `{p}:visit`, `{p}:visits`, `{v}:visit`,
/// `{v}:visits`, `{v}:open`.
/// `ARGV`: 1 idle expiry ms (`0`: none); then six per visit: id, start ms, resident id, visit
/// JSON, end ms, venue id.
///
/// Returns the number of visits written.
const IMPORT_VISITS: &str = r"
local idle = tonumber(ARGV[1])
local n = (#ARGV - 1) / 6
for i = 0, n - 1 do
  local k, a = 1 + i * 5, 1 + i * 6
  local id, start, rid, json = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local ends, venue = ARGV[a + 5], ARGV[a + 6]
  redis.call('HSET', KEYS[k + 1], id, json)
  redis.call('ZADD', KEYS[k + 2], start, id)
  redis.call('HSET', KEYS[k + 3], id, json)
  redis.call('ZADD', KEYS[k + 4], start, id)
  if redis.call('HGET', KEYS[k + 5], rid) == id then
    redis.call('HDEL', KEYS[k + 5], rid)
  end
  redis.call('ZADD', KEYS[1], 'LT', ends, 'p:' .. rid)
  redis.call('ZADD', KEYS[1], 'LT', ends, 'v:' .. venue)
  if idle > 0 then
    for j = 1, 5 do
      redis.call('PEXPIRE', KEYS[k + j], idle)
    end
  end
end
return n
";

static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(IMPORT_VISITS));

impl RedisStore {
    /// Writes already checked closed visits in chunks of [`CHUNK`], each chunk one atomic
    /// script call, [`IN_FLIGHT`] calls pipelined.
    pub(super) async fn import_closed_visits(&self, visits: &[Visit]) -> Result<(), StoreError> {
        let calls = visits
            .chunks(CHUNK)
            .map(|chunk| {
                let mut call = SCRIPT.prepare_invoke();
                call.key(self.keys.retention()).arg(self.idle_expiry_ms);
                for v in chunk {
                    call.key(self.keys.person_visit(&v.resident_id))
                        .key(self.keys.person_visits(&v.resident_id))
                        .key(self.keys.venue_visit(&v.venue_id))
                        .key(self.keys.venue_visits(&v.venue_id))
                        .key(self.keys.venue_open(&v.venue_id));
                    call.arg(&v.id)
                        .arg(v.start().timestamp_millis())
                        .arg(v.resident_id.as_str())
                        .arg(serde_json::to_string(v)?)
                        .arg(v.latest_end().timestamp_millis())
                        .arg(v.venue_id.as_str());
                }
                Ok::<_, StoreError>((call, chunk.len()))
            })
            .collect::<Result<Vec<(ScriptInvocation<'static>, usize)>, StoreError>>()?;
        for group in calls.chunks(IN_FLIGHT) {
            futures::future::try_join_all(group.iter().map(|(call, len)| self.invoke(call, *len)))
                .await?;
        }
        Ok(())
    }

    /// One chunk's script call; `len` is how many visits it carries.
    async fn invoke(&self, call: &ScriptInvocation<'static>, len: usize) -> Result<(), StoreError> {
        let written: usize = call.invoke_async(&mut self.conn()).await?;
        if written == len {
            Ok(())
        } else {
            Err(StoreError::Corrupt(format!(
                "the import script wrote {written} of {len} visits"
            )))
        }
    }
}
