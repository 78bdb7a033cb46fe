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
    /// Unknown user or wrong password.
    #[error("wrong credentials")]
    BadCredentials,
    /// A one-time code that is not the one waiting for the phone, or none is waiting (none
    /// was sent, it was used or expired, or a wrong try was its last). One answer for all, so
    /// that trying a code does not tell whether someone is signing that phone in.
    #[error("wrong one-time code, or none is waiting for this phone (it was used, expired or tried wrongly too often): check it, or request a new one")]
    WrongCode,
    /// The token is valid but its role may not do this.
    #[error("forbidden for this role")]
    Forbidden,
    /// Hashing or signing failed.
    #[error("auth internals: {0}")]
    Internal(String),
}
