//! Extractors that put the role a handler needs into its signature: a handler taking
//! [`AdminUser`] cannot run for a tracer or a resident. Each checks the token, then that its
//! sign-in generation is still the account's or the person's (one store read), so a token
//! from before a sign-out everywhere is refused even while the verified-token cache holds it;
//! only [`ResidentToken`] (the scan) leaves that read to its handler.

use std::future::{ready, Ready};

use futures::future::{Either, LocalBoxFuture};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};

use super::tokens::Claims;
use super::AuthError;
use crate::domain::staff::{Role, Username};
use crate::domain::ResidentId;
use crate::error::ApiError;
use crate::state::AppState;

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Forbidden => ApiError::Forbidden,
            AuthError::Internal(cause) => {
                tracing::error!(%cause, "auth failure");
                ApiError::Internal
            }
            other => ApiError::Unauthorized(other.to_string()),
        }
    }
}

fn claims_of(req: &HttpRequest) -> Result<Claims, AuthError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AuthError::Internal("app state missing".into()))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(AuthError::MissingToken)?;
    // The scheme name is case-insensitive (RFC 9110, 11.1).
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    state.tokens.verify(token.trim())
}

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The username.
    pub username: String,
    /// `admin`, `tracer` or `guard`.
    pub role: Role,
}

impl From<Claims> for Staff {
    fn from(c: Claims) -> Self {
        Self {
            username: c.sub,
            role: c.role,
        }
    }
}

/// A staff token of one of `allowed` roles whose sign-in is still the account's (one store
/// read): what [`AdminUser`], [`TracerUser`] and [`GuardUser`] resolve. A staff sign-in is
/// decided before the role, so a revoked one is 401 on every route, as the README says, and
/// not 403 on the routes its role may not use; a resident's token is 403 at once.
fn staff_with_role(
    req: &HttpRequest,
    allowed: &[Role],
) -> LocalBoxFuture<'static, Result<Staff, ApiError>> {
    let claims = claims_of(req);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let allowed = allowed.to_vec();
    Box::pin(async move {
        let claims = claims?;
        if claims.role != Role::Resident {
            let state = state.ok_or(ApiError::Internal)?;
            staff_signed_in(&state, &claims).await?;
        }
        if !allowed.contains(&claims.role) {
            return Err(AuthError::Forbidden.into());
        }
        Ok(Staff::from(claims))
    })
}

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct AdminUser(pub Staff);

/// A signed-in tracer, or an admin (admins supervise tracing).
#[derive(Debug, Clone)]
pub struct TracerUser(pub Staff);

/// A signed-in guard (a gate guard or checkpoint officer), or an admin (admins can do what
/// guards do).
#[derive(Debug, Clone)]
pub struct GuardUser(pub Staff);

/// A signed-in resident.
#[derive(Debug, Clone)]
pub struct ResidentUser(pub ResidentId);

/// Anyone signed in, resident or staff of any role, each checked against their record as
/// [`ResidentUser`] and [`AdminUser`] are: for routes more than one kind of caller uses
/// (signing oneself out everywhere; revoking a visitor pass, its host's or any for an admin).
#[derive(Debug, Clone)]
pub enum SignedIn {
    /// A resident, by id.
    Resident(ResidentId),
    /// An admin, tracer or guard.
    Staff {
        /// The account's username.
        username: Username,
        /// `admin`, `tracer` or `guard`.
        role: Role,
    },
}

/// A resident's valid token, not yet checked against the person's sign-in generation: the
/// id and the token's generation. For a handler that reads the person's record anyway and
/// checks the generation there (a scan), saving a store read; every other handler takes
/// [`ResidentUser`].
#[derive(Debug, Clone)]
pub struct ResidentToken(pub ResidentId, pub u32);

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let staff = staff_with_role(req, &[Role::Admin]);
        Box::pin(async move { Ok(AdminUser(staff.await?)) })
    }
}

impl FromRequest for TracerUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let staff = staff_with_role(req, &[Role::Tracer, Role::Admin]);
        Box::pin(async move { Ok(TracerUser(staff.await?)) })
    }
}

impl FromRequest for GuardUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let staff = staff_with_role(req, &[Role::Guard, Role::Admin]);
        Box::pin(async move { Ok(GuardUser(staff.await?)) })
    }
}

impl FromRequest for ResidentToken {
    type Error = ApiError;
    /// Ready at once for a resident's token (the scan's path: no store read, no allocation);
    /// a staff token waits for [`staff_refused`].
    type Future =
        Either<Ready<Result<Self, ApiError>>, LocalBoxFuture<'static, Result<Self, ApiError>>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        match claims_of(req) {
            Ok(claims) if claims.role == Role::Resident => Either::Left(ready(
                ResidentId::parse(&claims.sub)
                    .map(|id| ResidentToken(id, claims.gen))
                    .map_err(|_| invalid_token()),
            )),
            Ok(claims) => {
                let refused = staff_refused(req, claims);
                Either::Right(Box::pin(async move { Err(refused.await) }))
            }
            Err(e) => Either::Left(ready(Err(e.into()))),
        }
    }
}

