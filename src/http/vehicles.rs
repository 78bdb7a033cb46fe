//! Vehicle passes at checkpoints: guards (and admins) record and list them at a checkpoint;
//! tracers search them by plate, as JSON or CSV. Every read is audited.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::audited;
use super::params::WindowParams;
use crate::auth::extract::{Authed, GuardUser, TracerUser};
use crate::domain::scan::{Decision, DenyReason};
use crate::domain::staff::Role;
use crate::domain::vehicle::{
    OfficerDecision, Origin, PassDetails, PassError, Passenger, Plate, VehiclePass,
};
use crate::domain::{Gate, ParseError, Phone, Temperature, VenueId};
use crate::error::ApiError;
use crate::service::export::vehicle_passes_csv;
use crate::service::vehicles::{self, NewPass, VehicleError};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/venues/{id}/vehicle-passes")
            .route(web::post().to(register))
            .route(web::get().to(at_checkpoint)),
    )
    .service(web::resource("/trace/vehicles/{plate}/passes").route(web::get().to(by_plate)));
}

impl From<VehicleError> for ApiError {
    fn from(e: VehicleError) -> Self {
        match e {
            VehicleError::UnknownVenue(id) => ApiError::NotFound(format!("no venue {id}")),
            VehicleError::NotACheckpoint(_) => ApiError::NotACheckpoint(e.to_string()),
            VehicleError::UnknownGate(_) => ApiError::InvalidInput(e.to_string()),
            VehicleError::IdempotencyKeyReused => ApiError::IdempotencyKeyReused("vehicle pass"),
            VehicleError::Scan(s) => s.into(),
            VehicleError::Store(s) => s.into(),
        }
    }
}

impl From<PassError> for ApiError {
    fn from(e: PassError) -> Self {
        match e {
            PassError::Invalid(p) => p.into(),
            PassError::ReasonRequired => ApiError::ReasonRequired,
        }
    }
}

/// Where a vehicle comes from.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginBody {
    /// Province, 1 to 16 characters (`湖北`).
    pub province: String,
    /// City, 1 to 32 characters (`武汉`).
    pub city: String,
}

/// One passenger as the officer recorded them; every field is optional.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassengerBody {
    /// Name, 1 to 50 characters.
    pub name: Option<String>,
    /// Mobile number: a passenger with one gets a pass visit at the checkpoint.
    pub phone: Option<String>,
    /// Temperature, °C (30.0 to 45.0); at or above the fever threshold the passenger's scan
    /// is denied `fever` and raises a fever alert, whatever the officer decided.
    pub temperature_c: Option<f64>,
}

/// A vehicle pass to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassBody {
    /// The checkpoint's gate (lane); default its first gate.
    pub gate: Option<String>,
    /// Number plate (`云D12345`, new-energy `鄂A·D12345`); spaces, `·` and `-` are dropped and
    /// letters upper-cased.
    pub plate: String,
    /// Where the vehicle comes from.
    #[serde(deserialize_with = "super::body::object")]
    pub origin: OriginBody,
    /// People aboard, driver included: 1 to 60, at least as many as `passengers` lists.
    pub passenger_count: u32,
    /// The passengers who gave details (default none).
    #[serde(default, deserialize_with = "super::body::objects")]
    pub passengers: Vec<PassengerBody>,
    /// `let_through` or `turned_back`.
    pub decision: OfficerDecision,
    /// Why it was turned back, 1 to 200 characters: required with `turned_back`.
    pub reason: Option<String>,
    /// 1 to 128 printable ASCII characters: a retry with the same key and body gets the first
    /// pass back (and records nothing twice); with another body it is refused.
    pub idempotency_key: Option<String>,
}

