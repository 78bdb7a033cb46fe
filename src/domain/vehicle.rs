//! Vehicle passes at checkpoints (checkpoint issue): a vehicle stopped at a `checkpoint`
//! venue, its plate, where it comes from, its passengers with their readings, and what the
//! officer decided. Passengers who give a phone also get a pass visit each (see
//! `service::vehicles`), so tracing finds them; the plate is searchable by tracers.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{halfwidth, parse_name, parse_optional, Gate, Phone, ResidentId, VenueId};
use super::scan::{Decision, DenyReason, Temperature};
use super::ParseError;

/// The province abbreviations that open a mainland Chinese plate (31 provincial divisions).
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// The characters that end a special-use plate after 4 alphanumerics (GA 36).
const USE_SUFFIXES: &str = "警学挂港澳领试超";

/// The most passengers one pass may count (a large coach).
pub const MAX_PASSENGERS: u32 = 60;
/// The longest officer's reason, characters.
pub const MAX_REASON_CHARS: usize = 200;
/// The longest passenger name, characters.
pub const MAX_NAME_CHARS: usize = 50;

/// A mainland Chinese number plate (the shapes of GA 36), normalised: a province abbreviation
/// (`云`), a letter (`D`), then 5 alphanumerics (an ordinary plate, `云D12345`), 6 (a
/// new-energy plate, `鄂AD12345`), or 4 and a use character (`云A1234警` police, `学`
/// learner, `挂` trailer, `港`/`澳` Hong Kong and Macau cross-border, `领` consulate, `试`
/// test, `超` oversize); or an armed-police plate `WJ` with an optional province abbreviation
/// and 5 alphanumerics (`WJ云12345`); or an embassy plate `使` and 6 alphanumerics. Parsing drops
/// spaces, `·`, `•` and `-` and upper-cases ASCII letters, so `鄂a·d12345` and `鄂A D12345`
/// are the same plate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Plate(String);

impl Plate {
    /// Parses and normalises a plate. Fullwidth forms, which Chinese input methods type
    /// (`云Ｄ１２３４５`), are read as their ASCII letters, digits and signs (U+FF01 to U+FF5E,
    /// and the ideographic space); no other character is folded, so a lookalike such as `⑫`
    /// is refused rather than read as `12`.
    ///
    /// # Errors
    /// A [`ParseError`] on `plate` saying what shape is expected.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s: String = raw
            .chars()
            .map(halfwidth)
            .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '•' | '-' | '\u{30FB}'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let c: Vec<char> = s.chars().collect();
        let alnum = |t: &[char]| {
            t.iter()
                .all(|x| x.is_ascii_uppercase() || x.is_ascii_digit())
        };
        let province = |x: &char| PROVINCES.contains(*x);
        let ordinary = c.len() >= 2
            && province(&c[0])
            && c[1].is_ascii_uppercase()
            && match c.len() - 2 {
                5 => alnum(&c[2..]) || (alnum(&c[2..6]) && USE_SUFFIXES.contains(c[6])),
                6 => alnum(&c[2..]),
                _ => false,
            };
        let armed_police = c.len() >= 2 && c[0] == 'W' && c[1] == 'J' && {
            let rest = if c.len() > 2 && province(&c[2]) {
                &c[3..]
            } else {
                &c[2..]
            };
            rest.len() == 5 && alnum(rest)
        };
        let embassy = c.first() == Some(&'使') && c.len() == 7 && alnum(&c[1..]);
        if ordinary || armed_police || embassy {
            Ok(Self(s))
        } else {
            Err(ParseError::new(
                "plate",
                "must be a mainland plate: a province abbreviation, a letter, then 5 or 6 \
                 letters or digits (云D12345, 鄂A·D12345) or 4 and a use character (云A1234警); \
                 or WJ云12345, or 使123456",
            ))
        }
    }

    /// The normalised plate, e.g. `云D12345`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Plate {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Plate> for String {
    fn from(p: Plate) -> String {
        p.0
    }
}
impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a vehicle comes from, as the officer recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Province, 1 to 16 characters (`湖北`).
    pub province: String,
    /// City, 1 to 32 characters (`武汉`).
    pub city: String,
}

impl Origin {
    /// Parses an origin.
    ///
    /// # Errors
    /// A [`ParseError`] on `origin.province` or `origin.city` when empty, too long, or holding
    /// control or invisible characters.
    pub fn parse(province: &str, city: &str) -> Result<Self, ParseError> {
        Ok(Self {
            province: parse_name("origin.province", province, 16)?,
            city: parse_name("origin.city", city, 32)?,
        })
    }

    /// Whether the vehicle comes from `province`, compared by the name's stem, so `云南省`,
    /// `云南` and `云南 ` agree, as do `广西壮族自治区` and `广西`.
    pub fn is_from(&self, province: &str) -> bool {
        province_stem(&self.province) == province_stem(province)
    }
}

