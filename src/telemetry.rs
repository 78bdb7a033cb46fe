//! Logging and metrics set-up. Logs never carry personal data: phones are masked and names
//! are not logged.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Installs the log subscriber once (`RUST_LOG` filters; default `info`). Later calls do
/// nothing, so tests may call it freely.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide metrics recorder's handle, installed on first use. When another recorder
/// is already installed (in a test binary), a detached recorder still renders.
pub fn metrics_handle() -> PrometheusHandle {
    METRICS
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => handle,
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        })
        .clone()
}