impl NewPassBody {
    fn parse(self, venue_id: VenueId) -> Result<NewPass, ApiError> {
        let passengers = self
            .passengers
            .iter()
            .enumerate()
            .map(|(i, p)| passenger(i, p))
            .collect::<Result<Vec<_>, _>>()?;
        let details = PassDetails::new(
            Plate::parse(&self.plate)?,
            Origin::parse(&self.origin.province, &self.origin.city)?,
            self.passenger_count,
            passengers,
            self.decision,
            self.reason.as_deref(),
        )?;
        let key = self.idempotency_key;
        if key.as_deref().is_some_and(|k| {
            !(1..=128).contains(&k.len()) || !k.bytes().all(|b| b.is_ascii_graphic())
        }) {
            return Err(ParseError::new(
                "idempotency_key",
                "must be 1 to 128 printable ASCII characters",
            )
            .into());
        }
        Ok(NewPass {
            venue_id,
            gate: self.gate.as_deref().map(Gate::parse).transpose()?,
            details,
            idempotency_key: key,
        })
    }
}

/// Parses passenger `i` (from 0), naming them in the message.
fn passenger(i: usize, p: &PassengerBody) -> Result<Passenger, ParseError> {
    let named = |e: ParseError| {
        ParseError::new(
            "passengers",
            format!("passenger {}: {}: {}", i + 1, e.field, e.message),
        )
    };
    let phone = p
        .phone
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(Phone::parse)
        .transpose()
        .map_err(named)?;
    let temperature = p
        .temperature_c
        .map(Temperature::parse)
        .transpose()
        .map_err(named)?;
    Passenger::new(p.name.as_deref(), phone, temperature).map_err(named)
}

/// A passenger as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassengerView {
    /// Name.
    pub name: Option<String>,
    /// Mobile number (masked, `199****0001`, for a guard's list).
    pub phone: Option<String>,
    /// Temperature, °C.
    pub temperature_c: Option<f64>,
}

/// The pass visit (or denial) a passenger's phone gave.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassengerVisitView {
    /// Index in `passengers`, from 0.
    pub passenger: usize,
    /// The person with that phone (found, or created unregistered).
    pub resident_id: String,
    /// The pass visit; absent when the scan was denied.
    pub visit_id: Option<String>,
    /// `admitted`, or `denied` (a fever).
    pub decision: Decision,
    /// Why it was denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<DenyReason>,
}

/// A vehicle pass.
#[derive(Debug, Serialize, ToSchema)]
pub struct VehiclePassView {
    /// The pass's id: a UUID v7, or under an idempotency key a UUID v5 of the officer, plate
    /// and key (not time-ordered).
    pub id: String,
    /// The checkpoint.
    pub venue_id: String,
    /// The gate (lane).
    pub gate: String,
    /// The plate, normalised (`鄂AD12345`).
    pub plate: String,
    /// Where it comes from.
    pub origin: OriginBody,
    /// People aboard, driver included.
    pub passenger_count: u32,
    /// The passengers who gave details.
    pub passengers: Vec<PassengerView>,
    /// `let_through` or `turned_back`.
    pub decision: OfficerDecision,
    /// Why it was turned back.
    pub reason: Option<String>,
    /// The officer's username.
    pub officer: String,
    /// When it was recorded, UTC (the server's clock).
    pub at: DateTime<Utc>,
    /// The pass visits of the passengers who gave a phone.
    pub passenger_visits: Vec<PassengerVisitView>,
}

impl VehiclePassView {
    /// The view of `p`; `mask` hides the middle of phones.
    fn of(p: &VehiclePass, mask: bool) -> Self {
        Self {
            id: p.id.clone(),
            venue_id: p.venue_id.to_string(),
            gate: p.gate.to_string(),
            plate: p.plate.to_string(),
            origin: OriginBody {
                province: p.origin.province.clone(),
                city: p.origin.city.clone(),
            },
            passenger_count: p.passenger_count,
            passengers: p
                .passengers
                .iter()
                .map(|x| PassengerView {
                    name: x.name.clone(),
                    phone: x.phone.as_ref().map(|ph| match mask {
                        true => ph.masked(),
                        false => ph.as_str().to_owned(),
                    }),
                    temperature_c: x.temperature_c.map(f64::from),
                })
                .collect(),
            decision: p.decision,
            reason: p.reason.clone(),
            officer: p.officer.clone(),
            at: p.at,
            passenger_visits: p
                .passenger_visits
                .iter()
                .map(|v| PassengerVisitView {
                    passenger: v.passenger,
                    resident_id: v.resident_id.to_string(),
                    visit_id: v.visit_id.clone(),
                    decision: v.decision,
                    reason: v.reason,
                })
                .collect(),
        }
    }
}

