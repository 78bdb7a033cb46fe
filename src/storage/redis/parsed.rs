//! The last venue and registration this instance parsed from each record's JSON, with that
//! JSON: every scan reads its venue and the person's registration, which change seldom, and
//! parsing them again was about a twelfth of the service's instructions a scan
//! (docs/scaling.md).
//!
//! Never stale: the record is still read from Redis at every scan, and the parsed value is
//! taken from here only when the JSON read is byte for byte the JSON it was parsed from.

use std::sync::Arc;

use quick_cache::sync::Cache;
use serde::de::DeserializeOwned;

use crate::domain::{Resident, Venue};
use crate::storage::StoreError;

/// How many venues are kept (a venue's JSON and value: about 2 kB).
const VENUES_KEPT: usize = 10_000;
/// How many registrations are kept (about 1 kB each).
const RESIDENTS_KEPT: usize = 50_000;

/// Record id → the JSON last parsed for it and the value parsed.
pub(super) struct Parsed<T> {
    kept: Cache<String, Arc<(String, T)>>,
}

impl<T: DeserializeOwned + Clone> Parsed<T> {
    fn new(capacity: usize) -> Self {
        Self {
            kept: Cache::new(capacity),
        }
    }

    /// `raw`, the JSON of record `id`, parsed; `None` for no record.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for JSON that is not a `T`.
    pub(super) fn parse(&self, id: &str, raw: Option<String>) -> Result<Option<T>, StoreError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        if let Some(kept) = self.kept.get(id) {
            if kept.0 == raw {
                return Ok(Some(kept.1.clone()));
            }
        }
        let value: T = serde_json::from_str(&raw)?;
        self.kept
            .insert(id.to_owned(), Arc::new((raw, value.clone())));
        Ok(Some(value))
    }
}

/// The parsed records of one store, shared by its connections.
pub(super) struct ParsedRecords {
    /// By venue id.
    pub venues: Parsed<Venue>,
    /// By resident id.
    pub residents: Parsed<Resident>,
}

impl ParsedRecords {
    pub(super) fn new() -> Self {
        Self {
            venues: Parsed::new(VENUES_KEPT),
            residents: Parsed::new(RESIDENTS_KEPT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    struct Named {
        name: String,
    }

    #[test]
    fn a_record_whose_json_changed_is_parsed_again() {
        let parsed: Parsed<Named> = Parsed::new(8);
        let read = |json: &str| parsed.parse("V1", Some(json.to_owned()));
        assert_eq!(
            read(r#"{"name":"a"}"#).ok().flatten().map(|n| n.name),
            Some("a".into())
        );
        assert_eq!(
            read(r#"{"name":"a"}"#).ok().flatten().map(|n| n.name),
            Some("a".into())
        );
        assert_eq!(
            read(r#"{"name":"b"}"#).ok().flatten().map(|n| n.name),
            Some("b".into())
        );
        assert!(matches!(read("{"), Err(StoreError::Corrupt(_))));
        assert_eq!(parsed.parse("V1", None).ok().flatten(), None);
    }
}
