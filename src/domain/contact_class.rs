//! Contact classes: how close a contact is to the index case, so tracers can work closest-first
//! (tracing issue). The first three come from the residents' registration, whether or not the
//! people scanned; the last from shared visits only.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ParseError, Resident};

/// How close a contact is, closest first (the order of the variants).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ContactClass {
    /// Registered in the same household.
    Household,
    /// Registered in the same building of the same home compound, another household.
    Building,
    /// Registered in the same home compound, another building.
    Compound,
    /// No shared registration: met at a venue (a shared visit).
    SharedVisit,
}

impl ContactClass {
    /// Every class, closest first.
    pub const ALL: [ContactClass; 4] = [
        ContactClass::Household,
        ContactClass::Building,
        ContactClass::Compound,
        ContactClass::SharedVisit,
    ];

    /// The closest class that `a`'s and `b`'s registrations share; `SharedVisit` when either is
    /// unregistered or they share nothing. A household counts only within one home compound.
    pub fn between(a: Option<&Resident>, b: Option<&Resident>) -> Self {
        let (Some(a), Some(b)) = (a, b) else {
            return ContactClass::SharedVisit;
        };
        let same = |x: &Option<String>, y: &Option<String>| x.is_some() && x == y;
        if a.home.is_none() || a.home != b.home {
            return ContactClass::SharedVisit;
        }
        if same(&a.household, &b.household) {
            ContactClass::Household
        } else if same(&a.building, &b.building) {
            ContactClass::Building
        } else {
            ContactClass::Compound
        }
    }

    /// The wire name: `household`, `building`, `compound` or `shared_visit`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactClass::Household => "household",
            ContactClass::Building => "building",
            ContactClass::Compound => "compound",
            ContactClass::SharedVisit => "shared_visit",
        }
    }

    /// Whether the class comes from registration (and so holds without a shared visit).
    pub fn is_registered(self) -> bool {
        self != ContactClass::SharedVisit
    }

    /// Parses a comma-separated list such as `household,building`; empty means all.
    ///
    /// # Errors
    /// [`ParseError`] on `classes` naming an unknown class.
    pub fn parse_list(raw: &str) -> Result<Vec<Self>, ParseError> {
        if raw.trim().is_empty() {
            return Ok(Self::ALL.to_vec());
        }
        let mut classes = raw
            .split(',')
            .map(|c| {
                serde_json::from_value(serde_json::Value::String(c.trim().to_owned())).map_err(
                    |_| {
                        ParseError::new(
                            "classes",
                            "must be some of household, building, compound, shared_visit",
                        )
                    },
                )
            })
            .collect::<Result<Vec<Self>, _>>()?;
        classes.sort();
        classes.dedup();
        Ok(classes)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::{Phone, ResidentId, VenueId};

    fn person(id: &str, home: Option<&str>, building: &str, household: &str) -> Resident {
        Resident {
            id: ResidentId::parse(id).unwrap_or_else(|_| unreachable!()),
            name: None,
            phone: Phone::parse("19900000001").unwrap_or_else(|_| unreachable!()),
            home: home.map(|h| VenueId::parse(h).unwrap_or_else(|_| unreachable!())),
            building: Some(building.into()),
            room: None,
            household: Some(household.into()),
            tags: Vec::new(),
            registered: true,
            created_at: Utc::now(),
            token_generation: 0,
        }
    }

    #[test]
    fn the_closest_shared_registration_decides_the_class() {
        let p = person("P", Some("C1"), "1栋", "H1");
        let cases = [
            (
                person("A", Some("C1"), "1栋", "H1"),
                ContactClass::Household,
            ),
            (person("B", Some("C1"), "1栋", "H2"), ContactClass::Building),
            (person("C", Some("C1"), "2栋", "H3"), ContactClass::Compound),
            (
                person("D", Some("C2"), "1栋", "H1"),
                ContactClass::SharedVisit,
            ),
            (person("E", None, "1栋", "H1"), ContactClass::SharedVisit),
        ];
        for (other, class) in cases {
            assert_eq!(
                ContactClass::between(Some(&p), Some(&other)),
                class,
                "{}",
                other.id
            );
        }
        assert_eq!(
            ContactClass::between(Some(&p), None),
            ContactClass::SharedVisit
        );
    }

    #[test]
    fn a_class_list_parses_in_closest_first_order_and_refuses_unknown_names() {
        assert_eq!(
            ContactClass::parse_list("shared_visit, household,household"),
            Ok(vec![ContactClass::Household, ContactClass::SharedVisit])
        );
        assert_eq!(ContactClass::parse_list(""), Ok(ContactClass::ALL.to_vec()));
        assert!(ContactClass::parse_list("neighbours").is_err());
    }
}
