//! Wire shapes that several routes answer with (contract, "Endpoints"). Times are RFC 3339
//! in UTC.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::codes::CodeSigner;
use crate::domain::contact_class::ContactClass;
use crate::domain::location::{Location, OpeningHours};
use crate::domain::{ClosedBy, EntryPolicy, Venue, VenueKind, Visit};
use crate::service::contacts::Traced;

/// A visit (contract, `/trace/.../visits`). An open visit has `check_out` and `closed_by` null.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitView {
    /// Visit id.
    pub visit_id: String,
    /// Who.
    pub resident_id: String,
    /// Where.
    pub venue_id: String,
    /// Gate of the check-in.
    pub gate_in: Option<String>,
    /// Gate of the check-out.
    pub gate_out: Option<String>,
    /// Check-in; null for a check-out with no check-in.
    pub check_in: Option<DateTime<Utc>>,
    /// Check-out; null while open.
    pub check_out: Option<DateTime<Utc>>,
    /// How it ended; null while open.
    pub closed_by: Option<ClosedBy>,
    /// True when the start is inferred as `check_out - max_stay`.
    pub start_inferred: bool,
    /// For a visitor admitted by a pass, the resident who registered them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl From<&Visit> for VisitView {
    fn from(v: &Visit) -> Self {
        Self {
            visit_id: v.id.clone(),
            resident_id: v.resident_id.to_string(),
            venue_id: v.venue_id.to_string(),
            gate_in: v.gate_in.as_ref().map(ToString::to_string),
            gate_out: v.gate_out.as_ref().map(ToString::to_string),
            check_in: v.check_in,
            check_out: v.check_out,
            closed_by: v.closed_by,
            start_inferred: v.start_inferred,
            host: v.host.as_ref().map(ToString::to_string),
        }
    }
}

/// A list of visits.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitList {
    /// Ordered by start.
    pub visits: Vec<VisitView>,
}

impl VisitList {
    /// Views of `visits`.
    pub fn of(visits: &[Visit]) -> Self {
        Self {
            visits: visits.iter().map(VisitView::from).collect(),
        }
    }
}

/// A poster code of one gate.
#[derive(Debug, Serialize, ToSchema)]
pub struct GateCode {
    /// The gate.
    pub gate: String,
    /// The exact text of the QR code.
    pub code: String,
    /// A short id staff can read out: `VENUE·GATE·vVERSION`.
    pub code_id: String,
}

/// A venue as admins see it, with the current code of each gate.
#[derive(Debug, Serialize, ToSchema)]
pub struct VenueView {
    /// Venue id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: VenueKind,
    /// Community.
    pub community: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Gates.
    pub gates: Vec<String>,
    /// The maximum stay in force, minutes (the override or the kind's default).
    pub max_stay_minutes: i64,
    /// Who may check in.
    pub entry_policy: EntryPolicy,
    /// Registered households (compounds).
    pub households: Option<u32>,
    /// The venue this one is a sub-location of, if any.
    pub parent: Option<String>,
    /// Where it is, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// When it is open, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<OpeningHours>,
    /// The current code version.
    pub code_version: u32,
    /// The current code of every gate.
    pub codes: Vec<GateCode>,
}

pub use crate::service::posters::code_id;

impl VenueView {
    /// The view of `venue`, with codes signed by `signer`. A gate whose code cannot be signed
    /// is left out and logged.
    pub fn of(venue: &Venue, signer: &CodeSigner) -> Self {
        let codes = venue
            .gates
            .iter()
            .filter_map(
                |g| match signer.code_for(&venue.id, g, venue.code_version) {
                    Ok(code) => Some(GateCode {
                        gate: g.to_string(),
                        code,
                        code_id: code_id(venue, g.as_str()),
                    }),
                    Err(e) => {
                        tracing::error!(error = %e, venue = %venue.id, "cannot sign a code");
                        None
                    }
                },
            )
            .collect();
        Self {
            id: venue.id.to_string(),
            name: venue.name.clone(),
            kind: venue.kind,
            community: venue.community.clone(),
            address: venue.address.clone(),
            gates: venue.gates.iter().map(ToString::to_string).collect(),
            parent: venue.parent.as_ref().map(ToString::to_string),
            max_stay_minutes: venue.max_stay().num_minutes(),
            entry_policy: venue.entry_policy,
            households: venue.households,
            location: venue.location,
            opening_hours: venue.opening_hours,
            code_version: venue.code_version,
            codes,
        }
    }
}

