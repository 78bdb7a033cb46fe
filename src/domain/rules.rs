//! The visit rules of the contract, as one pure function: given a person's open visit and one
//! scan, what is decided and which visits change.
//!
//! Rule numbers refer to `CONTRACT.md`, "Visit rules". Rule 6 (idempotency) is kept by the scan
//! service around this function; rule 7 (a late scan put in its place) is in `rederive`, which
//! applies these same rules again to the scans from the late one's time on.

use chrono::{DateTime, Utc};

use super::ids::{Gate, ResidentId, VenueId};
use super::scan::{Decision, DenyReason, Direction, ScanEvent, Temperature};
use super::venue::{EntryPolicy, Venue, VenueKind};
use super::visit::{ClosedBy, Visit};

/// The fever threshold of the contract (visit rule 5): 37.3 °C and above is a fever.
pub const DEFAULT_FEVER_THRESHOLD_C: f64 = 37.3;

/// Settings that the rules read.
#[derive(Debug, Clone, Default)]
pub struct ScanPolicy {
    /// A check-in at or above this temperature, °C, is denied with `fever` (contract, visit
    /// rule 5: 37.3; configurable).
    pub fever_threshold_c: Option<f64>,
    /// Per venue kind, a threshold that replaces `fever_threshold_c` there.
    pub fever_threshold_by_kind: Vec<(VenueKind, f64)>,
    /// Venue kinds where a check-in without a temperature is denied with
    /// `temperature_required` (none by default).
    pub temperature_required: Vec<VenueKind>,
}

impl ScanPolicy {
    /// The fever threshold at venues of `kind`, °C.
    pub fn fever_threshold(&self, kind: VenueKind) -> f64 {
        self.fever_threshold_by_kind
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, c)| *c)
            .or(self.fever_threshold_c)
            .unwrap_or(DEFAULT_FEVER_THRESHOLD_C)
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
    /// The scanning person's registered home compound, if any: a `residents_only` venue
    /// admits a check-in only when this is the venue or the venue's parent.
    pub home: Option<&'a VenueId>,
    /// The venue's parent, when the venue is a sub-location: leaving a building puts the
    /// person back in its compound.
    pub parent: Option<&'a Venue>,
    /// The host of a visitor pass that admits this person here now, if any: a
    /// `residents_only` venue admits them, and the visit names the host.
    pub visitor_host: Option<&'a ResidentId>,
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

/// How a scan is judged when it arrives: its direction and its decision. A scan is judged
/// once; when a late scan makes the person's visits be derived again (contract, visit rule 7),
/// each later scan keeps its decision and only its place among the visits is redone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// Which way the scan goes.
    pub direction: Direction,
    /// True when the client gave no direction and the person's state chose it (out if
    /// checked in here): a re-derivation chooses it again from the state it meets.
    pub direction_inferred: bool,
    /// Admitted or denied.
    pub decision: Decision,
    /// Why it was denied.
    pub reason: Option<DenyReason>,
}

/// The direction a scan with none given takes: out when the person is checked in at this
/// venue at the scan's time, else in.
pub fn inferred_direction(open: Option<&Visit>, venue: &Venue, at: DateTime<Utc>) -> Direction {
    match open.map(|v| v.as_of(at)) {
        Some(v) if v.is_open() && v.venue_id == venue.id => Direction::Out,
        _ => Direction::In,
    }
}

/// Judges one scan against the person's open visit as stored: the direction (asked, or
/// inferred) and the decision (rule 5 fevers, temperatures required, `residents_only` venues).
pub fn judge(open: Option<&Visit>, scan: &ScanInput<'_>, policy: &ScanPolicy) -> Judgement {
    let venue = scan.venue;
    let direction = scan
        .direction
        .unwrap_or_else(|| inferred_direction(open, venue, scan.scan_time));
    let fever = scan
        .temperature
        .is_some_and(|c| c.celsius() >= policy.fever_threshold(venue.kind));
    let unmeasured =
        scan.temperature.is_none() && policy.temperature_required.contains(&venue.kind);
    let entering = direction == Direction::In || venue.kind == VenueKind::Checkpoint;
    // A residents-only venue admits its residents (check-outs are never refused).
    let outsider = direction == Direction::In
        && venue.kind != VenueKind::Checkpoint
        && venue.entry_policy == EntryPolicy::ResidentsOnly
        && scan.home != Some(venue.place())
        && scan.visitor_host.is_none();
    let (decision, reason) = if entering && fever {
        // Rule 5: denied, and the scan itself changes no visit.
        (Decision::Denied, Some(DenyReason::Fever))
    } else if entering && unmeasured {
        (Decision::Denied, Some(DenyReason::TemperatureRequired))
    } else if outsider {
        (Decision::Denied, Some(DenyReason::NotAResident))
    } else {
        (Decision::Admitted, None)
    };
    Judgement {
        direction,
        direction_inferred: scan.direction.is_none(),
        decision,
        reason,
    }
}

