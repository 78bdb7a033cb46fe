//! Staff passwords, hashed with Argon2id (RFC 9106) with the crate's default parameters and a
//! random salt, stored as PHC strings.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};

use super::AuthError;

/// The shortest password accepted for a staff account, characters.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes a password into a PHC string.
///
/// # Errors
/// [`AuthError::Internal`] if hashing fails.
pub fn hash(password: &SecretString) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Internal(e.to_string()))
}

/// Whether `password` matches the PHC string `phc`. A malformed hash never matches.
pub fn verify(password: &SecretString, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.expose_secret().as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password, checked when a login names an unknown user so that answering
/// takes as long as for a known one.
pub fn unknown_user_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let random: String = (0..32)
            .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
            .collect();
        hash(&SecretString::from(random)).unwrap_or_default()
    })
}
