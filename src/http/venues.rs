//! `/venues`: register, list, read, change and import venues; presence.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::audited;
use super::params::ImportParams;
use super::views::VenueView;
use crate::auth::extract::{AdminUser, Authed};
use crate::domain::ids::{parse_name, parse_optional};
use crate::domain::location::{Location, OpeningHours};
use crate::domain::venue::{parse_gates, MAX_STAY_CAP_MINUTES};
use crate::domain::{EntryPolicy, Gate, ParseError, Venue, VenueId, VenueKind};
use crate::error::ApiError;
use crate::service::posters::check_printable;
use crate::service::venues::{check_parent, parse_parent, update_venue, UpdateError};
use crate::service::{imports, trace};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/venues")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(
        web::resource("/venues/import")
            .app_data(super::body::csv())
            .route(web::post().to(import)),
    )
    .service(
        web::resource("/venues/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(patch)),
    )
    .service(web::resource("/venues/{id}/presence").route(web::get().to(presence)));
}

/// A venue to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVenue {
    /// Id; generated when absent.
    pub id: Option<String>,
    /// Name, 1 to 100 characters.
    pub name: String,
    /// Kind.
    pub kind: VenueKind,
    /// Community.
    pub community: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Gates, at least one.
    pub gates: Vec<String>,
    /// Maximum stay override, minutes, 1 to 10080.
    pub max_stay_minutes: Option<u32>,
    /// `open` or `residents_only`; compounds default to `residents_only`.
    pub entry_policy: Option<EntryPolicy>,
    /// The id of the venue this one is a sub-location of (a compound's building, a market's
    /// hall): registered, and not a sub-location itself. Fixed once registered. For contacts
    /// and exposure, a visit here also counts as a visit to the parent.
    pub parent: Option<String>,
    /// Where the venue is (`{lat, lon}`, WGS 84 degrees), for the implausible-travel flags.
    #[serde(default, deserialize_with = "super::body::optional_object")]
    pub location: Option<Location>,
    /// When it is open (`{opens, closes}`, `HH:MM` local time), for the off-hours flags.
    #[serde(default, deserialize_with = "super::body::optional_object")]
    pub opening_hours: Option<OpeningHours>,
}

/// Changes to a venue; absent fields stay as they are. Unknown fields are refused, so a typo
/// is not silently ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenuePatch {
    /// Name.
    pub name: Option<String>,
    /// Kind.
    pub kind: Option<VenueKind>,
    /// Community.
    pub community: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Gates (replaces the list).
    pub gates: Option<Vec<String>>,
    /// Maximum stay override, minutes.
    pub max_stay_minutes: Option<u32>,
    /// Entry policy.
    pub entry_policy: Option<EntryPolicy>,
    /// Location: replaces it; `null` removes it.
    #[serde(default, deserialize_with = "super::body::present_object")]
    #[schema(value_type = Option<Location>)]
    pub location: Option<Option<Location>>,
    /// Opening hours: replace them; `null` removes them.
    #[serde(default, deserialize_with = "super::body::present_object")]
    #[schema(value_type = Option<OpeningHours>)]
    pub opening_hours: Option<Option<OpeningHours>>,
}

fn parse_max_stay(m: Option<u32>) -> Result<Option<u32>, ParseError> {
    match m {
        Some(m) if m == 0 || m > MAX_STAY_CAP_MINUTES => Err(ParseError::new(
            "max_stay_minutes",
            format!("must be 1 to {MAX_STAY_CAP_MINUTES}"),
        )),
        other => Ok(other),
    }
}

impl From<UpdateError> for ApiError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::NotFound(_) => ApiError::NotFound(e.to_string()),
            UpdateError::Invalid(p) => p.into(),
            UpdateError::Occupied(_) => ApiError::Conflict(e.to_string()),
            UpdateError::Store(s) => s.into(),
        }
    }
}

/// The venue with id `id`, or 404.
pub(crate) async fn load(state: &AppState, id: &str) -> Result<Venue, ApiError> {
    let id = VenueId::parse(id)?;
    state
        .store
        .venue(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no venue {id}")))
}

/// The gate `raw` names at `venue`: 400 for a name that is not a gate's, 404 `not_found` for a
/// gate the venue does not have (now: a gate taken away is not one of its gates). Every route
/// that takes a `gate` parameter asks this.
pub(crate) fn gate_of(venue: &Venue, raw: &str) -> Result<Gate, ApiError> {
    let gate = Gate::parse(raw)?;
    if venue.has_gate(&gate) {
        Ok(gate)
    } else {
        Err(ApiError::NotFound(format!(
            "venue {} has no gate {gate}",
            venue.id
        )))
    }
}

/// Registers a venue.
#[utoipa::path(post, path = "/api/v1/venues", tag = "venues", request_body = NewVenue,
    security(("bearer" = [])),
    responses((status = 201, body = VenueView), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    asked: Authed<AdminUser, super::body::JsonObject<NewVenue>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = asked.then;
    let b = body.into_inner();
    let id = match &b.id {
        Some(raw) => VenueId::parse(raw)?,
        None => VenueId::generate(),
    };
    let name = parse_name("name", &b.name, 100)?;
    let mut venue = Venue {
        id,
        name,
        kind: b.kind,
        community: parse_optional("community", b.community.as_deref(), 100)?,
        address: parse_optional("address", b.address.as_deref(), 200)?,
        gates: parse_gates(&b.gates)?,
        max_stay_minutes: parse_max_stay(b.max_stay_minutes)?,
        entry_policy: b.entry_policy.unwrap_or(EntryPolicy::default_for(b.kind)),
        entry_policy_chosen: b.entry_policy.is_some(),
        households: None,
        code_version: 1,
        revision: 0,
        parent: b.parent.as_deref().map(parse_parent).transpose()?,
        longest_stay_minutes: None,
        retired_gates: Vec::new(),
        location: b.location,
        opening_hours: b.opening_hours,
        created_at: state.clock.now(),
    };
    venue.start_stay_record();
    check_printable(&venue)?;
    check_parent(state.store.as_ref(), &venue).await?;
    if !state.store.insert_venue(&venue).await? {
        return Err(ApiError::Conflict(format!("venue {} exists", venue.id)));
    }
    Ok(HttpResponse::Created().json(VenueView::of(&venue, &state.codes)))
}

/// All venues.
#[derive(Serialize, ToSchema)]
pub struct VenueList {
    /// Ordered by id.
    pub venues: Vec<VenueView>,
}

/// Lists venues, with the current code of every gate.
#[utoipa::path(get, path = "/api/v1/venues", tag = "venues", security(("bearer" = [])),
    responses((status = 200, body = VenueList)))]
