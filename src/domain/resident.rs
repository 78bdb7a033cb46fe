//! Residents: the people who scan, with their registered home and household.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{Phone, ResidentId, VenueId};

/// A person who scans. Registered residents come from the residents CSV; a phone first seen at
/// an OTP login becomes an unregistered person with only an id and a phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resident {
    /// The person's id.
    pub id: ResidentId,
    /// Full name, when registered.
    pub name: Option<String>,
    /// Mobile number; unique among residents.
    pub phone: Phone,
    /// Home compound.
    pub home: Option<VenueId>,
    /// Building within the home compound (`1栋`).
    pub building: Option<String>,
    /// Room (`402`).
    pub room: Option<String>,
    /// Household id; members of one household share it.
    pub household: Option<String>,
    /// Watch-list tags (`out_of_province`, `hubei_return`, …).
    pub tags: Vec<String>,
    /// Whether the person was imported by an admin (false: created by a first login).
    pub registered: bool,
    /// When the record was created, UTC.
    pub created_at: DateTime<Utc>,
    /// The generation of the person's sign-ins: a token carries the generation it was issued
    /// in and is refused once this has moved on, which it does when the person signs out
    /// everywhere or an admin revokes their tokens (a lost phone). 0 until then.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub token_generation: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A name as shown to a guard or on a phone's result screen: its first character and `*`
/// (`张*`), enough to match a face to a screen without giving the name away.
pub fn masked_name(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| format!("{c}*"))
        .unwrap_or_default()
}

impl Resident {
    /// An unregistered person known only by phone, created at first login.
    pub fn unregistered(phone: Phone, now: DateTime<Utc>) -> Self {
        Self {
            id: ResidentId::generate(),
            name: None,
            phone,
            home: None,
            building: None,
            room: None,
            household: None,
            tags: Vec::new(),
            registered: false,
            created_at: now,
            token_generation: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_name_is_masked_to_its_first_character() {
        assert_eq!(super::masked_name("张三丰"), "张*");
        assert_eq!(super::masked_name(""), "");
    }
}
