//! Parsing of query parameters shared by several routes (times, windows, minutes).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::{ParseError, TimeWindow};

/// Parses an RFC 3339 time with offset. A `+` that arrived as a space (an unencoded query
/// string) is put back.
pub fn parse_time(field: &'static str, raw: &str) -> Result<DateTime<Utc>, ParseError> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .or_else(|e| match raw.rfind(' ') {
            // `2020-02-16T08:00:00 08:00`: an unencoded `+` read as a space.
            Some(i) if raw.contains('T') => {
                DateTime::parse_from_rfc3339(&format!("{}+{}", &raw[..i], &raw[i + 1..]))
            }
            _ => Err(e),
        })
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ParseError::new(
                field,
                "must be an RFC 3339 time with offset, e.g. 2020-02-16T08:00:00+08:00",
            )
        })
}

/// `from` and `to` of a query; both optional (default: the 14 days up to now).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WindowParams {
    /// Window start, RFC 3339 with offset.
    pub from: Option<String>,
    /// Window end, RFC 3339 with offset.
    pub to: Option<String>,
}

impl WindowParams {
    /// The window, given the current time.
    pub fn window(&self, now: DateTime<Utc>) -> Result<TimeWindow, ParseError> {
        let from = self
            .from
            .as_deref()
            .map(|s| parse_time("from", s))
            .transpose()?;
        let to = self
            .to
            .as_deref()
            .map(|s| parse_time("to", s))
            .transpose()?;
        TimeWindow::new(from, to, now)
    }
}

/// Parses a count of minutes, 0 to 1440 (a day), defaulting to 0.
pub fn parse_minutes(field: &'static str, raw: Option<&str>) -> Result<i64, ParseError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(0),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|m| (0..=1440).contains(m))
            .ok_or_else(|| {
                ParseError::new(field, "must be a whole number of minutes from 0 to 1440")
            }),
    }
}

/// `dry_run` of a CSV import. Any other parameter is refused: a misspelt `dryrun=true`
/// would otherwise write the import for real.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// `true`: check every row as the import would and report it, writing nothing.
    pub dry_run: Option<bool>,
}

impl ImportParams {
    /// The import's mode.
    pub fn mode(&self) -> crate::service::imports::Mode {
        if self.dry_run == Some(true) {
            crate::service::imports::Mode::DryRun
        } else {
            crate::service::imports::Mode::Write
        }
    }
}
