//! Posters: one gate's poster as PNG or SVG, and batches of posters as one A4 PDF.

use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::venues::load;
use crate::auth::extract::{AdminUser, Authed};
use crate::domain::{Direction, Venue, VenueKind};
use crate::error::ApiError;
use crate::posters::{self, PosterError};
use crate::service;
use crate::service::posters::{PosterData, Selection};
use crate::state::AppState;

/// Registers the routes of this module under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/venues/{id}/poster.png").route(web::get().to(poster_png)))
        .service(web::resource("/venues/{id}/poster.svg").route(web::get().to(poster_svg)))
        .service(web::resource("/venues/{id}/poster.pdf").route(web::get().to(poster_pdf)))
        .service(web::resource("/posters.pdf").route(web::get().to(batch_pdf)));
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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PosterParams {
    /// The gate; the venue's first gate when absent.
    pub gate: Option<String>,
    /// `in` or `out` for a one-way poster (entrance or exit only); absent: both ways.
    pub direction: Option<Direction>,
}

async fn poster_of(state: &AppState, id: &str, q: &PosterParams) -> Result<PosterData, ApiError> {
    let venue: Venue = load(state, id).await?;
    let gate = match &q.gate {
        Some(g) => super::venues::gate_of(&venue, g)?,
        None => venue.gates.first().cloned().ok_or(ApiError::Internal)?,
    };
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
    asked: Authed<AdminUser, super::query::Query<PosterParams>>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let q = asked.then;
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
    asked: Authed<AdminUser, super::query::Query<PosterParams>>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let q = asked.then;
    let data = poster_of(&state, &id, &q).await?;
    let svg = render(move || posters::render_svg(&data.spec())).await?;
    Ok(file("image/svg+xml", svg))
}

/// The printable poster of one gate: a one-page A4 PDF with its font embedded.
#[utoipa::path(get, path = "/api/v1/venues/{id}/poster.pdf", tag = "posters",
    security(("bearer" = [])), params(("id" = String, Path, description = "venue id"), PosterParams),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn poster_pdf(
    asked: Authed<AdminUser, super::query::Query<PosterParams>>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let q = asked.then;
    let data = poster_of(&state, &id, &q).await?;
    let pdf = render(move || posters::render_pdf(&[data.spec()])).await?;
    Ok(file("application/pdf", pdf))
}

/// Which venues a batch prints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BatchParams {
    /// Only venues of this community, e.g. `东门社区`.
    pub community: Option<String>,
    /// Only venues of this kind, e.g. `residential_compound`.
    pub kind: Option<VenueKind>,
    /// Only these venues, ids separated by commas.
    pub venue: Option<String>,
}

/// Posters in a batch: one A4 page per gate of every venue selected (all venues when no filter
/// is given), ordered by venue id.
#[utoipa::path(get, path = "/api/v1/posters.pdf", tag = "posters", security(("bearer" = [])),
    params(BatchParams),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn batch_pdf(
    asked: Authed<AdminUser, super::query::Query<BatchParams>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = asked.then;
    let selection = Selection::parse(q.community.as_deref(), q.kind, q.venue.as_deref())?;
    let all = state.store.venues().await?;
    let unknown = selection.unknown(&all);
    if !unknown.is_empty() {
        let ids: Vec<String> = unknown.iter().map(ToString::to_string).collect();
        return Err(ApiError::NotFound(format!("no venue {}", ids.join(", "))));
    }
    let batch = service::posters::batch(&state.codes, &all, &selection)?;
    if batch.is_empty() {
        return Err(ApiError::NotFound("no venue matches the selection".into()));
    }
    let pages = batch.len();
    let pdf = render(move || {
        let specs: Vec<_> = batch.iter().map(PosterData::spec).collect();
        posters::render_pdf(&specs)
    })
    .await?;
    tracing::info!(pages, "batch of posters rendered");
    Ok(file("application/pdf", pdf))
}
