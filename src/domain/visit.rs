//! Visits: one person at one venue from check-in to check-out (contract, "Visit rules").

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{Gate, ResidentId, VenueId};

/// How a visit ended (contract, visit rules 2 to 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClosedBy {
    /// A check-in at another venue (rule 2).
    NextCheckIn,
    /// A check-out at this venue (rule 3).
    CheckOut,
    /// Open longer than the venue's maximum stay (rule 4).
    Auto,
    /// A checkpoint pass, which opens and closes at once (rule 4).
    Pass,
}

/// A visit as stored. `check_in` is `None` only for a check-out with no check-in
/// (`start_inferred`); `check_out` and `closed_by` are `None` while the visit is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// The visit's id (UUID v7).
    pub id: String,
    /// Who.
    pub resident_id: ResidentId,
    /// Where.
    pub venue_id: VenueId,
    /// The gate of the check-in.
    pub gate_in: Option<Gate>,
    /// The gate of the check-out.
    pub gate_out: Option<Gate>,
    /// Check-in time, UTC.
    pub check_in: Option<DateTime<Utc>>,
    /// Check-out time, UTC.
    pub check_out: Option<DateTime<Utc>>,
    /// How it ended.
    pub closed_by: Option<ClosedBy>,
    /// True when there was no check-in and the start is `check_out - max_stay`.
    pub start_inferred: bool,
    /// The venue's maximum stay when the visit began, seconds; fixed with the visit so a
    /// later change of the venue does not move old visits.
    pub max_stay_seconds: i64,
    /// The parent of the venue when the visit began, for a visit to a sub-location (a
    /// compound's building): a check-out at the parent's gate ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<VenueId>,
    /// For a visitor admitted by a pass, the resident who registered them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<ResidentId>,
}

impl Visit {
    /// A fresh visit id (UUID v7, so ids sort by creation time).
    pub fn new_id() -> String {
        uuid::Uuid::now_v7().to_string()
    }

    /// The venue's maximum stay for this visit.
    pub fn max_stay(&self) -> Duration {
        Duration::seconds(self.max_stay_seconds)
    }

    /// Whether the visit is still open as stored.
    pub fn is_open(&self) -> bool {
        self.closed_by.is_none()
    }

    /// When an open visit closes by itself: `check_in + max_stay` (rule 4).
    pub fn auto_close_at(&self) -> Option<DateTime<Utc>> {
        match (self.closed_by, self.check_in) {
            (None, Some(t)) => Some(t + self.max_stay()),
            _ => None,
        }
    }

    /// Where the visit begins for indexing and contacts: the check-in, or for an inferred start
    /// `check_out - max_stay` (rule 3).
    pub fn start(&self) -> DateTime<Utc> {
        match (self.check_in, self.check_out) {
            (Some(t), _) => t,
            (None, Some(out)) => out - self.max_stay(),
            // Not built by the rules; treat as a point at the epoch rather than panic.
            (None, None) => DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    /// The latest the visit can end: its check-out, or for an open visit its auto close
    /// (`check_in + max_stay`). Retention counts from here.
    pub fn latest_end(&self) -> DateTime<Utc> {
        match (self.check_out, self.auto_close_at()) {
            (Some(out), _) => out,
            (None, Some(auto)) => auto,
            (None, None) => self.start(),
        }
    }

    /// The visit as it stands at `now`: an open visit past its maximum stay is closed at
    /// `check_in + max_stay` with `closed_by: auto` (rule 4); anything else is unchanged.
    pub fn as_of(&self, now: DateTime<Utc>) -> Visit {
        match self.auto_close_at() {
            Some(at) if at <= now => Visit {
                check_out: Some(at),
                closed_by: Some(ClosedBy::Auto),
                ..self.clone()
            },
            _ => self.clone(),
        }
    }

    /// The interval `[start, end]` the visit covers at `now`: an open visit ends at `now` or at
    /// its auto close, whichever is first (contract, "Contacts").
    pub fn interval(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = self.start();
        let end = match (self.check_out, self.auto_close_at()) {
            (Some(out), _) => out,
            (None, Some(auto)) => auto.min(now).max(start),
            (None, None) => now.max(start),
        };
        (start, end)
    }
}
