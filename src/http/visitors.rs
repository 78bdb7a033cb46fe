//! `/visitors`: a resident registers a visitor for their own compound; an admin finds a
//! visitor's passes by phone; the host or an admin revokes a pass. A pass admits the visitor's check-in at the compound while valid, and the visit
//! names the host.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::params::parse_time;
use crate::auth::extract::{AdminUser, Authed, ResidentUser, SignedIn};
use crate::domain::ids::parse_name;
use crate::domain::staff::Role;
use crate::domain::visitor::{VisitorPass, MAX_PASS_HOURS};
use crate::domain::{ParseError, Phone};
use crate::error::ApiError;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/visitors")
            .route(web::post().to(register))
            .route(web::get().to(list)),
    )
    .service(web::resource("/visitors/{id}").route(web::delete().to(revoke)));
}

/// A visitor to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVisitor {
    /// The visitor's name, 1 to 50 characters.
    pub name: String,
    /// The visitor's mobile number: their check-in is matched by it.
    pub phone: String,
    /// How they are related to the host, 1 to 20 characters (`女儿`, `护工`).
    pub relation: String,
    /// Expected arrival, RFC 3339 (default: now).
    pub arrival: Option<String>,
    /// How long the pass admits from the arrival, hours, 1 to 24 (default 12).
    pub valid_hours: Option<i64>,
}

/// A visitor pass.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassView {
    /// The pass's id.
    pub id: String,
    /// The host's resident id.
    pub host: String,
    /// The compound it admits at.
    pub venue_id: String,
    /// The visitor's name.
    pub name: String,
    /// The visitor's phone.
    pub phone: String,
    /// Relation to the host.
    pub relation: String,
    /// From when it admits, UTC.
    pub valid_from: DateTime<Utc>,
    /// Until when it admits, UTC.
    pub valid_until: DateTime<Utc>,
    /// Revoked by the host or an admin.
    pub revoked: bool,
}

impl From<&VisitorPass> for PassView {
    fn from(p: &VisitorPass) -> Self {
        Self {
            id: p.id.clone(),
            host: p.host.to_string(),
            venue_id: p.venue_id.to_string(),
            name: p.name.clone(),
            phone: p.phone.as_str().to_owned(),
            relation: p.relation.clone(),
            valid_from: p.valid_from,
            valid_until: p.valid_until,
            revoked: p.revoked,
        }
    }
}

/// Registers a visitor for the caller's home compound. The caller must be registered with a
/// home.
#[utoipa::path(post, path = "/api/v1/visitors", tag = "visitors", request_body = NewVisitor,
    security(("bearer" = [])),
    responses((status = 201, body = PassView), (status = 400, body = crate::error::ErrorBody)))]
pub async fn register(
    asked: Authed<ResidentUser, super::body::JsonObject<NewVisitor>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let who = asked.who;
    let b = asked.then.into_inner();
    let now = state.clock.now();
    let home = state
        .store
        .resident(&who.0)
        .await?
        .and_then(|r| r.home)
        .ok_or_else(|| {
            ParseError::new(
                "host",
                "only a resident registered with a home compound may",
            )
        })?;
    let valid_from = b
        .arrival
        .as_deref()
        .map(|s| parse_time("arrival", s))
        .transpose()?
        .unwrap_or(now);
    if valid_from < now - Duration::days(1) || valid_from > now + Duration::days(30) {
        return Err(ParseError::new(
            "arrival",
            "must be within a day before and 30 days after now",
        )
        .into());
    }
    let hours = b.valid_hours.unwrap_or(12);
    if !(1..=MAX_PASS_HOURS).contains(&hours) {
        return Err(
            ParseError::new("valid_hours", format!("must be 1 to {MAX_PASS_HOURS}")).into(),
        );
    }
    let valid_until = valid_from + Duration::hours(hours);
    VisitorPass::check_window(valid_from, valid_until)?;
    let pass = VisitorPass {
        id: uuid::Uuid::now_v7().to_string(),
        host: who.0.clone(),
        venue_id: home,
        name: parse_name("name", &b.name, 50)?,
        phone: Phone::parse(&b.phone)?,
        relation: parse_name("relation", &b.relation, 20)?,
        valid_from,
        valid_until,
        revoked: false,
        created_at: now,
    };
    state.store.put_visitor_pass(&pass).await?;
    Ok(HttpResponse::Created().json(PassView::from(&pass)))
}

/// Which passes to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// The visitor's mobile number.
    pub phone: String,
}

/// A visitor's passes.
#[derive(Serialize, ToSchema)]
pub struct PassList {
    /// Oldest first.
    pub passes: Vec<PassView>,
}

/// The passes registered for a visitor's phone (so an admin can find the one to revoke).
/// Reading them is audited: they name people and phones.
#[utoipa::path(get, path = "/api/v1/visitors", tag = "visitors", params(ListParams),
    security(("bearer" = [])), responses((status = 200, body = PassList)))]
pub async fn list(
    asked: Authed<AdminUser, super::query::Query<ListParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (admin, q) = (asked.who, asked.then);
    let phone = Phone::parse(&q.phone)?;
    let passes = state.store.visitor_passes(&phone).await?;
    super::audit::audited(
        &state,
        &admin.0,
        &req,
        "visitors.list",
        "json",
        passes.len(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(PassList {
        passes: passes.iter().map(PassView::from).collect(),
    }))
}

/// Revokes a visitor pass, by its host or an admin: it admits no more. Visits made with it stay
/// as they were.
#[utoipa::path(delete, path = "/api/v1/visitors/{id}", tag = "visitors",
    params(("id" = String, Path, description = "pass id")), security(("bearer" = [])),
    responses((status = 200, body = PassView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke(
    // Either role's revoked sign-in is a 401 (with `Either`, the first extractor's error
    // would be the answer: a 403 for an admin's).
    who: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if matches!(&who, SignedIn::Staff { role, .. } if *role != Role::Admin) {
        return Err(ApiError::Forbidden);
    }
    let mut pass = state
        .store
        .visitor_pass(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no visitor pass {id}")))?;
    if let SignedIn::Resident(resident) = &who {
        if *resident != pass.host {
            return Err(ApiError::NotYours(
                "this visitor pass is another resident's: only its host or an admin may revoke it"
                    .into(),
            ));
        }
    }
    pass.revoked = true;
    state.store.put_visitor_pass(&pass).await?;
    Ok(HttpResponse::Ok().json(PassView::from(&pass)))
}
