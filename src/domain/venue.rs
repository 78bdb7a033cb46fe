//! Venues: places with a QR poster, their kinds, gates and how long a stay may last.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{Gate, VenueId};
use super::location::{Location, OpeningHours};

/// The longest `max_stay_minutes` a venue may set: 7 days. Storage indexes visits by their
/// start and looks this far back for visits that may still overlap a window.
pub const MAX_STAY_CAP_MINUTES: u32 = 7 * 24 * 60;

/// The most gates a venue may have (each gets a poster).
pub const MAX_GATES: usize = 16;

/// The most gates a venue remembers as retired (see [`Venue::set_gates`]): its record is read
/// at every scan there, so the list is kept short. Four times [`MAX_GATES`].
pub const MAX_RETIRED_GATES: usize = 4 * MAX_GATES;

/// Parses a venue's gates: 1 to [`MAX_GATES`], each a [`Gate`], no two alike.
pub fn parse_gates<S: AsRef<str>>(
    raw: impl IntoIterator<Item = S>,
) -> Result<Vec<Gate>, super::ParseError> {
    let mut gates: Vec<Gate> = Vec::new();
    for g in raw {
        let gate = Gate::parse(g.as_ref())?;
        if gates.contains(&gate) {
            return Err(super::ParseError::new(
                "gates",
                format!("{gate} is listed twice"),
            ));
        }
        gates.push(gate);
    }
    if gates.is_empty() || gates.len() > MAX_GATES {
        return Err(super::ParseError::new(
            "gates",
            format!("must be 1 to {MAX_GATES} gates"),
        ));
    }
    Ok(gates)
}

/// What kind of place a venue is (contract, "Words").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VenueKind {
    /// A residential compound (小区): closed management, scan in and out at the gates.
    ResidentialCompound,
    /// A shop.
    Shop,
    /// A market.
    Market,
    /// A restaurant.
    Restaurant,
    /// A hotel.
    Hotel,
    /// A road checkpoint: every scan is a pass, not a stay.
    Checkpoint,
}

impl super::named::Named for VenueKind {
    const NAMES: &'static [(Self, &'static str)] = &[
        (Self::ResidentialCompound, "residential_compound"),
        (Self::Shop, "shop"),
        (Self::Market, "market"),
        (Self::Restaurant, "restaurant"),
        (Self::Hotel, "hotel"),
        (Self::Checkpoint, "checkpoint"),
    ];
}

super::named::deserialize_by_name!(VenueKind);

impl VenueKind {
    /// The snake_case name used on the wire and in `venues.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResidentialCompound => "residential_compound",
            Self::Shop => "shop",
            Self::Market => "market",
            Self::Restaurant => "restaurant",
            Self::Hotel => "hotel",
            Self::Checkpoint => "checkpoint",
        }
    }

    /// Parses the snake_case name used on the wire and in `venues.csv`.
    pub fn parse(raw: &str) -> Result<Self, super::ParseError> {
        use super::named::{one_of, Named};
        Self::named(raw.trim())
            .ok_or_else(|| super::ParseError::new("kind", format!("must be {}", one_of::<Self>())))
    }

    /// How long a visit may stay open before it is closed automatically, in minutes (contract,
    /// visit rule 4): compound 24 h, hotel 24 h, market 4 h, restaurant 3 h, shop 2 h. A
    /// checkpoint scan is a pass of no length, so its stay is 0.
    pub fn default_max_stay_minutes(self) -> u32 {
        match self {
            VenueKind::ResidentialCompound | VenueKind::Hotel => 24 * 60,
            VenueKind::Market => 4 * 60,
            VenueKind::Restaurant => 3 * 60,
            VenueKind::Shop => 2 * 60,
            VenueKind::Checkpoint => 0,
        }
    }
}

/// Who may check in at a venue. Stored now; enforced from the compound-policy issue on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryPolicy {
    /// Anyone may check in.
    Open,
    /// Only residents of the compound and registered visitors.
    ResidentsOnly,
}

impl super::named::Named for EntryPolicy {
    const NAMES: &'static [(Self, &'static str)] = &[
        (Self::Open, "open"),
        (Self::ResidentsOnly, "residents_only"),
    ];
}

super::named::deserialize_by_name!(EntryPolicy);

impl EntryPolicy {
    /// The contract's default: compounds are `residents_only`, everything else `open`.
    pub fn default_for(kind: VenueKind) -> Self {
        if kind == VenueKind::ResidentialCompound {
            EntryPolicy::ResidentsOnly
        } else {
            EntryPolicy::Open
        }
    }
}

