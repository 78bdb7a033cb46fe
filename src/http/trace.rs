//! `/trace/*`: visit histories and contacts for tracers, as JSON or CSV.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::audit::audited;
use super::negotiate::{csv_answer, wants_csv};
use super::params::{parse_minutes, WindowParams};
use super::views::{ContactList, ContactView, VisitList};
use crate::auth::extract::{Authed, TracerUser};
use crate::domain::contact_class::ContactClass;
use crate::domain::contacts::ContactQuery;
use crate::domain::{ParseError, ResidentId, VenueId, VenueKind, Visit};
use crate::error::ApiError;
use crate::service::contacts::{self, Depth, Scope, Traced};
use crate::service::export::{contacts_csv, visits_csv};
use crate::service::trace::{self, VenueFilter};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/trace/residents/{id}/visits").route(web::get().to(resident_visits)),
    )
    .service(web::resource("/trace/venues/{id}/visits").route(web::get().to(venue_visits)))
    .service(web::resource("/trace/residents/{id}/contacts").route(web::get().to(contacts)))
    .service(web::resource("/trace/venues/{id}/exposure").route(web::get().to(venue_exposure)));
}

/// The id of a registered or logged-in person, else 404: an empty answer for a typo would read
/// as "no exposure".
async fn known_resident(state: &AppState, raw: &str) -> Result<ResidentId, ApiError> {
    let id = ResidentId::parse(raw)?;
    match state.store.resident(&id).await? {
        Some(_) => Ok(id),
        None => Err(ApiError::NotFound(format!("no resident {id}"))),
    }
}

/// The id of an existing venue, else 404.
async fn known_venue(state: &AppState, raw: &str) -> Result<VenueId, ApiError> {
    Ok(super::venues::load(state, raw).await?.id)
}

/// Audits a read of visits, then answers them as CSV when asked (`Accept: text/csv`), else
/// as JSON.
async fn visits_answer(
    state: &AppState,
    tracer: &TracerUser,
    req: &HttpRequest,
    action: &str,
    file: String,
    visits: &[Visit],
) -> Result<HttpResponse, ApiError> {
    let csv = wants_csv(req);
    let format = if csv { "csv" } else { "json" };
    audited(state, &tracer.0, req, action, format, visits.len()).await?;
    if csv {
        return csv_answer(visits_csv(visits, state.tz), &file);
    }
    Ok(HttpResponse::Ok().json(VisitList::of(visits)))
}

/// A person's visits overlapping a window.
#[utoipa::path(get, path = "/api/v1/trace/residents/{id}/visits", tag = "trace",
    params(("id" = String, Path, description = "resident id"), WindowParams),
    security(("bearer" = [])),
    responses((status = 200, description = "JSON, or CSV with `Accept: text/csv`",
        content((VisitList = "application/json"), (String = "text/csv")))))]
pub async fn resident_visits(
    asked: Authed<TracerUser, super::query::Query<WindowParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (tracer, q) = (asked.who, asked.then);
    let now = state.clock.now();
    let window = q.window(now)?;
    let id = known_resident(&state, &id).await?;
    let visits = trace::resident_visits(state.store.as_ref(), &id, &window, now).await?;
    let file = format!("visits-{id}");
    visits_answer(
        &state,
        &tracer,
        &req,
        "trace.resident_visits",
        file,
        &visits,
    )
    .await
}

/// A venue's visits overlapping a window.
#[utoipa::path(get, path = "/api/v1/trace/venues/{id}/visits", tag = "trace",
    params(("id" = String, Path, description = "venue id"), WindowParams),
    security(("bearer" = [])),
    responses((status = 200, description = "JSON, or CSV with `Accept: text/csv`",
        content((VisitList = "application/json"), (String = "text/csv")))))]
pub async fn venue_visits(
    asked: Authed<TracerUser, super::query::Query<WindowParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (tracer, q) = (asked.who, asked.then);
    let now = state.clock.now();
    let window = q.window(now)?;
    let id = known_venue(&state, &id).await?;
    let visits = trace::venue_visits(state.store.as_ref(), &id, &window, now).await?;
    let file = format!("visits-{id}");
    visits_answer(&state, &tracer, &req, "trace.venue_visits", file, &visits).await
}

/// Parameters of a contact query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContactParams {
    /// Window start, RFC 3339 (default: 14 days before `to`).
    pub from: Option<String>,
    /// Window end, RFC 3339 (default: now).
    pub to: Option<String>,
    /// Widen the index case's intervals by this many minutes on both sides (default 0).
    pub buffer_minutes: Option<String>,
    /// The shortest overlap that counts, minutes (default 0).
    pub min_overlap_minutes: Option<String>,
    /// Look only at the index case's visits to venues of these kinds, comma-separated, e.g.
    /// `shop,market`.
    pub venue_kinds: Option<String>,
    /// `true` leaves out the index case's own home compound.
    pub exclude_home: Option<bool>,
    /// Report only these classes, comma-separated: `household`, `building`, `compound`,
    /// `shared_visit` (`all` for the four). Without it the answer is the contract's contacts
    /// (people with shared visits), each with its class; with it, people of a named
    /// registration class are listed even with no shared visit.
    pub classes: Option<String>,
    /// `1` (default): contacts of the index case; `2`: also the contacts of each contact.
    pub depth: Option<String>,
}

