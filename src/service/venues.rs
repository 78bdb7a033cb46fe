//! Registering and changing venues: a sub-location's parent is checked once, at registration;
//! a change is read, applied and written back only if nobody wrote in between (compare and set
//! on the venue's revision), else tried again.

use crate::domain::{ParseError, Venue, VenueId, VenueKind};
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
        venue.keep_stay_record();
        venue.revision = expected + 1;
        if store.replace_venue(&venue, expected).await? {
            return Ok(venue);
        }
    }
    Err(StoreError::Unavailable("too many concurrent changes of one venue".into()).into())
}

/// A parent's id, with errors that name the `parent` field.
///
/// # Errors
/// [`ParseError`] on `parent` when it is not a venue id.
pub fn parse_parent(raw: &str) -> Result<VenueId, ParseError> {
    VenueId::parse(raw).map_err(|e| ParseError::new("parent", e.message))
}

/// Checks a new venue's parent, if it has one: a registered venue, other than itself, that is
/// not a sub-location itself (sub-locations are one level deep, so there are no cycles).
///
/// # Errors
/// [`UpdateError::Invalid`] naming what is wrong; [`UpdateError::Store`].
pub async fn check_parent(store: &dyn Store, venue: &Venue) -> Result<(), UpdateError> {
    let parent = match &venue.parent {
        Some(p) => store.venue(p).await?,
        None => None,
    };
    check_parent_is(venue, parent.as_ref())
}

/// [`check_parent`] given the parent as found (`None` when it is not registered, or when
/// `venue` names none).
///
/// # Errors
/// [`UpdateError::Invalid`] on `parent`, as [`check_parent`].
pub fn check_parent_is(venue: &Venue, found: Option<&Venue>) -> Result<(), UpdateError> {
    let Some(parent) = &venue.parent else {
        return Ok(());
    };
    let invalid = |m: String| UpdateError::Invalid(ParseError::new("parent", m));
    if parent == &venue.id {
        return Err(invalid("a venue cannot be its own parent".into()));
    }
    if venue.kind == VenueKind::Checkpoint {
        return Err(invalid(
            "a checkpoint cannot be a sub-location: its passes last no time".into(),
        ));
    }
    match found {
        None => Err(invalid(format!("no venue {parent}; register it first"))),
        Some(p) if p.parent.is_some() => Err(invalid(format!(
            "{parent} is itself a sub-location; sub-locations are one level deep"
        ))),
        Some(p) if p.kind == VenueKind::Checkpoint => Err(invalid(format!(
            "{parent} is a checkpoint, which has no sub-locations"
        ))),
        Some(_) => Ok(()),
    }
}
