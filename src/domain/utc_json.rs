//! A UTC time written to JSON exactly as chrono's serde support writes it (RFC 3339 with `Z`
//! and as many fraction digits as the time needs: none, 3, 6 or 9), by a shorter road:
//! chrono's goes through a formatter that hands serde_json one character at a time to escape,
//! and a scan's answer, written twice (to the client and to its idempotency record), spent
//! about a fourteenth of the service's instructions on its two times (docs/scaling.md).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// `serialize_with` for a `DateTime<Utc>` field.
///
/// # Errors
/// The serializer's, if writing fails.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[derive(serde::Serialize)]
    struct Fast(#[serde(serialize_with = "serialize")] DateTime<Utc>);

    #[test]
    fn a_time_is_written_as_chronos_serde_writes_it() {
        let base = Utc
            .with_ymd_and_hms(2020, 2, 16, 8, 5, 9)
            .single()
            .unwrap_or_default();
        for nanos in [0, 120_000_000, 7_000_000, 123_456_000, 1, 999_999_999] {
            let at = base + chrono::Duration::nanoseconds(nanos);
            let chrono_way = serde_json::to_string(&at).unwrap_or_default();
            assert_eq!(
                serde_json::to_string(&Fast(at)).unwrap_or_default(),
                chrono_way
            );
        }
        assert_eq!(
            serde_json::to_string(&Fast(base)).unwrap_or_default(),
            r#""2020-02-16T08:05:09Z""#
        );
    }
}
