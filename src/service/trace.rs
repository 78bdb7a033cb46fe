//! Reading visits back: a person's history, a venue's visitors, presence, and contacts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::contacts::{
    find_contacts, index_intervals, venue_exposure as domain_exposure, Contact, ContactQuery,
    Places,
};
use crate::domain::{Resident, ResidentId, TimeWindow, Venue, VenueId, VenueKind, Visit};
use crate::storage::{lookback, Store, StoreError};

fn overlapping(visits: Vec<Visit>, window: &TimeWindow, now: DateTime<Utc>) -> Vec<Visit> {
    visits
        .into_iter()
        .map(|v| v.as_of(now))
        .filter(|v| {
            let (s, e) = v.interval(now);
            window.overlaps(s, e)
        })
        .collect()
}

/// A person's visits that overlap `window`, as they stand at `now` (open visits past their
/// maximum stay shown closed by `auto`), ordered by start.
///
/// # Errors
/// [`StoreError`] from the store.
pub async fn resident_visits(
    store: &dyn Store,
    resident: &ResidentId,
    window: &TimeWindow,
    now: DateTime<Utc>,
) -> Result<Vec<Visit>, StoreError> {
    let raw = store
        .resident_visits(resident, window.from(), window.to())
        .await?;
    Ok(overlapping(raw, window, now))
}

/// A venue's visits that overlap `window`, as [`resident_visits`].
///
/// # Errors
/// [`StoreError`] from the store.
pub async fn venue_visits(
    store: &dyn Store,
    venue: &VenueId,
    window: &TimeWindow,
    now: DateTime<Utc>,
) -> Result<Vec<Visit>, StoreError> {
    let raw = store
        .venue_visits(venue, window.from(), window.to())
        .await?;
    Ok(overlapping(raw, window, now))
}

/// Who is inside a venue at `now`: its open visits not yet past their maximum stay, ordered by
/// check-in.
///
/// # Errors
/// [`StoreError`] from the store.
pub async fn presence(
    store: &dyn Store,
    venue: &VenueId,
    now: DateTime<Utc>,
) -> Result<Vec<Visit>, StoreError> {
    let mut open: Vec<Visit> = store
        .open_visits(venue)
        .await?
        .into_iter()
        .filter(|v| v.as_of(now).is_open())
        .collect();
    open.sort_by_key(|v| (v.start(), v.resident_id.clone()));
    Ok(open)
}

/// Which of the index case's visits a contact query looks at: a tracer may keep only some venue
/// kinds (shops and markets, say) or leave out the index case's own home compound, where the
/// household is traced from the registration anyway.
#[derive(Debug, Clone, Default)]
pub struct VenueFilter {
    /// Keep only visits at venues of these kinds; `None` keeps all.
    pub kinds: Option<Vec<VenueKind>>,
    /// Leave out visits at the index case's registered home compound.
    pub exclude_home: bool,
}

impl VenueFilter {
    fn is_all(&self) -> bool {
        self.kinds.is_none() && !self.exclude_home
    }
}

/// The venues of `visits` as registered (a venue since removed maps to `None`).
async fn venues_of(
    store: &dyn Store,
    visits: &[Visit],
) -> Result<BTreeMap<VenueId, Option<Venue>>, StoreError> {
    let mut venues = BTreeMap::new();
    for v in visits {
        if !venues.contains_key(&v.venue_id) {
            venues.insert(v.venue_id.clone(), store.venue(&v.venue_id).await?);
        }
    }
    Ok(venues)
}

async fn filter_visits(
    store: &dyn Store,
    index: &ResidentId,
    visits: Vec<Visit>,
    venues: &BTreeMap<VenueId, Option<Venue>>,
    filter: &VenueFilter,
) -> Result<Vec<Visit>, StoreError> {
    if filter.is_all() {
        return Ok(visits);
    }
    let home = match filter.exclude_home {
        true => store.resident(index).await?.and_then(|r| r.home),
        false => None,
    };
    let kinds: BTreeMap<&VenueId, VenueKind> = venues
        .iter()
        .filter_map(|(id, v)| v.as_ref().map(|v| (id, v.kind)))
        .collect();
    let place = |id: &VenueId| {
        venues
            .get(id)
            .and_then(|v| v.as_ref().map(|v| v.place().clone()))
            .unwrap_or_else(|| id.clone())
    };
    Ok(visits
        .into_iter()
        // The home compound with its buildings.
        .filter(|v| home.as_ref() != Some(&place(&v.venue_id)))
        .filter(|v| match (&filter.kinds, kinds.get(&v.venue_id).copied()) {
            (None, _) => true,
            (Some(allowed), Some(kind)) => allowed.contains(&kind),
            (Some(_), None) => false,
        })
        .collect())
}

