//! Contacts of an index case, exactly as `CONTRACT.md`, "Contacts", defines them.
//!
//! For each visit of the index case P at venue v with interval [s, e] clipped to the window,
//! another person Q with a visit [s', e'] at v is a contact when
//! `max(s-b, s') <= min(e+b, e')` and `min(e+b, e') - max(s-b, s') >= m`, where b is the buffer
//! and m the minimum overlap. Overlaps are summed per person over all shared visits; open
//! visits end at the query's time or their auto close, whichever is first; an inferred start is
//! `check_out - max_stay`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::ids::{ResidentId, VenueId};
use super::visit::{ClosedBy, Visit};
use super::window::TimeWindow;

/// The parameters of one contact query.
#[derive(Debug, Clone, Copy)]
pub struct ContactQuery {
    /// The exposure window; P's visits are clipped to it.
    pub window: TimeWindow,
    /// `buffer_minutes`: how far P's intervals are widened on both sides.
    pub buffer: Duration,
    /// `min_overlap_minutes`: the shortest overlap that counts.
    pub min_overlap: Duration,
    /// The query's time: open visits end here at the latest.
    pub now: DateTime<Utc>,
}

/// One overlap between a visit of the index case and a visit of a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedVisit {
    /// The venue both were at.
    pub venue_id: VenueId,
    /// The index case's visit (none in a venue exposure report).
    pub index_visit_id: Option<String>,
    /// The contact's visit.
    pub contact_visit_id: String,
    /// Start of the overlap, `max(s-b, s')`.
    pub from: DateTime<Utc>,
    /// End of the overlap, `min(e+b, e')`.
    pub to: DateTime<Utc>,
    /// True when either interval rests on an inferred start or an automatic close.
    pub uncertain: bool,
}

impl SharedVisit {
    /// The overlap's length.
    pub fn length(&self) -> Duration {
        self.to - self.from
    }
}

/// A contact: another person and every overlap with the index case.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// Who.
    pub resident_id: ResidentId,
    /// The sum of all overlaps.
    pub overlap: Duration,
    /// The overlaps, in time order.
    pub shared: Vec<SharedVisit>,
    /// The earliest overlap start.
    pub first_contact: DateTime<Utc>,
    /// The latest overlap end.
    pub last_contact: DateTime<Utc>,
}

/// The index case's visits that count, each with its interval clipped to the window: the
/// intervals a store must search other visits around (widened by the buffer).
pub fn index_intervals(
    visits: &[Visit],
    q: &ContactQuery,
) -> Vec<(Visit, DateTime<Utc>, DateTime<Utc>)> {
    visits
        .iter()
        .filter_map(|v| {
            let (s, e) = v.interval(q.now);
            let s = s.max(q.window.from());
            let e = e.min(q.window.to());
            (s <= e).then(|| (v.clone(), s, e))
        })
        .collect()
}

fn uncertain(v: &Visit, now: DateTime<Utc>) -> bool {
    v.start_inferred || v.as_of(now).closed_by == Some(ClosedBy::Auto)
}

/// Where visits meet for contacts: a sub-location's visits count at its parent (tracing
/// issue). Maps a venue to its parent; a venue not in the map is its own place.
pub type Places = HashMap<VenueId, VenueId>;

fn place_of<'a>(places: &'a Places, venue: &'a VenueId) -> &'a VenueId {
    places.get(venue).unwrap_or(venue)
}