/// A venue as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Venue {
    /// The venue's id.
    pub id: VenueId,
    /// Its display name (Chinese as a rule), 1 to 100 characters.
    pub name: String,
    /// Its kind.
    pub kind: VenueKind,
    /// The community (社区) it belongs to.
    pub community: Option<String>,
    /// Its postal address.
    pub address: Option<String>,
    /// Its gates, at least one; a poster is printed per gate.
    pub gates: Vec<Gate>,
    /// An override of the kind's maximum stay, minutes, 1 to [`MAX_STAY_CAP_MINUTES`].
    pub max_stay_minutes: Option<u32>,
    /// Who may check in.
    pub entry_policy: EntryPolicy,
    /// Whether an admin chose `entry_policy` (by `POST` or `PATCH`): a chosen policy stays
    /// when the kind changes (see [`Venue::set_kind`]). `false` for a venue stored before this
    /// was recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub entry_policy_chosen: bool,
    /// Registered households, for compounds (from `venues.csv`).
    pub households: Option<u32>,
    /// The version printed into its codes; posters with an older version are revoked.
    pub code_version: u32,
    /// When it was first registered, UTC.
    pub created_at: DateTime<Utc>,
    /// The longest maximum stay, minutes, the venue has had since this was recorded (visits
    /// keep the maximum stay of their start, so none here lasts longer); `None` for a venue
    /// stored before it was recorded, which is read as [`MAX_STAY_CAP_MINUTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_stay_minutes: Option<u32>,
    /// The venue this one is a sub-location of (a compound's building, a market's hall), one
    /// level deep; fixed at registration. For contacts and exposure, a visit to a sub-location
    /// also counts as a visit to its parent (tracing issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<VenueId>,
    /// Bumped by every change through the API, so that two concurrent changes cannot overwrite
    /// each other (see `Store::replace_venue`).
    #[serde(default)]
    pub revision: u64,
    /// Where the venue is, if an admin recorded it (implausible-travel flags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// When the venue is open, if an admin recorded it (off-hours flags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<OpeningHours>,
    /// Gates removed since the venue's codes were last rotated, at most [`MAX_RETIRED_GATES`].
    /// Their posters carry the current code version, so adding one of them back rotates the
    /// codes ([`Venue::set_gates`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired_gates: Vec<Gate>,
}

impl Venue {
    /// Gives the venue `kind`. A policy an admin did not choose, left at the old kind's
    /// default, follows the new kind's (contract: compounds default to `residents_only`,
    /// everything else to `open`); a chosen one stays, so a compound an admin opened stays
    /// open through a change to another kind and back.
    pub fn set_kind(&mut self, kind: VenueKind) {
        if !self.entry_policy_chosen && self.entry_policy == EntryPolicy::default_for(self.kind) {
            self.entry_policy = EntryPolicy::default_for(kind);
        }
        self.kind = kind;
    }

    /// The maximum stay in force: the venue's override, else its kind's default.
    pub fn max_stay(&self) -> Duration {
        Duration::minutes(i64::from(self.max_stay_minutes_in_force()))
    }

    fn max_stay_minutes_in_force(&self) -> u32 {
        self.max_stay_minutes
            .unwrap_or_else(|| self.kind.default_max_stay_minutes())
    }

    /// How long any visit here can have lasted: how far before a window a visit that overlaps
    /// it can have begun. Reading from this far back finds every such visit.
    pub fn stay_bound(&self) -> Duration {
        let minutes = self.longest_stay_minutes.map_or(MAX_STAY_CAP_MINUTES, |m| {
            m.max(self.max_stay_minutes_in_force())
        });
        Duration::minutes(i64::from(minutes))
    }

    /// Starts the record of the longest maximum stay: call on a venue being registered.
    pub fn start_stay_record(&mut self) {
        self.longest_stay_minutes = Some(self.max_stay_minutes_in_force());
    }

    /// Keeps the record across a change: call after changing the venue's kind or stay. A venue
    /// with no record keeps none (its history is unknown).
    pub fn keep_stay_record(&mut self) {
        if let Some(m) = self.longest_stay_minutes {
            self.longest_stay_minutes = Some(m.max(self.max_stay_minutes_in_force()));
        }
    }

    /// The place a visit here counts at for contacts: the parent, else the venue itself.
    pub fn place(&self) -> &VenueId {
        self.parent.as_ref().unwrap_or(&self.id)
    }

    /// Whether `gate` is one of this venue's gates.
    pub fn has_gate(&self, gate: &Gate) -> bool {
        self.gates.iter().any(|g| g == gate)
    }