impl ContactParams {
    fn scope(&self) -> Result<Scope, ParseError> {
        let classes = match self.classes.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("all") => Some(ContactClass::ALL.to_vec()),
            Some(list) => Some(ContactClass::parse_list(list)?),
        };
        let depth = match self.depth.as_deref().map(str::trim) {
            None | Some("" | "1") => Depth::First,
            Some("2") => Depth::Second,
            Some(_) => return Err(ParseError::new("depth", "must be 1 or 2")),
        };
        Ok(Scope { classes, depth })
    }

    fn filter(&self) -> Result<VenueFilter, ParseError> {
        let kinds = match self.venue_kinds.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(list) => Some(
                list.split(',')
                    .map(VenueKind::parse)
                    .collect::<Result<Vec<_>, _>>()
                    // The parameter's name, not the venue field's.
                    .map_err(|e| ParseError {
                        field: "venue_kinds",
                        ..e
                    })?,
            ),
        };
        Ok(VenueFilter {
            kinds,
            exclude_home: self.exclude_home.unwrap_or(false),
        })
    }
}

/// The contacts of an index case (contract, "Contacts"). `Accept: text/csv` gives CSV, one row
/// per contact and shared visit, times in the configured local zone.
#[utoipa::path(get, path = "/api/v1/trace/residents/{id}/contacts", tag = "trace",
    params(("id" = String, Path, description = "index case's resident id"), ContactParams),
    security(("bearer" = [])),
    responses((status = 200, description = "JSON, or CSV with `Accept: text/csv`",
        content((ContactList = "application/json"), (String = "text/csv")))))]
pub async fn contacts(
    asked: Authed<TracerUser, super::query::Query<ContactParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (tracer, q) = (asked.who, asked.then);
    let now = state.clock.now();
    let window = WindowParams {
        from: q.from.clone(),
        to: q.to.clone(),
    }
    .window(now)?;
    let query = ContactQuery {
        window,
        buffer: Duration::minutes(parse_minutes(
            "buffer_minutes",
            q.buffer_minutes.as_deref(),
        )?),
        min_overlap: Duration::minutes(parse_minutes(
            "min_overlap_minutes",
            q.min_overlap_minutes.as_deref(),
        )?),
        now,
    };
    let filter = q.filter()?;
    let scope = q.scope()?;
    let index = known_resident(&state, &id).await?;
    let found = contacts::trace(state.store.as_ref(), &index, &query, &filter, &scope).await?;
    let report = Report {
        action: "trace.contacts",
        subject: ("index_case", index.as_str()),
        file: format!("contacts-{index}"),
    };
    people_answer(&state, &tracer, &req, report, &found, |contacts| {
        ContactList {
            index_case: index.to_string(),
            contacts,
        }
    })
    .await
}

/// Everyone at a venue in a window.
#[derive(Debug, Serialize, ToSchema)]
pub struct Exposure {
    /// The venue.
    pub venue_id: String,
    /// The people there, longest time first; `overlap_minutes` is their time there within the
    /// window.
    pub contacts: Vec<ContactView>,
}

/// A "risky venue" report: everyone at a venue during a window, shaped like contacts, with
/// each person's time there. `Accept: text/csv` gives CSV.
#[utoipa::path(get, path = "/api/v1/trace/venues/{id}/exposure", tag = "trace",
    params(("id" = String, Path, description = "venue id"), WindowParams),
    security(("bearer" = [])),
    responses((status = 200, description = "JSON, or CSV with `Accept: text/csv`",
        content((Exposure = "application/json"), (String = "text/csv")))))]
pub async fn venue_exposure(
    asked: Authed<TracerUser, super::query::Query<WindowParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (tracer, q) = (asked.who, asked.then);
    let now = state.clock.now();
    let window = q.window(now)?;
    let venue = known_venue(&state, &id).await?;
    let found =
        Traced::at_venue(trace::venue_exposure(state.store.as_ref(), &venue, &window, now).await?);
    let report = Report {
        action: "trace.venue_exposure",
        subject: ("venue", venue.as_str()),
        file: format!("exposure-{venue}"),
    };
    people_answer(&state, &tracer, &req, report, &found, |contacts| Exposure {
        venue_id: venue.to_string(),
        contacts,
    })
    .await
}

/// What a report of people is about: its audit action, the CSV's first column, the file name.
struct Report<'a> {
    action: &'a str,
    subject: (&'a str, &'a str),
    file: String,
}

/// Audits a report of people (contacts, exposure), then answers it as CSV when asked, else as
/// the JSON that `body` makes from the people's views.
async fn people_answer<T: Serialize>(
    state: &AppState,
    tracer: &TracerUser,
    req: &HttpRequest,
    report: Report<'_>,
    found: &[Traced],
    body: impl FnOnce(Vec<ContactView>) -> T,
) -> Result<HttpResponse, ApiError> {
    let csv = wants_csv(req);
    let format = if csv { "csv" } else { "json" };
    audited(state, &tracer.0, req, report.action, format, found.len()).await?;
    if csv {
        return csv_answer(contacts_csv(report.subject, found, state.tz), &report.file);
    }
    let views = found.iter().map(ContactView::of).collect();
    Ok(HttpResponse::Ok().json(body(views)))
}
