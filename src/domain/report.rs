//! The daily report (compound policy issue; contract: `GET /reports/daily`): what a street
//! office counted every evening, for a local calendar day, at one venue, one community or the
//! whole street.
//!
//! Figures come from what was recorded that day (scan events with the decision, host and
//! watch-list tags they had when made, alerts, visits), never from today's settings, so a
//! later change of a venue's entry policy or of a resident's tags leaves earlier reports as
//! they were.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::alert::{Alert, AlertKind};
use super::ids::{ResidentId, VenueId};
use super::scan::{Decision, DenyReason, Direction, ScanEvent};
use super::ParseError;

/// The longest scope text accepted, bytes.
const MAX_SCOPE_LEN: usize = 200;

/// Which venues a report covers (contract: `scope` is `street`, `community:NAME` or
/// `venue:ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every venue.
    Street,
    /// The venues whose `community` is this name.
    Community(String),
    /// One venue and its sub-locations.
    Venue(VenueId),
}

impl Scope {
    /// Parses `street`, `community:NAME` or `venue:ID`.
    ///
    /// # Errors
    /// [`ParseError`] naming what is wrong.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        if raw.len() > MAX_SCOPE_LEN {
            return Err(ParseError::new(
                "scope",
                format!("scope is longer than {MAX_SCOPE_LEN} bytes"),
            ));
        }
        match raw.split_once(':') {
            None if raw == "street" => Ok(Self::Street),
            Some(("community", name)) if !super::ids::normalise_text(name).is_empty() => {
                Ok(Self::Community(super::ids::normalise_text(name)))
            }
            Some(("venue", id)) => Ok(Self::Venue(VenueId::parse(id.trim())?)),
            _ => Err(ParseError::new(
                "scope",
                format!("{raw:?} is not street, community:NAME or venue:ID"),
            )),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Street => f.write_str("street"),
            Self::Community(name) => write!(f, "community:{name}"),
            Self::Venue(id) => write!(f, "venue:{id}"),
        }
    }
}

/// Denied scans by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Denials {
    /// Turned away with a fever (contract, visit rule 5).
    pub fever: u64,
    /// Not a resident and no visitor pass (`residents_only` venues).
    pub not_a_resident: u64,
    /// No temperature where one is required.
    pub temperature_required: u64,
}

/// Alerts raised, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct AlertCounts {
    /// Fevers turned away.
    pub fever: u64,
    /// `key_monitoring` residents checking out of their home compound.
    pub left_home_under_observation: u64,
}

/// A checkpoint's vehicle passes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CheckpointFigures {
    /// Vehicles registered.
    pub vehicles: u64,
    /// People in them (each vehicle's passenger count).
    pub people: u64,
    /// Vehicles from another province.
    pub out_of_province: u64,
    /// Vehicles turned back.
    pub turned_back: u64,
}

/// One day's figures for a set of venues.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayFigures {
    /// Admitted check-ins (a checkpoint's passes included).
    pub check_ins: u64,
    /// Admitted check-outs.
    pub check_outs: u64,
    /// Distinct people who scanned, admitted or denied.
    pub people: u64,
    /// Distinct people admitted on a visitor pass.
    pub visitors: u64,
    /// Denied scans by reason.
    pub denials: Denials,
    /// Distinct people turned away with a fever.
    pub fevers: u64,
    /// Alerts raised.
    pub alerts: AlertCounts,
    /// Distinct people who scanned, by the watch-list tags they had when they scanned.
    pub watched: BTreeMap<String, u64>,
    /// People inside at 22:00 local time: visits with a recorded check-in open then. Absent
    /// while 22:00 of the day has not come yet.
    pub occupancy_at_22: Option<u64>,
    /// Vehicle passes at checkpoints.
    pub checkpoint: CheckpointFigures,
}

/// Counts a day's records into [`DayFigures`]; feed it events, alerts and passes, then
/// [`Tally::finish`].
#[derive(Debug, Default)]
pub struct Tally {
    figures: DayFigures,
    people: HashSet<ResidentId>,
    visitors: HashSet<ResidentId>,
    fevers: HashSet<ResidentId>,
    watched: BTreeMap<String, HashSet<ResidentId>>,
}

impl Tally {
    /// Counts one scan event.
    pub fn event(&mut self, e: &ScanEvent) {
        let f = &mut self.figures;
        self.people.insert(e.resident_id.clone());
        for tag in &e.tags {
            self.watched
                .entry(tag.clone())
                .or_default()
                .insert(e.resident_id.clone());
        }
        match (e.decision, e.direction) {
            (Decision::Admitted, Direction::In) => {
                f.check_ins += 1;
                if e.host.is_some() {
                    self.visitors.insert(e.resident_id.clone());
                }
            }
            (Decision::Admitted, Direction::Out) => f.check_outs += 1,
            (Decision::Denied, _) => match e.reason {
                Some(DenyReason::Fever) => {
                    f.denials.fever += 1;
                    self.fevers.insert(e.resident_id.clone());
                }
                Some(DenyReason::NotAResident) => f.denials.not_a_resident += 1,
                Some(DenyReason::TemperatureRequired) => f.denials.temperature_required += 1,
                None => {}
            },
        }
    }

