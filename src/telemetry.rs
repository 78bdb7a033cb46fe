//! Logging and metrics set-up. Logs never carry personal data: phones are masked and names
//! are not logged.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Installs the log subscriber once (`RUST_LOG` filters; default `info`). Later calls do
/// nothing, so tests may call it freely.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();

/// The upper bounds (seconds) of the buckets of `http_request_duration_seconds`, a Prometheus
/// histogram: buckets add up across instances (a summary's quantiles do not), and they count
/// every request since the start, so a benchmark can read a run's percentiles from them
/// (`scripts/bench-scale`). From 0.1 ms, a few steps per tenfold, to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01,
    0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// The exporter's settings: latency as a histogram with [`LATENCY_BUCKETS`], other
/// distributions as the exporter's default summaries.
fn exporter() -> PrometheusBuilder {
    let latency = Matcher::Full("http_request_duration_seconds".to_owned());
    match PrometheusBuilder::new().set_buckets_for_metric(latency, LATENCY_BUCKETS) {
        Ok(builder) => builder,
        // Only for an empty list of buckets, which the constant is not.
        Err(_) => PrometheusBuilder::new(),
    }
}

/// The process-wide metrics recorder's handle, installed on first use. When another recorder
/// is already installed (in a test binary), a detached recorder still renders.
pub fn metrics_handle() -> PrometheusHandle {
    METRICS
        .get_or_init(|| match exporter().install_recorder() {
            Ok(handle) => handle,
            Err(_) => exporter().build_recorder().handle(),
        })
        .clone()
}

/// The root span of each request's log lines, without what the default one carries that can
/// hold personal data: the request's target (a query such as `?phone=…`), the user agent, and
/// the error's message (which may quote what was sent: a phone typed where an id goes, a value
/// of the wrong type). It keeps the method, the route's pattern (`/api/v1/visitors`, never the
/// values in the path), the status, the request id and the error's code (`invalid_json`), and
/// logs one line for a refused or failed request.
pub struct PrivateRootSpan;

impl tracing_actix_web::RootSpanBuilder for PrivateRootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            error.code = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let (status, error) = match outcome {
            Ok(response) => (response.status(), response.response().error()),
            Err(e) => (e.as_response_error().status_code(), Some(e)),
        };
        span.record("http.status_code", status.as_u16());
        let Some(error) = error else {
            span.record("otel.status_code", "OK");
            return;
        };
        let code = error
            .as_error::<crate::error::ApiError>()
            .map_or("other", crate::error::ApiError::code);
        span.record("error.code", code);
        span.in_scope(|| {
            if status.is_server_error() {
                span.record("otel.status_code", "ERROR");
                tracing::error!("request failed");
            } else {
                tracing::warn!("request refused");
            }
        });
    }
}
