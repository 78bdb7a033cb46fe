//! Changing a venue without losing a concurrent change: read, change, and write back only if
//! nobody wrote in between (compare and set on the venue's revision), else try again.

use crate::domain::{ParseError, Venue, VenueId};
use crate::storage::{Store, StoreError};

/// How often a change is tried again when other changes keep coming first.
const MAX_ATTEMPTS: usize = 16;

/// Why a venue could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No such venue.
    #[error("no venue {0}")]
    NotFound(VenueId),
    /// The change is not valid.
    #[error(transparent)]
    Invalid(#[from] ParseError),
    /// The store failed, or other changes kept coming first.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `change` to the stored venue `id` and writes it, atomically with respect to other
/// changes: a change made meanwhile is read and `change` applied on top of it.
///
/// # Errors
/// [`UpdateError`]; `change`'s own error leaves the venue as it was.
pub async fn update_venue(
    store: &dyn Store,
    id: &VenueId,
    mut change: impl FnMut(&mut Venue) -> Result<(), ParseError>,
) -> Result<Venue, UpdateError> {
    for _ in 0..MAX_ATTEMPTS {
        let mut venue = store
            .venue(id)
            .await?
            .ok_or_else(|| UpdateError::NotFound(id.clone()))?;
        let expected = venue.revision;
        change(&mut venue)?;
        venue.revision = expected + 1;
        if store.replace_venue(&venue, expected).await? {
            return Ok(venue);
        }
    }
    Err(StoreError::Unavailable("too many concurrent changes of one venue".into()).into())
}
