//! Late scans (contract, visit rule 7): a person's visits are what that person's scans give
//! in scan-time order, whatever order they arrive in. A scan older than one already applied
//! (an offline phone's queue, sent later) is put in its place, and the person's visits from
//! that time on are derived again.
//!
//! The stored visits are taken to be the derivation of the stored scans in time order (every
//! late scan keeps it so). The visits before the late scan's time `t` then stand; the visit
//! the person was in just before `t` is opened again; and the stored scans from `t` on are
//! applied again, with the late one in its place (after scans of the same time, which arrived
//! first). A scan keeps the decision it was given when it arrived (a fever stays a fever),
//! unless its direction was chosen by the person's state and is now chosen the other way: then
//! it is judged again as the scan it has become (a fever at a check-out is no denial). A visit
//! a stored scan makes again keeps the maximum stay it began with, and a visit the derivation
//! gives again keeps its id; one it no longer gives is removed.
//!
//! Left as they are: the stored scans' events (their `visit_id` says what the scan was
//! answered), and visits imported from another system, which no scan made (a visit counts as
//! made by a scan when its check-in, or for an inferred start its check-out, is the time of
//! one of the person's scans).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::rules::{
    apply, decide, inferred_direction, judge, Judgement, Outcome, ScanInput, ScanPolicy,
};
use super::scan::ScanEvent;
use super::venue::{Venue, VenueKind};
use super::visit::{ClosedBy, Visit};

/// The venues of a person's scans (and their parents), by id.
pub type Venues = HashMap<String, Venue>;

/// What a late scan changes: its own outcome with every visit the derivation changed, and the
/// visits it removed.
#[derive(Debug, Clone, PartialEq)]
pub struct Rederived {
    /// The late scan's event; `changed` holds every visit written again or new (not only the
    /// late scan's own), `open_after` the person's open visit after all their scans.
    pub outcome: Outcome,
    /// The visits of the late scan alone, as it met the person (for alerts it raises).
    pub own_changes: Vec<Visit>,
    /// Stored visits the derivation no longer gives.
    pub removed: Vec<Visit>,
    /// Each stored scan applied again: its event as now judged (its own id and tags kept) and
    /// the visits it changed, for the alerts it raises now (an alert is kept once per scan).
    pub replayed: Vec<(ScanEvent, Vec<Visit>)>,
}

/// Whether a scan at `t` is late: older than the person's latest applied scan.
pub fn is_late(t: DateTime<Utc>, latest: Option<DateTime<Utc>>) -> bool {
    latest.is_some_and(|l| t < l)
}

/// The time a visit was made at: its check-in, or for a visit with an inferred start its
/// check-out (the scan that made it).
fn made_at(v: &Visit) -> Option<DateTime<Utc>> {
    v.check_in.or(v.check_out)
}

/// The visit the person was in just before `t`, as stored: checked in before `t`, and open,
/// or closed at `t` or later (by a scan that is applied again). A pass is never open.
fn open_before(stored: &[Visit], t: DateTime<Utc>) -> Option<&Visit> {
    stored
        .iter()
        .filter(|v| v.closed_by != Some(ClosedBy::Pass) && !v.start_inferred)
        .filter(|v| v.check_in.is_some_and(|ci| ci < t))
        .filter(|v| v.check_out.is_none_or(|out| out >= t))
        .max_by_key(|v| (v.check_in, v.id.clone()))
}

