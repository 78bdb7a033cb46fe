//! The visit rules of the contract, as one pure function: given a person's open visit and one
//! scan, what is decided and which visits change.
//!
//! Rule numbers refer to `CONTRACT.md`, "Visit rules". Rule 6 (idempotency) is kept by the scan
//! service around this function; rule 7 (late scans re-derived) comes with the reliability work:
//! until then scans are applied in arrival order.

use chrono::{DateTime, Utc};

use super::ids::{Gate, ResidentId};
use super::scan::{Decision, DenyReason, Direction, ScanEvent, Temperature};
use super::venue::{Venue, VenueKind};
use super::visit::{ClosedBy, Visit};

/// The fever threshold of the contract (visit rule 5): 37.3 °C and above is a fever.
pub const DEFAULT_FEVER_THRESHOLD_C: f64 = 37.3;

/// Settings that the rules read.
#[derive(Debug, Clone, Copy)]
pub struct ScanPolicy {
    /// A check-in at or above this temperature, °C, is denied with `fever`.
    pub fever_threshold_c: f64,
}

impl Default for ScanPolicy {
    fn default() -> Self {
        Self {
            fever_threshold_c: DEFAULT_FEVER_THRESHOLD_C,
        }
    }
}

/// One scan, parsed and resolved: the venue exists and the gate is one of its gates.
#[derive(Debug, Clone)]
pub struct ScanInput<'a> {
    /// Who scans.
    pub resident_id: &'a ResidentId,
    /// The venue on the code.
    pub venue: &'a Venue,
    /// The gate on the code.
    pub gate: &'a Gate,
    /// The direction asked for; `None` lets the person's state decide (out if checked in here).
    pub direction: Option<Direction>,
    /// The temperature given.
    pub temperature: Option<Temperature>,
    /// The scan's time (`client_time` if accepted, else `server_time`), UTC.
    pub scan_time: DateTime<Utc>,
    /// The server's time at receipt, UTC.
    pub server_time: DateTime<Utc>,
    /// The client's time, when given.
    pub client_time: Option<DateTime<Utc>>,
}

/// What one scan decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The event to record (always recorded, admitted or denied).
    pub event: ScanEvent,
    /// Visits to write, whole, by id: opened, closed, or newly made.
    pub changed: Vec<Visit>,
    /// The person's open visit after this scan, if any.
    pub open_after: Option<Visit>,
}

/// Applies the visit rules to one scan. `open` is the person's open visit as stored (at most
/// one exists: rule 2 closes any other).
pub fn decide(open: Option<&Visit>, scan: &ScanInput<'_>, policy: &ScanPolicy) -> Outcome {
    let t = scan.scan_time;
    let venue = scan.venue;
    // Rule 4: an open visit past its maximum stay is already closed at check_in + max_stay.
    let current = open.map(|v| v.as_of(t));
    let (auto_closed, still_open) = match current {
        Some(v) if v.is_open() => (None, Some(v)),
        Some(v) => (Some(v), None),
        None => (None, None),
    };
    let open_here = still_open.as_ref().filter(|v| v.venue_id == venue.id);
    let direction = scan.direction.unwrap_or(if open_here.is_some() {
        Direction::Out
    } else {
        Direction::In
    });
    let fever = scan
        .temperature
        .is_some_and(|c| c.celsius() >= policy.fever_threshold_c);
    let entering = direction == Direction::In || venue.kind == VenueKind::Checkpoint;

    let mut changed = Vec::new();
    let mut open_after = still_open.clone();
    let (decision, reason, visit_id) = if entering && fever {
        // Rule 5: denied, and no visit changes.
        (Decision::Denied, Some(DenyReason::Fever), None)
    } else {
        changed.extend(auto_closed);
        let id = if venue.kind == VenueKind::Checkpoint {
            // Rule 4: a pass opens and closes at once and closes no other visit.
            let pass = new_visit(scan, Some(t), Some(t), Some(ClosedBy::Pass), false);
            let id = pass.id.clone();
            changed.push(pass);
            id
        } else if direction == Direction::In {
            match still_open {
                // Rule 1: already checked in here: the same visit, nothing new.
                Some(v) if v.venue_id == venue.id => v.id,
                other => {
                    // Rule 2: an open visit elsewhere closes at this check-in's time.
                    if let Some(prev) = other {
                        changed.push(close(prev, t, None, ClosedBy::NextCheckIn));
                    }
                    let visit = new_visit(scan, Some(t), None, None, false);
                    open_after = Some(visit.clone());
                    changed.push(visit.clone());
                    visit.id
                }
            }
        } else {
            match still_open {
                // Rule 3: a check-out closes the open visit here ...
                Some(v) if v.venue_id == venue.id => {
                    open_after = None;
                    let closed = close(v, t, Some(scan.gate.clone()), ClosedBy::CheckOut);
                    let id = closed.id.clone();
                    changed.push(closed);
                    id
                }
                // ... or, with none open here, is kept as a visit with an inferred start.
                _ => {
                    let visit = new_visit(scan, None, Some(t), Some(ClosedBy::CheckOut), true);
                    let id = visit.id.clone();
                    changed.push(visit);
                    id
                }
            }
        };
        (Decision::Admitted, None, Some(id))
    };

    let event = ScanEvent {
        id: uuid::Uuid::now_v7().to_string(),
        resident_id: scan.resident_id.clone(),
        venue_id: venue.id.clone(),
        gate: scan.gate.clone(),
        direction,
        temperature_c: scan.temperature,
        scan_time: t,
        server_time: scan.server_time,
        client_time: scan.client_time,
        decision,
        reason,
        visit_id,
    };
    Outcome {
        event,
        changed,
        open_after,
    }
}

fn new_visit(
    scan: &ScanInput<'_>,
    check_in: Option<DateTime<Utc>>,
    check_out: Option<DateTime<Utc>>,
    closed_by: Option<ClosedBy>,
    start_inferred: bool,
) -> Visit {
    Visit {
        id: Visit::new_id(),
        resident_id: scan.resident_id.clone(),
        venue_id: scan.venue.id.clone(),
        gate_in: check_in.map(|_| scan.gate.clone()),
        gate_out: check_out.map(|_| scan.gate.clone()),
        check_in,
        check_out,
        closed_by,
        start_inferred,
        max_stay_seconds: scan.venue.max_stay().num_seconds(),
    }
}

/// Closes `visit` at `at`. A scan older than the check-in (possible only when scans arrive out
/// of order, before rule 7 is in force) closes it at its check-in, so a visit never ends before
/// it begins.
fn close(visit: Visit, at: DateTime<Utc>, gate_out: Option<Gate>, by: ClosedBy) -> Visit {
    let at = visit.check_in.map_or(at, |start| at.max(start));
    Visit {
        check_out: Some(at),
        closed_by: Some(by),
        gate_out,
        ..visit
    }
}
