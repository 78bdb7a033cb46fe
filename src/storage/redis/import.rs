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

/// Writes closed visits with their person and venue indexes through `write_visit`, the
/// function that `COMMIT_SCAN` writes a visit with (`WRITE_VISIT` in `scripts.rs`).
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
  write_visit(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5], KEYS[1],
    ARGV[a + 1], ARGV[a + 2], ARGV[a + 4], '0', ARGV[a + 5], ARGV[a + 3], ARGV[a + 6], idle)
end
return n
";

static SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(&format!("{}{IMPORT_VISITS}", super::scripts::WRITE_VISIT)));

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