/// Derives a person's visits again around the late scan `late` (its `scan_time` is older than
/// the person's latest applied scan).
///
/// `stored` holds the person's stored visits made from `late.scan_time - 7 days` on (at least
/// every visit open across that time); `events` the person's stored scan events in the order
/// recorded; `venues` the venues of those events from `late.scan_time` on and their parents.
/// An event whose venue is missing from `venues` (since deleted) is left out.
pub fn rederive(
    late: &ScanInput<'_>,
    policy: &ScanPolicy,
    stored: &[Visit],
    events: &[ScanEvent],
    venues: &Venues,
) -> Rederived {
    let t = late.scan_time;
    // Only visits the person's scans made (at one of their scans' times) are derived again;
    // a visit imported from another system is left as it is.
    let scanned: HashSet<DateTime<Utc>> = events.iter().map(|e| e.scan_time).collect();
    let made: Vec<Visit> = stored
        .iter()
        .filter(|v| made_at(v).is_some_and(|m| scanned.contains(&m)))
        .cloned()
        .collect();
    let stored = &made[..];
    let before = open_before(stored, t);
    let old: Vec<&Visit> = stored
        .iter()
        .filter(|v| made_at(v).is_some_and(|m| m >= t) || before.is_some_and(|b| b.id == v.id))
        .collect();
    let mut state: Option<Visit> = before.map(|b| Visit {
        check_out: None,
        closed_by: None,
        gate_out: None,
        ..b.clone()
    });
    // The stored scans from `t` on, by time; a stable sort keeps arrival order within a time.
    let mut later: Vec<&ScanEvent> = events.iter().filter(|e| e.scan_time >= t).collect();
    later.sort_by_key(|e| e.scan_time);
    let place = later.partition_point(|e| e.scan_time <= t);

    let mut derived: Vec<Visit> = state.iter().cloned().collect();
    let mut own: Option<Outcome> = None;
    let mut replayed = Vec::new();
    let stays: HashMap<&str, Then> = stored
        .iter()
        .map(|v| {
            let then = Then {
                stay_seconds: v.max_stay_seconds,
                pass: v.closed_by == Some(ClosedBy::Pass),
            };
            (v.id.as_str(), then)
        })
        .collect();
    let again = |open: Option<&Visit>, event: &ScanEvent| {
        again(open, event, venues, &stays, policy, late.home)
    };
    for (i, event) in later.iter().enumerate() {
        if i == place {
            let outcome = decide(state.as_ref(), late, policy);
            note(&outcome, &mut derived);
            state.clone_from(&outcome.open_after);
            own = Some(outcome);
        }
        if let Some(outcome) = again(state.as_ref(), event) {
            note(&outcome, &mut derived);
            let now_judged = ScanEvent {
                id: event.id.clone(),
                tags: event.tags.clone(),
                ..outcome.event
            };
            replayed.push((now_judged, outcome.changed));
            state = outcome.open_after;
        }
    }
    let mut own = match own {
        Some(o) => o,
        None => {
            let outcome = decide(state.as_ref(), late, policy);
            note(&outcome, &mut derived);
            state.clone_from(&outcome.open_after);
            outcome
        }
    };

    // A derived visit that is a stored one (same venue, made at the same time the same way)
    // takes its id.
    let mut renamed: HashMap<String, String> = HashMap::new();
    let mut taken: Vec<String> = derived.iter().map(|d| d.id.clone()).collect();
    for d in &mut derived {
        if old.iter().any(|o| o.id == d.id) {
            continue;
        }
        let same = old.iter().find(|o| {
            !taken.contains(&o.id)
                && o.venue_id == d.venue_id
                && o.start_inferred == d.start_inferred
                && made_at(o) == made_at(d)
                && (o.closed_by == Some(ClosedBy::Pass)) == (d.closed_by == Some(ClosedBy::Pass))
        });
        if let Some(o) = same {
            renamed.insert(d.id.clone(), o.id.clone());
            taken.push(o.id.clone());
            d.id.clone_from(&o.id);
        }
    }
    let rename = |v: &mut Visit| {
        if let Some(id) = renamed.get(&v.id) {
            v.id.clone_from(id);
        }
    };
    let mut open_after = state;
    if let Some(v) = open_after.as_mut() {
        rename(v);
    }
    if let Some(id) = own.event.visit_id.as_mut() {
        if let Some(new) = renamed.get(id) {
            id.clone_from(new);
        }
    }
    let mut own_changes = own.changed.clone();
    own_changes.iter_mut().for_each(rename);

    let removed: Vec<Visit> = old
        .iter()
        .filter(|o| !derived.iter().any(|d| d.id == o.id))
        .map(|o| (*o).clone())
        .collect();
    let changed: Vec<Visit> = derived.into_iter().filter(|d| !old.contains(&d)).collect();
    own.changed = changed;
    own.open_after = open_after;
    Rederived {
        outcome: own,
        own_changes,
        removed,
        replayed,
    }
}

