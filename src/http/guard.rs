//! `/venues/{id}/recent-scans`: the guard view. For a gate, the newest scans with their
//! decision, the person's name masked (`张*`), household and time, so a guard can compare a
//! phone's screen with the server's answer. For guards and admins; reading it is audited.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::audit::audited;
use crate::auth::extract::{Authed, GuardUser};
use crate::domain::resident::masked_name;
use crate::domain::scan::{Decision, DenyReason};
use crate::domain::{Direction, ParseError};
use crate::error::ApiError;
use crate::state::AppState;

/// The most scans one answer lists.
pub const MAX_RECENT: usize = 100;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/venues/{id}/recent-scans").route(web::get().to(recent)));
}

/// Parameters of the guard view.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecentParams {
    /// Only this gate (default: every gate): its scans among the venue's newest 100, or when
    /// those hold too few, among the venue's scans of the last 24 hours. A gate the venue does
    /// not have is a 404.
    pub gate: Option<String>,
    /// How many, 1 to 100 (default 20).
    pub limit: Option<usize>,
}

/// One scan as the guard sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuardScan {
    /// The scan's time, UTC (the phone's `client_time` for an offline scan).
    pub at: DateTime<Utc>,
    /// When the server received it, UTC: what the guard saw happen.
    pub received_at: DateTime<Utc>,
    /// The gate.
    pub gate: String,
    /// `in` or `out`.
    pub direction: Direction,
    /// `admitted` or `denied`.
    pub decision: Decision,
    /// Why it was denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<DenyReason>,
    /// The name's first character and `*` (`张*`); absent for an unregistered person.
    pub name: Option<String>,
    /// The registered household.
    pub household: Option<String>,
}

/// The guard view's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentScans {
    /// The venue.
    pub venue_id: String,
    /// Newest first.
    pub scans: Vec<GuardScan>,
}

/// The newest scans at a venue (or one gate), the last to reach the service first (guard or
/// admin): an offline phone's late scan is at the top, with its own earlier time.
#[utoipa::path(get, path = "/api/v1/venues/{id}/recent-scans", tag = "venues",
    params(("id" = String, Path, description = "venue id"), RecentParams),
    security(("bearer" = [])), responses((status = 200, body = RecentScans),
        (status = 404, description = "no such venue, or no such gate there", body = crate::error::ErrorBody)))]
pub async fn recent(
    asked: Authed<GuardUser, super::query::Query<RecentParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (guard, q) = (asked.who, asked.then);
    let registered = super::venues::load(&state, &id).await?;
    // An unknown gate is a 404, as for the gate's live code and poster, not an empty list.
    let gate = q
        .gate
        .as_deref()
        .map(|g| super::venues::gate_of(&registered, g))
        .transpose()?;
    let venue = registered.id;
    let limit = q.limit.unwrap_or(20);
    if !(1..=MAX_RECENT).contains(&limit) {
        return Err(ParseError::new("limit", format!("must be 1 to {MAX_RECENT}")).into());
    }
    let mut events = state.store.recent_scans(&venue, MAX_RECENT).await?;
    if let Some(g) = &gate {
        let matching = events.iter().filter(|e| &e.gate == g).count();
        if matching < limit && events.len() >= MAX_RECENT {
            // A quiet gate beside a busy one: its scans lie past the venue's newest 100, so
            // read the venue's last day by scan time, newest first.
            let now = state.clock.now();
            let mut day = state
                .store
                .venue_events(
                    std::slice::from_ref(&venue),
                    now - Duration::days(1),
                    now + Duration::minutes(5),
                )
                .await?;
            day.reverse();
            events = day;
        }
    }
    let mut scans = Vec::new();
    for e in events
        .into_iter()
        .filter(|e| gate.as_ref().is_none_or(|g| &e.gate == g))
        .take(limit)
    {
        let person = state.store.resident(&e.resident_id).await?;
        scans.push(GuardScan {
            at: e.scan_time,
            received_at: e.server_time,
            gate: e.gate.to_string(),
            direction: e.direction,
            decision: e.decision,
            reason: e.reason,
            name: person
                .as_ref()
                .and_then(|p| p.name.as_deref())
                .map(masked_name),
            household: person.and_then(|p| p.household),
        });
    }
    audited(
        &state,
        &guard.0,
        &req,
        "venue.recent_scans",
        "json",
        scans.len(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(RecentScans {
        venue_id: venue.to_string(),
        scans,
    }))
}