/// Finds the contacts of `index` from its visits and the visits of others at the same places
/// (`others` may hold any visits; those of `index` itself and at other places are ignored).
/// Two visits at one place overlap whichever of its sub-locations they were at; the shared
/// visit names the venue when both were at the same one, else the place. Ordered by total
/// overlap, longest first, then by resident id.
pub fn find_contacts(
    index: &ResidentId,
    index_visits: &[Visit],
    others: &[Visit],
    places: &Places,
    q: &ContactQuery,
) -> Vec<Contact> {
    let mut by_place: HashMap<&VenueId, Vec<&Visit>> = HashMap::new();
    for v in others.iter().filter(|v| &v.resident_id != index) {
        by_place
            .entry(place_of(places, &v.venue_id))
            .or_default()
            .push(v);
    }
    let mut found: BTreeMap<ResidentId, Vec<SharedVisit>> = BTreeMap::new();
    for (pv, s, e) in index_intervals(index_visits, q) {
        let (lo, hi) = (s - q.buffer, e + q.buffer);
        let place = place_of(places, &pv.venue_id);
        for qv in by_place.get(place).into_iter().flatten() {
            let (s2, e2) = qv.interval(q.now);
            let from = lo.max(s2);
            let to = hi.min(e2);
            if from <= to && to - from >= q.min_overlap {
                found
                    .entry(qv.resident_id.clone())
                    .or_default()
                    .push(SharedVisit {
                        venue_id: if qv.venue_id == pv.venue_id {
                            pv.venue_id.clone()
                        } else {
                            place.clone()
                        },
                        index_visit_id: Some(pv.id.clone()),
                        contact_visit_id: qv.id.clone(),
                        from,
                        to,
                        uncertain: uncertain(&pv, q.now) || uncertain(qv, q.now),
                    });
            }
        }
    }
    into_contacts(found)
}

/// Sums each person's overlaps and orders the people, longest total first, then by id.
fn into_contacts(found: BTreeMap<ResidentId, Vec<SharedVisit>>) -> Vec<Contact> {
    let mut contacts: Vec<Contact> = found
        .into_iter()
        .filter_map(|(resident_id, mut shared)| {
            shared.sort_by_key(|s| (s.from, s.to));
            let first_contact = shared.iter().map(|s| s.from).min()?;
            let last_contact = shared.iter().map(|s| s.to).max()?;
            let overlap = shared
                .iter()
                .fold(Duration::zero(), |acc, s| acc + s.length());
            Some(Contact {
                resident_id,
                overlap,
                shared,
                first_contact,
                last_contact,
            })
        })
        .collect();
    contacts.sort_by(|a, b| {
        b.overlap
            .cmp(&a.overlap)
            .then_with(|| a.resident_id.cmp(&b.resident_id))
    });
    contacts
}

