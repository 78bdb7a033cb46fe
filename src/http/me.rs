//! `/me/*`: what a resident may read about themself.

use actix_web::{web, HttpResponse};

use super::params::WindowParams;
use super::views::VisitList;
use crate::auth::extract::ResidentUser;
use crate::error::ApiError;
use crate::service::trace;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/visits", web::get().to(my_visits));
}

/// The caller's own visits in a window (default: the last 14 days).
#[utoipa::path(get, path = "/api/v1/me/visits", tag = "scans", params(WindowParams),
    security(("bearer" = [])), responses((status = 200, body = VisitList)))]
pub async fn my_visits(
    who: ResidentUser,
    state: web::Data<AppState>,
    q: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let window = q.window(now)?;
    let visits = trace::resident_visits(state.store.as_ref(), &who.0, &window, now).await?;
    Ok(HttpResponse::Ok().json(VisitList::of(&visits)))
}
