//! Venue codes: the text a QR poster carries, `{public_base_url}/s/{token}`, where `token` is
//! a compact JWS (EdDSA, Ed25519, header `kid`) over the venue id, the gate, the code's version
//! and, for event and live codes, a validity window (contract, `code`). The same claims always
//! give the same code (Ed25519 signatures are deterministic, RFC 8032).

pub mod keyring;
pub mod keys;

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{Direction, Gate, VenueId};
use keyring::{KeyRing, KeyStatus};

/// Why a code could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// The text is not `{public_base_url}/s/{token}` of this deployment.
    #[error("not a code of this service")]
    UnknownFormat,
    /// The token does not verify (tampered, unknown key, bad claims).
    #[error("invalid code")]
    Invalid,
    /// Signed by a key an admin retired.
    #[error("code signed by a retired key")]
    RetiredKey,
    /// The keys come from settings and cannot be changed through the API.
    #[error("the signing key is fixed by configuration")]
    Fixed,
    /// No key with that id.
    #[error("no such key")]
    UnknownKey,
    /// The active key cannot be retired; rotate first.
    #[error("the active key cannot be retired; rotate first")]
    ActiveKey,
    /// A key could not be loaded, made, saved or used.
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
    /// Valid from, seconds since the Unix epoch (event and live codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f: Option<i64>,
    /// Valid until, seconds since the Unix epoch (event and live codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<i64>,
    /// The only direction a one-way code allows (an entrance-only or exit-only poster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<Direction>,
    /// A live code of a staffed gate's screen: its window is also checked by the server's
    /// clock, not only by the scan's time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub l: bool,
}

impl CodeClaims {
    /// A poster's claims: no validity window.
    pub fn poster(venue: &VenueId, gate: &Gate, version: u32) -> Self {
        Self {
            v: venue.clone(),
            g: gate.clone(),
            n: version,
            f: None,
            u: None,
            d: None,
            l: false,
        }
    }
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

/// A public key for offline verification (a JWK of RFC 8037, `kty: OKP`, `crv: Ed25519`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicKeyInfo {
    /// Key id, as in every code's header.
    pub kid: String,
    /// The public key, base64url (JWK `x`).
    pub x: String,
    /// Active, previous or retired.
    pub status: KeyStatus,
}

struct Signing {
    ring: KeyRing,
    active: Option<(String, EncodingKey)>,
    verifiers: HashMap<String, DecodingKey>,
}

impl Signing {
    fn new(ring: KeyRing) -> Result<Self, CodeError> {
        let bad = |e: jsonwebtoken::errors::Error| CodeError::Key(e.to_string());
        let active = match ring.active() {
            Some(k) => Some((
                k.kid.clone(),
                EncodingKey::from_ed_pem(k.pem.as_bytes()).map_err(bad)?,
            )),
            None => None,
        };
        let verifiers = ring
            .keys()
            .map(|(k, _)| {
                Ok((
                    k.kid.clone(),
                    DecodingKey::from_ed_components(&k.public_x).map_err(bad)?,
                ))
            })
            .collect::<Result<_, CodeError>>()?;
        Ok(Self {
            ring,
            active,
            verifiers,
        })
    }
}

/// Signs and verifies venue codes with the key ring; safe to share between threads.
pub struct CodeSigner {
    base: PublicBaseUrl,
    validation: Validation,
    signing: RwLock<Signing>,
    /// Tokens whose signature verified: token → (key id, claims). A signature check costs
    /// about 40 µs of CPU and a poster's token is scanned all day; what a token says never
    /// changes, so only the key's state is checked again on a hit.
    verified: quick_cache::sync::Cache<String, (String, CodeClaims)>,
}

/// How many verified tokens are remembered (a few hundred bytes each): the gates of a
/// district's busiest venues.
pub const VERIFIED_TOKENS_KEPT: usize = 20_000;

fn poisoned<T>(_: T) -> CodeError {
    CodeError::Key("key ring lock poisoned".into())
}

