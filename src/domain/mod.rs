//! The domain: what the words of the contract mean, and the rules that decide.
//!
//! Nothing here knows HTTP, Redis or SQLite. Values are built once at the edge by
//! `parse`/`TryFrom` and are valid from then on; the rules in [`rules`] and
//! [`contacts`] are pure functions of those values and a clock reading.

pub mod alert;
pub mod audit;
pub mod contact_class;
pub mod contacts;
pub mod delivery;
pub mod flags;
pub mod ids;
pub mod location;
pub mod named;
pub mod rederive;
pub mod report;
pub mod resident;
pub mod rules;
pub mod scan;
pub mod staff;
pub mod utc_json;
pub mod vehicle;
pub mod venue;
pub mod visit;
pub mod visitor;
pub mod window;

pub use ids::{Gate, Phone, ResidentId, VenueId};
pub use resident::Resident;
pub use scan::{Direction, ScanEvent, Temperature};
pub use venue::{EntryPolicy, Venue, VenueKind};
pub use visit::{ClosedBy, Visit};
pub use window::TimeWindow;

/// Why a value from outside could not become a domain value. The message is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParseError {
    /// The field or column that was wrong, e.g. `phone`.
    pub field: &'static str,
    /// What was wrong with it, in plain words.
    pub message: String,
}

impl ParseError {
    /// A parse error for `field` saying `message`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
