//! Retention: personal data does not outlive its purpose.
//!
//! Visits, scan events and vehicle passes are kept `retention.visits_days` (default 28) after
//! a visit's end, an event's scan time and a pass's time; audit records
//! `retention.audit_days` (default 365, always longer). A background task purges every
//! `retention.purge_interval_seconds`, on both stores. Redis also
//! expires a person's or venue's visit keys when nothing was written to them for the retention
//! period (see `storage::redis::keys`), so an idle person's data goes even if no purge runs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::RetentionSettings;
use crate::storage::{PurgeReport, Store, StoreError};

/// Removes what is past retention at `now`: visits that ended and events scanned more than
/// `visits_days` ago, audit records more than `audit_days` old.
///
/// # Errors
/// [`StoreError`] from the store; a purge cut short is safe to run again.
pub async fn purge(
    store: &dyn Store,
    now: DateTime<Utc>,
    settings: &RetentionSettings,
) -> Result<PurgeReport, StoreError> {
    // Settings bound both periods (`MAX_RETENTION_DAYS`); saturate anyway rather than panic.
    let before = |d| {
        now.checked_sub_signed(d)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    };
    store
        .purge(before(settings.visits()), before(settings.audit()))
        .await
}

/// Purges at start and then every `purge_interval_seconds`, for ever; failures are logged and
/// retried at the next tick.
pub async fn run(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: RetentionSettings) {
    let mut ticks = tokio::time::interval(Duration::from_secs(settings.purge_interval_seconds));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match purge(store.as_ref(), clock.now(), &settings).await {
            Ok(report) if report.is_empty() => {}
            Ok(report) => tracing::info!(
                visits = report.visits,
                events = report.events,
                audit = report.audit,
                vehicle_passes = report.vehicle_passes,
                "retention purge"
            ),
            Err(e) => tracing::warn!(error = %e, "retention purge failed; retrying next time"),
        }
    }
}
