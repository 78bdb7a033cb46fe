//! Writing and reading the audit trail of personal-data reads.

use chrono::{DateTime, Utc};

use crate::auth::extract::Staff;
use crate::domain::audit::AuditRecord;
use crate::domain::TimeWindow;
use crate::storage::{Store, StoreError};

/// What was read.
#[derive(Debug, Clone, Copy)]
pub struct Read<'a> {
    /// The action's name, e.g. `trace.contacts`.
    pub action: &'a str,
    /// The request's path and query.
    pub query: &'a str,
    /// `json` or `csv`.
    pub format: &'a str,
    /// How many records the answer holds.
    pub returned: usize,
}

/// Records that `who` read personal data at `at`. Call it after the read and before answering: if the
/// record cannot be written, the answer must not go out.
///
/// # Errors
/// [`StoreError`] when the record cannot be written.
pub async fn record(
    store: &dyn Store,
    who: &Staff,
    read: Read<'_>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    store
        .append_audit(&AuditRecord {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            actor: who.username.clone(),
            role: who.role,
            action: read.action.to_owned(),
            query: read.query.to_owned(),
            format: read.format.to_owned(),
            returned: u64::try_from(read.returned).unwrap_or(u64::MAX),
        })
        .await
}

/// The audit records of a window, oldest first.
///
/// # Errors
/// [`StoreError`] from the store.
pub async fn list(store: &dyn Store, window: &TimeWindow) -> Result<Vec<AuditRecord>, StoreError> {
    store.audit(window.from(), window.to()).await
}
