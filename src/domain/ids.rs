//! Identifiers and short names that arrive from clients and CSV files.

use serde::{Deserialize, Serialize};
use std::fmt;

use unicode_normalization::UnicodeNormalization;

use super::ParseError;

/// Letters, digits and `-`, `_`, `.`: the characters an id may contain (CSV codes such as
/// `GC-C001`, resident ids such as `R00001`). Ids go into Redis keys, URLs and QR claims, so
/// nothing else is allowed.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn parse_id(field: &'static str, raw: &str, max: usize) -> Result<String, ParseError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ParseError::new(field, "must not be empty"));
    }
    if s.len() > max {
        return Err(ParseError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().all(|c| c == '.') {
        return Err(ParseError::new(field, "must not be only dots"));
    }
    if !s.chars().all(is_id_char) {
        return Err(ParseError::new(
            field,
            "may contain only letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(s.to_owned())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses an id: trimmed, 1 to 64 characters of `[A-Za-z0-9_.-]`.
            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                parse_id($field, raw, 64).map(Self)
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, ParseError> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A venue's id: the CSV `code` (`GC-C001`) when imported, generated (`V…`) otherwise.
    VenueId,
    "venue_id"
);
id_type!(
    /// A resident's id: the CSV `resident_id` (`R00001`), or `U…` for a person first seen
    /// at an OTP login with an unknown phone.
    ResidentId,
    "resident_id"
);

impl VenueId {
    /// A fresh random venue id, `V` and 12 hex digits.
    pub fn generate() -> Self {
        Self(format!(
            "V{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ))
    }
}

impl ResidentId {
    /// A fresh random id for an unregistered person, `U` and 12 hex digits.
    pub fn generate() -> Self {
        Self(format!(
            "U{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ))
    }
}

/// A named entrance of a venue (`北门`, `正门`): 1 to 32 characters, no control or invisible
/// characters, surrounding white space removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gate(String);

impl Gate {
    /// Parses a gate name.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        parse_name("gate", raw, 32).map(Self)
    }
    /// The gate's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Gate {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Gate> for String {
    fn from(v: Gate) -> String {
        v.0
    }
}
impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mainland China mobile number: 11 digits starting with `1`. Accepts and drops a `+86`
/// or `86` prefix, spaces and dashes, and reads fullwidth digits (`１９９…`) as ASCII.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

/// The ASCII form of a fullwidth character, as Chinese input methods type them (U+FF01 to
/// U+FF5E sit 0xFEE0 above U+0021 to U+007E; U+3000 is the ideographic space); any other
/// character as it is. Only these are folded, so a lookalike such as `⑫` is not read as `12`.
pub(crate) fn halfwidth(c: char) -> char {
    match u32::from(c) {
        0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

impl Phone {
    /// Parses a phone number; see the type's doc for what is accepted.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let folded: String = raw.chars().map(halfwidth).collect();
        let digits: String = folded
            .trim()
            .trim_start_matches('+')
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        let digits = match digits.strip_prefix("86") {
            Some(rest) if rest.len() == 11 => rest.to_owned(),
            _ => digits,
        };
        if digits.len() != 11
            || !digits.starts_with('1')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ParseError::new(
                "phone",
                "must be an 11-digit mobile number starting with 1",
            ));
        }
        Ok(Self(digits))
    }
    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The number with its middle four digits hidden (`199****0001`), for logs and screens.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}
impl TryFrom<String> for Phone {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Phone> for String {
    fn from(v: Phone) -> String {
        v.0
    }
}
/// Debug shows the masked number, so a phone never reaches a log whole.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// Whether `c` is a control character or an invisible format character (zero-width spaces and
/// joiners, bidirectional overrides, the byte-order mark, the soft hyphen): none has a place in
/// a name, and the bidirectional ones can make a name read differently from what it is.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Whether `c` is a space other than the ASCII one (no-break, ideographic, thin, en and em
/// spaces, line and paragraph separators): names typed on phones and pasted from documents
/// carry them, and two names that look alike must compare alike.
fn is_odd_space(c: char) -> bool {
    c != ' ' && c.is_whitespace() && !c.is_control()
}

/// Text as names are stored: Unicode normalisation form C (UAX #15), odd spaces folded to one
/// ASCII space and runs of spaces to one, trimmed. Filters that match stored names (a
/// community in a query) go through it too, so that what was typed matches what was stored.
pub fn normalise_text(raw: &str) -> String {
    let folded: String = raw
        .nfc()
        .map(|c| if is_odd_space(c) { ' ' } else { c })
        .collect();
    folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A person's or place's display name: in Unicode normalisation form C (UAX #15), odd spaces
/// folded to one ASCII space and runs of spaces to one, trimmed; 1 to `max` characters; no
/// control or invisible format characters.
pub fn parse_name(field: &'static str, raw: &str, max: usize) -> Result<String, ParseError> {
    let s = normalise_text(raw);
    let n = s.chars().count();
    if n == 0 {
        return Err(ParseError::new(field, "must not be empty"));
    }
    if n > max {
        return Err(ParseError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().any(is_hidden) {
        return Err(ParseError::new(
            field,
            "must not contain control or invisible characters",
        ));
    }
    Ok(s)
}

/// An optional text field: empty or absent is `None`, anything else a [`parse_name`].
pub fn parse_optional(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, ParseError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_name(field, v, max).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_with_country_code_and_spaces_is_accepted() {
        let p = Phone::parse("+86 199 0000 0001").map(|p| p.as_str().to_owned());
        assert_eq!(p, Ok("19900000001".to_owned()));
    }

    #[test]
    fn a_phone_typed_in_fullwidth_digits_is_read_as_ascii() {
        let p = Phone::parse("＋８６ １９９００００００１２").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.as_str(), "19900000012");
    }

    #[test]
    fn a_short_phone_is_refused() {
        assert!(Phone::parse("1990000").is_err());
    }

    #[test]
    fn an_id_with_a_slash_is_refused() {
        assert!(VenueId::parse("GC/C001").is_err());
        assert!(VenueId::parse(" GC-C001 ").is_ok());
    }

    #[test]
    fn invisible_characters_and_dot_only_ids_are_refused() {
        assert!(Gate::parse("北\u{200B}门").is_err());
        assert!(parse_name("name", "店\u{202E}名", 10).is_err());
        assert!(VenueId::parse("..").is_err());
        assert!(VenueId::parse("a.b").is_ok());
    }

    #[test]
    fn names_are_nfc_with_odd_spaces_folded() {
        // "é" as e + combining acute (NFD) becomes the one code point; a no-break, an
        // ideographic and a thin space become one ASCII space.
        assert_eq!(
            parse_name("name", "Cafe\u{301}\u{a0}\u{3000}东门\u{2009}药店 ", 20),
            Ok("Café 东门 药店".to_owned())
        );
        assert_eq!(
            Gate::parse("\u{3000}北门\u{3000}").map(String::from),
            Ok("北门".into())
        );
        assert!(parse_name("name", "\u{3000}\u{a0}", 20).is_err());
        assert!(parse_name("name", "东门\t药店", 20).is_err());
    }

    #[test]
    fn a_masked_phone_hides_the_middle_digits() {
        assert_eq!(
            Phone::parse("19912345678").map(|p| p.masked()),
            Ok("199****5678".into())
        );
    }
}
