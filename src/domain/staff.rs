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
    /// The generation of the account's sign-ins: a staff token carries the generation it was
    /// issued in and is refused (401) once this has moved on, which it does when the account
    /// signs out everywhere, an admin signs it out everywhere, or (for `admin`) a restart sets
    /// another `CHECKIN_ADMIN_PASSWORD`. 0 until then, and for an account stored before
    /// accounts carried it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub token_generation: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl std::fmt::Debug for StaffAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffAccount")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("token_generation", &self.token_generation)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_stored_before_accounts_carried_a_generation_reads_as_generation_0() {
        let stored = r#"{"username":"tracer1","password_hash":"$argon2id$x","role":"tracer"}"#;

        let account: StaffAccount = serde_json::from_str(stored).expect("an old account reads");

        assert_eq!(account.token_generation, 0);
        assert_eq!(account.role, Role::Tracer);
    }

    #[test]
    fn an_account_s_generation_survives_a_round_trip() {
        let account = StaffAccount {
            username: Username::parse("guard1").expect("a valid username"),
            password_hash: "$argon2id$x".into(),
            role: Role::Guard,
            token_generation: 3,
        };

        let json = serde_json::to_string(&account).expect("serialises");
        let back: StaffAccount = serde_json::from_str(&json).expect("reads back");

        assert_eq!(back.token_generation, 3);
    }
}