    /// Replaces every poster of the venue: bumps its code version, so codes of older versions
    /// answer `code_revoked`, and forgets the retired gates (their posters are older now).
    pub fn rotate_codes(&mut self) {
        self.code_version = self.code_version.saturating_add(1);
        self.retired_gates.clear();
    }

    /// Sets the venue's gates. A gate taken away is remembered as retired: its posters answer
    /// `code_revoked` while it is gone. Adding a retired gate back rotates the venue's codes
    /// ([`Venue::rotate_codes`]): its old posters, perhaps taken down for a reason, would
    /// otherwise work again, and a code names a gate and a version, not which poster it was,
    /// so the only way to refuse them is a new version (every gate's posters are printed
    /// again). A change that would leave more than [`MAX_RETIRED_GATES`] retired rotates the
    /// codes too, which retires nothing (every older poster is refused anyway). Returns whether
    /// the codes were rotated.
    pub fn set_gates(&mut self, gates: Vec<Gate>) -> bool {
        let revived = gates.iter().any(|g| self.retired_gates.contains(g));
        let removed: Vec<Gate> = self
            .gates
            .iter()
            .filter(|g| !gates.contains(g))
            .cloned()
            .collect();
        if revived {
            self.rotate_codes();
        }
        for gate in removed {
            if !self.retired_gates.contains(&gate) {
                self.retired_gates.push(gate);
            }
        }
        self.gates = gates;
        if self.retired_gates.len() > MAX_RETIRED_GATES {
            self.rotate_codes();
            return true;
        }
        revived
    }
}

/// Venues and gates for the domain's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use chrono::{DateTime, Utc};

    use super::{EntryPolicy, Venue, VenueKind};
    use crate::domain::ids::{Gate, VenueId};

    /// The gate every test venue has.
    pub fn gate() -> Gate {
        Gate::parse("北门").unwrap_or_else(|e| panic!("{e}"))
    }

    /// An `open` venue of `kind` with the one gate, its kind's maximum stay, and nothing else.
    pub fn venue(id: &str, kind: VenueKind) -> Venue {
        Venue {
            id: VenueId::parse(id).unwrap_or_else(|e| panic!("{e}")),
            name: id.to_owned(),
            kind,
            community: None,
            address: None,
            gates: vec![gate()],
            max_stay_minutes: None,
            entry_policy: EntryPolicy::Open,
            entry_policy_chosen: false,
            households: None,
            code_version: 1,
            revision: 0,
            parent: None,
            longest_stay_minutes: None,
            retired_gates: Vec::new(),
            location: None,
            opening_hours: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{gate, venue};
    use super::VenueKind;
    use crate::domain::ids::Gate;

    fn g(name: &str) -> Gate {
        Gate::parse(name).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn taking_a_gate_away_retires_it_without_rotating() {
        let mut v = venue("S1", VenueKind::Shop);
        v.set_gates(vec![gate(), g("南门")]);
        assert!(!v.set_gates(vec![g("南门")]));
        assert_eq!(v.code_version, 1);
        assert_eq!(v.retired_gates, [gate()]);
    }

    #[test]
    fn adding_a_retired_gate_back_rotates_and_keeps_what_the_same_change_retires() {
        let mut v = venue("S1", VenueKind::Shop);
        v.set_gates(vec![g("南门")]);
        assert!(v.set_gates(vec![gate(), g("东门")]));
        assert_eq!(v.code_version, 2);
        assert_eq!(v.retired_gates, [g("南门")], "南门 went in the same change");
        assert!(
            !v.set_gates(vec![gate(), g("东门"), g("西门")]),
            "a new gate"
        );
        assert_eq!(v.code_version, 2);
    }

    #[test]
    fn a_venue_that_would_retire_too_many_gates_rotates_instead() {
        let mut v = venue("S1", VenueKind::Shop);
        for i in 0..super::MAX_RETIRED_GATES {
            assert!(!v.set_gates(vec![g(&format!("门{i}"))]));
        }
        assert_eq!(v.retired_gates.len(), super::MAX_RETIRED_GATES);
        assert!(v.set_gates(vec![g("最后")]));
        assert_eq!(v.code_version, 2);
        assert!(v.retired_gates.is_empty());
    }

    #[test]
    fn a_rotation_forgets_the_retired_gates() {
        let mut v = venue("S1", VenueKind::Shop);
        v.set_gates(vec![g("南门")]);
        v.rotate_codes();
        assert_eq!(v.code_version, 2);
        assert!(v.retired_gates.is_empty());
        assert!(!v.set_gates(vec![gate()]), "its posters carry version 1");
    }
}
