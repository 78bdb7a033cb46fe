//! `/flags`: implausible scans for admins to look at (reliability issue): a person's scans too
//! far apart for the time between them, bursts of check-ins at a venue outside its opening
//! hours. Flags are never denials. Reading them is audited.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::audit::audited;
use super::params::WindowParams;
use crate::auth::extract::{AdminUser, Authed};
use crate::domain::flags::Flag;
use crate::error::ApiError;
use crate::service::flags;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/flags").route(web::get().to(list)));
}

/// The flags of a window.
#[derive(Serialize, ToSchema)]
pub struct FlagList {
    /// Ordered by time; each has a `kind`: `implausible_travel` or `off_hours_burst`.
    pub flags: Vec<Flag>,
}

/// The flags raised by the scans of a window (default: the last 14 days), at venues with a
/// recorded `location` or `opening_hours`.
#[utoipa::path(get, path = "/api/v1/flags", tag = "alerts", params(WindowParams),
    security(("bearer" = [])), responses((status = 200, body = FlagList)))]
pub async fn list(
    asked: Authed<AdminUser, super::query::Query<WindowParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (admin, q) = (asked.who, asked.then);
    let window = q.window(state.clock.now())?;
    let found = flags::in_window(&state, &window).await?;
    audited(&state, &admin.0, &req, "flags.list", "json", found.len()).await?;
    Ok(HttpResponse::Ok().json(FlagList { flags: found }))
}