/// Vehicle passes.
#[derive(Debug, Serialize, ToSchema)]
pub struct VehiclePassList {
    /// Oldest first.
    pub passes: Vec<VehiclePassView>,
}

/// Records a vehicle stopped at a checkpoint (guard or admin). Passengers with a phone get a
/// pass visit each (found by phone, or created unregistered); a fever reading is denied and
/// raises a fever alert. A retry with the same `idempotency_key` answers the first pass.
#[utoipa::path(post, path = "/api/v1/venues/{id}/vehicle-passes", tag = "vehicles",
    params(("id" = String, Path, description = "checkpoint venue id")),
    request_body = NewPassBody, security(("bearer" = [])),
    responses((status = 201, body = VehiclePassView),
              (status = 400, description = "a malformed field, named in the message", body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "idempotency_key_reused", body = crate::error::ErrorBody),
              (status = 422, description = "not_a_checkpoint, reason_required", body = crate::error::ErrorBody)))]
pub async fn register(
    asked: Authed<GuardUser, super::body::JsonObject<NewPassBody>>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (guard, body) = (asked.who, asked.then);
    let venue = VenueId::parse(&id)?;
    let new = body.into_inner().parse(venue)?;
    let done = vehicles::register(&state, &guard.0, new).await?;
    Ok(HttpResponse::Created().json(VehiclePassView::of(&done.pass, false)))
}

/// The passes at a checkpoint in a window (default the last 14 days), oldest first (guard or
/// admin; a guard sees phones masked). Audited.
#[utoipa::path(get, path = "/api/v1/venues/{id}/vehicle-passes", tag = "vehicles",
    params(("id" = String, Path, description = "checkpoint venue id"), WindowParams),
    security(("bearer" = [])),
    responses((status = 200, body = VehiclePassList),
              (status = 422, description = "not_a_checkpoint", body = crate::error::ErrorBody)))]
pub async fn at_checkpoint(
    asked: Authed<GuardUser, super::query::Query<WindowParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (guard, q) = (asked.who, asked.then);
    let window = q.window(state.clock.now())?;
    let venue = VenueId::parse(&id)?;
    let passes = vehicles::at_checkpoint(&state, &venue, &window).await?;
    audited(
        &state,
        &guard.0,
        &req,
        "venue.vehicle_passes",
        "json",
        passes.len(),
    )
    .await?;
    let mask = guard.0.role == Role::Guard;
    Ok(HttpResponse::Ok().json(VehiclePassList {
        passes: passes
            .iter()
            .map(|p| VehiclePassView::of(p, mask))
            .collect(),
    }))
}

/// A plate's passes at every checkpoint in a window (default the last 14 days), oldest
/// first (tracer or admin). `Accept: text/csv` gives CSV, one row per listed passenger, local
/// times. Audited.
#[utoipa::path(get, path = "/api/v1/trace/vehicles/{plate}/passes", tag = "trace",
    params(("plate" = String, Path, description = "number plate, e.g. 云D12345"), WindowParams),
    security(("bearer" = [])),
    responses((status = 200, description = "JSON, or CSV with `Accept: text/csv`",
        content((VehiclePassList = "application/json"), (String = "text/csv")))))]
pub async fn by_plate(
    asked: Authed<TracerUser, super::query::Query<WindowParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
    plate: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (tracer, q) = (asked.who, asked.then);
    let window = q.window(state.clock.now())?;
    let plate = Plate::parse(&plate)?;
    let passes = vehicles::by_plate(&state, &plate, &window).await?;
    let csv = super::negotiate::wants_csv(&req);
    let format = if csv { "csv" } else { "json" };
    audited(
        &state,
        &tracer.0,
        &req,
        "trace.vehicle_passes",
        format,
        passes.len(),
    )
    .await?;
    if csv {
        // An ASCII file name: the plate's first character is not.
        let csv = vehicle_passes_csv(&passes, state.tz);
        return super::negotiate::csv_answer(csv, "vehicle-passes");
    }
    Ok(HttpResponse::Ok().json(VehiclePassList {
        passes: passes
            .iter()
            .map(|p| VehiclePassView::of(p, false))
            .collect(),
    }))
}