impl CodeSigner {
    /// A signer for `base` with the keys of `ring`.
    ///
    /// # Errors
    /// [`CodeError::Key`] when a key cannot be used by the JWS library.
    pub fn new(base: PublicBaseUrl, ring: KeyRing) -> Result<Self, CodeError> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        Ok(Self {
            base,
            validation,
            signing: RwLock::new(Signing::new(ring)?),
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS_KEPT),
        })
    }

    /// The poster code for a venue's gate at a version: `{base}/s/{token}`.
    ///
    /// # Errors
    /// [`CodeError::Key`] if signing fails.
    pub fn code_for(
        &self,
        venue: &VenueId,
        gate: &Gate,
        version: u32,
    ) -> Result<String, CodeError> {
        self.sign(&CodeClaims::poster(venue, gate, version))
    }

    /// The code for any claims: `{base}/s/{token}`, signed by the active key.
    ///
    /// # Errors
    /// [`CodeError::Key`] if signing fails.
    pub fn sign(&self, claims: &CodeClaims) -> Result<String, CodeError> {
        let signing = self.signing.read().map_err(poisoned)?;
        let (kid, key) = signing
            .active
            .as_ref()
            .ok_or_else(|| CodeError::Key("no active key".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = None;
        header.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(&header, claims, key)
            .map_err(|e| CodeError::Key(e.to_string()))?;
        Ok(format!("{}/s/{token}", self.base.as_str()))
    }

    /// The code text of a bare token, as a poster prints it: `{base}/s/{token}`.
    pub fn code_text(&self, token: &str) -> String {
        format!("{}/s/{token}", self.base.as_str())
    }

    /// Reads a scanned text: surrounding white space, the case of scheme and host and a
    /// trailing slash are forgiven; the origin must be this deployment's, and the token must
    /// verify with one of the ring's keys.
    ///
    /// # Errors
    /// [`CodeError::UnknownFormat`] for text of another shape or origin,
    /// [`CodeError::Invalid`] for a token that does not verify, [`CodeError::RetiredKey`] for
    /// a genuine code whose key was retired.
    pub fn verify(&self, text: &str) -> Result<CodeClaims, CodeError> {
        let token = self.token_of(text).ok_or(CodeError::UnknownFormat)?;
        self.verify_token(token)
    }

    /// Verifies a bare token (the part after `/s/`).
    ///
    /// # Errors
    /// As [`CodeSigner::verify`].
    pub fn verify_token(&self, token: &str) -> Result<CodeClaims, CodeError> {
        let signing = self.signing.read().map_err(poisoned)?;
        if let Some((kid, claims)) = self.verified.get(token) {
            // Verified before, with a key this ring still holds.
            if signing.verifiers.contains_key(&kid) {
                if signing.ring.status(&kid) == KeyStatus::Retired {
                    return Err(CodeError::RetiredKey);
                }
                return Ok(claims);
            }
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| CodeError::Invalid)?;
        let kid = header.kid.ok_or(CodeError::Invalid)?;
        let key = signing.verifiers.get(&kid).ok_or(CodeError::Invalid)?;
        let claims = jsonwebtoken::decode::<CodeClaims>(token, key, &self.validation)
            .map(|d| d.claims)
            .map_err(|_| CodeError::Invalid)?;
        if signing.ring.status(&kid) == KeyStatus::Retired {
            return Err(CodeError::RetiredKey);
        }
        self.verified
            .insert(token.to_owned(), (kid, claims.clone()));
        Ok(claims)
    }

    /// Every key with its state, oldest first.
    ///
    /// # Errors
    /// [`CodeError::Key`] if the ring's lock is poisoned.
    pub fn keys(&self) -> Result<Vec<PublicKeyInfo>, CodeError> {
        let signing = self.signing.read().map_err(poisoned)?;
        Ok(signing
            .ring
            .keys()
            .map(|(k, status)| PublicKeyInfo {
                kid: k.kid.clone(),
                x: k.public_x.clone(),
                status,
            })
            .collect())
    }

    /// Makes a new active key; returns its id. Codes signed before keep verifying.
    ///
    /// # Errors
    /// [`CodeError::Fixed`] or [`CodeError::Key`].
    pub fn rotate(&self) -> Result<String, CodeError> {
        self.change(|ring| ring.rotate().map(|k| k.kid.clone()))
    }

    /// Retires a previous key.
    ///
    /// # Errors
    /// [`CodeError::Fixed`], [`CodeError::UnknownKey`], [`CodeError::ActiveKey`] or
    /// [`CodeError::Key`].
    pub fn retire(&self, kid: &str) -> Result<(), CodeError> {
        self.change(|ring| ring.retire(kid))
    }

    fn change<T>(
        &self,
        f: impl FnOnce(&mut KeyRing) -> Result<T, CodeError>,
    ) -> Result<T, CodeError> {
        let mut signing = self.signing.write().map_err(poisoned)?;
        let mut ring = signing.ring.clone();
        let out = f(&mut ring)?;
        *signing = Signing::new(ring)?;
        Ok(out)
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
        let ring = KeyRing::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let base = PublicBaseUrl::parse("http://127.0.0.1:8080").unwrap_or_else(|e| panic!("{e}"));
        let s = CodeSigner::new(base, ring).unwrap_or_else(|e| panic!("{e}"));
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
        assert_eq!(claims, Some(CodeClaims::poster(&v, &g, 3)));
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
    fn a_restarted_service_reads_the_same_keys_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let kid = |ring: &KeyRing| ring.active().map(|k| k.kid.clone());
        let a = KeyRing::open(dir.path()).map(|r| kid(&r)).ok().flatten();
        let b = KeyRing::open(dir.path()).map(|r| kid(&r)).ok().flatten();
        assert!(a.is_some());
        assert_eq!(a, b);
    }

    #[test]
    fn codes_of_a_previous_key_verify_until_it_is_retired() {
        let (_d, s) = signer();
        let (v, g) = ids();
        let old = s.code_for(&v, &g, 1).unwrap_or_default();
        let old_kid = s.keys().ok().and_then(|k| k.first().map(|k| k.kid.clone()));
        let new_kid = s.rotate().ok();
        assert_ne!(old_kid, new_kid);
        assert!(s.verify(&old).is_ok(), "a previous key still verifies");
        assert_ne!(
            s.code_for(&v, &g, 1).ok(),
            Some(old.clone()),
            "new codes use the new key"
        );
        assert!(
            s.retire(new_kid.as_deref().unwrap_or("")).is_err(),
            "the active key stays"
        );
        assert!(s.retire(old_kid.as_deref().unwrap_or("")).is_ok());
        assert!(matches!(s.verify(&old), Err(CodeError::RetiredKey)));
    }

    #[test]
    fn a_poster_code_carries_no_window_and_an_event_code_does() {
        let (_d, s) = signer();
        let (v, g) = ids();
        let mut claims = CodeClaims::poster(&v, &g, 1);
        claims.f = Some(1_000);
        claims.u = Some(2_000);
        let event = s.sign(&claims).unwrap_or_default();
        assert_eq!(s.verify(&event).ok(), Some(claims));
        let poster = s.code_for(&v, &g, 1).unwrap_or_default();
        assert!(poster.len() < event.len());
    }
}
