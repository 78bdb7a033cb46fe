//! HTTP: one module per resource, each with `configure(cfg)`, assembled here. Handlers parse,
//! call a service, and map the result; errors leave as the contract's error body.

pub mod accounts;
pub mod codes;
pub mod me;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod params;
pub mod posters;
pub mod residents;
pub mod scans;
pub mod trace;
pub mod venues;
pub mod views;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;

/// The largest JSON body accepted, bytes (a scan is about 400).
pub const JSON_LIMIT: usize = 64 * 1024;
/// The largest CSV import accepted, bytes (the sample town's residents file is 650 kB).
pub const CSV_LIMIT: usize = 16 * 1024 * 1024;

/// Registers every route: the API under `/api/v1`, operations at the root.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(JSON_LIMIT)
            .error_handler(|err, _| ApiError::InvalidJson(err.to_string()).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|err, _| ApiError::InvalidInput(err.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| ApiError::InvalidInput(err.to_string()).into()),
    )
    .app_data(web::PayloadConfig::default().limit(CSV_LIMIT))
    .configure(ops::configure)
    .configure(openapi::configure)
    .configure(codes::configure_root)
    .service(
        web::scope("/api/v1")
            .configure(accounts::configure)
            .configure(venues::configure)
            .configure(codes::configure)
            .configure(posters::configure)
            .configure(residents::configure)
            .configure(scans::configure)
            .configure(me::configure)
            .configure(trace::configure),
    )
    .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}
