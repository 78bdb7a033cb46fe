//! What goes on a venue gate's poster, and which posters a batch holds.

use crate::codes::{CodeClaims, CodeError, CodeSigner};
use crate::domain::{Direction, Gate, ParseError, Venue, VenueId, VenueKind};
use crate::posters::PosterSpec;

/// The instruction printed under a code: which way it checks the reader, and a plain hint that
/// the phone's own camera works too (the code is a URL).
pub fn instruction(direction: Option<Direction>) -> &'static str {
    match direction {
        None => "扫码进入 / 扫码离开 · 手机相机扫码也可以",
        Some(Direction::In) => "扫码进入 · 手机相机扫码也可以",
        Some(Direction::Out) => "扫码离开 · 手机相机扫码也可以",
    }
}

/// A short id for a gate's current code, printed under the QR so staff can read it out on the
/// phone: `VENUE·GATE·vVERSION`.
pub fn code_id(venue: &Venue, gate: &str) -> String {
    format!("{}·{}·v{}", venue.id, gate, venue.code_version)
}

/// Checks that everything a venue's posters print has a glyph in the poster font, so a venue
/// is refused when it is registered rather than when its poster is printed.
pub fn check_printable(venue: &Venue) -> Result<(), ParseError> {
    let fields = [
        ("name", Some(venue.name.as_str())),
        ("community", venue.community.as_deref()),
        ("address", venue.address.as_deref()),
    ];
    let gates = venue.gates.iter().map(|g| ("gates", Some(g.as_str())));
    for (field, text) in fields.into_iter().chain(gates) {
        let missing = crate::posters::missing_glyphs(text.unwrap_or(""));
        if !missing.is_empty() {
            return Err(ParseError::new(
                field,
                format!("the poster font has no glyph for {missing:?}"),
            ));
        }
    }
    Ok(())
}

/// A poster's content, owned, so it can move to a blocking thread for rendering.
#[derive(Debug, Clone)]
pub struct PosterData {
    venue_name: String,
    gate: String,
    instruction: &'static str,
    community: Option<String>,
    address: Option<String>,
    code: String,
    code_id: String,
}

impl PosterData {
    /// The poster of `gate` at `venue`, with its current code; `direction` makes a one-way
    /// poster (entrance `入口` or exit `出口`, printed beside the gate).
    ///
    /// # Errors
    /// [`CodeError::Key`] when the code cannot be signed.
    pub fn of(
        codes: &CodeSigner,
        venue: &Venue,
        gate: &Gate,
        direction: Option<Direction>,
    ) -> Result<Self, CodeError> {
        let mut claims = CodeClaims::poster(&venue.id, gate, venue.code_version);
        claims.d = direction;
        let (gate_line, id_suffix) = match direction {
            None => (gate.to_string(), ""),
            Some(Direction::In) => (format!("{gate} · 入口"), "·入"),
            Some(Direction::Out) => (format!("{gate} · 出口"), "·出"),
        };
        Ok(Self {
            venue_name: venue.name.clone(),
            gate: gate_line,
            instruction: instruction(direction),
            community: venue.community.clone(),
            address: venue.address.clone(),
            code: codes.sign(&claims)?,
            code_id: format!("{}{id_suffix}", code_id(venue, gate.as_str())),
        })
    }

    /// The renderer's view of it.
    pub fn spec(&self) -> PosterSpec<'_> {
        PosterSpec {
            venue_name: &self.venue_name,
            gate: &self.gate,
            instruction: self.instruction,
            community: self.community.as_deref(),
            address: self.address.as_deref(),
            code: &self.code,
            code_id: &self.code_id,
        }
    }
}

/// Which venues a batch prints: every filter given must hold (community, kind, named venues);
/// ordered by venue id.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// Only venues of this community (exact name, e.g. `东门社区`).
    pub community: Option<String>,
    /// Only venues of this kind (e.g. every residential compound).
    pub kind: Option<VenueKind>,
    /// Only these venues.
    pub venues: Option<Vec<VenueId>>,
}

impl Selection {
    /// A selection from the raw filters of a request or a command line: `venues` is a
    /// comma-separated id list; empty strings mean no filter.
    ///
    /// # Errors
    /// [`ParseError`] for an id that is not one.
    pub fn parse(
        community: Option<&str>,
        kind: Option<VenueKind>,
        venues: Option<&str>,
    ) -> Result<Self, ParseError> {
        let venues = venues
            .map(|list| {
                list.split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(VenueId::parse)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(Self {
            community: community
                .map(crate::domain::ids::normalise_text)
                .filter(|c| !c.is_empty()),
            kind,
            venues,
        })
    }
}

impl Selection {
    /// The named venues that `all` does not have: a batch must not silently leave one out.
    pub fn unknown(&self, all: &[Venue]) -> Vec<VenueId> {
        self.venues
            .iter()
            .flatten()
            .filter(|id| !all.iter().any(|v| &v.id == *id))
            .cloned()
            .collect()
    }
}

/// One poster per gate of every venue in `all` that `selection` keeps.
///
/// # Errors
/// [`CodeError::Key`] when a code cannot be signed.
pub fn batch(
    codes: &CodeSigner,
    all: &[Venue],
    selection: &Selection,
) -> Result<Vec<PosterData>, CodeError> {
    let mut out = Vec::new();
    for venue in all {
        let in_community = selection
            .community
            .as_deref()
            .is_none_or(|c| venue.community.as_deref() == Some(c));
        let named = selection
            .venues
            .as_ref()
            .is_none_or(|ids| ids.contains(&venue.id));
        let of_kind = selection.kind.is_none_or(|k| venue.kind == k);
        if in_community && named && of_kind {
            for gate in &venue.gates {
                out.push(PosterData::of(codes, venue, gate, None)?);
            }
        }
    }
    Ok(out)
}
