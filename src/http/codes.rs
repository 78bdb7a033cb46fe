//! Code lifecycle: rotating a venue's code version, one-way and event codes, live
//! codes for staffed gates, the signing keys, and the public keys as JWKS for offline checks.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::params::parse_time;
use super::venues::{gate_of, load};
use super::views::{code_id, VenueView};
use crate::auth::extract::{AdminUser, Authed};
use crate::codes::{CodeClaims, CodeError, PublicKeyInfo};
use crate::domain::{Direction, Gate, Venue, VenueId};
use crate::error::ApiError;
use crate::service::venues::update_venue;
use crate::state::AppState;

/// Registers the routes of this module under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/venues/{id}/codes/rotate").route(web::post().to(rotate_version)))
        .service(web::resource("/venues/{id}/codes").route(web::post().to(special_code)))
        .service(web::resource("/venues/{id}/live-code").route(web::get().to(live_code)))
        .service(web::resource("/keys").route(web::get().to(list_keys)))
        .service(web::resource("/keys/rotate").route(web::post().to(rotate_key)))
        .service(web::resource("/keys/{kid}/retire").route(web::post().to(retire_key)));
}

/// Registers `/.well-known/jwks.json` at the root.
pub fn configure_root(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/.well-known/jwks.json").route(web::get().to(jwks)));
}

impl From<CodeError> for ApiError {
    fn from(e: CodeError) -> Self {
        match e {
            CodeError::UnknownFormat => ApiError::UnknownCodeFormat,
            CodeError::Invalid => ApiError::InvalidCode,
            CodeError::RetiredKey => ApiError::CodeRevoked,
            CodeError::Fixed | CodeError::ActiveKey => ApiError::Conflict(e.to_string()),
            CodeError::UnknownKey => ApiError::NotFound(e.to_string()),
            CodeError::Key(cause) => {
                tracing::error!(%cause, "code signing key failure");
                ApiError::Internal
            }
        }
    }
}

/// Replaces every poster of a venue: bumps its code version, so codes of older versions answer
/// `code_revoked`. Answers the venue with its new codes.
#[utoipa::path(post, path = "/api/v1/venues/{id}/codes/rotate", tag = "codes",
    security(("bearer" = [])), params(("id" = String, Path, description = "venue id")),
    responses((status = 200, body = VenueView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn rotate_version(
    _admin: AdminUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = VenueId::parse(&id)?;
    let venue = update_venue(state.store.as_ref(), &id, state.clock.now(), |venue| {
        venue.rotate_codes();
        Ok(())
    })
    .await?;
    tracing::info!(venue = %venue.id, version = venue.code_version, "venue codes rotated");
    Ok(HttpResponse::Ok().json(VenueView::of(&venue, &state.codes)))
}

/// A special code to make: one-way, or valid only within a window (an event), or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecialCodeBody {
    /// The gate.
    pub gate: String,
    /// `in` or `out` for a one-way code; absent: both ways.
    pub direction: Option<Direction>,
    /// Valid from, RFC 3339 (default: now, when `valid_until` is given).
    pub valid_from: Option<String>,
    /// Valid until, RFC 3339; absent: no window.
    pub valid_until: Option<String>,
}

/// A code with its restrictions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpecialCode {
    /// The exact QR text.
    pub code: String,
    /// A short id staff can read out.
    pub code_id: String,
    /// The only direction it allows.
    pub direction: Option<Direction>,
    /// Valid from (UTC, whole seconds).
    pub valid_from: Option<DateTime<Utc>>,
    /// Valid until (UTC, whole seconds).
    pub valid_until: Option<DateTime<Utc>>,
}

fn special(
    state: &AppState,
    venue: &Venue,
    gate: &Gate,
    direction: Option<Direction>,
    window: Option<(i64, i64)>,
    live: bool,
) -> Result<SpecialCode, ApiError> {
    let mut claims = CodeClaims::poster(&venue.id, gate, venue.code_version);
    claims.f = window.map(|w| w.0);
    claims.u = window.map(|w| w.1);
    claims.d = direction;
    claims.l = live;
    let code = state.codes.sign(&claims)?;
    let at = |s: Option<i64>| s.and_then(|s| DateTime::<Utc>::from_timestamp(s, 0));
    Ok(SpecialCode {
        code,
        code_id: code_id(venue, gate.as_str()),
        direction,
        valid_from: at(claims.f),
        valid_until: at(claims.u),
    })
}

/// Makes a special code for a gate: one-way (`direction`), and/or valid only from `valid_from`
/// to `valid_until` (an event); scans outside the window answer `code_not_yet_valid` or
/// `code_expired`, scans the other way `direction_mismatch`.
#[utoipa::path(post, path = "/api/v1/venues/{id}/codes", tag = "codes", request_body = SpecialCodeBody,
    security(("bearer" = [])), params(("id" = String, Path, description = "venue id")),
    responses((status = 201, body = SpecialCode), (status = 400, body = crate::error::ErrorBody)))]
