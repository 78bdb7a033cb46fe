//! Venue codes: the text a QR poster carries, `{public_base_url}/s/{token}`, where `token` is
//! a compact JWS (EdDSA, Ed25519, header `kid`) over the venue id, the gate and the code's
//! version (contract, `code`). The same venue, gate and version always give the same code
//! (Ed25519 signatures are deterministic, RFC 8032).

pub mod keys;

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{Gate, VenueId};
use keys::CodeKey;

/// Why a code could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// The text is not `{public_base_url}/s/{token}` of this deployment.
    #[error("not a code of this service")]
    UnknownFormat,
    /// The token does not verify (tampered, another key, bad claims).
    #[error("invalid code")]
    Invalid,
    /// The signing key could not be loaded, made or used.
    #[error("code signing key: {0}")]
    Key(String),
}

/// What a code names. Short field names keep the QR code sparse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeClaims {
    /// Venue id.
    pub v: VenueId,
    /// Gate.
    pub g: Gate,
    /// Code version; older than the venue's current version means revoked.
    pub n: u32,
}

/// The origin (and optional path) printed before `/s/`: scheme and host lower-cased, no
/// trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBaseUrl(String);

impl PublicBaseUrl {
    /// Parses an `http://` or `https://` base URL.
    ///
    /// # Errors
    /// A message when the scheme is missing or another one, or the host is empty.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().trim_end_matches('/');
        let lower = s.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .ok_or_else(|| {
                format!("public_base_url {raw:?} must start with http:// or https://")
            })?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("public_base_url {raw:?} has no host"));
        }
        Ok(Self(lower))
    }
    /// The base as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Signs and verifies venue codes with one Ed25519 key.
pub struct CodeSigner {
    base: PublicBaseUrl,
    kid: String,
    public_x: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl CodeSigner {
    /// A signer for `base` with `key`.
    ///
    /// # Errors
    /// [`CodeError::Key`] when the key cannot be used by the JWS library.
    pub fn new(base: PublicBaseUrl, key: &CodeKey) -> Result<Self, CodeError> {
        let encoding = EncodingKey::from_ed_pem(key.pem.as_bytes())
            .map_err(|e| CodeError::Key(e.to_string()))?;
        let decoding = DecodingKey::from_ed_components(&key.public_x)
            .map_err(|e| CodeError::Key(e.to_string()))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_aud = false;
        Ok(Self {
            base,
            kid: key.kid.clone(),
            public_x: key.public_x.clone(),
            encoding,
            decoding,
            validation,
        })
    }

    /// The key id printed into every code's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key, base64url (JWK `x`), for offline verification.
    pub fn public_x(&self) -> &str {
        &self.public_x
    }

    /// The code for a venue's gate at a version: `{base}/s/{token}`.
    ///
    /// # Errors
    /// [`CodeError::Key`] if signing fails.
    pub fn code_for(
        &self,
        venue: &VenueId,
        gate: &Gate,
        version: u32,
    ) -> Result<String, CodeError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = None;
        header.kid = Some(self.kid.clone());
        let claims = CodeClaims {
            v: venue.clone(),
            g: gate.clone(),
            n: version,
        };
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| CodeError::Key(e.to_string()))?;
        Ok(format!("{}/s/{token}", self.base.as_str()))
    }

    /// Reads a scanned text: surrounding white space, the case of scheme and host and a
    /// trailing slash are forgiven; the origin must be this deployment's, and the token must
    /// verify with this service's key.
    ///
    /// # Errors
    /// [`CodeError::UnknownFormat`] for text of another shape or origin,
    /// [`CodeError::Invalid`] for a token that does not verify.
    pub fn verify(&self, text: &str) -> Result<CodeClaims, CodeError> {
        let token = self.token_of(text).ok_or(CodeError::UnknownFormat)?;
        self.verify_token(token)
    }

    /// Verifies a bare token (the part after `/s/`).
    ///
    /// # Errors
    /// [`CodeError::Invalid`] when it does not verify.
    pub fn verify_token(&self, token: &str) -> Result<CodeClaims, CodeError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| CodeError::Invalid)?;
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(CodeError::Invalid);
        }
        jsonwebtoken::decode::<CodeClaims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|_| CodeError::Invalid)
    }

    fn token_of<'t>(&self, text: &'t str) -> Option<&'t str> {
        let text = text.trim();
        let prefix = format!("{}/s/", self.base.as_str());
        let head = text.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(&prefix) {
            return None;
        }
        let token = text[prefix.len()..].trim_end_matches('/');
        (!token.is_empty()).then_some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> (tempfile::TempDir, CodeSigner) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = CodeKey::load_or_generate(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let base = PublicBaseUrl::parse("http://127.0.0.1:8080").unwrap_or_else(|e| panic!("{e}"));
        let s = CodeSigner::new(base, &key).unwrap_or_else(|e| panic!("{e}"));
        (dir, s)
    }

    fn ids() -> (VenueId, Gate) {
        (
            VenueId::parse("GC-C001").unwrap_or_else(|e| panic!("{e}")),
            Gate::parse("北门").unwrap_or_else(|e| panic!("{e}")),
        )
    }

    #[test]
    fn the_same_venue_gate_and_version_always_give_the_same_code() {
        let (_d, s) = signer();
        let (v, g) = ids();
        let a = s.code_for(&v, &g, 1).ok();
        assert!(a.is_some());
        assert_eq!(a, s.code_for(&v, &g, 1).ok());
        assert_ne!(a, s.code_for(&v, &g, 2).ok());
    }

    #[test]
    fn a_code_is_read_back_despite_case_spaces_and_a_trailing_slash() {
        let (_d, s) = signer();
        let (v, g) = ids();
        let code = s.code_for(&v, &g, 3).unwrap_or_default();
        let messy = format!(
            "  {}/ \n",
            code.replacen("http://127.0.0.1", "HTTP://127.0.0.1", 1)
        );
        let claims = s.verify(&messy).ok();
        assert_eq!(claims, Some(CodeClaims { v, g, n: 3 }));
    }

    #[test]
    fn a_tampered_code_is_invalid_and_a_foreign_one_unknown() {
        let (_d, s) = signer();
        let (v, g) = ids();
        let code = s.code_for(&v, &g, 1).unwrap_or_default();
        let tampered = code.replace("R0MtQzAwMS", "R0MtQzAwMi");
        assert!(matches!(s.verify(&tampered), Err(CodeError::Invalid)));
        assert!(matches!(
            s.verify("UKC19TRACING:1:abc"),
            Err(CodeError::UnknownFormat)
        ));
        assert!(matches!(
            s.verify("https://other.example/s/abc"),
            Err(CodeError::UnknownFormat)
        ));
    }

    #[test]
    fn a_restarted_service_reads_the_same_key_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let a = CodeKey::load_or_generate(dir.path()).map(|k| k.kid).ok();
        let b = CodeKey::load_or_generate(dir.path()).map(|k| k.kid).ok();
        assert!(a.is_some());
        assert_eq!(a, b);
    }

    #[test]
    fn a_configured_key_file_is_read_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let made = CodeKey::load_or_generate(dir.path()).map(|k| k.kid).ok();
        let read = CodeKey::load(&keys::key_path(dir.path()))
            .map(|k| k.kid)
            .ok();
        assert_eq!(made, read);
        assert!(CodeKey::load(&dir.path().join("nope.pem")).is_err());
    }
}