/// A province's name without its administrative suffix (GB/T 2260 names: 省, 市, 自治区 and
/// the ethnic autonomous regions' longer forms, 特别行政区).
fn province_stem(name: &str) -> &str {
    const SUFFIXES: [&str; 7] = [
        "壮族自治区",
        "回族自治区",
        "维吾尔自治区",
        "特别行政区",
        "自治区",
        "省",
        "市",
    ];
    let name = name.trim();
    SUFFIXES
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|stem| !stem.is_empty())
        .unwrap_or(name)
}

/// One passenger as recorded at the checkpoint; every field is optional (a child gives none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passenger {
    /// Name, 1 to [`MAX_NAME_CHARS`] characters.
    pub name: Option<String>,
    /// Mobile number: a passenger with one gets a pass visit.
    pub phone: Option<Phone>,
    /// Temperature, °C (30.0 to 45.0).
    pub temperature_c: Option<Temperature>,
}

impl Passenger {
    /// Parses a passenger's name (empty is none); phone and reading come parsed.
    ///
    /// # Errors
    /// A [`ParseError`] on `passengers.name`.
    pub fn new(
        name: Option<&str>,
        phone: Option<Phone>,
        temperature_c: Option<Temperature>,
    ) -> Result<Self, ParseError> {
        Ok(Self {
            name: parse_optional("passengers.name", name, MAX_NAME_CHARS)?,
            phone,
            temperature_c,
        })
    }
}

/// What the officer decided about the vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfficerDecision {
    /// Let through the checkpoint.
    LetThrough,
    /// Turned back; a reason is required.
    TurnedBack,
}

impl super::named::Named for OfficerDecision {
    const NAMES: &'static [(Self, &'static str)] = &[
        (Self::LetThrough, "let_through"),
        (Self::TurnedBack, "turned_back"),
    ];
}

super::named::deserialize_by_name!(OfficerDecision);

/// The pass visit (or denial) that one passenger's phone gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassengerVisit {
    /// Index of the passenger in [`VehiclePass::passengers`], from 0.
    pub passenger: usize,
    /// The person with that phone (found, or created unregistered).
    pub resident_id: ResidentId,
    /// The pass visit; `None` when the scan was denied (a fever).
    pub visit_id: Option<String>,
    /// The scan's decision: `denied` for a fever whatever the officer decided.
    pub decision: Decision,
    /// Why the scan was denied.
    pub reason: Option<DenyReason>,
}

/// Why a pass's details do not make a pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    /// A field is malformed.
    #[error(transparent)]
    Invalid(#[from] ParseError),
    /// `turned_back` without a reason.
    #[error("reason: a turned-back vehicle needs a reason")]
    ReasonRequired,
}

/// The officer's account of one vehicle, checked: what a pass holds besides where, when and
/// who recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct PassDetails {
    /// The plate.
    pub plate: Plate,
    /// Where it comes from.
    pub origin: Origin,
    /// How many people are aboard, driver included: 1 to [`MAX_PASSENGERS`], at least the
    /// number listed.
    pub passenger_count: u32,
    /// The passengers who gave details, at most `passenger_count`.
    pub passengers: Vec<Passenger>,
    /// Let through or turned back.
    pub decision: OfficerDecision,
    /// Why it was turned back (1 to [`MAX_REASON_CHARS`] characters); `None` when let through.
    pub reason: Option<String>,
}

impl PassDetails {
    /// Checks the counts and the decision's reason. A reason given with `let_through` is kept
    /// as a note.
    ///
    /// # Errors
    /// [`PassError::ReasonRequired`] for `turned_back` without a reason;
    /// [`PassError::Invalid`] on `passenger_count`, `passengers` (more than counted, or one
    /// phone twice) or `reason`.
    pub fn new(
        plate: Plate,
        origin: Origin,
        passenger_count: u32,
        passengers: Vec<Passenger>,
        decision: OfficerDecision,
        reason: Option<&str>,
    ) -> Result<Self, PassError> {
        if !(1..=MAX_PASSENGERS).contains(&passenger_count) {
            return Err(ParseError::new(
                "passenger_count",
                format!("must be 1 to {MAX_PASSENGERS}"),
            )
            .into());
        }
        if passengers.len() > passenger_count as usize {
            return Err(
                ParseError::new("passengers", "lists more people than passenger_count").into(),
            );
        }
        let mut phones: Vec<&Phone> = passengers.iter().filter_map(|p| p.phone.as_ref()).collect();
        phones.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        if phones.windows(2).any(|w| w[0] == w[1]) {
            return Err(ParseError::new("passengers", "a phone is listed twice").into());
        }
        let reason = parse_optional("reason", reason, MAX_REASON_CHARS)?;
        if decision == OfficerDecision::TurnedBack && reason.is_none() {
            return Err(PassError::ReasonRequired);
        }
        Ok(Self {
            plate,
            origin,
            passenger_count,
            passengers,
            decision,
            reason,
        })
    }
}

