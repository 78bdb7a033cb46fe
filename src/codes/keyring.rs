//! The code signing keys: one active key signs new codes; earlier keys still verify the posters
//! printed with them until an admin retires them.
//!
//! On disk, under `{data_dir}/keys/code-signing/`: one `{kid}.pem` per key (PKCS#8, mode 0600)
//! and `keyring.json`, `{"active": kid, "retired": [kid, …], "order": [kid, …]}`. A key given
//! by settings (`code_signing_key_file`) makes a fixed ring of that one key, which cannot be
//! rotated through the API.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::keys::{write_private, CodeKey};
use super::CodeError;

/// Where the ring lives inside the data directory.
pub fn ring_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("code-signing")
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RingFile {
    active: String,
    #[serde(default)]
    retired: BTreeSet<String>,
    /// Key ids, oldest first.
    #[serde(default)]
    order: Vec<String>,
}

/// The state of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Signs new codes, and verifies.
    Active,
    /// Verifies codes signed before the last rotation.
    Previous,
    /// No longer accepted: its posters answer `code_revoked`.
    Retired,
}

/// The code signing keys and their states.
#[derive(Debug, Clone)]
pub struct KeyRing {
    /// `None` for a fixed ring from settings.
    dir: Option<PathBuf>,
    /// Oldest first.
    keys: Vec<CodeKey>,
    active: String,
    retired: BTreeSet<String>,
}

impl KeyRing {
    /// A fixed ring of one configured key.
    pub fn fixed(key: CodeKey) -> Self {
        Self {
            dir: None,
            active: key.kid.clone(),
            keys: vec![key],
            retired: BTreeSet::new(),
        }
    }

    /// Opens the ring in `data_dir`, making its first key on first start.
    ///
    /// # Errors
    /// [`CodeError::Key`] when files cannot be read, parsed or written.
    pub fn open(data_dir: &Path) -> Result<Self, CodeError> {
        let dir = ring_dir(data_dir);
        let state_path = dir.join("keyring.json");
        let state: RingFile = match std::fs::read_to_string(&state_path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| CodeError::Key(format!("{}: {e}", state_path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut ring = Self {
                    dir: Some(dir),
                    keys: Vec::new(),
                    active: String::new(),
                    retired: BTreeSet::new(),
                };
                ring.rotate()?;
                tracing::info!(kid = %ring.active, "generated the first code signing key");
                return Ok(ring);
            }
            Err(e) => return Err(CodeError::Key(format!("{}: {e}", state_path.display()))),
        };
        let keys = state
            .order
            .iter()
            .map(|kid| CodeKey::load(&dir.join(format!("{kid}.pem"))))
            .collect::<Result<Vec<_>, _>>()?;
        if !keys.iter().any(|k| k.kid == state.active) {
            return Err(CodeError::Key(format!(
                "{}: the active key {} has no file",
                state_path.display(),
                state.active
            )));
        }
        Ok(Self {
            dir: Some(dir),
            keys,
            active: state.active,
            retired: state.retired,
        })
    }

    /// The key that signs new codes.
    pub fn active(&self) -> Option<&CodeKey> {
        self.keys.iter().find(|k| k.kid == self.active)
    }

    /// Every key, oldest first, with its state.
    pub fn keys(&self) -> impl Iterator<Item = (&CodeKey, KeyStatus)> {
        self.keys.iter().map(|k| (k, self.status(&k.kid)))
    }

    /// The state of key `kid`, if the ring has it.
    pub fn status(&self, kid: &str) -> KeyStatus {
        if kid == self.active {
            KeyStatus::Active
        } else if self.retired.contains(kid) {
            KeyStatus::Retired
        } else {
            KeyStatus::Previous
        }
    }

    /// Makes a new key and makes it the active one; earlier keys keep verifying.
    ///
    /// # Errors
    /// [`CodeError::Fixed`] for a ring from settings; [`CodeError::Key`] when it cannot be saved.
    pub fn rotate(&mut self) -> Result<&CodeKey, CodeError> {
        let dir = self.dir.clone().ok_or(CodeError::Fixed)?;
        let key = CodeKey::generate()?;
        write_private(&dir.join(format!("{}.pem", key.kid)), &key.pem)?;
        self.active = key.kid.clone();
        self.keys.push(key);
        self.save(&dir)?;
        self.active()
            .ok_or_else(|| CodeError::Key("active key vanished".into()))
    }

    /// Retires a previous key: the codes it signed are refused from now on.
    ///
    /// # Errors
    /// [`CodeError::Fixed`] for a ring from settings, [`CodeError::UnknownKey`],
    /// [`CodeError::ActiveKey`] for the active key, [`CodeError::Key`] when it cannot be saved.
    pub fn retire(&mut self, kid: &str) -> Result<(), CodeError> {
        let dir = self.dir.clone().ok_or(CodeError::Fixed)?;
        if !self.keys.iter().any(|k| k.kid == kid) {
            return Err(CodeError::UnknownKey);
        }
        if kid == self.active {
            return Err(CodeError::ActiveKey);
        }
        self.retired.insert(kid.to_owned());
        self.save(&dir)
    }

    fn save(&self, dir: &Path) -> Result<(), CodeError> {
        let state = RingFile {
            active: self.active.clone(),
            retired: self.retired.clone(),
            order: self.keys.iter().map(|k| k.kid.clone()).collect(),
        };
        let text =
            serde_json::to_string_pretty(&state).map_err(|e| CodeError::Key(e.to_string()))?;
        let tmp = dir.join("keyring.json.tmp");
        let fail = |e: std::io::Error| CodeError::Key(format!("{}: {e}", dir.display()));
        std::fs::write(&tmp, text).map_err(fail)?;
        std::fs::rename(&tmp, dir.join("keyring.json")).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_ring_is_read_back_with_its_states() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut ring = KeyRing::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let first = ring.active().map(|k| k.kid.clone()).unwrap_or_default();
        let second = ring.rotate().map(|k| k.kid.clone()).unwrap_or_default();
        assert!(matches!(ring.retire(&second), Err(CodeError::ActiveKey)));
        assert!(ring.retire(&first).is_ok());

        let again = KeyRing::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let states: Vec<(String, KeyStatus)> =
            again.keys().map(|(k, s)| (k.kid.clone(), s)).collect();
        assert_eq!(
            states,
            vec![(first, KeyStatus::Retired), (second, KeyStatus::Active)]
        );
    }

    #[test]
    fn a_fixed_ring_cannot_be_rotated() {
        let key = CodeKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let mut ring = KeyRing::fixed(key);
        assert!(matches!(ring.rotate(), Err(CodeError::Fixed)));
    }
}
