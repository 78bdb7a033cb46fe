//! What every handler shares: the store, the keys, the settings.

use std::sync::Arc;

use chrono_tz::Tz;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::codes::CodeSigner;
use crate::config::Settings;
use crate::domain::rules::ScanPolicy;
use crate::limits::Limits;
use crate::storage::Store;

/// Shared application state, held in `web::Data`.
pub struct AppState {
    /// The store (embedded or Redis).
    pub store: Arc<dyn Store>,
    /// Access token keys.
    pub tokens: TokenKeys,
    /// Venue code signer.
    pub codes: CodeSigner,
    /// The settings the service started with.
    pub settings: Settings,
    /// The local time zone for displayed times.
    pub tz: Tz,
    /// The visit rules' settings.
    pub policy: ScanPolicy,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// The time (the system clock, or a test's).
    pub clock: Arc<dyn Clock>,
    /// Rate limits.
    pub limits: Arc<Limits>,
}
