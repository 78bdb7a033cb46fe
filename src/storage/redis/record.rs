//! How Redis holds a visit: a compact binary record, about 60 bytes where the JSON takes 350.
//!
//! A record is a [postcard](https://docs.rs/postcard) encoding (variable-length integers,
//! length-prefixed strings) of the visit's fields, with the id as its 16 bytes when it is a
//! UUID (every id the service makes is a UUID v7), the check-in as milliseconds since the
//! epoch (UTC) and the check-out as milliseconds after it, each with the nanoseconds below the
//! millisecond (one byte when zero, as the service's scan times are whole milliseconds). A record kept
//! under a person's key leaves out the resident id, and one under a venue's key the venue id:
//! the key says them ([`Side`]). Records are kept *framed* (a LEB128 length, then the record) so that many
//! can be appended to one string with `APPEND` and read back in one `GET`: a person's closed
//! visits are one string, a venue's closed visits one string per UTC day of their start.
//! When a visit is written again (a rewrite by id), the later record wins. A visit is removed
//! (a late scan's re-derivation no longer gives it, contract visit rule 7) by appending a
//! *removal*: a body of one byte `2` (a record's first byte is its id's variant, 0 or 1) and
//! the id; a record of that id after it brings the visit back.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::visit::ClosedBy;
use crate::domain::{Gate, ResidentId, VenueId, Visit};
use crate::storage::StoreError;

/// A visit's or a scan event's id: the 16 bytes of a UUID, or the text of any other id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Id {
    Uuid([u8; 16]),
    Text(String),
}

impl Id {
    /// The stored form of `id`.
    pub(super) fn of(id: &str) -> Self {
        match uuid::Uuid::try_parse(id) {
            // Only the canonical hyphenated lower-case form comes back unchanged.
            Ok(u) if u.hyphenated().to_string() == id => Self::Uuid(u.into_bytes()),
            _ => Self::Text(id.to_owned()),
        }
    }