/// Applies the visit rules to one scan. `open` is the person's open visit as stored (at most
/// one exists: rule 2 closes any other).
pub fn decide(open: Option<&Visit>, scan: &ScanInput<'_>, policy: &ScanPolicy) -> Outcome {
    apply(open, scan, judge(open, scan, policy))
}

/// Applies a judged scan to the person's open visit (as stored): rules 1 to 4 for an admitted
/// scan; a denied one changes no visit. Either way an open visit already past its maximum stay
/// is written closed (rule 4).
pub fn apply(open: Option<&Visit>, scan: &ScanInput<'_>, judged: Judgement) -> Outcome {
    let t = scan.scan_time;
    let venue = scan.venue;
    let Judgement {
        direction,
        direction_inferred,
        decision,
        reason,
    } = judged;
    // Rule 4: an open visit past its maximum stay is already closed at check_in + max_stay.
    let current = open.map(|v| v.as_of(t));
    let (auto_closed, still_open) = match current {
        Some(v) if v.is_open() => (None, Some(v)),
        Some(v) => (Some(v), None),
        None => (None, None),
    };
    // A visit already past its maximum stay is written closed whatever this scan decides, so
    // the stored open visit always agrees with rule 4.
    let mut changed: Vec<Visit> = auto_closed.into_iter().collect();
    let mut open_after = still_open.clone();
    let visit_id = if decision == Decision::Denied {
        None
    } else {
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
                    // ... and out of a building is back in its compound.
                    if let Some(parent) = scan.parent.filter(|p| p.kind != VenueKind::Checkpoint) {
                        let back = visit_at(scan, parent, t);
                        open_after = Some(back.clone());
                        changed.push(back);
                    }
                    id
                }
                // Out of a compound's gate straight from one of its buildings: the building
                // visit ends here, with no visit of unknown start at the compound.
                Some(v) if v.parent.as_ref() == Some(&venue.id) => {
                    open_after = None;
                    let closed = close(v, t, None, ClosedBy::CheckOut);
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
        Some(id)
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
        host: scan.visitor_host.cloned(),
        tags: Vec::new(),
        direction_inferred,
        venue_kind: Some(venue.kind),
    };
    Outcome {
        event,
        changed,
        open_after,
    }
}

/// A visit to `venue` (the scanned venue's parent) opened at `at` with no gate scanned.
fn visit_at(scan: &ScanInput<'_>, venue: &Venue, at: DateTime<Utc>) -> Visit {
    Visit {
        id: Visit::new_id(),
        resident_id: scan.resident_id.clone(),
        venue_id: venue.id.clone(),
        gate_in: None,
        gate_out: None,
        check_in: Some(at),
        check_out: None,
        closed_by: None,
        start_inferred: false,
        max_stay_seconds: venue.max_stay().num_seconds(),
        parent: venue.parent.clone(),
        host: scan.visitor_host.cloned(),
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
        parent: scan.venue.parent.clone(),
        host: scan.visitor_host.cloned(),
    }
}

