//! Access tokens: JWTs signed HS256 with the service's secret; the algorithm is pinned and
//! `exp`, `iss` and `aud` are checked (RFC 7519).

use std::path::Path;

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::AuthError;
use crate::domain::staff::Role;

/// The audience of every access token.
pub const AUDIENCE: &str = "checkin-api";

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: a staff username or a resident id.
    pub sub: String,
    /// The role the token grants.
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Issuer (settings `auth.issuer`).
    pub iss: String,
    /// Audience, always [`AUDIENCE`].
    pub aud: String,
    /// The sign-in generation the token was issued in (`Resident::token_generation`,
    /// `StaffAccount::token_generation`); 0 when absent.
    #[serde(default)]
    pub gen: u32,
}

/// Issues and checks access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    /// The key id of `encoding`, put in every issued token's header.
    kid: String,
    /// The current secret's key, then the previous one's, each with its key id.
    decoding: Vec<(String, DecodingKey)>,
    validation: Validation,
    issuer: String,
    /// Tokens whose signature and claims verified: token → claims. A resident's app sends the
    /// same token with every scan until it expires, and checking it again (an HMAC and two
    /// JSON parses) was a fifth of the service's instructions a scan (docs/scaling.md). What
    /// a token says never changes, and of the checks only `exp` can fail later (an `nbf`
    /// passed stays passed): it is checked again on every hit. A sign-in revoked is found on
    /// the person's record or the staff account (`auth::extract`), read on every request
    /// whether the token came from here or not.
    verified: quick_cache::sync::Cache<String, Claims>,
}

/// How many verified access tokens are remembered (about 350 bytes each): a district's
/// residents scanning in the same hours.
pub const VERIFIED_ACCESS_TOKENS_KEPT: usize = 50_000;

/// Seconds of leeway for clocks that drift, on `exp` and `nbf` (RFC 7519, 4.1.4 and 4.1.5).
const LEEWAY_SECONDS: u64 = 30;

/// A secret's key id: the first 8 bytes of its SHA-256, in hex. It names the secret without
/// revealing it (the secrets are long and random).
fn key_id(secret: &SecretString) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(secret.expose_secret().as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl TokenKeys {
    /// Keys from the current secret, which signs, and the one before the last rotation, if any,
    /// whose tokens are still accepted.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when a secret is not usable (empty).
    pub fn new(
        secret: &SecretString,
        previous: Option<&SecretString>,
        issuer: &str,
    ) -> Result<Self, AuthError> {
        let bytes = secret.expose_secret().as_bytes();
        // The algorithm is pinned (a token naming any other, `none` included, is refused);
        // `exp`, `iss` and `aud` are required, and `nbf` is checked when a token carries it,
        // each with 30 s of leeway for clocks that drift (RFC 7519, 4.1.4 and 4.1.5).
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let bad = |e: jsonwebtoken::errors::Error| AuthError::Internal(e.to_string());
        let mut decoding = Vec::new();
        for s in std::iter::once(secret).chain(previous) {
            decoding.push((
                key_id(s),
                DecodingKey::from_secret(s.expose_secret().as_bytes()).map_err(bad)?,
            ));
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes).map_err(bad)?,
            kid: key_id(secret),
            decoding,
            validation,
            issuer: issuer.to_owned(),
            verified: quick_cache::sync::Cache::new(VERIFIED_ACCESS_TOKENS_KEPT),
        })
    }

    /// The secret from settings, else the one kept in `{data_dir}/keys/jwt-secret`, generated
    /// (64 random bytes, hex) on first start.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when the file cannot be read or written.
    pub fn secret_from(
        configured: Option<&SecretString>,
        data_dir: &Path,
    ) -> Result<SecretString, AuthError> {
        if let Some(s) = configured {
            return Ok(s.clone());
        }
        let path = data_dir.join("keys").join("jwt-secret");
        match std::fs::read_to_string(&path) {
            Ok(s) if !s.trim().is_empty() => Ok(SecretString::from(s.trim().to_owned())),
            Ok(_) => Err(AuthError::Internal(format!("{} is empty", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret: String = (0..64)
                    .map(|_| format!("{:02x}", rand::random::<u8>()))
                    .collect();
                crate::codes::keys::write_private(&path, &secret)
                    .map_err(|e| AuthError::Internal(e.to_string()))?;
                Ok(SecretString::from(secret))
            }
            Err(e) => Err(AuthError::Internal(format!("{}: {e}", path.display()))),
        }
    }

    /// A token for `sub` with `role`, valid `ttl_seconds`, of sign-in generation `gen` (the
    /// resident's or the staff account's).
    ///
    /// # Errors
    /// [`AuthError::Internal`] if signing fails.
    pub fn issue(
        &self,
        sub: &str,
        role: Role,
        ttl_seconds: u64,
        gen: u32,
    ) -> Result<String, AuthError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_owned(),
            role,
            exp: now.saturating_add(i64::try_from(ttl_seconds).unwrap_or(i64::MAX)),
            iat: now,
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            gen,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| AuthError::Internal(e.to_string()))
    }

    /// The claims of a valid token: signed with the current secret or the previous one (the
    /// header's `kid` says which; a token without one, issued before tokens carried it, is
    /// tried against the current secret).
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for anything else (another algorithm, a bad signature, an
    /// unknown key id, expired or not yet valid, another issuer or audience).
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        self.verify_at(token, Utc::now().timestamp())
    }

    /// [`TokenKeys::verify`] with the clock at `now` (seconds since the Unix epoch) for a token
    /// verified before; one seen for the first time is checked against the system clock.
    fn verify_at(&self, token: &str, now: i64) -> Result<Claims, AuthError> {
        if let Some(claims) = self.verified.get(token) {
            let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(0);
            return if claims.exp.saturating_add(leeway) < now {
                self.verified.remove(token);
                Err(AuthError::InvalidToken)
            } else {
                Ok(claims)
            };
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::InvalidToken)?;
        let key = match header.kid {
            Some(kid) => self.decoding.iter().find(|(k, _)| *k == kid),
            None => self.decoding.first(),
        }
        .ok_or(AuthError::InvalidToken)?;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.1, &self.validation)
            .map(|d| d.claims)
            .map_err(|_| AuthError::InvalidToken)?;
        self.verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&SecretString::from("s".repeat(128)), None, "test").expect("keys")
    }

    #[test]
    fn a_token_verified_before_is_refused_once_it_has_expired() {
        let keys = keys();
        let token = keys.issue("R1", Role::Resident, 60, 1).expect("a token");
        let now = Utc::now().timestamp();
        assert_eq!(keys.verify_at(&token, now).expect("valid").sub, "R1");
        // Remembered now: its expiry is still checked.
        assert!(
            keys.verify_at(&token, now + 60).is_ok(),
            "within the leeway"
        );
        assert!(matches!(
            keys.verify_at(&token, now + 60 + 31),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn a_token_with_a_changed_byte_is_refused_after_the_real_one_was_verified() {
        let keys = keys();
        let token = keys.issue("R1", Role::Resident, 600, 1).expect("a token");
        assert!(keys.verify(&token).is_ok());
        let mut forged = token.clone().into_bytes();
        // Inside the signature (its last character carries padding bits as well).
        let i = forged.len() - 5;
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).expect("ASCII");
        assert!(matches!(keys.verify(&forged), Err(AuthError::InvalidToken)));
    }
}
