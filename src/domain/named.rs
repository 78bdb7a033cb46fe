//! Enums of the contract's words (`in`, `shop`, `let_through`), read from one of their names.
//!
//! serde's derived enums leave the error to the format, and serde_json says "expected value"
//! for a number, `null` or an array, and "expected unit" for `{"shop": 1}`. Read through
//! [`deserialize`], anything but one of the names is refused with the names listed:
//! `invalid type: integer 5, expected one of "in", "out"`.
//!
//! Binary formats (postcard, in the Redis store's records) keep a value as serde's derive
//! wrote it, its variant's index: the order of [`Named::NAMES`] is the order of the enum's
//! variants, and new ones go at the end.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// An enum whose values are each known by one name.
pub trait Named: Sized + Copy + 'static {
    /// Each value and its name, in the order of the enum's variants (a binary format's index
    /// of a value is its place here).
    const NAMES: &'static [(Self, &'static str)];

    /// The value named `name` exactly, if any.
    fn named(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(v, _)| *v)
    }
}

/// Reads a `T` from a string that is one of its names.
///
/// # Errors
/// "invalid type: …" for anything but a string, "invalid value: …" for another string; both
/// end "expected one of" and the names.
pub fn deserialize<'de, D: Deserializer<'de>, T: Named>(d: D) -> Result<T, D::Error> {
    if d.is_human_readable() {
        d.deserialize_str(NameVisitor(PhantomData))
    } else {
        // The formats this store uses read an enum by its variant's index and do not look at
        // the names passed here.
        d.deserialize_enum(std::any::type_name::<T>(), &[], NameVisitor(PhantomData))
    }
}

/// Implements `Deserialize` for each [`Named`] enum given, through [`deserialize`].
macro_rules! deserialize_by_name {
    ($($t:ty),+) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::domain::named::deserialize(d)
            }
        }
    )+};
}
pub(crate) use deserialize_by_name;

/// "one of "a", "b"": the names of `T`, as an error lists them.
pub fn one_of<T: Named>() -> String {
    let names: Vec<String> = T::NAMES.iter().map(|(_, n)| format!("{n:?}")).collect();
    format!("one of {}", names.join(", "))
}

struct NameVisitor<T>(PhantomData<T>);

impl<'de, T: Named> Visitor<'de> for NameVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&one_of::<T>())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::named(v).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<T, A::Error> {
        let (value, variant) = data.variant_seed(VariantSeed(PhantomData))?;
        de::VariantAccess::unit_variant(variant)?;
        Ok(value)
    }
}

/// A variant of a binary format's enum: its index, or its name.
struct VariantSeed<T>(PhantomData<T>);

impl<'de, T: Named> de::DeserializeSeed<'de> for VariantSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_identifier(VariantVisitor(PhantomData))
    }
}

struct VariantVisitor<T>(PhantomData<T>);

impl<T: Named> Visitor<'_> for VariantVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a variant index below {}, or {}",
            T::NAMES.len(),
            one_of::<T>()
        )
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        usize::try_from(v)
            .ok()
            .and_then(|i| T::NAMES.get(i))
            .map(|(value, _)| *value)
            .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::named(v).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Way {
        In,
        Out,
    }

    impl Named for Way {
        const NAMES: &'static [(Self, &'static str)] = &[(Way::In, "in"), (Way::Out, "out")];
    }

    impl<'de> Deserialize<'de> for Way {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            deserialize(d)
        }
    }

    /// As serde's derive reads and writes it.
    #[derive(Debug, PartialEq, serde::Serialize, Deserialize)]
    enum Derived {
        In,
        Out,
    }

    /// Each name is the one `Serialize` writes, at the index it writes in a binary format.
    fn names_match_serialize<T: Named + serde::Serialize>() {
        for (i, (value, name)) in T::NAMES.iter().enumerate() {
            assert_eq!(serde_json::to_value(value).ok(), Some((*name).into()));
            let index = postcard::to_allocvec(value).unwrap_or_default();
            assert_eq!(
                index,
                postcard::to_allocvec(&i).unwrap_or_default(),
                "{name}"
            );
        }
    }

    #[test]
    fn every_enum_read_by_name_lists_its_variants_in_their_order() {
        use crate::domain::staff::{Role, StaffRole};
        use crate::domain::vehicle::OfficerDecision;
        use crate::domain::{Direction, EntryPolicy, VenueKind};
        names_match_serialize::<Direction>();
        names_match_serialize::<VenueKind>();
        names_match_serialize::<EntryPolicy>();
        names_match_serialize::<OfficerDecision>();
        names_match_serialize::<Role>();
        names_match_serialize::<StaffRole>();
    }

    #[test]
    fn a_binary_format_reads_the_variant_index_the_derive_wrote() {
        for (derived, way) in [(Derived::In, Way::In), (Derived::Out, Way::Out)] {
            let bytes = postcard::to_allocvec(&derived).unwrap_or_default();
            assert_eq!(postcard::from_bytes::<Way>(&bytes).ok(), Some(way));
        }
        assert!(postcard::from_bytes::<Way>(&[2]).is_err());
    }

    #[test]
    fn a_name_is_read_and_anything_else_is_refused_with_the_names() {
        assert_eq!(serde_json::from_str::<Way>(r#""out""#).ok(), Some(Way::Out));
        for (json, starts) in [
            ("5", "invalid type: integer `5`"),
            ("null", "invalid type: null"),
            ("[]", "invalid type: sequence"),
            (r#"{"in": 1}"#, "invalid type: map"),
            (r#""OUT""#, "invalid value: string \"OUT\""),
        ] {
            let message = serde_json::from_str::<Way>(json)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.starts_with(starts), "{json}: {message}");
            assert!(
                message.contains(r#"expected one of "in", "out""#),
                "{json}: {message}"
            );
        }
    }
}