/// Closes `visit` at `at`. A scan older than the check-in (which rule 7's re-derivation never
/// passes, but a caller could) closes it at its check-in, so a visit never ends before it
/// begins.
fn close(visit: Visit, at: DateTime<Utc>, gate_out: Option<Gate>, by: ClosedBy) -> Visit {
    let at = visit.check_in.map_or(at, |start| at.max(start));
    Visit {
        check_out: Some(at),
        closed_by: Some(by),
        gate_out,
        ..visit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::venue::fixtures::{gate, venue};
    use crate::domain::venue::EntryPolicy;
    use crate::domain::VenueId;
    use chrono::Duration;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(18_308) + Duration::minutes(minutes)
    }

    fn scan(
        who: &ResidentId,
        venue: &Venue,
        direction: Option<Direction>,
        minutes: i64,
        temp: Option<f64>,
    ) -> Outcome {
        let g = gate();
        let input = ScanInput {
            resident_id: who,
            venue,
            gate: &g,
            direction,
            temperature: temp.map(|t| Temperature::parse(t).unwrap_or_else(|e| panic!("{e}"))),
            scan_time: at(minutes),
            server_time: at(minutes),
            client_time: None,
            home: None,
            parent: None,
            visitor_host: None,
        };
        decide(None, &input, &ScanPolicy::default())
    }

    fn then(open: &Outcome, who: &ResidentId, v: &Venue, d: Direction, minutes: i64) -> Outcome {
        let g = gate();
        let input = ScanInput {
            resident_id: who,
            venue: v,
            gate: &g,
            direction: Some(d),
            temperature: None,
            scan_time: at(minutes),
            server_time: at(minutes),
            client_time: None,
            home: None,
            parent: None,
            visitor_host: None,
        };
        decide(open.open_after.as_ref(), &input, &ScanPolicy::default())
    }

    fn person() -> ResidentId {
        ResidentId::parse("R1").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_second_check_in_at_the_same_venue_changes_nothing() {
        let (p, shop) = (person(), venue("S1", VenueKind::Shop));
        let first = scan(&p, &shop, Some(Direction::In), 0, None);
        let dup = then(&first, &p, &shop, Direction::In, 10);
        assert!(dup.changed.is_empty());
        assert_eq!(dup.event.visit_id, first.event.visit_id);
        assert_eq!(dup.open_after, first.open_after);
    }

    #[test]
    fn a_check_in_elsewhere_closes_the_open_visit_at_that_time() {
        let (p, a, b) = (
            person(),
            venue("A", VenueKind::Shop),
            venue("B", VenueKind::Market),
        );
        let first = scan(&p, &a, Some(Direction::In), 0, None);
        let next = then(&first, &p, &b, Direction::In, 30);
        assert_eq!(next.changed.len(), 2);
        assert_eq!(next.changed[0].check_out, Some(at(30)));
        assert_eq!(next.changed[0].closed_by, Some(ClosedBy::NextCheckIn));
        assert_eq!(next.open_after.map(|v| v.venue_id), Some(b.id));
    }

    #[test]
    fn an_open_visit_past_its_stay_is_closed_at_check_in_plus_stay_by_the_next_scan() {
        let (p, a, b) = (
            person(),
            venue("A", VenueKind::Restaurant),
            venue("B", VenueKind::Shop),
        );
        let first = scan(&p, &a, Some(Direction::In), 0, None);
        let next = then(&first, &p, &b, Direction::In, 500);
        assert_eq!(next.changed[0].check_out, Some(at(180)));
        assert_eq!(next.changed[0].closed_by, Some(ClosedBy::Auto));
    }

    #[test]
    fn a_check_out_without_a_check_in_infers_its_start_and_leaves_other_visits_open() {
        let (p, home, shop) = (
            person(),
            venue("H", VenueKind::ResidentialCompound),
            venue("S", VenueKind::Shop),
        );
        let first = scan(&p, &home, Some(Direction::In), 0, None);
        let out = then(&first, &p, &shop, Direction::Out, 60);
        assert_eq!(out.changed.len(), 1);
        let v = &out.changed[0];
        assert_eq!(
            (v.check_in, v.check_out, v.start_inferred),
            (None, Some(at(60)), true)
        );
        assert_eq!(v.start(), at(60 - 120));
        assert_eq!(out.open_after, first.open_after);
    }

    #[test]
    fn a_fever_is_denied_at_the_threshold_and_not_below() {
        let (p, shop) = (person(), venue("S", VenueKind::Shop));
        let hot = scan(&p, &shop, Some(Direction::In), 0, Some(37.3));
        let fine = scan(&p, &shop, Some(Direction::In), 0, Some(37.2));
        assert_eq!(hot.event.reason, Some(DenyReason::Fever));
        assert!(hot.changed.is_empty() && hot.open_after.is_none());
        assert_eq!(fine.event.decision, Decision::Admitted);
    }

    #[test]
    fn a_denied_scan_still_writes_an_auto_close_that_was_due() {
        let (p, shop, market) = (
            person(),
            venue("S", VenueKind::Shop),
            venue("M", VenueKind::Market),
        );
        let first = scan(&p, &shop, Some(Direction::In), 0, None);
        let g = gate();
        let hot = decide(
            first.open_after.as_ref(),
            &ScanInput {
                resident_id: &p,
                venue: &market,
                gate: &g,
                direction: Some(Direction::In),
                temperature: Temperature::parse(38.0).ok(),
                scan_time: at(300),
                server_time: at(300),
                client_time: None,
                home: None,
                parent: None,
                visitor_host: None,
            },
            &ScanPolicy::default(),
        );
        assert_eq!(hot.event.decision, Decision::Denied);
        assert_eq!(hot.changed.len(), 1);
        assert_eq!(hot.changed[0].closed_by, Some(ClosedBy::Auto));
        assert!(hot.open_after.is_none());
    }

    #[test]
    fn a_check_out_with_a_fever_is_still_let_out() {
        let (p, shop) = (person(), venue("S", VenueKind::Shop));
        let out = scan(&p, &shop, Some(Direction::Out), 0, Some(38.5));
        assert_eq!(out.event.decision, Decision::Admitted);
    }

    #[test]
    fn a_scan_older_than_the_open_check_in_never_closes_it_before_it_began() {
        let (p, a, b) = (
            person(),
            venue("A", VenueKind::Shop),
            venue("B", VenueKind::Shop),
        );
        let first = scan(&p, &a, Some(Direction::In), 60, None);
        let late = then(&first, &p, &b, Direction::In, 30);
        assert_eq!(late.changed[0].check_out, Some(at(60)));
    }

    /// A scan by a person with no open visit, at minute 0.
    fn fresh_scan(
        v: &Venue,
        d: Direction,
        home: Option<&VenueId>,
        temp: Option<f64>,
        policy: &ScanPolicy,
    ) -> Outcome {
        let g = gate();
        let who = person();
        let input = ScanInput {
            resident_id: &who,
            venue: v,
            gate: &g,
            direction: Some(d),
            temperature: temp.map(|t| Temperature::parse(t).unwrap_or_else(|e| panic!("{e}"))),
            scan_time: at(0),
            server_time: at(0),
            client_time: None,
            home,
            parent: None,
            visitor_host: None,
        };
        decide(None, &input, policy)
    }

    #[test]
    fn a_residents_only_venue_admits_its_residents_and_never_refuses_a_check_out() {
        let mut compound = venue("C1", VenueKind::ResidentialCompound);
        compound.entry_policy = EntryPolicy::ResidentsOnly;
        let mut building = venue("C1-B1", VenueKind::ResidentialCompound);
        building.entry_policy = EntryPolicy::ResidentsOnly;
        building.parent = Some(compound.id.clone());
        let (home, elsewhere) = (
            compound.id.clone(),
            VenueId::parse("C2").unwrap_or_else(|e| panic!("{e}")),
        );
        let scan = |v: &Venue, d: Direction, home: Option<&VenueId>, temp: Option<f64>| {
            fresh_scan(v, d, home, temp, &ScanPolicy::default())
        };

        let resident = scan(&compound, Direction::In, Some(&home), None);
        let in_building = scan(&building, Direction::In, Some(&home), None);
        let outsider = scan(&compound, Direction::In, Some(&elsewhere), None);
        let stranger = scan(&compound, Direction::In, None, None);
        let leaving = scan(&compound, Direction::Out, Some(&elsewhere), None);
        let feverish = scan(&compound, Direction::In, None, Some(38.5));

        assert_eq!(resident.event.decision, Decision::Admitted);
        assert_eq!(in_building.event.decision, Decision::Admitted);
        for denied in [&outsider, &stranger] {
            assert_eq!(denied.event.decision, Decision::Denied);
            assert_eq!(denied.event.reason, Some(DenyReason::NotAResident));
            assert!(denied.changed.is_empty() && denied.open_after.is_none());
        }
        assert_eq!(leaving.event.decision, Decision::Admitted);
        assert_eq!(feverish.event.reason, Some(DenyReason::Fever));
    }

    #[test]
    fn a_kind_may_require_a_temperature_and_set_its_own_threshold() {
        let policy = ScanPolicy {
            fever_threshold_c: Some(37.3),
            fever_threshold_by_kind: vec![(VenueKind::Checkpoint, 37.0)],
            temperature_required: vec![VenueKind::Market],
        };
        let market = venue("M1", VenueKind::Market);
        let checkpoint = venue("K1", VenueKind::Checkpoint);
        let scan = |v: &Venue, d: Direction, temp: Option<f64>| {
            fresh_scan(v, d, None, temp, &policy).event
        };

        let unmeasured = scan(&market, Direction::In, None);
        let measured = scan(&market, Direction::In, Some(36.6));
        let leaving = scan(&market, Direction::Out, None);
        let warm_at_checkpoint = scan(&checkpoint, Direction::In, Some(37.1));
        let warm_at_market = scan(&market, Direction::In, Some(37.1));

        assert_eq!(unmeasured.reason, Some(DenyReason::TemperatureRequired));
        assert_eq!(measured.decision, Decision::Admitted);
        assert_eq!(
            leaving.decision,
            Decision::Admitted,
            "check-outs need no reading"
        );
        assert_eq!(warm_at_checkpoint.reason, Some(DenyReason::Fever));
        assert_eq!(warm_at_market.decision, Decision::Admitted);
    }
}
