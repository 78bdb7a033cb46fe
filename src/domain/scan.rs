//! Scans: the events clients send, and the parts of a scan request.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{Gate, ResidentId, VenueId};
use super::ParseError;

/// Which way a scan goes (contract: `in` is a check-in, `out` a check-out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Check-in.
    In,
    /// Check-out.
    Out,
}

impl super::named::Named for Direction {
    const NAMES: &'static [(Self, &'static str)] = &[(Self::In, "in"), (Self::Out, "out")];
}

super::named::deserialize_by_name!(Direction);

/// A body temperature in °C, 30.0 to 45.0 inclusive (a reading outside that is a broken
/// thermometer or a typo, not a person).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Temperature(f64);

impl Temperature {
    /// Parses a reading in °C.
    pub fn parse(celsius: f64) -> Result<Self, ParseError> {
        if celsius.is_finite() && (30.0..=45.0).contains(&celsius) {
            Ok(Self(celsius))
        } else {
            Err(ParseError::new(
                "temperature_c",
                "must be between 30.0 and 45.0 °C",
            ))
        }
    }
    /// The reading in °C.
    pub fn celsius(self) -> f64 {
        self.0
    }
}
impl TryFrom<f64> for Temperature {
    type Error = ParseError;
    fn try_from(v: f64) -> Result<Self, ParseError> {
        Self::parse(v)
    }
}
impl From<Temperature> for f64 {
    fn from(t: Temperature) -> f64 {
        t.0
    }
}

/// Why a scan was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// Temperature at or above the fever threshold (contract, visit rule 5).
    Fever,
    /// A check-in at a `residents_only` venue by someone whose home it is not (compound
    /// policy issue).
    NotAResident,
    /// A check-in with no temperature at a venue kind that requires one (configured).
    TemperatureRequired,
}

/// The decision on a processed scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Let in (or out).
    Admitted,
    /// Turned away; the scan changed no visit.
    Denied,
}

/// One processed scan, kept per person for ever (until retention), so that visits can be
/// derived again from the scans in time order (contract, visit rule 7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanEvent {
    /// The event's id (UUID v7, time-ordered).
    pub id: String,
    /// Who scanned.
    pub resident_id: ResidentId,
    /// Where.
    pub venue_id: VenueId,
    /// At which gate.
    pub gate: Gate,
    /// Which way, as decided (a scan with no direction gets one from the person's state).
    pub direction: Direction,
    /// The temperature given, °C.
    pub temperature_c: Option<Temperature>,
    /// The scan's time: `client_time` when given and accepted, else `server_time` (UTC).
    pub scan_time: DateTime<Utc>,
    /// When the server received it (UTC).
    pub server_time: DateTime<Utc>,
    /// The client's own time, when given.
    pub client_time: Option<DateTime<Utc>>,
    /// Admitted or denied.
    pub decision: Decision,
    /// Why it was denied.
    pub reason: Option<DenyReason>,
    /// The visit the scan opened, closed or repeated.
    pub visit_id: Option<String>,
    /// For a visitor at a `residents_only` venue, the resident whose visitor pass let them in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<ResidentId>,
    /// The person's watch-list tags when they scanned, kept so that a later change of tags
    /// does not rewrite the day's report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// True when the client gave no direction and the person's state chose it: a late scan
    /// that makes the person's visits be derived again (contract, visit rule 7) chooses it
    /// again from the state the scan then meets. Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub direction_inferred: bool,
    /// The venue's kind when the scan was taken, so that a late scan applies this one again
    /// as it was (a pass stays a pass after its checkpoint became a shop). Absent in events
    /// stored before it was kept, which are applied with the venue's kind now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue_kind: Option<super::venue::VenueKind>,
}

/// Scan events for the domain's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use chrono::{DateTime, Utc};

    use super::{Decision, Direction, ScanEvent};
    use crate::domain::ids::{ResidentId, VenueId};

    /// A scan event of `who` at `venue`'s one test gate at `at`, with no temperature.
    pub fn event(
        who: &str,
        venue: &str,
        direction: Direction,
        decision: Decision,
        at: DateTime<Utc>,
    ) -> ScanEvent {
        ScanEvent {
            id: uuid::Uuid::now_v7().to_string(),
            resident_id: ResidentId::parse(who).unwrap_or_else(|e| panic!("{e}")),
            venue_id: VenueId::parse(venue).unwrap_or_else(|e| panic!("{e}")),
            gate: crate::domain::venue::fixtures::gate(),
            direction,
            temperature_c: None,
            scan_time: at,
            server_time: at,
            client_time: None,
            decision,
            reason: None,
            visit_id: None,
            host: None,
            tags: Vec::new(),
            direction_inferred: false,
            venue_kind: None,
        }
    }
}
