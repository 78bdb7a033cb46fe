//! Registering and changing venues: a sub-location's parent is checked once, at registration;
//! a change is read, applied and written back only if nobody wrote in between (compare and set
//! on the venue's revision), else tried again.

use chrono::{DateTime, Utc};

use crate::domain::{ParseError, Venue, VenueId, VenueKind};
use crate::service::trace;
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
    /// The change would leave people inside a venue that cannot hold them (a checkpoint).
    #[error("{0}")]
    Occupied(String),
    /// The store failed, or other changes kept coming first.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `change` to the stored venue `id` and writes it, atomically with respect to other
/// changes: a change made meanwhile is read and `change` applied on top of it. A change of
/// kind is checked by [`check_kind_change`] as of `now`.
///
/// # Errors
/// [`UpdateError`]; `change`'s own error leaves the venue as it was.
pub async fn update_venue(
    store: &dyn Store,
    id: &VenueId,
    now: DateTime<Utc>,
    mut change: impl FnMut(&mut Venue) -> Result<(), ParseError>,
) -> Result<Venue, UpdateError> {
    for _ in 0..MAX_ATTEMPTS {
        let mut venue = store
            .venue(id)
            .await?
            .ok_or_else(|| UpdateError::NotFound(id.clone()))?;
        let expected = venue.revision;
        let was = venue.kind;
        change(&mut venue)?;
        check_kind_change(store, was, &venue, false, now).await?;
        venue.keep_stay_record();
        venue.revision = expected + 1;
        if store.replace_venue(&venue, expected).await? {
            return Ok(venue);
        }
    }
    Err(StoreError::Unavailable("too many concurrent changes of one venue".into()).into())
}

/// Checks that `venue`, stored until now as a `was`, may take its new kind: a compound that
/// is someone's home stays one, and becoming a checkpoint is checked: a checkpoint scan is a pass that opens and closes a visit at once
/// and closes no other (contract, visit rule 4), so visits begun there before would stay open
/// with nothing to end them but their maximum stay. A venue becomes a checkpoint only when
/// nobody is inside by `now`, and, as at registration, when it is not a sub-location and has
/// none.
///
/// # Errors
/// `unstored_children`: the venue has sub-locations the store does not hold yet (a dry-run
/// import's earlier rows), counted as the stored ones are.
///
/// # Errors
/// [`UpdateError::Invalid`] on `kind` for a sub-location or a venue with sub-locations,
/// [`UpdateError::Occupied`] while anyone is inside, or, for a residential compound taking
/// another kind, while it is anyone's home (a home is a compound: the entry rules, visitor
/// passes and alerts work there), [`UpdateError::Store`].
pub async fn check_kind_change(
    store: &dyn Store,
    was: VenueKind,
    venue: &Venue,
    unstored_children: bool,
    now: DateTime<Utc>,
) -> Result<(), UpdateError> {
    if was == VenueKind::ResidentialCompound && venue.kind != VenueKind::ResidentialCompound {
        let living = store.residents_at_home(&venue.id).await?.len();
        if living > 0 {
            return Err(UpdateError::Occupied(format!(
                "{} is the home of registered residents ({living}): a home stays a residential \
                 compound (import them with another home first)",
                venue.id
            )));
        }
    }
    if venue.kind != VenueKind::Checkpoint || was == VenueKind::Checkpoint {
        return Ok(());
    }
    let invalid = |m: &str| UpdateError::Invalid(ParseError::new("kind", m));
    if venue.parent.is_some() {
        return Err(invalid(
            "a sub-location cannot become a checkpoint: its passes last no time",
        ));
    }
    if unstored_children || !store.sub_locations(&venue.id).await?.is_empty() {
        return Err(invalid(
            "a venue with sub-locations cannot become a checkpoint, which has none",
        ));
    }
    let inside = trace::presence(store, &venue.id, now).await?.len();
    if inside > 0 {
        let who = if inside == 1 {
            "1 person is".to_owned()
        } else {
            format!("{inside} people are")
        };
        return Err(UpdateError::Occupied(format!(
            "{who} inside {}: a venue becomes a checkpoint only when nobody is inside (their \
             visits end as they check out, or at their maximum stay)",
            venue.id
        )));
    }
    Ok(())
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
