//! The daily report: reads a day's scan events, alerts, vehicle passes and evening visits for
//! the venues of a scope and counts them with [`crate::domain::report::Tally`].
//!
//! A venue's sub-locations (a compound's buildings) are counted in their parent's row. The
//! street's report has a row per community and per venue, a community's a row per venue.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::report::{CheckpointFigures, DayFigures, ReportDay, Scope, Tally};
use crate::domain::vehicle::{OfficerDecision, VehiclePass};
use crate::domain::{ParseError, Venue, VenueId, VenueKind};
use crate::storage::{Store, StoreError};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The date or scope is unusable.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// No venue matches the scope.
    #[error("no venue in scope {0}")]
    UnknownScope(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One venue's row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VenueRow {
    /// Venue id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: VenueKind,
    /// Community, when registered.
    pub community: Option<String>,
    /// Its figures (its sub-locations' included).
    pub figures: DayFigures,
}

/// One community's row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommunityRow {
    /// The community's name (`""` for venues registered without one).
    pub community: String,
    /// Its figures.
    pub figures: DayFigures,
}

/// The daily report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DailyReport {
    /// The local date, `YYYY-MM-DD`.
    pub date: NaiveDate,
    /// The scope as asked: `street`, `community:NAME` or `venue:ID`.
    pub scope: String,
    /// The zone the day is local to (IANA name).
    pub time_zone: String,
    /// The day's first instant, local.
    pub from: DateTime<FixedOffset>,
    /// The day's last millisecond, local.
    pub to: DateTime<FixedOffset>,
    /// When this report was made, local.
    pub generated_at: DateTime<FixedOffset>,
    /// Figures of the whole scope (people counted once however many venues they scanned at).
    pub totals: DayFigures,
    /// A row per community (street scope only).
    pub communities: Vec<CommunityRow>,
    /// A row per venue in scope, by id (sub-locations are counted in their parent's row).
    pub venues: Vec<VenueRow>,
}