/// Everyone at a venue during `window` (a "risky venue" report), shaped like contacts: each
/// person's time there within the window, summed over their visits, longest first. `visits`
/// are the venue's visits; open ones end at `now` or their auto close.
pub fn venue_exposure(visits: &[Visit], window: &TimeWindow, now: DateTime<Utc>) -> Vec<Contact> {
    let mut found: BTreeMap<ResidentId, Vec<SharedVisit>> = BTreeMap::new();
    for v in visits {
        let (s, e) = v.interval(now);
        let (from, to) = (s.max(window.from()), e.min(window.to()));
        if from <= to {
            found
                .entry(v.resident_id.clone())
                .or_default()
                .push(SharedVisit {
                    venue_id: v.venue_id.clone(),
                    index_visit_id: None,
                    contact_visit_id: v.id.clone(),
                    from,
                    to,
                    uncertain: uncertain(v, now),
                });
        }
    }
    into_contacts(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::Gate;

    fn t(hm: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2020-02-16T{hm}:00Z"))
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn visit(who: &str, venue: &str, from: &str, to: Option<&str>) -> Visit {
        Visit {
            id: format!("{who}-{from}"),
            resident_id: ResidentId::parse(who).unwrap_or_else(|_| unreachable!()),
            venue_id: VenueId::parse(venue).unwrap_or_else(|_| unreachable!()),
            gate_in: Gate::parse("北门").ok(),
            gate_out: None,
            check_in: Some(t(from)),
            check_out: to.map(t),
            closed_by: to.map(|_| ClosedBy::CheckOut),
            start_inferred: false,
            max_stay_seconds: 7200,
            parent: None,
            host: None,
        }
    }

    fn query(buffer: i64, min: i64) -> ContactQuery {
        ContactQuery {
            window: TimeWindow::new(Some(t("00:00")), Some(t("23:59")), t("23:59"))
                .unwrap_or_else(|_| unreachable!()),
            buffer: Duration::minutes(buffer),
            min_overlap: Duration::minutes(min),
            now: t("23:59"),
        }
    }

    #[test]
    fn a_visit_after_the_index_case_left_counts_only_within_the_buffer() {
        // P 10:00-10:30; Q arrives 10:45. Without buffer: none. With 30 min: overlap
        // [10:45, 11:00] = 15 min.
        let p = ResidentId::parse("P").unwrap_or_else(|_| unreachable!());
        let pv = [visit("P", "S1", "10:00", Some("10:30"))];
        let qv = [visit("Q", "S1", "10:45", Some("11:30"))];
        assert!(find_contacts(&p, &pv, &qv, &Places::new(), &query(0, 0)).is_empty());
        let c = find_contacts(&p, &pv, &qv, &Places::new(), &query(30, 0));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].overlap, Duration::minutes(15));
        assert_eq!(c[0].first_contact, t("10:45"));
        assert!(find_contacts(&p, &pv, &qv, &Places::new(), &query(30, 16)).is_empty());
    }

    #[test]
    fn overlaps_are_summed_over_venues_and_ordered_longest_first() {
        let p = ResidentId::parse("P").unwrap_or_else(|_| unreachable!());
        let pv = [
            visit("P", "S1", "09:00", Some("10:00")),
            visit("P", "S2", "12:00", Some("13:00")),
        ];
        let others = [
            visit("A", "S1", "09:50", Some("11:00")), // 10 min
            visit("A", "S2", "12:30", Some("12:40")), // 10 min
            visit("B", "S2", "11:00", Some("12:45")), // 45 min
            visit("C", "S3", "09:00", Some("13:00")), // elsewhere
        ];
        let c = find_contacts(&p, &pv, &others, &Places::new(), &query(0, 0));
        let got: Vec<(&str, i64)> = c
            .iter()
            .map(|c| (c.resident_id.as_str(), c.overlap.num_minutes()))
            .collect();
        assert_eq!(got, vec![("B", 45), ("A", 20)]);
    }

    #[test]
    fn visits_to_sub_locations_meet_at_their_parent_and_name_the_shared_venue() {
        let p = ResidentId::parse("P").unwrap_or_else(|_| unreachable!());
        let vid = |s: &str| VenueId::parse(s).unwrap_or_else(|_| unreachable!());
        let places: Places = [(vid("C1-B1"), vid("C1")), (vid("C1-B2"), vid("C1"))].into();
        let pv = [visit("P", "C1-B1", "10:00", Some("11:00"))];
        let others = [
            visit("Q", "C1-B2", "10:30", Some("12:00")), // another building: meets at C1
            visit("S", "C1-B1", "10:15", Some("10:20")), // same building
            visit("R", "C1", "10:45", Some("10:50")),    // the compound's gate
            visit("T", "C2", "10:00", Some("11:00")),    // elsewhere
        ];
        let c = find_contacts(&p, &pv, &others, &places, &query(0, 0));
        let got: Vec<(&str, &str, i64)> = c
            .iter()
            .map(|c| {
                let s = &c.shared[0];
                (
                    c.resident_id.as_str(),
                    s.venue_id.as_str(),
                    c.overlap.num_minutes(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![("Q", "C1", 30), ("R", "C1", 5), ("S", "C1-B1", 5)]
        );
    }

    #[test]
    fn touching_intervals_are_a_contact_of_zero_minutes() {
        let p = ResidentId::parse("P").unwrap_or_else(|_| unreachable!());
        let pv = [visit("P", "S1", "09:00", Some("10:00"))];
        let qv = [visit("Q", "S1", "10:00", Some("11:00"))];
        let c = find_contacts(&p, &pv, &qv, &Places::new(), &query(0, 0));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].overlap, Duration::zero());
    }
}
