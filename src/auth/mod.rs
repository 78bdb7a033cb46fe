//! Who is calling: staff passwords, one-time codes for residents, access tokens, and the
//! extractors that put the required role into a handler's signature.

pub mod extract;
pub mod otp;
pub mod password;
pub mod tokens;

/// Why authentication failed. Messages are safe to show and do not tell which part was wrong.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    MissingToken,
    /// The token is malformed, expired, or not signed by this service.
    #[error("invalid or expired token")]
    InvalidToken,
    /// Unknown user or wrong password, or a wrong or expired one-time code.
    #[error("wrong credentials")]
    BadCredentials,
    /// The token is valid but its role may not do this.
    #[error("forbidden for this role")]
    Forbidden,
    /// Hashing or signing failed.
    #[error("auth internals: {0}")]
    Internal(String),
}
