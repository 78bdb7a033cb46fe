//! Audit records: who read personal data, when, with what query, and how many people it
//! returned. Written for every trace query, presence list and export; never changed or deleted
//! through the API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::staff::Role;

/// One read of personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    /// The record's id (UUID v7, time-ordered).
    pub id: String,
    /// When, UTC.
    pub at: DateTime<Utc>,
    /// Who: the staff username.
    pub actor: String,
    /// The actor's role.
    pub role: Role,
    /// What was read, e.g. `trace.contacts`, `venue.presence`.
    pub action: String,
    /// The request: path and query string.
    pub query: String,
    /// `json` or `csv` (an export).
    pub format: String,
    /// How many records (visits, contacts, people) the answer held.
    pub returned: u64,
}