/// What a contact query reads: the index case's visits that count, the visits of others
/// around them, and where visits meet.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    /// The index case's visits in the window that the filter keeps.
    pub own: Vec<Visit>,
    /// Visits of others (and of the index case) at the same places, around its intervals.
    pub others: Vec<Visit>,
    /// Sub-locations read, each mapped to its parent.
    pub places: Places,
}

/// An interval `[from, to]`, UTC.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// Merges intervals (sorted here) whose reads would overlap: two reads of `[lo - bound, hi]`
/// meet when the later `lo` is within `bound` of the earlier `hi`.
fn merge_spans(mut spans: Vec<Span>, bound: chrono::Duration) -> Vec<Span> {
    spans.sort();
    let mut merged: Vec<Span> = Vec::new();
    for (lo, hi) in spans {
        match merged.last_mut() {
            Some(last) if lo - bound <= last.1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// Reads what the contacts of `index` under `q` depend on, looking only at the index case's
/// visits that `filter` keeps: its visits, then per place (a venue, or the parent of a
/// sub-location) and per venue there (the place and its sub-locations), the visits that began
/// within the venue's [`Venue::stay_bound`] before one of the index case's intervals (widened
/// by the buffer) and not after it: every visit that can overlap one, and few others.
///
/// # Errors
/// [`StoreError`] from the store.
pub async fn candidates(
    store: &dyn Store,
    index: &ResidentId,
    q: &ContactQuery,
    filter: &VenueFilter,
) -> Result<Candidates, StoreError> {
    let own = resident_visits(store, index, &q.window, q.now).await?;
    let mut venues = venues_of(store, &own).await?;
    let own = filter_visits(store, index, own, &venues, filter).await?;
    let mut places = Places::new();
    for venue in venues.values().flatten() {
        if let Some(parent) = &venue.parent {
            places.insert(venue.id.clone(), parent.clone());
        }
    }
    let mut wanted: BTreeMap<VenueId, Vec<Span>> = BTreeMap::new();
    for (v, s, e) in index_intervals(&own, q) {
        let place = places.get(&v.venue_id).unwrap_or(&v.venue_id).clone();
        wanted
            .entry(place)
            .or_default()
            .push((s - q.buffer, e + q.buffer));
    }
    let mut others = Vec::new();
    for (place, spans) in wanted {
        for venue in with_sub_locations(store, &place).await? {
            if venue != place {
                places.insert(venue.clone(), place.clone());
            }
            if !venues.contains_key(&venue) {
                venues.insert(venue.clone(), store.venue(&venue).await?);
            }
            let bound = venues
                .get(&venue)
                .and_then(|v| v.as_ref().map(Venue::stay_bound))
                .unwrap_or_else(lookback);
            for (lo, hi) in merge_spans(spans.clone(), bound) {
                others.extend(store.venue_visits_starting(&venue, lo - bound, hi).await?);
            }
        }
    }
    Ok(Candidates {
        own,
        others,
        places,
    })
}

/// The contacts of `index` under `q` (contract, "Contacts"), looking only at the index case's
/// visits that `filter` keeps: [`candidates`], matched by [`find_contacts`].
///
/// # Errors
/// [`StoreError`] from the store.
pub async fn contacts(
    store: &dyn Store,
    index: &ResidentId,
    q: &ContactQuery,
    filter: &VenueFilter,
) -> Result<Vec<Contact>, StoreError> {
    let c = candidates(store, index, q, filter).await?;
    Ok(find_contacts(index, &c.own, &c.others, &c.places, q))
}

/// `venue` and its sub-locations.
async fn with_sub_locations(
    store: &dyn Store,
    venue: &VenueId,
) -> Result<Vec<VenueId>, StoreError> {
    let mut all = vec![venue.clone()];
    all.extend(store.sub_locations(venue).await?);
    Ok(all)
}

/// Everyone at `venue` or one of its sub-locations during `window`, with their registrations
/// (a "risky venue" report).
///
/// # Errors
/// [`StoreError`] from the store.
pub async fn venue_exposure(
    store: &dyn Store,
    venue: &VenueId,
    window: &TimeWindow,
    now: DateTime<Utc>,
) -> Result<Vec<(Contact, Option<Resident>)>, StoreError> {
    let mut visits = Vec::new();
    for v in with_sub_locations(store, venue).await? {
        visits.extend(venue_visits(store, &v, window, now).await?);
    }
    with_people(store, domain_exposure(&visits, window, now)).await
}

async fn with_people(
    store: &dyn Store,
    found: Vec<Contact>,
) -> Result<Vec<(Contact, Option<Resident>)>, StoreError> {
    let people =
        futures::future::try_join_all(found.iter().map(|c| store.resident(&c.resident_id))).await?;
    Ok(found.into_iter().zip(people).collect())
}
