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
    /// Unknown user or wrong password, or a wrong one-time code with tries left.
    #[error("wrong credentials")]
    BadCredentials,
    /// No one-time code waits for the phone: none was sent, it was used, it expired, or a
    /// wrong try was its last one. Only a new code signs the phone in.
    #[error("no one-time code is waiting for this phone (none was sent, it was used or has expired, or it had too many wrong tries): request a new one")]
    NoCodeWaiting,
    /// The token is valid but its role may not do this.
    #[error("forbidden for this role")]
    Forbidden,
    /// Hashing or signing failed.
    #[error("auth internals: {0}")]
    Internal(String),
}
