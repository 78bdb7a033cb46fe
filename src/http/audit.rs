//! `/audit`: the trail of personal-data reads, for admins. Read-only: there is no route that
//! changes or deletes a record.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::params::WindowParams;
use crate::auth::extract::{AdminUser, Authed, Staff};
use crate::domain::audit::AuditRecord;
use crate::error::ApiError;
use crate::service::audit::{self, Read};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit").route(web::get().to(list)));
}

/// Audit records.
#[derive(Serialize, ToSchema)]
pub struct AuditList {
    /// Oldest first.
    pub records: Vec<AuditRecord>,
}

/// The audit records of a window (default: the last 14 days).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(WindowParams),
    security(("bearer" = [])), responses((status = 200, body = AuditList)))]
pub async fn list(
    asked: Authed<AdminUser, super::query::Query<WindowParams>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = asked.then;
    let window = q.window(state.clock.now())?;
    let records = audit::list(state.store.as_ref(), &window).await?;
    Ok(HttpResponse::Ok().json(AuditList { records }))
}

/// Records a read of personal data by `who` for the request `req`.
///
/// # Errors
/// 503 when the record cannot be written: the data is then not sent.
pub async fn audited(
    state: &AppState,
    who: &Staff,
    req: &HttpRequest,
    action: &str,
    format: &str,
    returned: usize,
) -> Result<(), ApiError> {
    let query = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    let read = Read {
        action,
        query: &query,
        format,
        returned,
    };
    Ok(audit::record(state.store.as_ref(), who, read, state.clock.now()).await?)
}
