//! The one error shape on the wire, `{"error": {"code", "message"}}` (contract, "Errors"),
//! and the one table that maps every error to its code and HTTP status.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ParseError;
use crate::storage::StoreError;

/// An error answered to a client. Each variant has a stable snake_case code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not of the expected shape.
    #[error("{0}")]
    InvalidJson(String),
    /// A field, query parameter or path segment is not valid.
    #[error("{0}")]
    InvalidInput(String),
    /// No or an invalid token, or wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid token whose role may not do this.
    #[error("this role may not do that")]
    Forbidden,
    /// A role that may do this, on a record that is another person's (403, code
    /// `forbidden`); the message says whose it is to change.
    #[error("{0}")]
    NotYours(String),
    /// No such resource.
    #[error("{0}")]
    NotFound(String),
    /// The scanned text is not a code of this deployment.
    #[error("the scanned text is not a check-in code of this service")]
    UnknownCodeFormat,
    /// The code's signature or claims do not verify.
    #[error("the code is not valid (tampered or not signed by this service)")]
    InvalidCode,
    /// The code was replaced by a newer version of the venue's poster.
    #[error("this poster's code was replaced; scan the current poster")]
    CodeRevoked,
    /// An event or live code scanned after its validity window.
    #[error("this code has expired; scan the current one")]
    CodeExpired,
    /// An event code scanned before its validity window.
    #[error("this code is not valid yet")]
    CodeNotYetValid,
    /// A one-way code scanned with the other direction.
    #[error("{0}")]
    DirectionMismatch(String),
    /// `client_time` is outside the accepted skew of the server's clock.
    #[error("client_time is outside the accepted range ({0})")]
    ClientTimeOutOfRange(String),
    /// The idempotency key was used before with another body (contract, visit rule 6): of
    /// what the key is for (`scan`, `vehicle pass`), named in the message.
    #[error("this idempotency_key was already used for a different {0}")]
    IdempotencyKeyReused(&'static str),
    /// A vehicle pass at a venue that is not a `checkpoint`.
    #[error("{0}")]
    NotACheckpoint(String),
    /// A turned-back vehicle without the officer's reason.
    #[error("reason: a turned-back vehicle needs a reason")]
    ReasonRequired,
    /// A unique value is taken (a username, a phone).
    #[error("{0}")]
    Conflict(String),
    /// The request is refused by configuration (e.g. `echo` OTP delivery in production).
    #[error("{0}")]
    NotAllowed(String),
    /// The body is larger than the route takes (the limit in bytes; `http::body`).
    #[error("the body is larger than the {0} bytes this route takes")]
    PayloadTooLarge(usize),
    /// The body's `Content-Encoding` (given) is not one the service decodes: 415, as RFC 9110
    /// (section 15.5.16) says for a content coding the server does not accept.
    #[error(
        "Content-Encoding {0:?} is not one this service decodes: send the body as gzip, \
         deflate, br or zstd, or without the header"
    )]
    UnsupportedEncoding(String),
    /// The path exists but does not take this method (its methods are in `Allow`).
    #[error("this path does not take {0}; see the Allow header")]
    MethodNotAllowed(String),
    /// Too many requests from one address, phone, account or resident; retry after the
    /// given seconds.
    #[error("too many requests; retry in {0} s")]
    RateLimited(u64),
    /// The store is down or too slow; retry later.
    #[error("the store is unavailable; retry shortly")]
    StoreUnavailable,
    /// Anything unexpected; details go to the log only.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// The stable code on the wire.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidInput(_) => "invalid_input",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden | ApiError::NotYours(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::UnknownCodeFormat => "unknown_code_format",
            ApiError::InvalidCode => "invalid_code",
            ApiError::CodeRevoked => "code_revoked",
            ApiError::CodeExpired => "code_expired",
            ApiError::CodeNotYetValid => "code_not_yet_valid",
            ApiError::DirectionMismatch(_) => "direction_mismatch",
            ApiError::ClientTimeOutOfRange(_) => "client_time_out_of_range",
            ApiError::IdempotencyKeyReused(_) => "idempotency_key_reused",
            ApiError::NotACheckpoint(_) => "not_a_checkpoint",
            ApiError::ReasonRequired => "reason_required",
            ApiError::Conflict(_) => "conflict",
            ApiError::NotAllowed(_) => "not_allowed",
            ApiError::StoreUnavailable => "store_unavailable",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedEncoding(_) => "unsupported_content_encoding",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Internal => "internal",
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// `code` is stable and snake_case; `message` is for people and may change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `client_time_out_of_range`.
    pub code: String,
    /// A plain-language explanation.
    pub message: String,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) | ApiError::InvalidInput(_) | ApiError::UnknownCodeFormat => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::NotYours(_) | ApiError::NotAllowed(_) => {
                StatusCode::FORBIDDEN
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::InvalidCode
            | ApiError::CodeRevoked
            | ApiError::CodeExpired
            | ApiError::CodeNotYetValid
            | ApiError::DirectionMismatch(_)
            | ApiError::ClientTimeOutOfRange(_)
            | ApiError::NotACheckpoint(_)
            | ApiError::ReasonRequired => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::IdempotencyKeyReused(_) | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        };
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::StoreUnavailable) {
            res.insert_header((header::RETRY_AFTER, "1"));
        }
        if let ApiError::RateLimited(seconds) = self {
            res.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.json(body)
    }
}

impl From<crate::limits::Limited> for ApiError {
    fn from(l: crate::limits::Limited) -> Self {
        // Whole seconds, rounded up: retrying at the advertised time succeeds.
        let ms = l.retry_after.as_millis();
        ApiError::RateLimited(u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX).max(1))
    }
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> Self {
        ApiError::InvalidInput(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                ApiError::StoreUnavailable
            }
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Refused(m) => ApiError::InvalidInput(m),
            StoreError::Corrupt(cause) => {
                tracing::error!(%cause, "corrupt stored data");
                ApiError::Internal
            }
        }
    }
}
