//! The repair loop: finishes scan commits that stopped half way ([`Store::repair`]), as a
//! store whose commit takes several steps (Redis Cluster) can leave them when an instance dies
//! between the steps. Every instance runs it; running it twice at once is harmless.

use std::sync::Arc;
use std::time::Duration;

use crate::storage::Store;

/// How often the loop looks for unfinished commits.
pub const REPAIR_INTERVAL: Duration = Duration::from_secs(5);

/// How old a commit must be before the loop finishes it: longer than a live commit takes
/// (each step is bounded by the store's response timeout, 2 s by default), so the loop does
/// not race the instance that is still finishing it.
pub const REPAIR_GRACE: chrono::Duration = chrono::Duration::seconds(10);

/// Runs forever: every [`REPAIR_INTERVAL`], finishes the commits begun more than
/// [`REPAIR_GRACE`] ago (by the wall clock: the store marks commits with it).
pub async fn run(store: Arc<dyn Store>) {
    let mut ticks = tokio::time::interval(REPAIR_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match store.repair(chrono::Utc::now() - REPAIR_GRACE).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(commits = n, "finished scan commits left half done"),
            Err(e) => tracing::warn!(error = %e, "repair failed; retrying next time"),
        }
    }
}
