//! `POST /scans/batch`: a phone's offline queue sent at once (contract; reliability issue).
//! Each scan is processed as `POST /scans` would process it, in the order given, and gets its
//! own answer or error in the same place of the answer; one bad scan spoils nothing else. A
//! scan older than one already applied is put in its place among the person's scans (contract,
//! visit rule 7; `domain::rederive`), so the order within and across batches does not change
//! the visits.

use actix_web::{web, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scans::ScanBody;
use crate::auth::extract::{Authed, ResidentUser};
use crate::error::{ApiError, ErrorDetail};
use crate::service::households;
use crate::service::scans::{ScanAnswer, ScanRequest};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/scans/batch")
            .app_data(super::body::json(super::body::BATCH_LIMIT))
            .route(web::post().to(batch)),
    );
}

/// A batch of scans, each shaped like the body of `POST /scans`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// 1 to `scans.batch_max_scans` (default 100) scans, oldest first; each should carry its `client_time` and an
    /// `idempotency_key`, so that sending the batch again records nothing twice.
    #[schema(value_type = Vec<ScanBody>)]
    pub scans: Vec<serde_json::Value>,
}

/// One scan's outcome: its answer, or its error with the status `POST /scans` would give.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchResult {
    /// Processed (admitted or denied).
    Answer(Box<ScanAnswer>),
    /// Refused.
    Error {
        /// The HTTP status the scan alone would have had.
        status: u16,
        /// The error, as on the wire.
        error: ErrorDetail,
    },
}

/// The batch's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    /// One per scan, in the order sent.
    pub results: Vec<BatchResult>,
}

fn refused(e: &ApiError) -> BatchResult {
    BatchResult::Error {
        status: e.status_code().as_u16(),
        error: ErrorDetail {
            code: e.code().to_owned(),
            message: e.to_string(),
        },
    }
}

/// Processes one scan of a batch.
async fn one(state: &AppState, who: &ResidentUser, raw: serde_json::Value) -> BatchResult {
    // Each scan an object, as a body must be (`body::JsonObject`).
    let body = match super::body::traced::<_, super::body::Object<ScanBody>>(raw) {
        Ok(b) => b.0,
        Err(e) => return refused(&ApiError::InvalidJson(super::redact_values(&e.to_string()))),
    };
    let req = match ScanRequest::try_from(body) {
        Ok(r) => r,
        Err(e) => return refused(&e.into()),
    };
    match households::household_scan(state, &who.0, None, &req).await {
        Ok(answered) => BatchResult::Answer(Box::new(answered.answer)),
        Err(e) => refused(&e.into()),
    }
}

/// A phone's queued scans, processed in order; counted as one request by the rate limit.
#[utoipa::path(post, path = "/api/v1/scans/batch", tag = "scans", request_body = BatchBody,
    security(("bearer" = [])), responses((status = 200, body = BatchAnswer),
        (status = 400, description = "no scans, or more than `scans.batch_max_scans`", body = crate::error::ErrorBody)))]
pub async fn batch(
    asked: Authed<ResidentUser, super::body::JsonObject<BatchBody>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let who = asked.who;
    let scans = asked.then.into_inner().scans;
    let most = state.settings.scans.batch_max_scans;
    if scans.is_empty() || scans.len() > most {
        return Err(ApiError::InvalidInput(format!(
            "scans: 1 to {most} scans per batch"
        )));
    }
    state.limits.scan(who.0.as_str())?;
    let mut results = Vec::with_capacity(scans.len());
    for raw in scans {
        results.push(one(&state, &who, raw).await);
    }
    Ok(HttpResponse::Ok().json(BatchAnswer { results }))
}
