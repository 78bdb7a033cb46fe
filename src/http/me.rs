//! `/me/*`: what a resident may read about themself; signing out everywhere, for residents
//! and staff alike.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::params::WindowParams;
use super::views::VisitList;
use crate::auth::extract::{Authed, ResidentUser, SignedIn};
use crate::domain::resident::masked_name;
use crate::error::ApiError;
use crate::service::{accounts, trace};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/me").route(web::get().to(me)))
        .service(
            web::resource("/me/sign-out-everywhere").route(web::post().to(sign_out_everywhere)),
        )
        .service(web::resource("/me/visits").route(web::get().to(my_visits)));
}

/// The caller's own visits in a window (default: the last 14 days).
#[utoipa::path(get, path = "/api/v1/me/visits", tag = "scans", params(WindowParams),
    security(("bearer" = [])), responses((status = 200, body = VisitList)))]
pub async fn my_visits(
    asked: Authed<ResidentUser, super::query::Query<WindowParams>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (who, q) = (asked.who, asked.then);
    let now = state.clock.now();
    let window = q.window(now)?;
    let visits = trace::resident_visits(state.store.as_ref(), &who.0, &window, now).await?;
    Ok(HttpResponse::Ok().json(VisitList::of(&visits)))
}

/// A household member the caller may bring along in a scan (`members`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    /// Their resident id (what a scan's `members` names).
    pub resident_id: String,
    /// Their name, masked (`张*`).
    pub name: Option<String>,
}

/// The caller as registered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Resident id.
    pub resident_id: String,
    /// Name, masked (`张*`): what the result screen shows a guard.
    pub name: Option<String>,
    /// Home compound id, when registered.
    pub home: Option<String>,
    /// Whether an admin registered this person (else only a phone is known).
    pub registered: bool,
    /// The other members of the caller's household at the same home, by id.
    pub household: Vec<Member>,
}

/// The caller's registration and household, for the check-in page.
#[utoipa::path(get, path = "/api/v1/me", tag = "scans", security(("bearer" = [])),
    responses((status = 200, body = Me)))]
pub async fn me(who: ResidentUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let person = state
        .store
        .resident(&who.0)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no resident {}", who.0)))?;
    let household = match (&person.home, &person.household) {
        (Some(home), Some(h)) => state
            .store
            .residents_at_home(home)
            .await?
            .into_iter()
            .filter(|r| r.id != person.id && r.household.as_ref() == Some(h))
            .map(|r| Member {
                resident_id: r.id.to_string(),
                name: r.name.as_deref().map(masked_name),
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(HttpResponse::Ok().json(Me {
        resident_id: person.id.to_string(),
        name: person.name.as_deref().map(masked_name),
        home: person.home.as_ref().map(ToString::to_string),
        registered: person.registered,
        household,
    }))
}

/// Signs the caller out on every phone or browser: each of their tokens, this one included,
/// is refused (401) from now on. A resident's or a staff member's (admin, tracer, guard) token.
#[utoipa::path(post, path = "/api/v1/me/sign-out-everywhere", tag = "auth",
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
pub async fn sign_out_everywhere(
    who: SignedIn,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.as_ref();
    // `None` only if the account or person was removed since the extractor read it: nothing
    // of theirs is signed in then either.
    match &who {
        SignedIn::Resident(id) => accounts::revoke_sign_ins(store, id).await?,
        SignedIn::Staff { username, .. } => {
            accounts::revoke_staff_sign_ins(store, username).await?
        }
    };
    Ok(HttpResponse::NoContent().finish())
}
