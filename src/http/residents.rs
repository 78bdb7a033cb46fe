//! `/residents/import`: residents from `residents.csv`.

use actix_web::{web, HttpResponse};

use super::params::ImportParams;
use crate::auth::extract::AdminUser;
use crate::error::ApiError;
use crate::service::imports;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/residents/import", web::post().to(import));
}

/// Imports `residents.csv` (columns `resident_id,name,phone,home,building,room,household,tags`);
/// `dry_run=true` answers the same report and writes nothing.
#[utoipa::path(post, path = "/api/v1/residents/import", tag = "residents",
    request_body(content = String, content_type = "text/csv"), security(("bearer" = [])),
    params(ImportParams), responses((status = 200, body = imports::ImportReport)))]
pub async fn import(
    _admin: AdminUser,
    state: web::Data<AppState>,
    q: web::Query<ImportParams>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let report = imports::import_residents(state.store.as_ref(), &body, q.mode()).await?;
    Ok(HttpResponse::Ok().json(report))
}
