//! Staff accounts: admins, tracers and guards who sign in with a password.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ParseError;

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Street office and property staff: venues, residents, posters, presence, staff.
    Admin,
    /// Contact tracers: visit histories and contacts.
    Tracer,
    /// Gate guards and checkpoint officers: vehicle passes at checkpoints and the guard view
    /// of a gate's recent scans; nothing else (no tracing, residents or venue management).
    Guard,
    /// A person who scans.
    Resident,
}

impl super::named::Named for Role {
    const NAMES: &'static [(Self, &'static str)] = &[
        (Self::Admin, "admin"),
        (Self::Tracer, "tracer"),
        (Self::Guard, "guard"),
        (Self::Resident, "resident"),
    ];
}

super::named::deserialize_by_name!(Role);

/// The role of an account an admin creates: staff, so never `resident`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// See [`Role::Admin`].
    Admin,
    /// See [`Role::Tracer`].
    Tracer,
    /// See [`Role::Guard`].
    Guard,
}

impl super::named::Named for StaffRole {
    const NAMES: &'static [(Self, &'static str)] = &[
        (Self::Admin, "admin"),
        (Self::Tracer, "tracer"),
        (Self::Guard, "guard"),
    ];
}

super::named::deserialize_by_name!(StaffRole);

impl From<StaffRole> for Role {
    fn from(role: StaffRole) -> Self {
        match role {
            StaffRole::Admin => Role::Admin,
            StaffRole::Tracer => Role::Tracer,
            StaffRole::Guard => Role::Guard,
        }
    }
}

/// A staff member's login name: 3 to 32 of `[a-z0-9_.-]`, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Parses a username; see the type's doc.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().to_lowercase();
        let ok = (3..=32).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if ok {
            Ok(Self(s))
        } else {
            Err(ParseError::new(
                "username",
                "must be 3 to 32 of letters, digits, '_', '.', '-'",
            ))
        }
    }
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Username {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Username> for String {
    fn from(v: Username) -> String {
        v.0
    }
}

/// A stored staff account. `password_hash` is a PHC string (argon2id).
#[derive(Clone, Serialize, Deserialize)]
pub struct StaffAccount {
    /// Login name.
    pub username: Username,
    /// Argon2id PHC hash of the password.
    pub password_hash: String,
    /// `admin`, `tracer` or `guard` (never `resident`).
    pub role: Role,
}

impl std::fmt::Debug for StaffAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffAccount")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}
