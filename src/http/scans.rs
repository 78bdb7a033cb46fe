//! `POST /scans`: a resident's check-in or check-out.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::params::parse_time;
use crate::auth::extract::ResidentToken;
use crate::domain::{Direction, ParseError, ResidentId, Temperature};
use crate::error::ApiError;
use crate::service::households;
use crate::service::scans::{MemberScan, ScanAnswer, ScanError, ScanRequest, MAX_MEMBERS};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/scans")
            .app_data(super::body::json(super::body::SCAN_LIMIT))
            .route(web::post().to(scan)),
    );
}

/// A scan as a client sends it (contract, `POST /scans`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    /// The whole text read off the poster: `{public_base_url}/s/{token}`.
    pub code: String,
    /// `in` or `out`; absent: out if checked in here, else in.
    pub direction: Option<Direction>,
    /// Temperature, °C, 30 to 45.
    pub temperature_c: Option<f64>,
    /// The phone's clock at the scan (offline scans), RFC 3339 with offset.
    pub client_time: Option<String>,
    /// Retrying with the same key returns the first answer; 1 to 128 printable ASCII.
    pub idempotency_key: Option<String>,
    /// Household members scanned along (children, the elderly), at most 10; each must be
    /// registered in the scanner's household, and each gets their own visit.
    #[serde(default, deserialize_with = "super::body::optional_objects")]
    pub members: Option<Vec<MemberBody>>,
}

/// A household member in a scan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    /// Their resident id.
    pub resident_id: String,
    /// Their temperature, °C, 30 to 45.
    pub temperature_c: Option<f64>,
}

impl TryFrom<ScanBody> for ScanRequest {
    type Error = ParseError;
    fn try_from(b: ScanBody) -> Result<Self, ParseError> {
        if b.code.len() > 2048 {
            return Err(ParseError::new("code", "is too long"));
        }
        let idempotency_key = match b.idempotency_key {
            Some(k)
                if k.is_empty() || k.len() > 128 || !k.bytes().all(|c| c.is_ascii_graphic()) =>
            {
                return Err(ParseError::new(
                    "idempotency_key",
                    "must be 1 to 128 printable ASCII characters",
                ))
            }
            other => other,
        };
        let raw_members = b.members.unwrap_or_default();
        if raw_members.len() > MAX_MEMBERS {
            return Err(ParseError::new(
                "members",
                format!("at most {MAX_MEMBERS} household members"),
            ));
        }
        let mut members: Vec<MemberScan> = Vec::new();
        for m in raw_members {
            let member = MemberScan {
                resident_id: ResidentId::parse(&m.resident_id)?,
                temperature: m.temperature_c.map(Temperature::parse).transpose()?,
            };
            if members.iter().any(|x| x.resident_id == member.resident_id) {
                return Err(ParseError::new("members", "a member is listed twice"));
            }
            members.push(member);
        }
        Ok(ScanRequest {
            members,
            code: b.code,
            direction: b.direction,
            temperature: b.temperature_c.map(Temperature::parse).transpose()?,
            client_time: b
                .client_time
                .as_deref()
                .map(|s| parse_time("client_time", s).map(|t| t.fixed_offset()))
                .transpose()?,
            idempotency_key,
        })
    }
}

impl From<ScanError> for ApiError {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::Code(c) => c.into(),
            ScanError::CodeExpired => ApiError::CodeExpired,
            ScanError::CodeNotYetValid => ApiError::CodeNotYetValid,
            ScanError::DirectionMismatch(d) => ApiError::DirectionMismatch(format!(
                "this code is only for {}",
                if d == crate::domain::Direction::In {
                    "check-in"
                } else {
                    "check-out"
                }
            )),
            ScanError::CodeRevoked => ApiError::CodeRevoked,
            ScanError::UnknownVenue => ApiError::NotFound("the code's venue does not exist".into()),
            ScanError::ClientTimeOutOfRange(m) => ApiError::ClientTimeOutOfRange(m),
            ScanError::IdempotencyKeyReused => ApiError::IdempotencyKeyReused("scan"),
            ScanError::Contended => ApiError::StoreUnavailable,
            ScanError::SignedOut(m) => ApiError::Unauthorized(m),
            ScanError::NotHouseholdMember(_) | ScanError::ScannerAsMember(_) => {
                ApiError::InvalidInput(e.to_string())
            }
            ScanError::Store(s) => s.into(),
        }
    }
}

/// Checks a resident in or out. A denied scan (fever) is a processed scan: 200 with
/// `decision: denied`.
#[utoipa::path(post, path = "/api/v1/scans", tag = "scans", request_body = ScanBody,
    security(("bearer" = [])),
    responses((status = 200, body = ScanAnswer),
              (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn scan(
    who: ResidentToken,
    state: web::Data<AppState>,
    body: Result<super::body::JsonObject<ScanBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    state.limits.scan(who.0.as_str())?;
    let req = match body.and_then(|b| Ok(ScanRequest::try_from(b.into_inner())?)) {
        Ok(req) => req,
        Err(e) => {
            // A revoked sign-in is a 401 whatever the body; a good body's generation is
            // checked on the record the scan reads, so only a refused one costs this read.
            who.signed_in(&state).await?;
            return Err(e);
        }
    };
    // The token's sign-in generation is checked on the record the scan reads.
    let answered = households::household_scan(&state, &who.0, Some(who.1), &req).await?;
    // The JSON the idempotency record keeps, when there is one, not serialised again.
    let json: Box<str> = answered.into_json()?.into();
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(String::from(json)))
}
