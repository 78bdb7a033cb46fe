//! Implausible scans (reliability issue): patterns that suggest a code scanned from a photo or
//! a phone passed around. They are flags for an admin to look at, never denials: a scan is
//! judged by the visit rules alone.
//!
//! - **Implausible travel**: two scans of one person in a row among their scans at venues with
//!   recorded locations (scans elsewhere are passed over), farther apart than the person could
//!   have gone in the time between (faster than [`FlagRules::max_speed_kmh`] in a straight
//!   line). Pairs closer than
//!   [`FlagRules::min_distance_m`] are never flagged: a venue's location is approximate.
//! - **Off-hours burst**: admitted check-ins at a venue with recorded opening hours, outside
//!   them, at least [`FlagRules::burst_check_ins`] of them within
//!   [`FlagRules::burst_window`]. One late shopper is not flagged; a queue at a closed shop is.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use super::scan::{Decision, Direction, ScanEvent};
use super::venue::Venue;

/// The thresholds of the flags (configured, `[flags]`).
#[derive(Debug, Clone, Copy)]
pub struct FlagRules {
    /// Faster than this between two scans is implausible, km/h (default 120: a car on a
    /// highway; nothing in a town goes faster).
    pub max_speed_kmh: f64,
    /// Two scans closer than this, metres, are never implausible (default 1,000: venue
    /// locations are recorded by hand and may be off by some hundreds of metres).
    pub min_distance_m: f64,
    /// Off-hours check-ins at one venue within [`Self::burst_window`] that make a burst
    /// (default 5).
    pub burst_check_ins: usize,
    /// The window of a burst (default 10 minutes).
    pub burst_window: Duration,
}

/// One flag, for an admin's review.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flag {
    /// Two scans of one person in a row, too far apart for the time between them.
    ImplausibleTravel {
        /// Who.
        resident_id: String,
        /// The earlier scan's venue.
        from_venue: String,
        /// The later scan's venue.
        to_venue: String,
        /// The earlier scan's time, UTC.
        previous_at: DateTime<Utc>,
        /// The later scan's time, UTC.
        at: DateTime<Utc>,
        /// The straight-line distance between the venues, metres.
        distance_m: u64,
        /// The speed it takes, km/h; absent when both scans have the same time.
        #[serde(skip_serializing_if = "Option::is_none")]
        speed_kmh: Option<f64>,
    },
    /// Check-ins at a venue outside its opening hours, close together.
    OffHoursBurst {
        /// Where.
        venue_id: String,
        /// The first check-in of the burst, UTC.
        first_at: DateTime<Utc>,
        /// The last, UTC.
        last_at: DateTime<Utc>,
        /// How many check-ins: a run of off-hours check-ins, each within the window of the one
        /// before, of which at least the rule's number fall within one window.
        check_ins: usize,
    },
}

/// The flags raised by `events` (any order), at `venues` (by id), with opening hours read in
/// `zone`. Flags come ordered by time.
pub fn flags(
    events: &[ScanEvent],
    venues: &HashMap<String, Venue>,
    zone: Tz,
    rules: &FlagRules,
) -> Vec<Flag> {
    let mut out = travel(events, venues, rules);
    out.extend(off_hours(events, venues, zone, rules));
    out.sort_by_key(|f| match f {
        Flag::ImplausibleTravel { at, .. } => *at,
        Flag::OffHoursBurst { first_at, .. } => *first_at,
    });
    out
}

fn travel(events: &[ScanEvent], venues: &HashMap<String, Venue>, rules: &FlagRules) -> Vec<Flag> {
    // Each person's scans at venues with a location, in time order: scans elsewhere neither
    // make nor break a pair.
    let here = |e: &ScanEvent| venues.get(e.venue_id.as_str()).and_then(|v| v.location);
    let mut by_person: BTreeMap<&str, Vec<&ScanEvent>> = BTreeMap::new();
    for e in events.iter().filter(|e| here(e).is_some()) {
        by_person.entry(e.resident_id.as_str()).or_default().push(e);
    }
    let mut out = Vec::new();
    for scans in by_person.values_mut() {
        scans.sort_by_key(|e| (e.scan_time, e.id.clone()));
        for pair in scans.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.venue_id == b.venue_id {
                continue;
            }
            let (Some(from), Some(to)) = (here(a), here(b)) else {
                continue;
            };
            let distance = from.distance_m(&to);
            if distance < rules.min_distance_m {
                continue;
            }
            let seconds = (b.scan_time - a.scan_time).num_milliseconds() as f64 / 1000.0;
            let speed = (seconds > 0.0).then(|| distance / seconds * 3.6);
            if speed.is_none_or(|s| s > rules.max_speed_kmh) {
                out.push(Flag::ImplausibleTravel {
                    resident_id: a.resident_id.to_string(),
                    from_venue: a.venue_id.to_string(),
                    to_venue: b.venue_id.to_string(),
                    previous_at: a.scan_time,
                    at: b.scan_time,
                    distance_m: distance.round() as u64,
                    speed_kmh: speed.map(|s| (s * 10.0).round() / 10.0),
                });
            }
        }
    }
    out
}

