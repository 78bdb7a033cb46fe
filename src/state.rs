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
use crate::service::person_turns::PersonTurns;
use crate::storage::Store;

/// Shared application state, held in `web::Data`. Cheap to clone: a clone shares the keys, the
/// code signer (and its cache), the limits and the store; each worker thread of the service
/// holds one whose store may have its own connection ([`AppState::for_this_thread`]).
#[derive(Clone)]
pub struct AppState {
    /// The store (embedded or Redis).
    pub store: Arc<dyn Store>,
    /// Access token keys.
    pub tokens: Arc<TokenKeys>,
    /// Venue code signer.
    pub codes: Arc<CodeSigner>,
    /// The settings the service started with.
    pub settings: Arc<Settings>,
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
    /// One person's scans on this instance take turns ([`PersonTurns`]).
    pub turns: Arc<PersonTurns>,
}

impl AppState {
    /// This state for the calling worker thread: the same, with the store's handle for this
    /// thread ([`Store::for_this_thread`]) when it has one, so a request's store commands are
    /// driven on the thread that serves it.
    pub async fn for_this_thread(&self) -> Self {
        let mut state = self.clone();
        if let Some(store) = self.store.for_this_thread().await {
            state.store = store;
        }
        state
    }
}
