//! `/alerts`: what the compounds' responsible staff must hear about (fevers turned away,
//! residents under home observation leaving home), for admins. Reading them is audited.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::audit::audited;
use super::params::WindowParams;
use crate::auth::extract::{AdminUser, Authed};
use crate::domain::alert::AlertKind;
use crate::domain::delivery::{AlertRecord, Delivery};
use crate::error::ApiError;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/alerts").route(web::get().to(list)));
}

/// One alert.
#[derive(Serialize, ToSchema)]
pub struct AlertView {
    /// The alert's id (the id of the scan that raised it).
    pub id: String,
    /// `fever` or `left_home_under_observation`.
    pub kind: AlertKind,
    /// The scan's time, UTC.
    pub at: DateTime<Utc>,
    /// Who.
    pub resident_id: String,
    /// Where.
    pub venue_id: String,
    /// At which gate.
    pub gate: String,
    /// The reading, °C, when one was given.
    pub temperature_c: Option<f64>,
    /// How its webhook delivery stands (`pending` while no webhook is configured).
    pub delivery: Delivery,
}

impl From<&AlertRecord> for AlertView {
    fn from(r: &AlertRecord) -> Self {
        let a = &r.alert;
        Self {
            id: a.id.clone(),
            kind: a.kind,
            at: a.at,
            resident_id: a.resident_id.to_string(),
            venue_id: a.venue_id.to_string(),
            gate: a.gate.to_string(),
            temperature_c: a.temperature_c.map(|t| t.celsius()),
            delivery: r.delivery.clone(),
        }
    }
}

/// Alerts.
#[derive(Serialize, ToSchema)]
pub struct AlertList {
    /// Oldest first.
    pub alerts: Vec<AlertView>,
}

/// The alerts of a window (default: the last 14 days), oldest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(WindowParams),
    security(("bearer" = [])), responses((status = 200, body = AlertList)))]
pub async fn list(
    asked: Authed<AdminUser, super::query::Query<WindowParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (admin, q) = (asked.who, asked.then);
    let window = q.window(state.clock.now())?;
    let alerts = state.store.alerts(window.from(), window.to()).await?;
    audited(&state, &admin.0, &req, "alerts.list", "json", alerts.len()).await?;
    Ok(HttpResponse::Ok().json(AlertList {
        alerts: alerts.iter().map(AlertView::from).collect(),
    }))
}
