//! Visitor passes: a resident registers a visitor (a relative, a carer) for their own compound
//! for a short time; the visitor's check-in there is then admitted and names the host
//! (compound policy issue). An admin can revoke a pass.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{Phone, ResidentId, VenueId};

/// The longest a pass may be valid: one day.
pub const MAX_PASS_HOURS: i64 = 24;

/// A registered visit to a compound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitorPass {
    /// The pass's id (UUID v7).
    pub id: String,
    /// The resident who registered the visitor.
    pub host: ResidentId,
    /// The host's home compound, where the pass admits.
    pub venue_id: VenueId,
    /// The visitor's name.
    pub name: String,
    /// The visitor's phone: their check-in is matched by it.
    pub phone: Phone,
    /// How the visitor is related to the host (`女儿`, `护工`).
    pub relation: String,
    /// From when it admits, UTC.
    pub valid_from: DateTime<Utc>,
    /// Until when it admits, UTC; at most [`MAX_PASS_HOURS`] after `valid_from`.
    pub valid_until: DateTime<Utc>,
    /// Revoked by an admin: admits no more.
    pub revoked: bool,
    /// When it was registered, UTC.
    pub created_at: DateTime<Utc>,
}

impl VisitorPass {
    /// Whether the pass admits at `venue` at `at`.
    pub fn admits(&self, venue: &VenueId, at: DateTime<Utc>) -> bool {
        !self.revoked && &self.venue_id == venue && self.valid_from <= at && at <= self.valid_until
    }

    /// Checks a validity window: it ends after it starts, at most a day later.
    ///
    /// # Errors
    /// A [`super::ParseError`] on `valid_until`.
    pub fn check_window(
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(), super::ParseError> {
        if until <= from || until - from > Duration::hours(MAX_PASS_HOURS) {
            return Err(super::ParseError::new(
                "valid_until",
                format!("must be after the arrival and at most {MAX_PASS_HOURS} hours later"),
            ));
        }
        Ok(())
    }
}
