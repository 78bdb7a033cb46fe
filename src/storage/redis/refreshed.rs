//! The venues whose idle expiries this instance knows to be refreshed today, so that a scan's
//! commit can skip reading the venue's `xday` mark: one `redis.call` fewer a scan (see
//! `venue_write` in `scripts.rs`).
//!
//! A hint, kept in memory and never shared: a venue not remembered is read as before, and one
//! remembered wrongly (its keys deleted or its mark changed meanwhile) loses nothing, as a key a
//! write creates gets its expiry at once and the refresh only lengthens expiries that have a
//! day in hand. Days are UTC days of this instance's clock; Redis's clock, which marks the
//! refresh, may differ by a few seconds at midnight.

use quick_cache::sync::Cache;

use crate::domain::VenueId;

/// How many venues are remembered; past that, the least used are forgotten (and read again).
const VENUES_KEPT: usize = 65_536;

/// Venue id → the last UTC day (days since 1970-01-01) on which a commit of this instance
/// wrote to the venue with idle expiries on: the day's refresh had then run, or ran.
pub(super) struct Refreshed {
    days: Cache<VenueId, i64>,
}

impl Refreshed {
    pub(super) fn new() -> Self {
        Self {
            days: Cache::new(VENUES_KEPT),
        }
    }

    /// Whether a commit of this instance wrote to `venue` on `day`.
    pub(super) fn on(&self, venue: &VenueId, day: i64) -> bool {
        self.days.get(venue) == Some(day)
    }

    /// Remembers that a commit wrote to `venue` on `day`.
    pub(super) fn remember(&self, venue: &VenueId, day: i64) {
        self.days.insert(venue.clone(), day);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_venue_is_remembered_for_the_day_it_was_written_and_not_the_next() {
        let refreshed = Refreshed::new();
        let venue = VenueId::parse("GC-S001").unwrap_or_else(|e| panic!("{e}"));
        assert!(!refreshed.on(&venue, 20_000));
        refreshed.remember(&venue, 20_000);
        assert!(refreshed.on(&venue, 20_000));
        assert!(
            !refreshed.on(&venue, 20_001),
            "a new day is refreshed again"
        );
    }
}
