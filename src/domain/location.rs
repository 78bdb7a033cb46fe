//! Where a venue is and when it is open: optional facts an admin may record, which the
//! implausible-scan flags read (reliability issue).

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ParseError;

/// A point on the earth: WGS 84 latitude and longitude, degrees (as a phone's map gives them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "RawLocation")]
pub struct Location {
    /// Latitude, degrees, -90 to 90 (north positive).
    pub lat: f64,
    /// Longitude, degrees, -180 to 180 (east positive).
    pub lon: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocation {
    lat: f64,
    lon: f64,
}

impl TryFrom<RawLocation> for Location {
    type Error = ParseError;
    fn try_from(raw: RawLocation) -> Result<Self, ParseError> {
        Location::parse(raw.lat, raw.lon)
    }
}

/// The earth's mean radius, metres (IUGG), for the haversine distance.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl Location {
    /// A location from degrees.
    ///
    /// # Errors
    /// [`ParseError`] for a latitude outside -90..=90, a longitude outside -180..=180, or a
    /// value that is not a finite number.
    pub fn parse(lat: f64, lon: f64) -> Result<Self, ParseError> {
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(ParseError::new("location", "lat must be -90 to 90 degrees"));
        }
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(ParseError::new(
                "location",
                "lon must be -180 to 180 degrees",
            ));
        }
        Ok(Self { lat, lon })
    }

    /// The great-circle distance to `other`, metres (haversine formula on a sphere of the
    /// earth's mean radius; within 0.5 % of the ellipsoid's).
    pub fn distance_m(&self, other: &Location) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }
}

/// A venue's daily opening hours in the deployment's local time zone: open from `opens` until
/// `closes`; a `closes` earlier than `opens` runs past midnight (a night market, 18:00 to
/// 02:00). Written `"HH:MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "RawHours", into = "RawHours")]
pub struct OpeningHours {
    /// Opening time, local.
    #[schema(value_type = String, example = "08:00")]
    pub opens: NaiveTime,
    /// Closing time, local.
    #[schema(value_type = String, example = "22:00")]
    pub closes: NaiveTime,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    opens: String,
    closes: String,
}

impl TryFrom<RawHours> for OpeningHours {
    type Error = ParseError;
    fn try_from(raw: RawHours) -> Result<Self, ParseError> {
        OpeningHours::parse(&raw.opens, &raw.closes)
    }
}

impl From<OpeningHours> for RawHours {
    fn from(h: OpeningHours) -> Self {
        Self {
            opens: h.opens.format("%H:%M").to_string(),
            closes: h.closes.format("%H:%M").to_string(),
        }
    }
}

impl OpeningHours {
    /// Hours from two `"HH:MM"` times.
    ///
    /// # Errors
    /// [`ParseError`] for a time that is not `HH:MM`, or equal opening and closing times.
    pub fn parse(opens: &str, closes: &str) -> Result<Self, ParseError> {
        let time = |s: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M")
                .map_err(|_| ParseError::new("opening_hours", "times are HH:MM, e.g. 08:00"))
        };
        let (opens, closes) = (time(opens)?, time(closes)?);
        if opens == closes {
            return Err(ParseError::new(
                "opening_hours",
                "opens and closes must differ (leave the hours out for a venue never closed)",
            ));
        }
        Ok(Self { opens, closes })
    }

    /// Whether the venue is open at local time `t`.
    pub fn is_open_at(&self, t: NaiveTime) -> bool {
        if self.opens < self.closes {
            self.opens <= t && t < self.closes
        } else {
            t >= self.opens || t < self.closes
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distance_across_a_town_is_its_great_circle_length() {
        // Two points in Huize's old town (古城), 0.008° north and 0.007° east of each other.
        let a = Location::parse(26.4170, 103.2970).unwrap_or_else(|e| panic!("{e}"));
        let b = Location::parse(26.4250, 103.3040).unwrap_or_else(|e| panic!("{e}"));
        let d = a.distance_m(&b);
        assert!((1_100.0..1_200.0).contains(&d), "{d}");
        assert!(a.distance_m(&a) < 1e-6);
        // A degree of latitude is about 111.2 km.
        let north = Location::parse(27.4170, 103.2970).unwrap_or_else(|e| panic!("{e}"));
        assert!((a.distance_m(&north) - 111_195.0).abs() < 100.0);
    }

    #[test]
    fn coordinates_off_the_earth_are_refused() {
        assert!(Location::parse(90.1, 0.0).is_err());
        assert!(Location::parse(0.0, -180.5).is_err());
        assert!(Location::parse(f64::NAN, 0.0).is_err());
    }

    #[test]
    fn hours_past_midnight_are_open_on_both_sides_of_it() {
        let night = OpeningHours::parse("18:00", "02:00").unwrap_or_else(|e| panic!("{e}"));
        let at = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap_or_default();
        assert!(night.is_open_at(at("23:00")) && night.is_open_at(at("01:59")));
        assert!(!night.is_open_at(at("02:00")) && !night.is_open_at(at("12:00")));
        let day = OpeningHours::parse("08:00", "22:00").unwrap_or_else(|e| panic!("{e}"));
        assert!(day.is_open_at(at("08:00")) && !day.is_open_at(at("22:00")));
        assert!(OpeningHours::parse("8h", "22:00").is_err());
        assert!(OpeningHours::parse("08:00", "08:00").is_err());
    }
}