pub async fn list(_admin: AdminUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let venues = state.store.venues().await?;
    Ok(HttpResponse::Ok().json(VenueList {
        venues: venues
            .iter()
            .map(|v| VenueView::of(v, &state.codes))
            .collect(),
    }))
}

/// One venue.
#[utoipa::path(get, path = "/api/v1/venues/{id}", tag = "venues", security(("bearer" = [])),
    params(("id" = String, Path, description = "venue id")),
    responses((status = 200, body = VenueView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    _admin: AdminUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let venue = load(&state, &id).await?;
    Ok(HttpResponse::Ok().json(VenueView::of(&venue, &state.codes)))
}

/// Changes a venue.
#[utoipa::path(patch, path = "/api/v1/venues/{id}", tag = "venues", request_body = VenuePatch,
    security(("bearer" = [])), params(("id" = String, Path, description = "venue id")),
    responses((status = 200, body = VenueView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn patch(
    asked: Authed<AdminUser, super::body::JsonObject<VenuePatch>>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = asked.then;
    let id = VenueId::parse(&id)?;
    let p = body.into_inner();
    let mut rotated = false;
    let venue = update_venue(state.store.as_ref(), &id, state.clock.now(), |venue| {
        rotated = false;
        if let Some(name) = &p.name {
            venue.name = parse_name("name", name, 100)?;
        }
        if let Some(kind) = p.kind {
            venue.set_kind(kind);
        }
        if p.community.is_some() {
            venue.community = parse_optional("community", p.community.as_deref(), 100)?;
        }
        if p.address.is_some() {
            venue.address = parse_optional("address", p.address.as_deref(), 200)?;
        }
        if let Some(gates) = &p.gates {
            rotated = venue.set_gates(parse_gates(gates)?);
        }
        if p.max_stay_minutes.is_some() {
            venue.max_stay_minutes = parse_max_stay(p.max_stay_minutes)?;
        }
        if let Some(policy) = p.entry_policy {
            venue.entry_policy = policy;
            venue.entry_policy_chosen = true;
        }
        if let Some(location) = p.location {
            venue.location = location;
        }
        if let Some(hours) = p.opening_hours {
            venue.opening_hours = hours;
        }
        check_printable(venue)
    })
    .await?;
    if rotated {
        tracing::info!(venue = %venue.id, version = venue.code_version,
            "venue codes rotated: a gate taken away came back, or too many were taken away");
    }
    Ok(HttpResponse::Ok().json(VenueView::of(&venue, &state.codes)))
}

/// Imports `venues.csv` (columns `code,name,kind,community,address,gates,households`);
/// `dry_run=true` answers the same report and writes nothing.
#[utoipa::path(post, path = "/api/v1/venues/import", tag = "venues",
    request_body(content = String, content_type = "text/csv"), security(("bearer" = [])),
    params(ImportParams), responses((status = 200, body = imports::ImportReport),
        (status = 400, description = "a query parameter other than dry_run, or a header naming a column the import does not know", body = crate::error::ErrorBody)))]
pub async fn import(
    asked: Authed<AdminUser, (super::query::Query<ImportParams>, super::body::CsvBody)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (q, super::body::CsvBody(body)) = asked.then;
    let report =
        imports::import_venues(state.store.as_ref(), &body, q.mode(), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// One person inside.
#[derive(Serialize, ToSchema)]
pub struct Present {
    /// Who.
    pub resident_id: String,
    /// Since when (the check-in).
    pub since: DateTime<Utc>,
}

/// Who is inside a venue now (contract, `GET /venues/{id}/presence`).
#[derive(Serialize, ToSchema)]
pub struct Presence {
    /// The venue.
    pub venue_id: String,
    /// How many are inside.
    pub count: usize,
    /// Who, earliest first.
    pub people: Vec<Present>,
}

/// Who is inside a venue now.
#[utoipa::path(get, path = "/api/v1/venues/{id}/presence", tag = "venues",
    security(("bearer" = [])), params(("id" = String, Path, description = "venue id")),
    responses((status = 200, body = Presence), (status = 404, body = crate::error::ErrorBody)))]
pub async fn presence(
    admin: AdminUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let venue = load(&state, &id).await?;
    let open = trace::presence(state.store.as_ref(), &venue.id, state.clock.now()).await?;
    let people: Vec<Present> = open
        .iter()
        .map(|v| Present {
            resident_id: v.resident_id.to_string(),
            since: v.start(),
        })
        .collect();
    audited(
        &state,
        &admin.0,
        &req,
        "venue.presence",
        "json",
        people.len(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(Presence {
        venue_id: venue.id.to_string(),
        count: people.len(),
        people,
    }))
}
