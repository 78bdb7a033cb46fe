//! `/residents/import`: residents from `residents.csv`; `/residents/{id}/revoke-sign-ins`:
//! an admin ends a resident's sign-ins (a lost phone).

use actix_web::{web, HttpResponse};

use super::params::ImportParams;
use crate::auth::extract::{AdminUser, Authed};
use crate::domain::ResidentId;
use crate::error::ApiError;
use crate::service::{accounts, imports};
use crate::state::AppState;

impl From<imports::ImportError> for ApiError {
    fn from(e: imports::ImportError) -> Self {
        match e {
            imports::ImportError::Columns(c) => ApiError::InvalidInput(c.to_string()),
            imports::ImportError::Store(s) => s.into(),
        }
    }
}

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/residents/import")
            .app_data(super::body::csv())
            .route(web::post().to(import)),
    )
    .service(
        web::resource("/residents/{id}/revoke-sign-ins").route(web::post().to(revoke_sign_ins)),
    );
}

/// Imports `residents.csv` (columns `resident_id,name,phone,home,building,room,household,tags`);
/// `dry_run=true` answers the same report and writes nothing.
#[utoipa::path(post, path = "/api/v1/residents/import", tag = "residents",
    request_body(content = String, content_type = "text/csv"), security(("bearer" = [])),
    params(ImportParams), responses((status = 200, body = imports::ImportReport),
        (status = 400, description = "a query parameter other than dry_run, or a header naming a column the import does not know", body = crate::error::ErrorBody)))]
pub async fn import(
    asked: Authed<AdminUser, (super::query::Query<ImportParams>, super::body::CsvBody)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (q, super::body::CsvBody(body)) = asked.then;
    let report = imports::import_residents(state.store.as_ref(), &body, q.mode()).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Ends every sign-in of a resident: each token issued to them so far is refused (401), and
/// their next one-time-code login works as before. For a lost or stolen phone.
#[utoipa::path(post, path = "/api/v1/residents/{id}/revoke-sign-ins", tag = "residents",
    params(("id" = String, Path, description = "resident id")), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_sign_ins(
    _admin: AdminUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ResidentId::parse(&id)?;
    match accounts::revoke_sign_ins(state.store.as_ref(), &id).await? {
        Some(_) => Ok(HttpResponse::NoContent().finish()),
        None => Err(ApiError::NotFound(format!("no resident {id}"))),
    }
}