fn off_hours(
    events: &[ScanEvent],
    venues: &HashMap<String, Venue>,
    zone: Tz,
    rules: &FlagRules,
) -> Vec<Flag> {
    let mut by_venue: BTreeMap<&str, Vec<DateTime<Utc>>> = BTreeMap::new();
    for e in events {
        let Some(hours) = venues
            .get(e.venue_id.as_str())
            .and_then(|v| v.opening_hours)
        else {
            continue;
        };
        let admitted_in = e.decision == Decision::Admitted && e.direction == Direction::In;
        if admitted_in && !hours.is_open_at(e.scan_time.with_timezone(&zone).time()) {
            by_venue
                .entry(e.venue_id.as_str())
                .or_default()
                .push(e.scan_time);
        }
    }
    let mut out = Vec::new();
    for (venue, mut times) in by_venue {
        times.sort();
        // Runs of check-ins each within the window of the one before.
        let mut start = 0;
        for end in 1..=times.len() {
            let run_ends = end == times.len() || times[end] - times[end - 1] > rules.burst_window;
            if !run_ends {
                continue;
            }
            let run = &times[start..end];
            if densest(run, rules.burst_window) >= rules.burst_check_ins {
                out.push(Flag::OffHoursBurst {
                    venue_id: venue.to_owned(),
                    first_at: run[0],
                    last_at: run[run.len() - 1],
                    check_ins: run.len(),
                });
            }
            start = end;
        }
    }
    out
}

/// The most of the sorted `times` within any one `window`.
fn densest(times: &[DateTime<Utc>], window: Duration) -> usize {
    let mut best = 0;
    let mut from = 0;
    for (to, t) in times.iter().enumerate() {
        while *t - times[from] > window {
            from += 1;
        }
        best = best.max(to + 1 - from);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::location::{Location, OpeningHours};
    use crate::domain::venue::VenueKind;

    fn venue(id: &str, at: Option<(f64, f64)>, hours: Option<(&str, &str)>) -> Venue {
        Venue {
            location: at
                .map(|(lat, lon)| Location::parse(lat, lon).unwrap_or_else(|e| panic!("{e}"))),
            opening_hours: hours
                .map(|(o, c)| OpeningHours::parse(o, c).unwrap_or_else(|e| panic!("{e}"))),
            ..crate::domain::venue::fixtures::venue(id, VenueKind::Shop)
        }
    }

    /// A scan at `venue` `minutes` after 2020-02-17 00:00 UTC (08:00 in Shanghai).
    fn scan(who: &str, venue: &str, direction: Direction, minutes: i64) -> ScanEvent {
        let at = DateTime::<Utc>::UNIX_EPOCH + Duration::days(18_309) + Duration::minutes(minutes);
        crate::domain::scan::fixtures::event(who, venue, direction, Decision::Admitted, at)
    }

    fn rules() -> FlagRules {
        FlagRules {
            max_speed_kmh: 120.0,
            min_distance_m: 1_000.0,
            burst_check_ins: 5,
            burst_window: Duration::minutes(10),
        }
    }

    fn town() -> HashMap<String, Venue> {
        // A and B about 11 km apart; N 300 m from A; X has no location.
        [
            venue("A", Some((26.4170, 103.2970)), None),
            venue("B", Some((26.5170, 103.2970)), None),
            venue("N", Some((26.4197, 103.2970)), None),
            venue("X", None, None),
            venue("SHOP", None, Some(("08:00", "20:00"))),
        ]
        .into_iter()
        .map(|v| (v.id.to_string(), v))
        .collect()
    }

    #[test]
    fn scans_eleven_km_apart_two_minutes_apart_are_flagged_and_an_hour_apart_are_not() {
        let shanghai: Tz = chrono_tz::Asia::Shanghai;
        let events = vec![
            scan("R1", "A", Direction::Out, 0),
            scan("R1", "B", Direction::In, 2),
            scan("R2", "A", Direction::Out, 0),
            scan("R2", "B", Direction::In, 60),
            scan("R3", "A", Direction::Out, 0),
            scan("R3", "N", Direction::In, 0),
            scan("R3", "X", Direction::In, 1),
        ];
        let found = flags(&events, &town(), shanghai, &rules());
        assert_eq!(found.len(), 1, "{found:?}");
        let Flag::ImplausibleTravel {
            resident_id,
            distance_m,
            speed_kmh,
            ..
        } = &found[0]
        else {
            panic!("{found:?}")
        };
        assert_eq!(resident_id, "R1");
        assert!((11_000..11_200).contains(distance_m), "{distance_m}");
        assert!(speed_kmh.is_some_and(|s| s > 300.0), "{speed_kmh:?}");
    }

    #[test]
    fn five_check_ins_at_a_closed_shop_within_ten_minutes_are_a_burst_and_four_are_not() {
        let shanghai: Tz = chrono_tz::Asia::Shanghai;
        // 20:30 to 20:38 local: closed (the shop opens 08:00 to 20:00).
        let evening = |who: &str, m: i64| scan(who, "SHOP", Direction::In, 12 * 60 + 30 + m);
        let mut events: Vec<ScanEvent> = (0..5).map(|i| evening(&format!("R{i}"), i * 2)).collect();
        // Open hours (09:00 local) and check-outs are never counted.
        events.extend((0..6).map(|i| scan(&format!("Q{i}"), "SHOP", Direction::In, 60 + i)));
        events.extend((0..6).map(|i| scan(&format!("P{i}"), "SHOP", Direction::Out, 760 + i)));
        let found = flags(&events, &town(), shanghai, &rules());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            matches!(&found[0], Flag::OffHoursBurst { check_ins: 5, .. }),
            "{found:?}"
        );

        let four: Vec<ScanEvent> = events.into_iter().skip(1).collect();
        assert!(flags(&four, &town(), shanghai, &rules()).is_empty());
    }
}