/// A vehicle pass as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehiclePass {
    /// The pass's id: a UUID v7 (time-ordered), or under an idempotency key a UUID v5 of the
    /// officer, plate and key (`service::vehicles`).
    pub id: String,
    /// The checkpoint venue.
    pub venue_id: VenueId,
    /// The checkpoint's gate (lane) where the vehicle stopped.
    pub gate: Gate,
    /// The plate, normalised.
    pub plate: Plate,
    /// Where it comes from.
    pub origin: Origin,
    /// How many people are aboard, driver included.
    pub passenger_count: u32,
    /// The passengers who gave details.
    pub passengers: Vec<Passenger>,
    /// Let through or turned back.
    pub decision: OfficerDecision,
    /// Why it was turned back (or the officer's note).
    pub reason: Option<String>,
    /// The staff username of the officer who recorded it.
    pub officer: String,
    /// When it was recorded: the server's clock, UTC.
    pub at: DateTime<Utc>,
    /// The pass visits of the passengers who gave a phone, in passenger order.
    pub passenger_visits: Vec<PassengerVisit>,
    /// The officer's idempotency key, when the request had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// SHA-256 (hex) of the request's details, to refuse a key reused with another body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::parse("湖北", "武汉").expect("a valid origin")
    }

    fn plate(s: &str) -> Plate {
        Plate::parse(s).expect("a valid plate")
    }

    #[test]
    fn an_ordinary_plate_is_accepted_as_written() {
        assert_eq!(plate("云D12345").as_str(), "云D12345");
    }

    #[test]
    fn a_new_energy_plate_is_normalised_without_its_dot_and_spaces() {
        assert_eq!(plate("鄂a·d12345").as_str(), "鄂AD12345");
        assert_eq!(plate(" 鄂A D1234-5 ").as_str(), "鄂AD12345");
    }

    #[test]
    fn a_plate_typed_in_fullwidth_characters_is_read_as_ascii() {
        assert_eq!(plate("云Ｄ１２３４５").as_str(), "云D12345");
        assert_eq!(plate("鄂ａ－Ｄ１２３４５").as_str(), "鄂AD12345");
        assert_eq!(plate("云Ａ１２３４警").as_str(), "云A1234警");
        assert!(Plate::parse("云A⑫⑬4").is_err(), "a lookalike is not folded");
    }

    #[test]
    fn plates_of_the_wrong_shape_are_refused_naming_the_field() {
        for bad in [
            "",
            "云D1234",
            "云D1234567",
            "XD12345",
            "云112345",
            "云D12$45",
            "D12345",
        ] {
            let e = Plate::parse(bad).expect_err(bad);
            assert_eq!(e.field, "plate", "{bad}");
        }
    }

    #[test]
    fn an_origin_needs_a_province_and_a_city() {
        assert!(Origin::parse("", "武汉").is_err());
        assert!(Origin::parse("湖北", " ").is_err());
        assert!(Origin::parse("湖北", &"长".repeat(33)).is_err());
    }

    #[test]
    fn a_turned_back_vehicle_needs_a_reason() {
        let without = PassDetails::new(
            plate("云D12345"),
            origin(),
            1,
            vec![],
            OfficerDecision::TurnedBack,
            Some("  "),
        );
        let with = PassDetails::new(
            plate("云D12345"),
            origin(),
            1,
            vec![],
            OfficerDecision::TurnedBack,
            Some("来自疫区"),
        );
        assert_eq!(without, Err(PassError::ReasonRequired));
        assert_eq!(with.map(|d| d.reason), Ok(Some("来自疫区".to_owned())));
    }

    #[test]
    fn the_count_covers_the_listed_passengers_and_is_bounded() {
        let one = Passenger::new(Some("张三"), None, None).expect("a passenger");
        let details = |count, listed: usize| {
            PassDetails::new(
                plate("云D12345"),
                origin(),
                count,
                vec![one.clone(); listed],
                OfficerDecision::LetThrough,
                None,
            )
        };
        assert!(details(0, 0).is_err());
        assert!(details(1, 2).is_err());
        assert!(details(MAX_PASSENGERS + 1, 0).is_err());
        assert!(details(3, 2).is_ok());
    }

    #[test]
    fn a_province_is_recognised_with_or_without_its_suffix() {
        let origin = |p: &str| Origin::parse(p, "某市").unwrap_or_else(|e| panic!("{e}"));
        assert!(origin("云南省").is_from("云南"));
        assert!(origin("云南").is_from("云南省"));
        assert!(origin("广西壮族自治区").is_from("广西"));
        assert!(origin("北京市").is_from("北京"));
        assert!(!origin("湖北省").is_from("云南省"));
    }

    #[test]
    fn special_use_armed_police_and_embassy_plates_are_accepted() {
        for ok in [
            "云A1234警",
            "云A1234学",
            "云D1234挂",
            "粤Z1234港",
            "粤Z1234澳",
            "WJ云12345",
            "WJ12345",
            "使123456",
        ] {
            assert!(Plate::parse(ok).is_ok(), "{ok} refused");
        }
        for bad in [
            "云A123警",
            "云A12345警",
            "云A1234X警",
            "WJ云1234",
            "使12345",
            "警A12345",
        ] {
            assert!(Plate::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