/// The answer to a staff token on a route for residents: 401 when its sign-in was revoked
/// (as on every route, README), else 403 (one store read).
fn staff_refused(req: &HttpRequest, claims: Claims) -> LocalBoxFuture<'static, ApiError> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    Box::pin(async move {
        let Some(state) = state else {
            return ApiError::Internal;
        };
        match staff_signed_in(&state, &claims).await {
            Ok(_) => AuthError::Forbidden.into(),
            Err(e) => e,
        }
    })
}

impl FromRequest for ResidentUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;
    /// Checks the token, then that its sign-in generation is still the person's: a token from
    /// before a sign-out everywhere or an admin's revocation is refused (one store read).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claims = claims_of(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let staff = match &claims {
            Ok(c) if c.role != Role::Resident => Some(staff_refused(req, c.clone())),
            _ => None,
        };
        Box::pin(async move {
            if let Some(refused) = staff {
                return Err(refused.await);
            }
            let claims = claims?;
            let id = ResidentId::parse(&claims.sub).map_err(|_| invalid_token())?;
            let state = state.ok_or(ApiError::Internal)?;
            signed_in(&state, &id, claims.gen).await?;
            Ok(ResidentUser(id))
        })
    }
}

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;
    /// Checks the token, then its sign-in generation against the person's record or the staff
    /// account, whichever its role says (one store read).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claims = claims_of(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let claims = claims?;
            let state = state.ok_or(ApiError::Internal)?;
            if claims.role == Role::Resident {
                let id = ResidentId::parse(&claims.sub).map_err(|_| invalid_token())?;
                signed_in(&state, &id, claims.gen).await?;
                Ok(SignedIn::Resident(id))
            } else {
                let username = staff_signed_in(&state, &claims).await?;
                Ok(SignedIn::Staff {
                    username,
                    role: claims.role,
                })
            }
        })
    }
}

impl ResidentToken {
    /// Checks the token's sign-in generation against the person's record (one store read),
    /// as [`ResidentUser`] does: for a handler that refuses a request before it reads the
    /// record, so that a revoked sign-in is answered 401 whatever else is wrong.
    ///
    /// # Errors
    /// 401 `unauthorized` for a revoked sign-in or an unknown person; the store's error.
    pub async fn signed_in(&self, state: &AppState) -> Result<(), ApiError> {
        signed_in(state, &self.0, self.1).await
    }
}

/// Whether `generation` is still `id`'s sign-in generation (one store read).
async fn signed_in(state: &AppState, id: &ResidentId, generation: u32) -> Result<(), ApiError> {
    match state.store.resident(id).await? {
        Some(r) if r.token_generation == generation => Ok(()),
        Some(_) => Err(revoked()),
        None => Err(invalid_token()),
    }
}

/// The account's username when a staff token's sign-in generation and role are still its
/// account's (one store read); 401 `unauthorized` for a sign-in revoked (or a role since
/// changed), as for a resident's, and for an account that no longer exists.
async fn staff_signed_in(state: &AppState, claims: &Claims) -> Result<Username, ApiError> {
    let username = Username::parse(&claims.sub).map_err(|_| invalid_token())?;
    match state.store.staff(&username).await? {
        Some(a) if a.token_generation == claims.gen && a.role == claims.role => Ok(username),
        Some(_) => Err(revoked()),
        None => Err(invalid_token()),
    }
}

/// 401 for a token of a sign-in since revoked.
fn revoked() -> ApiError {
    ApiError::Unauthorized("this sign-in was revoked; sign in again".into())
}

/// 401 for a token that names no one the store knows.
fn invalid_token() -> ApiError {
    ApiError::Unauthorized("invalid or expired token".into())
}

/// `W`, who is asking, then `T` (the body, a query, or a tuple of them): `T` is extracted
/// only once `W` is decided. actix polls a handler's extractors together, so a body or query
/// that fails at once would be answered 400 before the store read of a [`ResidentUser`] or a
/// staff extractor ([`AdminUser`], …) could answer 401 for a revoked sign-in; taken together
/// in this, authentication is always decided first. Every handler that takes a staff or
/// resident extractor and a body or query takes them this way.
#[derive(Debug)]
pub struct Authed<W, T> {
    /// Who is asking.
    pub who: W,
    /// What was extracted after.
    pub then: T,
}

impl<W, T> FromRequest for Authed<W, T>
where
    W: FromRequest<Error = ApiError> + 'static,
    W::Future: 'static,
    T: FromRequest + 'static,
    T::Error: Into<actix_web::Error>,
    T::Future: 'static,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let who = W::from_request(req, &mut Payload::None);
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let who = who.await?;
            let then = T::from_request(&req, &mut payload)
                .await
                .map_err(Into::into)?;
            Ok(Self { who, then })
        })
    }
}