    /// The id as text again.
    pub(super) fn text(&self) -> String {
        match self {
            Self::Uuid(bytes) => uuid::Uuid::from_bytes(*bytes).hyphenated().to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

/// The check-out gate, one byte when it is the check-in gate (the usual case).
#[derive(Debug, Serialize, Deserialize)]
enum GateOut {
    None,
    SameAsIn,
    Other(Gate),
}

/// Which key a record is kept under, which says the id the record leaves out.
#[derive(Debug, Clone, Copy)]
pub enum Side<'a> {
    /// Under this person's keys: the record leaves out the resident id.
    Person(&'a ResidentId),
    /// Under this venue's keys: the record leaves out the venue id.
    Venue(&'a VenueId),
}

/// The stored form of a [`Visit`]; field for field, with compact ids and times.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    id: Id,
    /// `None` under the person's key.
    resident_id: Option<ResidentId>,
    /// `None` under the venue's key.
    venue_id: Option<VenueId>,
    gate_in: Option<Gate>,
    gate_out: GateOut,
    /// Milliseconds since the epoch, nanoseconds below the millisecond.
    check_in: Option<(i64, u32)>,
    /// After the check-in when there is one, else since the epoch; as `check_in`.
    check_out: Option<(i64, u32)>,
    closed_by: Option<ClosedBy>,
    start_inferred: bool,
    max_stay_seconds: i64,
    parent: Option<VenueId>,
    host: Option<ResidentId>,
}

/// Nanoseconds in a millisecond.
const NANOS_PER_MS: i64 = 1_000_000;

/// `t` as nanoseconds since the epoch (exact for years 1678 to 2262), relative to `base`.
fn nanos(t: DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
}

/// `t` as milliseconds and the nanoseconds below them, after `base` if given.
fn after(t: DateTime<Utc>, base: Option<DateTime<Utc>>) -> (i64, u32) {
    let n = nanos(t) - base.map_or(0, nanos);
    let per = i128::from(NANOS_PER_MS);
    let ms = i64::try_from(n.div_euclid(per)).unwrap_or(i64::MAX);
    let sub = u32::try_from(n.rem_euclid(per)).unwrap_or(0);
    (ms, sub)
}

/// The time `ms` milliseconds and `sub` nanoseconds after `base` (or the epoch).
fn time(ms: i64, sub: u32, base: Option<DateTime<Utc>>) -> Result<DateTime<Utc>, StoreError> {
    let n = base.map_or(0, nanos) + i128::from(ms) * i128::from(NANOS_PER_MS) + i128::from(sub);
    let secs = i64::try_from(n.div_euclid(1_000_000_000));
    let subsec = u32::try_from(n.rem_euclid(1_000_000_000));
    match (secs, subsec) {
        (Ok(s), Ok(ns)) => Utc.timestamp_opt(s, ns).single(),
        _ => None,
    }
    .ok_or_else(|| StoreError::Corrupt(format!("visit record time {ms} ms {sub} ns")))
}

/// The framed record of a visit kept on `side`: a LEB128 length, then the record.
///
/// # Errors
/// [`StoreError::Corrupt`] if the visit cannot be encoded (never for a valid visit).
pub fn frame(visit: &Visit, side: Side<'_>) -> Result<Vec<u8>, StoreError> {
    let record = Record {
        id: Id::of(&visit.id),
        resident_id: match side {
            Side::Person(_) => None,
            Side::Venue(_) => Some(visit.resident_id.clone()),
        },
        venue_id: match side {
            Side::Person(_) => Some(visit.venue_id.clone()),
            Side::Venue(_) => None,
        },
        gate_in: visit.gate_in.clone(),
        gate_out: match &visit.gate_out {
            None => GateOut::None,
            Some(g) if visit.gate_in.as_ref() == Some(g) => GateOut::SameAsIn,
            Some(g) => GateOut::Other(g.clone()),
        },
        check_in: visit.check_in.map(|t| after(t, None)),
        check_out: visit.check_out.map(|t| after(t, visit.check_in)),
        closed_by: visit.closed_by,
        start_inferred: visit.start_inferred,
        max_stay_seconds: visit.max_stay_seconds,
        parent: visit.parent.clone(),
        host: visit.host.clone(),
    };
    let body = postcard::to_allocvec(&record)
        .map_err(|e| StoreError::Corrupt(format!("visit {} does not encode: {e}", visit.id)))?;
    Ok(framed(&body))
}

/// The first byte of a removal's body; a record's first byte is its id's variant, 0 or 1.
const REMOVED: u8 = 2;

/// The framed removal of the visit with this id (see the module's doc).
///
/// # Errors
/// [`StoreError::Corrupt`] if the id cannot be encoded (never for a valid id).
pub fn frame_removal(id: &str) -> Result<Vec<u8>, StoreError> {
    let mut body = vec![REMOVED];
    body.extend(
        postcard::to_allocvec(&Id::of(id))
            .map_err(|e| StoreError::Corrupt(format!("visit id {id} does not encode: {e}")))?,
    );
    Ok(framed(&body))
}

/// `body` behind its LEB128 length (as `venue_write` in `scripts.rs` also frames a venue's scan
/// events).
pub(super) fn framed(body: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(body.len() + 2);
    let mut n = body.len();
    loop {
        let low = u8::try_from(n & 0x7f).unwrap_or(0);
        n >>= 7;
        if n == 0 {
            framed.push(low);
            break;
        }
        framed.push(low | 0x80);
    }
    framed.extend_from_slice(body);
    framed
}

/// One entry of a string of framed records: a visit as written, or the removal of an id.
#[derive(Debug, Clone, PartialEq)]
pub enum Filed {
    /// A visit record.
    Visit(Visit),
    /// The removal of the visit with this id.
    Removed(String),
}

/// The bytes a record of the visit with this id contains, for a byte search in a script.
pub fn id_bytes(id: &str) -> Vec<u8> {
    match Id::of(id) {
        Id::Uuid(bytes) => bytes.to_vec(),
        Id::Text(t) => t.into_bytes(),
    }
}

/// Every entry in a string of framed records kept on `side`, in the order written.
///
/// # Errors
/// [`StoreError::Corrupt`] for a truncated or undecodable record.
pub fn unframe_all(bytes: &[u8], side: Side<'_>) -> Result<Vec<Filed>, StoreError> {
    frames(bytes)?
        .into_iter()
        .map(|body| match body.split_first() {
            Some((&REMOVED, id)) => Ok(Filed::Removed(
                postcard::from_bytes::<Id>(id)
                    .map_err(|e| StoreError::Corrupt(format!("a removal does not decode: {e}")))?
                    .text(),
            )),
            _ => Ok(Filed::Visit(decode(body, side)?)),
        })
        .collect()
}

/// The bodies of a string of framed records (see [`framed`]), in the order written.
///
/// # Errors
/// [`StoreError::Corrupt`] when a length or a body is cut short.
pub(super) fn frames(mut bytes: &[u8]) -> Result<Vec<&[u8]>, StoreError> {
    let mut bodies = Vec::new();
    while !bytes.is_empty() {
        let mut len = 0usize;
        let mut shift = 0;
        let mut used = 0;
        loop {
            let Some(&b) = bytes.get(used) else {
                return Err(StoreError::Corrupt("a record's length is cut".into()));
            };
            used += 1;
            len |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 28 {
                break;
            }
        }
        let Some(body) = bytes.get(used..used + len) else {
            return Err(StoreError::Corrupt("a record is cut".into()));
        };
        bodies.push(body);
        bytes = &bytes[used + len..];
    }
    Ok(bodies)
}

/// The one visit of a framed record (the open visit a hash field holds).
///
/// # Errors
/// [`StoreError::Corrupt`] unless the bytes are exactly one record.
pub fn unframe(bytes: &[u8], side: Side<'_>) -> Result<Visit, StoreError> {
    let mut all = unframe_all(bytes, side)?;
    match (all.pop(), all.is_empty()) {
        (Some(Filed::Visit(v)), true) => Ok(v),
        _ => Err(StoreError::Corrupt(
            "expected exactly one visit record".into(),
        )),
    }
}

fn decode(body: &[u8], side: Side<'_>) -> Result<Visit, StoreError> {
    let r: Record = postcard::from_bytes(body)
        .map_err(|e| StoreError::Corrupt(format!("a visit record does not decode: {e}")))?;
    let missing = |what: &str| StoreError::Corrupt(format!("a visit record has no {what}"));
    let (resident_id, venue_id) = match side {
        Side::Person(rid) => (rid.clone(), r.venue_id.ok_or_else(|| missing("venue"))?),
        Side::Venue(vid) => (
            r.resident_id.ok_or_else(|| missing("resident"))?,
            vid.clone(),
        ),
    };
    let check_in = r
        .check_in
        .map(|(ms, sub)| time(ms, sub, None))
        .transpose()?;
    let check_out = r
        .check_out
        .map(|(ms, sub)| time(ms, sub, check_in))
        .transpose()?;
    let gate_out = match r.gate_out {
        GateOut::None => None,
        GateOut::SameAsIn => r.gate_in.clone(),
        GateOut::Other(g) => Some(g),
    };
    Ok(Visit {
        id: r.id.text(),
        resident_id,
        venue_id,
        gate_in: r.gate_in,
        gate_out,
        check_in,
        check_out,
        closed_by: r.closed_by,
        start_inferred: r.start_inferred,
        max_stay_seconds: r.max_stay_seconds,
        parent: r.parent,
        host: r.host,
    })
}

/// The latest record of each visit id, later records winning (a removal takes the id away),
/// then `open` (a visit still open) over any record of its id; ordered by start (ms), then
/// id, as the stores order visits.
pub fn latest(records: Vec<Filed>, open: impl IntoIterator<Item = Visit>) -> Vec<Visit> {
    let mut by_id: std::collections::HashMap<String, Visit> = std::collections::HashMap::new();
    for entry in records
        .into_iter()
        .chain(open.into_iter().map(Filed::Visit))
    {
        match entry {
            Filed::Visit(v) => {
                by_id.insert(v.id.clone(), v);
            }
            Filed::Removed(id) => {
                by_id.remove(&id);
            }
        }
    }
    let mut visits: Vec<Visit> = by_id.into_values().collect();
    visits.sort_by(|a, b| {
        (a.start().timestamp_millis(), &a.id).cmp(&(b.start().timestamp_millis(), &b.id))
    });
    visits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(id: &str) -> Visit {
        let at = Utc
            .timestamp_opt(1_583_827_200, 123_456_789)
            .single()
            .expect("a valid time");
        Visit {
            id: id.to_owned(),
            resident_id: ResidentId::parse("R00042").expect("valid"),
            venue_id: VenueId::parse("GC-C001").expect("valid"),
            gate_in: Some(Gate::parse("东门").expect("valid")),
            gate_out: Some(Gate::parse("main").expect("valid")),
            check_in: Some(at),
            check_out: Some(at + chrono::Duration::minutes(42)),
            closed_by: Some(ClosedBy::CheckOut),
            start_inferred: false,
            max_stay_seconds: 86_400,
            parent: None,
            host: Some(ResidentId::parse("R00001").expect("valid")),
        }
    }

    #[test]
    fn a_visit_comes_back_from_either_sides_record_unchanged_in_a_fraction_of_its_json() {
        let v = visit(&Visit::new_id());
        let json = serde_json::to_vec(&v).expect("json");
        for side in [Side::Person(&v.resident_id), Side::Venue(&v.venue_id)] {
            let framed = frame(&v, side).expect("encodes");
            assert_eq!(unframe(&framed, side).expect("decodes"), v);
            assert!(
                framed.len() * 4 < json.len(),
                "{} bytes against {} of JSON",
                framed.len(),
                json.len()
            );
        }
    }

    #[test]
    fn a_visit_out_through_its_gate_in_costs_less_and_comes_back_unchanged() {
        let mut v = visit(&Visit::new_id());
        let side = Side::Venue(&v.venue_id);
        let apart = frame(&v, side).expect("encodes").len();
        v.gate_out = v.gate_in.clone();
        let framed = frame(&v, side).expect("encodes");
        assert!(framed.len() < apart, "{} against {apart}", framed.len());
        assert_eq!(unframe(&framed, side).expect("decodes"), v);
        v.gate_in = None;
        v.gate_out = None;
        let framed = frame(&v, side).expect("encodes");
        assert_eq!(unframe(&framed, side).expect("decodes"), v);
    }

    #[test]
    fn a_check_out_with_fewer_nanoseconds_than_its_check_in_comes_back_exactly() {
        let mut v = visit(&Visit::new_id());
        let check_in = v.check_in.expect("a check-in");
        v.check_out = Some(check_in + chrono::Duration::nanoseconds(999_999_999));
        let side = Side::Person(&v.resident_id);
        let framed = frame(&v, side).expect("encodes");
        assert_eq!(unframe(&framed, side).expect("decodes"), v);
        v.check_in = None;
        v.start_inferred = true;
        let framed = frame(&v, side).expect("encodes");
        assert_eq!(unframe(&framed, side).expect("decodes"), v);
    }

    #[test]
    fn appended_records_come_back_in_order_and_the_latest_of_an_id_wins() {
        let a = visit(&Visit::new_id());
        let mut a2 = a.clone();
        a2.closed_by = Some(ClosedBy::Auto);
        let b = visit("not-a-uuid-7");
        let side = Side::Venue(&a.venue_id);
        let mut bytes = frame(&a, side).expect("encodes");
        bytes.extend(frame(&b, side).expect("encodes"));
        bytes.extend(frame(&a2, side).expect("encodes"));
        let all = unframe_all(&bytes, side).expect("decodes");
        assert_eq!(
            all,
            vec![
                Filed::Visit(a.clone()),
                Filed::Visit(b.clone()),
                Filed::Visit(a2.clone())
            ]
        );
        let latest = latest(all, []);
        assert_eq!(latest.len(), 2);
        assert!(latest.contains(&a2) && latest.contains(&b));
    }

    #[test]
    fn a_removal_takes_its_visit_away_until_a_later_record_brings_it_back() {
        let a = visit(&Visit::new_id());
        let b = visit("not-a-uuid-7");
        let side = Side::Person(&a.resident_id);
        let mut bytes = frame(&a, side).expect("encodes");
        bytes.extend(frame(&b, side).expect("encodes"));
        bytes.extend(frame_removal(&a.id).expect("encodes"));
        bytes.extend(frame_removal(&b.id).expect("encodes"));
        assert!(
            bytes.windows(16).any(|w| id_bytes(&a.id) == w.to_vec()),
            "a script finds a removal by its id's bytes"
        );
        let removed = unframe_all(&bytes, side).expect("decodes");
        assert_eq!(latest(removed, []), Vec::<Visit>::new());
        bytes.extend(frame(&b, side).expect("encodes"));
        let back = unframe_all(&bytes, side).expect("decodes");
        assert_eq!(latest(back, []), vec![b]);
        assert!(unframe(&frame_removal(&a.id).expect("encodes"), side).is_err());
    }

    #[test]
    fn a_cut_record_is_reported_as_corrupt() {
        let v = visit(&Visit::new_id());
        let side = Side::Person(&v.resident_id);
        let framed = frame(&v, side).expect("encodes");
        assert!(matches!(
            unframe_all(&framed[..framed.len() - 1], side),
            Err(StoreError::Corrupt(_))
        ));
    }
}