    /// Counts one alert.
    pub fn alert(&mut self, a: &Alert) {
        match a.kind {
            AlertKind::Fever => self.figures.alerts.fever += 1,
            AlertKind::LeftHomeUnderObservation => {
                self.figures.alerts.left_home_under_observation += 1;
            }
        }
    }

    /// Adds a checkpoint's figures.
    pub fn checkpoint(&mut self, c: &CheckpointFigures) {
        let t = &mut self.figures.checkpoint;
        t.vehicles += c.vehicles;
        t.people += c.people;
        t.out_of_province += c.out_of_province;
        t.turned_back += c.turned_back;
    }

    /// The figures, with the occupancy at 22:00 when known.
    pub fn finish(mut self, occupancy_at_22: Option<u64>) -> DayFigures {
        let count = |s: &HashSet<ResidentId>| u64::try_from(s.len()).unwrap_or(u64::MAX);
        self.figures.people = count(&self.people);
        self.figures.visitors = count(&self.visitors);
        self.figures.fevers = count(&self.fevers);
        self.figures.watched = self
            .watched
            .iter()
            .map(|(tag, people)| (tag.clone(), count(people)))
            .collect();
        self.figures.occupancy_at_22 = occupancy_at_22;
        self.figures
    }
}

/// A local calendar day in a zone, as the UTC instants the report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportDay {
    /// The date.
    pub date: NaiveDate,
    /// Its first instant (local midnight), UTC.
    pub from: DateTime<Utc>,
    /// Its last millisecond, UTC (intervals are closed).
    pub to: DateTime<Utc>,
    /// 22:00 local that day, UTC: when occupancy is counted.
    pub evening: DateTime<Utc>,
}

impl ReportDay {
    /// The day `date` in `tz`.
    ///
    /// # Errors
    /// [`ParseError`] when the date has no midnight or 22:00 in the zone (out of range).
    pub fn new(date: NaiveDate, tz: chrono_tz::Tz) -> Result<Self, ParseError> {
        let local = |d: NaiveDate, h: u32| {
            d.and_hms_opt(h, 0, 0)
                .and_then(|t| t.and_local_timezone(tz).earliest())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| ParseError::new("date", format!("date {d} has no {h}:00 in {tz}")))
        };
        let next = date
            .succ_opt()
            .ok_or_else(|| ParseError::new("date", format!("date {date} is out of range")))?;
        Ok(Self {
            date,
            from: local(date, 0)?,
            to: local(next, 0)? - chrono::Duration::milliseconds(1),
            evening: local(date, 22)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(who: &str, direction: Direction, decision: Decision) -> ScanEvent {
        let at = DateTime::parse_from_rfc3339("2020-02-16T08:00:00+08:00")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        crate::domain::scan::fixtures::event(who, "C1", direction, decision, at)
    }

    #[test]
    fn scopes_parse_and_print_back() {
        for raw in ["street", "community:东门社区", "venue:GC-C001"] {
            let scope = Scope::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(scope.to_string(), raw);
        }
        for bad in ["", "town", "community:", "venue:", "venue:a b", "street:x"] {
            assert!(Scope::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_day_in_shanghai_starts_at_16_utc_the_day_before() {
        let date = NaiveDate::from_ymd_opt(2020, 2, 16).unwrap_or_default();
        let day = ReportDay::new(date, chrono_tz::Asia::Shanghai).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(day.from.to_rfc3339(), "2020-02-15T16:00:00+00:00");
        assert_eq!(day.to.to_rfc3339(), "2020-02-16T15:59:59.999+00:00");
        assert_eq!(day.evening.to_rfc3339(), "2020-02-16T14:00:00+00:00");
    }

    #[test]
    fn the_tally_counts_scans_once_and_people_once() {
        let mut t = Tally::default();
        let mut visitor = event("V1", Direction::In, Decision::Admitted);
        visitor.host = Some(ResidentId::parse("R1").unwrap_or_else(|e| panic!("{e}")));
        visitor.tags = vec!["other_city".into()];
        t.event(&visitor);
        t.event(&event("V1", Direction::Out, Decision::Admitted));
        let mut hot = event("R2", Direction::In, Decision::Denied);
        hot.reason = Some(DenyReason::Fever);
        hot.tags = vec!["hubei_return".into(), "other_city".into()];
        t.event(&hot);
        t.event(&hot);
        let mut stranger = event("X1", Direction::In, Decision::Denied);
        stranger.reason = Some(DenyReason::NotAResident);
        t.event(&stranger);
        t.checkpoint(&CheckpointFigures {
            vehicles: 2,
            people: 5,
            out_of_province: 1,
            turned_back: 1,
        });

        let f = t.finish(Some(7));

        assert_eq!(
            (f.check_ins, f.check_outs, f.people, f.visitors),
            (1, 1, 3, 1)
        );
        assert_eq!(
            f.denials,
            Denials {
                fever: 2,
                not_a_resident: 1,
                temperature_required: 0
            }
        );
        assert_eq!(f.fevers, 1);
        assert_eq!(
            f.watched,
            BTreeMap::from([("hubei_return".into(), 1), ("other_city".into(), 2)])
        );
        assert_eq!(f.occupancy_at_22, Some(7));
        assert_eq!(f.checkpoint.people, 5);
    }
}
