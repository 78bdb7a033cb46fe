//! Alerts: scans that the compound's responsible staff must hear about (compound policy
//! issue): a fever turned away at a gate, and a resident under home observation
//! (`key_monitoring`) checking out of their home compound.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{Gate, ResidentId, VenueId};
use super::scan::{Decision, DenyReason, Direction, ScanEvent, Temperature};
use super::venue::{Venue, VenueKind};
use super::visit::{ClosedBy, Visit};

/// The tag of residents under home observation.
pub const KEY_MONITORING: &str = "key_monitoring";

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A check-in denied for a fever (contract, visit rule 5).
    Fever,
    /// A `key_monitoring` resident admitted out of their home compound.
    LeftHomeUnderObservation,
}

/// One alert, raised by one scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The alert's id: the id of the scan event that raised it.
    pub id: String,
    /// What it is about.
    pub kind: AlertKind,
    /// The scan's time, UTC.
    pub at: DateTime<Utc>,
    /// Who.
    pub resident_id: ResidentId,
    /// Where.
    pub venue_id: VenueId,
    /// At which gate.
    pub gate: Gate,
    /// The reading, °C, when one was given.
    pub temperature_c: Option<Temperature>,
}

/// The alerts a processed scan raises: a fever denial; or, for a `key_monitoring` resident,
/// leaving home: a check-out admitted at `home`'s own gates (leaving one of its buildings is
/// not leaving home), or a scan admitted elsewhere that closed their visit at home (they left
/// without scanning out: closed by this check-in, or past its maximum stay, as a visit at
/// home mostly is after a day in) or that was made at a checkpoint (they are on the road).
/// `changed` are the visits the scan wrote.
pub fn raised(
    event: &ScanEvent,
    venue: &Venue,
    home: Option<&VenueId>,
    tags: &[String],
    changed: &[Visit],
) -> Vec<Alert> {
    let watched = tags.iter().any(|t| t == KEY_MONITORING);
    let at_home = home == Some(venue.place());
    let left_home_unscanned = changed.iter().any(|v| {
        matches!(v.closed_by, Some(ClosedBy::NextCheckIn | ClosedBy::Auto))
            && home.is_some_and(|h| v.venue_id == *h || v.parent.as_ref() == Some(h))
    });
    let kind = match (event.decision, event.reason, event.direction) {
        (Decision::Denied, Some(DenyReason::Fever), _) => Some(AlertKind::Fever),
        (Decision::Admitted, _, Direction::Out) if watched && home == Some(&venue.id) => {
            Some(AlertKind::LeftHomeUnderObservation)
        }
        (Decision::Admitted, _, _)
            if watched
                && home.is_some()
                && !at_home
                && (left_home_unscanned || venue.kind == VenueKind::Checkpoint) =>
        {
            Some(AlertKind::LeftHomeUnderObservation)
        }
        _ => None,
    };
    kind.map(|kind| Alert {
        id: event.id.clone(),
        kind,
        at: event.scan_time,
        resident_id: event.resident_id.clone(),
        venue_id: event.venue_id.clone(),
        gate: event.gate.clone(),
        temperature_c: event.temperature_c,
    })
    .into_iter()
    .collect()
}