/// One overlap with the index case at one venue.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharedVisitView {
    /// Where.
    pub venue_id: String,
    /// Start of the overlap.
    pub from: DateTime<Utc>,
    /// End of the overlap.
    pub to: DateTime<Utc>,
    /// Its length, minutes (exact, not rounded).
    pub overlap_minutes: f64,
    /// True when either visit rests on an inferred start or an automatic close.
    pub uncertain: bool,
    /// The index case's visit.
    pub index_visit_id: Option<String>,
    /// The contact's visit.
    pub contact_visit_id: String,
}

/// A contact (contract, `/trace/residents/{id}/contacts`), or a person in a venue exposure
/// report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    /// Who.
    pub resident_id: String,
    /// Registered name, when the person is registered.
    pub name: Option<String>,
    /// Mobile number, for the tracer's call.
    pub phone: Option<String>,
    /// Home compound.
    pub home: Option<String>,
    /// How close the person is to the one before them on `path`: `household`, `building`,
    /// `compound` (from registration, with or without shared visits) or `shared_visit`.
    /// Absent in a venue exposure report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<ContactClass>,
    /// 1 for a contact of the index case, 2 for a contact of a contact (`depth=2`). Absent in
    /// a venue exposure report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degree: Option<usize>,
    /// Resident ids from the index case to this person, both included. Absent in a venue
    /// exposure report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<String>>,
    /// Sum of all overlaps, minutes (exact); 0 for a tie by registration alone.
    pub overlap_minutes: f64,
    /// Every overlap, in time order; empty for a tie by registration alone.
    pub venues: Vec<SharedVisitView>,
    /// Earliest overlap start; null for a tie by registration alone.
    pub first_contact: Option<DateTime<Utc>>,
    /// Latest overlap end; null for a tie by registration alone.
    pub last_contact: Option<DateTime<Utc>>,
}

fn minutes(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 60_000.0
}

impl ContactView {
    /// The view of one traced person.
    pub fn of(t: &Traced) -> Self {
        let person = t.person.as_ref();
        let shared = t.contact.as_ref().map_or(&[][..], |c| &c.shared[..]);
        let traced = !t.path.is_empty();
        Self {
            resident_id: t.resident_id.to_string(),
            name: person.and_then(|p| p.name.clone()),
            phone: person.map(|p| p.phone.as_str().to_owned()),
            home: person.and_then(|p| p.home.as_ref().map(ToString::to_string)),
            class: t.class,
            degree: traced.then(|| t.degree()),
            path: traced.then(|| t.path.iter().map(ToString::to_string).collect()),
            overlap_minutes: minutes(t.overlap()),
            venues: shared
                .iter()
                .map(|s| SharedVisitView {
                    venue_id: s.venue_id.to_string(),
                    from: s.from,
                    to: s.to,
                    overlap_minutes: minutes(s.length()),
                    uncertain: s.uncertain,
                    index_visit_id: s.index_visit_id.clone(),
                    contact_visit_id: s.contact_visit_id.clone(),
                })
                .collect(),
            first_contact: t.contact.as_ref().map(|c| c.first_contact),
            last_contact: t.contact.as_ref().map(|c| c.last_contact),
        }
    }
}

/// The answer of a contact query.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    /// The index case's id.
    pub index_case: String,
    /// First-degree people, longest total overlap first (ties by registration alone count
    /// 0), then with `depth=2` the second-degree ones in the same order.
    pub contacts: Vec<ContactView>,
}
