//! Posters: one gate's poster as PNG or SVG, and batches of posters as one A4 PDF.

use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::venues::load;
use crate::auth::extract::AdminUser;
use crate::domain::{Direction, Gate, Venue};
use crate::error::ApiError;
use crate::posters::{self, PosterError};
use crate::service::posters::PosterData;
use crate::state::AppState;

/// Registers the routes of this module under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/venues/{id}/poster.png", web::get().to(poster_png))
        .route("/venues/{id}/poster.svg", web::get().to(poster_svg));
}

impl From<PosterError> for ApiError {
    fn from(e: PosterError) -> Self {
        match e {
            PosterError::MissingGlyphs { .. } | PosterError::TextTooLong { .. } => {
                ApiError::InvalidInput(e.to_string())
            }
            other => {
                tracing::error!(error = %other, "poster rendering failed");
                ApiError::Internal
            }
        }
    }
}

/// Which gate's poster.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PosterParams {
    /// The gate; the venue's first gate when absent.
    pub gate: Option<String>,
    /// `in` or `out` for a one-way poster (entrance or exit only); absent: both ways.
    pub direction: Option<Direction>,
}

async fn poster_of(state: &AppState, id: &str, q: &PosterParams) -> Result<PosterData, ApiError> {
    let venue: Venue = load(state, id).await?;
    let gate = match &q.gate {
        Some(g) => Gate::parse(g)?,
        None => venue.gates.first().cloned().ok_or(ApiError::Internal)?,
    };
    if !venue.has_gate(&gate) {
        return Err(ApiError::NotFound(format!(
            "venue {} has no gate {gate}",
            venue.id
        )));
    }
    Ok(PosterData::of(&state.codes, &venue, &gate, q.direction)?)
}

/// Renders on a blocking thread: a poster takes tens of milliseconds of CPU.
async fn render<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PosterError> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(web::block(f).await.map_err(|_| ApiError::Internal)??)
}

fn file(content_type: &str, body: impl actix_web::body::MessageBody + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// The printable poster of one gate: PNG, A4 at 150 dpi (1240 x 1754 px).
#[utoipa::path(get, path = "/api/v1/venues/{id}/poster.png", tag = "posters",
    security(("bearer" = [])), params(("id" = String, Path, description = "venue id"), PosterParams),
    responses((status = 200, content_type = "image/png", body = Vec<u8>),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn poster_png(
    _admin: AdminUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<PosterParams>,
) -> Result<HttpResponse, ApiError> {
    let data = poster_of(&state, &id, &q).await?;
    let png = render(move || posters::render_png(&data.spec())).await?;
    Ok(file("image/png", png))
}

/// The printable poster of one gate: SVG, A4, text as outlines.
#[utoipa::path(get, path = "/api/v1/venues/{id}/poster.svg", tag = "posters",
    security(("bearer" = [])), params(("id" = String, Path, description = "venue id"), PosterParams),
    responses((status = 200, content_type = "image/svg+xml", body = String),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn poster_svg(
    _admin: AdminUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<PosterParams>,
) -> Result<HttpResponse, ApiError> {
    let data = poster_of(&state, &id, &q).await?;
    let svg = render(move || posters::render_svg(&data.spec())).await?;
    Ok(file("image/svg+xml", svg))
}