pub async fn special_code(
    asked: Authed<AdminUser, super::body::JsonObject<SpecialCodeBody>>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = asked.then;
    let venue = load(&state, &id).await?;
    let gate = gate_of(&venue, &body.gate)?;
    let window = match (&body.valid_from, &body.valid_until) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(ApiError::InvalidInput(
                "valid_until: needed with valid_from".into(),
            ))
        }
        (from, Some(until)) => {
            let from = from
                .as_deref()
                .map(|s| parse_time("valid_from", s))
                .transpose()?;
            let from = from.unwrap_or_else(Utc::now);
            let until = parse_time("valid_until", until)?;
            if until <= from {
                return Err(ApiError::InvalidInput(
                    "valid_until: must be after valid_from (default: now)".into(),
                ));
            }
            Some((from.timestamp(), until.timestamp()))
        }
    };
    let code = special(&state, &venue, &gate, body.direction, window, false)?;
    Ok(HttpResponse::Created().json(code))
}

/// Which gate's live code.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LiveParams {
    /// The gate; the venue's first gate when absent.
    pub gate: Option<String>,
}

/// A live code and when to fetch the next.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveCode {
    /// The code, its id and window.
    #[serde(flatten)]
    pub code: SpecialCode,
    /// Fetch a new code after this many seconds.
    pub refresh_seconds: u64,
}

/// The live code of a staffed gate: it changes every `codes.live_refresh_seconds` (default 30)
/// and is accepted for two periods, so a photographed screen stops working within a minute.
/// Every instance gives the same code within a period.
#[utoipa::path(get, path = "/api/v1/venues/{id}/live-code", tag = "codes",
    security(("bearer" = [])), params(("id" = String, Path, description = "venue id"), LiveParams),
    responses((status = 200, body = LiveCode), (status = 404, body = crate::error::ErrorBody)))]
pub async fn live_code(
    asked: Authed<AdminUser, super::query::Query<LiveParams>>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let q = asked.then;
    let venue = load(&state, &id).await?;
    let gate = match &q.gate {
        Some(g) => gate_of(&venue, g)?,
        None => venue.gates.first().cloned().ok_or(ApiError::Internal)?,
    };
    let period = i64::try_from(state.settings.codes.live_refresh_seconds.max(1)).unwrap_or(30);
    let now = state.clock.now().timestamp();
    let start = now - now.rem_euclid(period);
    let code = special(
        &state,
        &venue,
        &gate,
        None,
        Some((start, start + 2 * period)),
        true,
    )?;
    let refresh_seconds = u64::try_from(start + period - now).unwrap_or(1);
    Ok(HttpResponse::Ok().json(LiveCode {
        code,
        refresh_seconds,
    }))
}

/// The signing keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    /// Oldest first.
    pub keys: Vec<PublicKeyInfo>,
}

/// Lists the code signing keys and their states.
#[utoipa::path(get, path = "/api/v1/keys", tag = "codes", security(("bearer" = [])),
    responses((status = 200, body = KeyList)))]
pub async fn list_keys(
    _admin: AdminUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(KeyList {
        keys: state.codes.keys()?,
    }))
}

/// Makes a new active signing key. Posters signed by earlier keys keep working until retired.
#[utoipa::path(post, path = "/api/v1/keys/rotate", tag = "codes", security(("bearer" = [])),
    responses((status = 200, body = KeyList), (status = 409, body = crate::error::ErrorBody)))]
pub async fn rotate_key(
    _admin: AdminUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let kid = state.codes.rotate()?;
    tracing::info!(%kid, "code signing key rotated");
    list_keys(_admin, state).await
}

/// Retires a previous key: its posters answer `code_revoked` from now on.
#[utoipa::path(post, path = "/api/v1/keys/{kid}/retire", tag = "codes", security(("bearer" = [])),
    params(("kid" = String, Path, description = "key id")),
    responses((status = 200, body = KeyList), (status = 409, body = crate::error::ErrorBody)))]
pub async fn retire_key(
    admin: AdminUser,
    state: web::Data<AppState>,
    kid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.codes.retire(&kid)?;
    tracing::info!(kid = %kid, "code signing key retired");
    list_keys(admin, state).await
}

/// One public key as a JWK (RFC 8037).
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: &'static str,
    /// `Ed25519`.
    pub crv: &'static str,
    /// `EdDSA`.
    pub alg: &'static str,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// Key id, as in the codes' headers.
    pub kid: String,
    /// The public key, base64url.
    pub x: String,
}

/// A JWK set (RFC 7517).
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    /// The keys that verify codes now (active and previous; not retired).
    pub keys: Vec<Jwk>,
}

/// The public keys that verify venue codes, for offline verification.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "codes",
    responses((status = 200, body = Jwks)))]
pub async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = state
        .codes
        .keys()?
        .into_iter()
        .filter(|k| k.status != crate::codes::keyring::KeyStatus::Retired)
        .map(|k| Jwk {
            kty: "OKP",
            crv: "Ed25519",
            alg: "EdDSA",
            use_: "sig",
            kid: k.kid,
            x: k.x,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Jwks { keys }))
}
