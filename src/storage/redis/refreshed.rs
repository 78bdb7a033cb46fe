//! The venues whose idle expiries this instance saw refreshed today, so that a scan's commit
//! can skip reading the venue's `xday` mark: one `redis.call` fewer a scan (see `venue_write`
//! in `scripts.rs`).
//!
//! A hint, kept in memory and never shared. A venue is remembered with Redis's UTC day after a
//! single node's commit whose script read its mark (and refreshed it if it was older), and
//! the mark is skipped only while this instance's own UTC day is that day: around midnight,
//! when the two clocks disagree, the mark is read. A venue not remembered is read as before.
//! What the hint cannot see: another instance with another idle expiry (or none) writing to
//! the venue the same day, during a rollout of a changed retention. Keys that instance makes
//! then keep its expiry until this instance's next day's refresh (a day at most, against an
//! idle expiry of the retention plus the longest stay); a key a write creates gets its expiry
//! at once either way.

use quick_cache::sync::Cache;

use crate::domain::VenueId;

/// How many venues are remembered; past that, the least used are forgotten (and read again).
const VENUES_KEPT: usize = 65_536;

/// Venue id → the last UTC day by Redis's clock (days since 1970-01-01) on which a commit of
/// this instance read the venue's refresh mark: the day's refresh had then run, or ran.
pub(super) struct Refreshed {
    days: Cache<VenueId, i64>,
}

impl Refreshed {
    pub(super) fn new() -> Self {
        Self {
            days: Cache::new(VENUES_KEPT),
        }
    }

    /// Whether a commit of this instance saw `venue` refreshed on `day`.
    pub(super) fn on(&self, venue: &VenueId, day: i64) -> bool {
        self.days.get(venue) == Some(day)
    }

    /// Remembers that a commit saw `venue` refreshed on `day`.
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