/// Makes the report of `date` (local to `tz`) for `scope`, as of `now`; vehicles from outside
/// `home_province` count as out of province.
///
/// # Errors
/// [`ReportError::UnknownScope`] when no venue matches; [`ReportError::Store`].
pub async fn daily(
    store: &dyn Store,
    tz: Tz,
    home_province: &str,
    scope: &Scope,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<DailyReport, ReportError> {
    let day = ReportDay::new(date, tz)?;
    let all = store.venues().await?;
    let rows = rows_in_scope(&all, scope);
    if rows.is_empty() {
        // A sub-location is reported with its parent: say so rather than "no venue".
        if let Scope::Venue(id) = scope {
            if let Some(parent) = all
                .iter()
                .find(|v| v.id == *id)
                .and_then(|v| v.parent.as_ref())
            {
                return Err(ReportError::UnknownScope(format!(
                    "{scope} (a part of {parent}: its figures are in venue:{parent})"
                )));
            }
        }
        return Err(ReportError::UnknownScope(scope.to_string()));
    }
    // Every venue counted, mapped to the row it is counted in.
    let row_of: HashMap<VenueId, VenueId> = all
        .iter()
        .filter_map(|v| {
            let place = v.place();
            rows.contains_key(place)
                .then(|| (v.id.clone(), place.clone()))
        })
        .collect();
    let ids: Vec<VenueId> = row_of.keys().cloned().collect();

    let mut totals = Tally::default();
    let mut by_row: HashMap<VenueId, Tally> = HashMap::new();
    let mut by_community: BTreeMap<String, Tally> = BTreeMap::new();
    let community_of = |row: &VenueId| -> String {
        rows.get(row)
            .and_then(|v| v.community.clone())
            .unwrap_or_default()
    };
    let street = *scope == Scope::Street;

    for e in store.venue_events(&ids, day.from, day.to).await? {
        if let Some(row) = row_of.get(&e.venue_id) {
            totals.event(&e);
            by_row.entry(row.clone()).or_default().event(&e);
            if street {
                by_community.entry(community_of(row)).or_default().event(&e);
            }
        }
    }
    for a in store.alerts(day.from, day.to).await? {
        if let Some(row) = row_of.get(&a.alert.venue_id) {
            totals.alert(&a.alert);
            by_row.entry(row.clone()).or_default().alert(&a.alert);
            if street {
                by_community
                    .entry(community_of(row))
                    .or_default()
                    .alert(&a.alert);
            }
        }
    }

    for v in rows.values().filter(|v| v.kind == VenueKind::Checkpoint) {
        let passes = store.vehicle_passes_at(&v.id, day.from, day.to).await?;
        let figures = checkpoint_figures(&passes, home_province);
        totals.checkpoint(&figures);
        by_row.entry(v.id.clone()).or_default().checkpoint(&figures);
        if street {
            by_community
                .entry(community_of(&v.id))
                .or_default()
                .checkpoint(&figures);
        }
    }

    // Occupancy at 22:00, once 22:00 has come.
    let mut occupancy: HashMap<VenueId, u64> = HashMap::new();
    if day.evening <= now {
        for v in all.iter().filter(|v| row_of.contains_key(&v.id)) {
            let inside = inside_at(store, v, day.evening, now).await?;
            *occupancy.entry(v.place().clone()).or_default() += inside;
        }
    }
    let evening =
        |row: &VenueId| (day.evening <= now).then(|| occupancy.get(row).copied().unwrap_or(0));
    let total_evening = (day.evening <= now).then(|| occupancy.values().sum());
    let mut community_evening: BTreeMap<String, u64> = BTreeMap::new();
    for (row, n) in &occupancy {
        *community_evening.entry(community_of(row)).or_default() += n;
    }

    let venues = rows
        .values()
        .map(|v| VenueRow {
            id: v.id.to_string(),
            name: v.name.clone(),
            kind: v.kind,
            community: v.community.clone(),
            figures: by_row
                .remove(&v.id)
                .unwrap_or_default()
                .finish(evening(&v.id)),
        })
        .collect();
    let communities = if street {
        let mut names: Vec<String> = rows.keys().map(&community_of).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|c| CommunityRow {
                figures: by_community.remove(&c).unwrap_or_default().finish(
                    (day.evening <= now).then(|| community_evening.get(&c).copied().unwrap_or(0)),
                ),
                community: c,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(DailyReport {
        date,
        scope: scope.to_string(),
        time_zone: tz.name().to_owned(),
        from: day.from.with_timezone(&tz).fixed_offset(),
        to: day.to.with_timezone(&tz).fixed_offset(),
        generated_at: now.with_timezone(&tz).fixed_offset(),
        totals: totals.finish(total_evening),
        communities,
        venues,
    })
}

/// A checkpoint's day: vehicles, the people in them, those from another province, those
/// turned back.
fn checkpoint_figures(passes: &[VehiclePass], home_province: &str) -> CheckpointFigures {
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    CheckpointFigures {
        vehicles: count(passes.len()),
        people: passes.iter().map(|p| u64::from(p.passenger_count)).sum(),
        out_of_province: count(
            passes
                .iter()
                .filter(|p| !p.origin.is_from(home_province))
                .count(),
        ),
        turned_back: count(
            passes
                .iter()
                .filter(|p| p.decision == OfficerDecision::TurnedBack)
                .count(),
        ),
    }
}

/// The top-level venues of a scope, by id: the rows of its report.
fn rows_in_scope<'a>(all: &'a [Venue], scope: &Scope) -> BTreeMap<VenueId, &'a Venue> {
    all.iter()
        .filter(|v| v.parent.is_none())
        .filter(|v| match scope {
            Scope::Street => true,
            Scope::Community(name) => v.community.as_deref() == Some(name.as_str()),
            Scope::Venue(id) => v.id == *id,
        })
        .map(|v| (v.id.clone(), v))
        .collect()
}

/// People inside `venue` at `at`: visits with a recorded check-in at or before `at` that had
/// not ended by then (an open visit ends at its auto close; contract, visit rule 4).
async fn inside_at(
    store: &dyn Store,
    venue: &Venue,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let visits = store
        .venue_visits_starting(&venue.id, at - venue.stay_bound(), at)
        .await?;
    let inside = visits
        .iter()
        .filter(|v| v.check_in.is_some_and(|s| s <= at))
        .filter(|v| v.interval(now).1 >= at)
        .count();
    Ok(u64::try_from(inside).unwrap_or(u64::MAX))
}
