//! The implausible-scan flags of a window, for admins (`domain::flags`).

use std::collections::HashMap;

use crate::domain::flags::{flags, Flag};
use crate::domain::{TimeWindow, VenueId};
use crate::state::AppState;
use crate::storage::StoreError;

/// The flags raised by the scans of `window` at venues with a recorded location or opening
/// hours, ordered by time.
///
/// # Errors
/// [`StoreError`] when the store fails.
pub async fn in_window(state: &AppState, window: &TimeWindow) -> Result<Vec<Flag>, StoreError> {
    let venues: HashMap<String, _> = state
        .store
        .venues()
        .await?
        .into_iter()
        .filter(|v| v.location.is_some() || v.opening_hours.is_some())
        .map(|v| (v.id.to_string(), v))
        .collect();
    if venues.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<VenueId> = venues.values().map(|v| v.id.clone()).collect();
    let events = state
        .store
        .venue_events(&ids, window.from(), window.to())
        .await?;
    Ok(flags(
        &events,
        &venues,
        state.tz,
        &state.settings.flags.rules(),
    ))
}
