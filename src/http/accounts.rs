//! `/auth/*` and `/staff`: staff login, resident login by one-time code, new staff accounts,
//! and an admin signing a staff account out everywhere.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::extract::{AdminUser, Authed};
use crate::domain::staff::{Role, StaffRole, Username};
use crate::domain::Phone;
use crate::error::ApiError;
use crate::service::accounts::{self, AccountError};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let small = || super::body::json(super::body::AUTH_LIMIT);
    cfg.service(
        web::resource("/auth/login")
            .app_data(small())
            .route(web::post().to(login)),
    )
    .service(
        web::resource("/auth/otp")
            .app_data(small())
            .route(web::post().to(request_otp)),
    )
    .service(
        web::resource("/auth/resident")
            .app_data(small())
            .route(web::post().to(resident_login)),
    )
    .service(
        web::resource("/staff")
            .app_data(small())
            .route(web::post().to(create_staff)),
    )
    .service(
        web::resource("/staff/{username}/sign-out-everywhere")
            .route(web::post().to(sign_out_staff_everywhere)),
    );
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Auth(a) => a.into(),
            AccountError::Store(s) => s.into(),
            AccountError::WeakPassword => ApiError::InvalidInput(e.to_string()),
            AccountError::UsernameTaken => ApiError::Conflict(e.to_string()),
        }
    }
}

/// Staff credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Username.
    pub username: String,
    /// Password.
    #[schema(value_type = String)]
    pub password: SecretString,
}

/// A staff token.
#[derive(Serialize, ToSchema)]
pub struct StaffToken {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime, seconds.
    pub expires_in: u64,
    /// `admin` or `tracer`.
    pub role: Role,
}

/// Staff login.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = StaffToken), (status = 401, body = crate::error::ErrorBody),
        (status = 429, description = "too many tries: `Retry-After` says when", body = crate::error::ErrorBody)))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: super::body::JsonObject<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    from_address(&req, &state)?;
    state.limits.login(&body.username)?;
    let (issued, role) = accounts::staff_login(&state, &body.username, &body.password).await?;
    Ok(HttpResponse::Ok().json(StaffToken {
        access_token: issued.token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        role,
    }))
}

/// A phone asking for a code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpBody {
    /// Mobile number, 11 digits.
    pub phone: String,
}

/// The answer to an OTP request; `dev_code` only with `echo` delivery.
#[derive(Serialize, ToSchema)]
pub struct OtpSent {
    /// Always true.
    pub sent: bool,
    /// The code itself, for tests and demos (`CHECKIN_OTP_DELIVERY=echo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_code: Option<String>,
}

/// Sends a one-time code.
#[utoipa::path(post, path = "/api/v1/auth/otp", tag = "auth", request_body = OtpBody,
    responses((status = 202, body = OtpSent), (status = 400, body = crate::error::ErrorBody),
        (status = 429, description = "too many codes for this phone or address: `Retry-After` says when", body = crate::error::ErrorBody)))]
pub async fn request_otp(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: super::body::JsonObject<OtpBody>,
) -> Result<HttpResponse, ApiError> {
    from_address(&req, &state)?;
    let phone = Phone::parse(&body.phone)?;
    state.limits.otp(phone.as_str())?;
    let dev_code = accounts::send_otp(&state, &phone).await?;
    Ok(HttpResponse::Accepted().json(OtpSent {
        sent: true,
        dev_code,
    }))
}

/// A phone and its code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidentLoginBody {
    /// Mobile number.
    pub phone: String,
    /// The six-digit code.
    pub code: String,
}

/// A resident token.
#[derive(Serialize, ToSchema)]
pub struct ResidentToken {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime, seconds.
    pub expires_in: u64,
    /// The person's id.
    pub resident_id: String,
}

/// Resident login by one-time code.
#[utoipa::path(post, path = "/api/v1/auth/resident", tag = "auth", request_body = ResidentLoginBody,
    responses((status = 200, body = ResidentToken),
        (status = 400, description = "not a phone number", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody)))]
pub async fn resident_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: super::body::JsonObject<ResidentLoginBody>,
) -> Result<HttpResponse, ApiError> {
    from_address(&req, &state)?;
    // Refused as `POST /auth/otp` refuses it: the form of a phone number is no secret.
    let phone = Phone::parse(&body.phone)?;
    let (issued, id) = accounts::resident_login(&state, &phone, &body.code).await?;
    Ok(HttpResponse::Ok().json(ResidentToken {
        access_token: issued.token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        resident_id: id.to_string(),
    }))
}

/// A new staff account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// Username, 3 to 32 of `[a-z0-9_.-]`.
    pub username: String,
    /// Password, at least 8 characters.
    #[schema(value_type = String)]
    pub password: SecretString,
    /// `admin`, `tracer` or `guard`.
    pub role: StaffRole,
}

/// The account created.
#[derive(Serialize, ToSchema)]
pub struct StaffCreated {
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
}

/// Creates a staff account (admin only).
#[utoipa::path(post, path = "/api/v1/staff", tag = "auth", request_body = NewStaff,
    security(("bearer" = [])),
    responses((status = 201, body = StaffCreated), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create_staff(
    asked: Authed<AdminUser, super::body::JsonObject<NewStaff>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = asked.then.into_inner();
    let role = Role::from(body.role);
    let username = Username::parse(&body.username)?;
    accounts::create_staff(state.store.as_ref(), username.clone(), &body.password, role).await?;
    Ok(HttpResponse::Created().json(StaffCreated {
        username: username.as_str().to_owned(),
        role,
    }))
}

/// Signs a staff account out everywhere (admin only): each token issued to it so far, the
/// caller's own when it names itself, is refused (401), and its next password login works as
/// before. For a lost device, a colleague who left, or a password given away.
#[utoipa::path(post, path = "/api/v1/staff/{username}/sign-out-everywhere", tag = "auth",
    params(("username" = String, Path, description = "the staff account's username")),
    security(("bearer" = [])),
    responses((status = 204),
        (status = 400, description = "not a valid username", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "not an admin", body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn sign_out_staff_everywhere(
    _admin: AdminUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let username = Username::parse(&username)?;
    match accounts::revoke_staff_sign_ins(state.store.as_ref(), &username).await? {
        Some(_) => Ok(HttpResponse::NoContent().finish()),
        None => Err(ApiError::NotFound(format!(
            "no staff account {}",
            username.as_str()
        ))),
    }
}

/// Counts a sign-in request against its client address (the TCP peer: behind a proxy, the
/// proxy's own limits apply).
fn from_address(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    match req.peer_addr() {
        Some(peer) => Ok(state.limits.address(peer.ip())?),
        None => Ok(()),
    }
}