/// Keeps the visits `outcome` wrote in `derived`, replacing earlier versions by id.
fn note(outcome: &Outcome, derived: &mut Vec<Visit>) {
    for v in &outcome.changed {
        match derived.iter_mut().find(|d| d.id == v.id) {
            Some(d) => *d = v.clone(),
            None => derived.push(v.clone()),
        }
    }
}

/// What the visit a stored scan made says of its venue when the scan arrived.
struct Then {
    /// The visit's maximum stay, seconds.
    stay_seconds: i64,
    /// Whether it was a pass, made while the venue was a checkpoint.
    pass: bool,
}

/// Applies a stored scan again to the person's open visit. Its decision stands, and its
/// direction too unless the person's state chose it; a scan whose chosen direction turns is
/// judged again (with `policy` and the person's `home`). The venue is taken as it was when the
/// scan arrived, where the store kept it (an admin may have changed it since): its kind, from
/// the event, and the maximum stay of the visit the scan made (`stays`, by visit id). `None`
/// when its venue is gone.
fn again(
    open: Option<&Visit>,
    event: &ScanEvent,
    venues: &Venues,
    stays: &HashMap<&str, Then>,
    policy: &ScanPolicy,
    home: Option<&super::ids::VenueId>,
) -> Option<Outcome> {
    let current = venues.get(event.venue_id.as_str())?;
    let then = event.visit_id.as_deref().and_then(|id| stays.get(id));
    // The kind the event kept; for an event from before kinds were kept, a pass tells of a
    // checkpoint, else the kind now.
    let kind = match (event.venue_kind, then) {
        (Some(kind), _) => kind,
        (None, Some(t)) if t.pass => VenueKind::Checkpoint,
        (None, _) => current.kind,
    };
    let stay = then.map(|t| t.stay_seconds);
    let venue: Cow<'_, Venue> =
        if kind != current.kind || stay.is_some_and(|s| s != current.max_stay().num_seconds()) {
            let mut venue = current.clone();
            venue.kind = kind;
            if let Some(seconds) = stay {
                venue.max_stay_minutes = u32::try_from(seconds / 60).ok();
            }
            Cow::Owned(venue)
        } else {
            Cow::Borrowed(current)
        };
    let parent = venue.parent.as_ref().and_then(|p| venues.get(p.as_str()));
    let direction = if event.direction_inferred {
        inferred_direction(open, &venue, event.scan_time)
    } else {
        event.direction
    };
    let input = ScanInput {
        resident_id: &event.resident_id,
        venue: &venue,
        gate: &event.gate,
        direction: Some(direction),
        temperature: event.temperature_c,
        scan_time: event.scan_time,
        server_time: event.server_time,
        client_time: event.client_time,
        home,
        parent,
        visitor_host: event.host.as_ref(),
    };
    let judged = if direction == event.direction {
        Judgement {
            direction,
            direction_inferred: event.direction_inferred,
            decision: event.decision,
            reason: event.reason,
        }
    } else {
        Judgement {
            direction_inferred: true,
            ..judge(open, &input, policy)
        }
    };
    Some(apply(open, &input, judged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::ResidentId;
    use crate::domain::scan::{Direction, Temperature};
    use crate::domain::venue::fixtures::{gate, venue};
    use chrono::Duration;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(18_308) + Duration::minutes(minutes)
    }

    /// A scan: venue, direction asked, minute, temperature.
    type Scan<'a> = (&'a str, Option<Direction>, i64, Option<f64>);

    /// One person's store, as a store keeps it: visits by id, events as recorded, the open
    /// visit and the latest scan time; scans applied as the scan service applies them.
    #[derive(Default)]
    struct Person {
        visits: Vec<Visit>,
        events: Vec<ScanEvent>,
        open: Option<Visit>,
        latest: Option<DateTime<Utc>>,
    }

    impl Person {
        fn arrive(&mut self, venues: &Venues, scan: &Scan<'_>) {
            let who = ResidentId::parse("R00001").unwrap_or_else(|e| panic!("{e}"));
            let (place, direction, minute, celsius) = *scan;
            let g = gate();
            let input = ScanInput {
                resident_id: &who,
                venue: &venues[place],
                gate: &g,
                direction,
                temperature: celsius
                    .map(|c| Temperature::parse(c).unwrap_or_else(|e| panic!("{e}"))),
                scan_time: at(minute),
                server_time: at(minute),
                client_time: None,
                home: None,
                parent: None,
                visitor_host: None,
            };
            let (outcome, removed) = if is_late(input.scan_time, self.latest) {
                let r = rederive(
                    &input,
                    &ScanPolicy::default(),
                    &self.visits,
                    &self.events,
                    venues,
                );
                (r.outcome, r.removed)
            } else {
                let o = decide(self.open.as_ref(), &input, &ScanPolicy::default());
                (o, Vec::new())
            };
            self.visits
                .retain(|v| !removed.iter().any(|r| r.id == v.id));
            note(&outcome, &mut self.visits);
            self.open = outcome.open_after;
            self.latest = self.latest.max(Some(input.scan_time));
            self.events.push(outcome.event);
        }

        /// The visits without their ids, by start.
        fn shapes(&self) -> Vec<String> {
            let mut all: Vec<String> = self
                .visits
                .iter()
                .map(|v| {
                    format!(
                        "{} {:?}..{:?} {:?} inferred={}",
                        v.venue_id, v.check_in, v.check_out, v.closed_by, v.start_inferred
                    )
                })
                .collect();
            all.sort();
            all
        }
    }

    fn town() -> Venues {
        [
            ("C", VenueKind::ResidentialCompound),
            ("S", VenueKind::Shop),
            ("T", VenueKind::Shop),
            ("K", VenueKind::Checkpoint),
        ]
        .into_iter()
        .map(|(id, kind)| (id.to_owned(), venue(id, kind)))
        .collect()
    }

    /// Every order of `scans` (in time order) gives the visits the time order gives.
    fn every_order_agrees(scans: &[Scan<'_>]) {
        let venues = town();
        let mut in_order = Person::default();
        scans.iter().for_each(|s| in_order.arrive(&venues, s));
        let want = in_order.shapes();
        let mut order: Vec<usize> = (0..scans.len()).collect();
        let mut tried = 0;
        loop {
            let mut p = Person::default();
            order.iter().for_each(|&i| p.arrive(&venues, &scans[i]));
            assert_eq!(p.shapes(), want, "arrival order {order:?}");
            let open = |x: &Person| x.open.as_ref().map(|v| (v.venue_id.clone(), v.check_in));
            assert_eq!(open(&p), open(&in_order), "arrival order {order:?}");
            tried += 1;
            // The next permutation, lexicographically.
            let Some(i) = (1..order.len()).rev().find(|&i| order[i - 1] < order[i]) else {
                break;
            };
            let j = (i..order.len())
                .rev()
                .find(|&j| order[j] > order[i - 1])
                .unwrap_or(i);
            order.swap(i - 1, j);
            order[i..].reverse();
        }
        assert!(tried > 1);
    }

    #[test]
    fn every_arrival_order_of_a_day_out_gives_the_visits_of_the_time_order() {
        use Direction::{In, Out};
        every_order_agrees(&[
            ("C", Some(Out), 0, None),
            ("S", Some(In), 60, None),
            ("T", Some(In), 90, None),
            ("T", Some(Out), 120, None),
            ("K", None, 125, None),
            ("S", Some(Out), 130, None),
            ("C", Some(In), 180, None),
        ]);
    }

    #[test]
    fn every_arrival_order_gives_the_same_visits_when_the_state_chooses_directions() {
        use Direction::In;
        every_order_agrees(&[
            ("S", None, 10, None),
            ("S", None, 20, None),
            ("T", Some(In), 30, None),
            ("S", None, 40, None),
            ("S", None, 50, None),
            ("T", None, 60, None),
        ]);
    }

    #[test]
    fn every_arrival_order_gives_the_same_visits_when_stays_run_past_their_maximum() {
        use Direction::{In, Out};
        // Shops keep a visit 2 h at most (rule 4).
        every_order_agrees(&[
            ("S", Some(In), 0, None),
            ("T", Some(In), 150, None),
            ("S", Some(Out), 200, None),
            ("S", Some(In), 390, None),
            ("C", Some(In), 400, None),
            ("C", None, 460, None),
        ]);
    }

    #[test]
    fn every_arrival_order_agrees_when_a_chosen_direction_turns_a_fever_into_a_check_out() {
        use Direction::{In, Out};
        every_order_agrees(&[
            ("S", Some(In), 10, None),
            ("S", Some(Out), 25, None),
            ("S", None, 40, Some(38.5)),
            ("S", None, 50, Some(36.5)),
            ("T", None, 60, Some(39.0)),
        ]);
    }

    #[test]
    fn a_visit_made_again_keeps_the_maximum_stay_it_began_with() {
        let mut venues = town();
        let mut p = Person::default();
        p.arrive(&venues, &("S", Some(Direction::In), 10, None));
        if let Some(s) = venues.get_mut("S") {
            s.max_stay_minutes = Some(30);
        }
        p.arrive(&venues, &("T", Some(Direction::In), 70, None));
        p.arrive(&venues, &("K", None, 5, None));
        let s = p.visits.iter().find(|v| v.venue_id.as_str() == "S");
        assert_eq!(s.map(|v| v.max_stay_seconds), Some(7_200));
        assert_eq!(s.and_then(|v| v.closed_by), Some(ClosedBy::NextCheckIn));
        assert_eq!(s.and_then(|v| v.check_out), Some(at(70)));
    }

    #[test]
    fn a_visit_no_scan_made_is_left_as_it_is() {
        let venues = town();
        let mut p = Person::default();
        p.arrive(&venues, &("S", Some(Direction::In), 100, None));
        // Imported from another system: no scan of this person at its times.
        let imported = Visit {
            id: "imported-1".into(),
            check_in: Some(at(110)),
            check_out: Some(at(120)),
            closed_by: Some(ClosedBy::CheckOut),
            venue_id: crate::domain::VenueId::parse("T").unwrap_or_else(|e| panic!("{e}")),
            ..p.visits[0].clone()
        };
        p.visits.push(imported.clone());
        p.arrive(&venues, &("S", Some(Direction::Out), 130, None));
        p.arrive(&venues, &("T", Some(Direction::In), 90, None));
        assert!(p.visits.contains(&imported), "{:?}", p.visits);
    }

    #[test]
    fn a_late_check_in_joins_the_check_out_it_precedes_and_keeps_nothing_of_the_guess() {
        let venues = town();
        let mut p = Person::default();
        p.arrive(&venues, &("S", Some(Direction::Out), 60, None));
        let guessed = p.visits[0].id.clone();
        assert!(p.visits[0].start_inferred);
        p.arrive(&venues, &("S", Some(Direction::In), 20, None));
        assert_eq!(p.visits.len(), 1, "{:?}", p.visits);
        assert_eq!(p.visits[0].check_in, Some(at(20)));
        assert_eq!(p.visits[0].check_out, Some(at(60)));
        assert_ne!(p.visits[0].id, guessed, "the guessed visit is removed");
    }

    #[test]
    fn a_visit_given_again_keeps_its_id() {
        let venues = town();
        let mut p = Person::default();
        p.arrive(&venues, &("S", Some(Direction::In), 10, None));
        p.arrive(&venues, &("S", Some(Direction::Out), 60, None));
        let id = p.visits[0].id.clone();
        p.arrive(&venues, &("T", Some(Direction::In), 30, None));
        let s = p.visits.iter().find(|v| v.venue_id.as_str() == "S");
        assert_eq!(s.map(|v| v.id.clone()), Some(id));
        assert_eq!(s.and_then(|v| v.closed_by), Some(ClosedBy::NextCheckIn));
        assert_eq!(
            p.visits.len(),
            3,
            "S closed at T, T open, S's check-out a guess"
        );
        assert_eq!(p.open.map(|v| v.venue_id.to_string()), Some("T".to_owned()));
    }
}
