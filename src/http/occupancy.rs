//! `/occupancy`: how many people are inside every venue now, for the admin console's live view.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::extract::AdminUser;
use crate::error::ApiError;
use crate::service::trace;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/occupancy").route(web::get().to(occupancy)));
}

/// One venue's count.
#[derive(Serialize, ToSchema)]
pub struct VenueCount {
    /// The venue.
    pub venue_id: String,
    /// Its name.
    pub name: String,
    /// Its kind (`residential_compound`, `shop`, …).
    pub kind: String,
    /// Its community, when it has one.
    pub community: Option<String>,
    /// How many are inside now: the venue's open visits, as `GET /venues/{id}/presence`
    /// counts them (a visit past its venue's maximum stay has ended).
    pub count: usize,
}

/// Every venue's count.
#[derive(Serialize, ToSchema)]
pub struct Occupancy {
    /// When the counts were taken.
    pub at: DateTime<Utc>,
    /// Every venue, ordered by id.
    pub venues: Vec<VenueCount>,
}

/// How many people are inside every venue now (counts only: no one is named, so it is not
/// audited).
#[utoipa::path(get, path = "/api/v1/occupancy", tag = "venues", security(("bearer" = [])),
    responses((status = 200, body = Occupancy), (status = 403, body = crate::error::ErrorBody)))]
pub async fn occupancy(
    _admin: AdminUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let at = state.clock.now();
    let mut venues = Vec::new();
    for venue in state.store.venues().await? {
        let count = trace::presence(state.store.as_ref(), &venue.id, at)
            .await?
            .len();
        venues.push(VenueCount {
            venue_id: venue.id.to_string(),
            name: venue.name,
            kind: venue.kind.as_str().to_owned(),
            community: venue.community,
            count,
        });
    }
    venues.sort_by(|a, b| a.venue_id.cmp(&b.venue_id));
    Ok(HttpResponse::Ok().json(Occupancy { at, venues }))
}
