//! Extractors that put the role a handler needs into its signature: a handler taking
//! [`AdminUser`] cannot run for a tracer or a resident.

use std::future::{ready, Ready};

use futures::future::LocalBoxFuture;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};

use super::tokens::Claims;
use super::AuthError;
use crate::domain::staff::Role;
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

fn with_role(req: &HttpRequest, allowed: &[Role]) -> Result<Claims, ApiError> {
    let claims = claims_of(req)?;
    if allowed.contains(&claims.role) {
        Ok(claims)
    } else {
        Err(AuthError::Forbidden.into())
    }
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

/// A resident's valid token, not yet checked against the person's sign-in generation: the
/// id and the token's generation. For a handler that reads the person's record anyway and
/// checks the generation there (a scan), saving a store read; every other handler takes
/// [`ResidentUser`].
#[derive(Debug, Clone)]
pub struct ResidentToken(pub ResidentId, pub u32);

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(with_role(req, &[Role::Admin]).map(|c| AdminUser(c.into())))
    }
}

impl FromRequest for TracerUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(with_role(req, &[Role::Tracer, Role::Admin]).map(|c| TracerUser(c.into())))
    }
}

impl FromRequest for GuardUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(with_role(req, &[Role::Guard, Role::Admin]).map(|c| GuardUser(c.into())))
    }
}

impl FromRequest for ResidentToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(with_role(req, &[Role::Resident]).and_then(|claims| {
            let id = ResidentId::parse(&claims.sub)
                .map_err(|_| ApiError::Unauthorized("invalid or expired token".into()))?;
            Ok(ResidentToken(id, claims.gen))
        }))
    }
}

impl FromRequest for ResidentUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;
    /// Checks the token, then that its sign-in generation is still the person's: a token from
    /// before a sign-out everywhere or an admin's revocation is refused (one store read).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claims = with_role(req, &[Role::Resident]);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let claims = claims?;
            let id = ResidentId::parse(&claims.sub)
                .map_err(|_| ApiError::Unauthorized("invalid or expired token".into()))?;
            let state = state.ok_or(ApiError::Internal)?;
            signed_in(&state, &id, claims.gen).await?;
            Ok(ResidentUser(id))
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
        Some(_) => Err(ApiError::Unauthorized(
            "this sign-in was revoked; sign in again".into(),
        )),
        None => Err(ApiError::Unauthorized("invalid or expired token".into())),
    }
}

/// `W`, who is asking, then `T` (the body, a query): `T` is extracted only once `W` is
/// decided. actix polls a handler's extractors together, so a body or query that fails at
/// once would be answered 400 before a [`ResidentUser`]'s store read could answer 401 for a
/// revoked sign-in; taken together in this, authentication is always decided first.
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
    T: FromRequest<Error = ApiError> + 'static,
    T::Future: 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let who = W::from_request(req, &mut Payload::None);
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let who = who.await?;
            let then = T::from_request(&req, &mut payload).await?;
            Ok(Self { who, then })
        })
    }
}
