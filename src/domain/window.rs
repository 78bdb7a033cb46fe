//! A closed interval of time, as used by queries (`from`, `to`).

use chrono::{DateTime, Duration, Utc};

use super::ParseError;

/// A closed window `[from, to]` in UTC with `from <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// How far back a query looks when it gives no `from`: 14 days, the incubation period that
/// China's 2020 close-contact guidance and the WHO used for quarantine.
pub const DEFAULT_LOOKBACK: Duration = Duration::days(14);

impl TimeWindow {
    /// Builds a window; `from` defaults to `to - 14 days`, `to` to `now`. Refuses `from > to`.
    pub fn new(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self, ParseError> {
        let to = to.unwrap_or(now);
        let from = from.unwrap_or(to - DEFAULT_LOOKBACK);
        if from > to {
            return Err(ParseError::new("from", "must not be after `to`"));
        }
        Ok(Self { from, to })
    }
    /// The window's start.
    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }
    /// The window's end.
    pub fn to(&self) -> DateTime<Utc> {
        self.to
    }
    /// Whether `[start, end]` shares at least an instant with the window.
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        start <= self.to && end >= self.from
    }
}
