//! One Ed25519 key that signs venue codes, with its key id; PKCS#8 PEM on disk.

use std::path::Path;

use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use super::CodeError;

/// An Ed25519 signing key with its key id.
#[derive(Clone)]
pub struct CodeKey {
    /// PKCS#8 PEM of the private key.
    pub pem: String,
    /// The public key, base64url without padding (the JWK `x`).
    pub public_x: String,
    /// Key id: the first 8 hex digits of SHA-256 of the public key.
    pub kid: String,
}

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl CodeKey {
    fn from_signing_key(key: &SigningKey) -> Result<Self, CodeError> {
        let pem = key
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|e| CodeError::Key(e.to_string()))?
            .to_string();
        let public = key.verifying_key().to_bytes();
        let kid = hex8(&Sha256::digest(public));
        Ok(Self {
            pem,
            public_x: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public),
            kid,
        })
    }

    /// A fresh random key.
    ///
    /// # Errors
    /// [`CodeError::Key`] if it cannot be encoded.
    pub fn generate() -> Result<Self, CodeError> {
        Self::from_signing_key(&SigningKey::from_bytes(&rand::random::<[u8; 32]>()))
    }
}

impl CodeKey {
    /// Reads a key that must exist (settings `code_signing_key_file`): an Ed25519 private key
    /// in PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes it.
    ///
    /// # Errors
    /// [`CodeError::Key`] when the file cannot be read or holds no Ed25519 key.
    pub fn load(path: &Path) -> Result<Self, CodeError> {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| CodeError::Key(format!("{}: {e}", path.display())))?;
        Self::from_pem(&pem, path)
    }

    fn from_pem(pem: &str, path: &Path) -> Result<Self, CodeError> {
        let key = SigningKey::from_pkcs8_pem(pem)
            .map_err(|e| CodeError::Key(format!("{}: {e}", path.display())))?;
        Self::from_signing_key(&key)
    }
}

fn hex8(bytes: &[u8]) -> String {
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Writes a secret file readable by its owner only.
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<(), CodeError> {
    let fail = |e: std::io::Error| CodeError::Key(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path).map_err(fail)?;
    std::io::Write::write_all(&mut file, contents.as_bytes()).map_err(fail)
}
