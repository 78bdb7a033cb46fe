//! How Redis holds a scan event: a compact binary record, 80 to 100 bytes where the JSON took
//! about 400. A scan writes its event three times (the person's list, the venue's guard-view
//! list and the venue's events by time), so this is most of what a live scan keeps.
//!
//! A record is a [postcard](https://docs.rs/postcard) encoding of the event's fields, with
//! its id and visit id as their 16 bytes when they are UUIDs, the scan time as milliseconds
//! since the epoch (UTC) and the server's and client's times as milliseconds after it, each
//! with the nanoseconds below the millisecond. Its first byte is the id's variant (0 or 1), so
//! it never starts with `{`: an event stored as JSON by an earlier build is still read.
//!
//! The venue's kind, when the event has it, follows the record as a postcard encoding of its
//! own (the variant's index: new kinds go at the end of [`VenueKind`]). A record without it
//! (from an earlier build) decodes with none, and an earlier build reading a record with it
//! stops at the record's end, as postcard does, so builds can run side by side.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::record::Id;
use crate::domain::scan::{Decision, DenyReason, Direction, ScanEvent, Temperature};
use crate::domain::venue::VenueKind;
use crate::domain::{Gate, ResidentId, VenueId};
use crate::storage::StoreError;

/// The stored form of a [`ScanEvent`], field for field.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    id: Id,
    resident_id: ResidentId,
    venue_id: VenueId,
    gate: Gate,
    direction: Direction,
    temperature_c: Option<f64>,
    /// Milliseconds since the epoch, nanoseconds below the millisecond.
    scan_time: (i64, u32),
    /// After the scan time, as `scan_time`.
    server_time: (i64, u32),
    /// After the scan time, as `scan_time`.
    client_time: Option<(i64, u32)>,
    decision: Decision,
    reason: Option<DenyReason>,
    visit_id: Option<Id>,
    host: Option<ResidentId>,
    tags: Vec<String>,
    direction_inferred: bool,
}

/// Nanoseconds in a millisecond.
const NANOS_PER_MS: i128 = 1_000_000;

fn nanos(t: DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
}

/// `t` as milliseconds and the nanoseconds below them, after `base` if given.
fn after(t: DateTime<Utc>, base: Option<DateTime<Utc>>) -> (i64, u32) {
    let n = nanos(t) - base.map_or(0, nanos);
    let ms = i64::try_from(n.div_euclid(NANOS_PER_MS)).unwrap_or(i64::MAX);
    let sub = u32::try_from(n.rem_euclid(NANOS_PER_MS)).unwrap_or(0);
    (ms, sub)
}

/// The time `ms` milliseconds and `sub` nanoseconds after `base` (or the epoch).
fn time((ms, sub): (i64, u32), base: Option<DateTime<Utc>>) -> Result<DateTime<Utc>, StoreError> {
    let n = base.map_or(0, nanos) + i128::from(ms) * NANOS_PER_MS + i128::from(sub);
    let secs = i64::try_from(n.div_euclid(1_000_000_000));
    let subsec = u32::try_from(n.rem_euclid(1_000_000_000));
    match (secs, subsec) {
        (Ok(s), Ok(ns)) => Utc.timestamp_opt(s, ns).single(),
        _ => None,
    }
    .ok_or_else(|| StoreError::Corrupt(format!("scan event time {ms} ms {sub} ns")))
}

/// The record of `event`.
///
/// # Errors
/// [`StoreError::Corrupt`] if the event cannot be encoded (never for a valid event).
pub fn encode(event: &ScanEvent) -> Result<Vec<u8>, StoreError> {
    let at = event.scan_time;
    let record = Record {
        id: Id::of(&event.id),
        resident_id: event.resident_id.clone(),
        venue_id: event.venue_id.clone(),
        gate: event.gate.clone(),
        direction: event.direction,
        temperature_c: event.temperature_c.map(Temperature::celsius),
        scan_time: after(at, None),
        server_time: after(event.server_time, Some(at)),
        client_time: event.client_time.map(|t| after(t, Some(at))),
        decision: event.decision,
        reason: event.reason,
        visit_id: event.visit_id.as_deref().map(Id::of),
        host: event.host.clone(),
        tags: event.tags.clone(),
        direction_inferred: event.direction_inferred,
    };
    let corrupt = |e: postcard::Error| {
        StoreError::Corrupt(format!("scan event {} does not encode: {e}", event.id))
    };
    let mut bytes = postcard::to_allocvec(&record).map_err(corrupt)?;
    if let Some(kind) = event.venue_kind {
        bytes.extend(postcard::to_allocvec(&kind).map_err(corrupt)?);
    }
    Ok(bytes)
}

/// The event of a record, or of the JSON an earlier build stored.
///
/// # Errors
/// [`StoreError::Corrupt`] for bytes that are neither.
pub fn decode(bytes: &[u8]) -> Result<ScanEvent, StoreError> {
    if bytes.first() == Some(&b'{') {
        return Ok(serde_json::from_slice(bytes)?);
    }
    let corrupt = |e: postcard::Error| {
        StoreError::Corrupt(format!("a scan event record does not decode: {e}"))
    };
    let (r, rest): (Record, &[u8]) = postcard::take_from_bytes(bytes).map_err(corrupt)?;
    let venue_kind = match rest {
        [] => None,
        rest => Some(postcard::from_bytes::<VenueKind>(rest).map_err(corrupt)?),
    };
    let at = time(r.scan_time, None)?;
    Ok(ScanEvent {
        id: r.id.text(),
        resident_id: r.resident_id,
        venue_id: r.venue_id,
        gate: r.gate,
        direction: r.direction,
        temperature_c: r
            .temperature_c
            .map(Temperature::parse)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("a scan event record: {e}")))?,
        scan_time: at,
        server_time: time(r.server_time, Some(at))?,
        client_time: r.client_time.map(|t| time(t, Some(at))).transpose()?,
        decision: r.decision,
        reason: r.reason,
        visit_id: r.visit_id.as_ref().map(Id::text),
        host: r.host,
        tags: r.tags,
        direction_inferred: r.direction_inferred,
        venue_kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> ScanEvent {
        let at = Utc
            .timestamp_opt(1_581_811_204, 123_000_000)
            .single()
            .unwrap_or_default();
        ScanEvent {
            id: uuid::Uuid::now_v7().to_string(),
            resident_id: ResidentId::parse("R05314").unwrap_or_else(|e| panic!("{e}")),
            venue_id: VenueId::parse("GC-C104").unwrap_or_else(|e| panic!("{e}")),
            gate: Gate::parse("北门").unwrap_or_else(|e| panic!("{e}")),
            direction: Direction::In,
            temperature_c: Some(Temperature::parse(37.4).unwrap_or_else(|e| panic!("{e}"))),
            scan_time: at,
            server_time: at + chrono::Duration::nanoseconds(1_234_567_891),
            client_time: Some(at),
            decision: Decision::Denied,
            reason: Some(DenyReason::Fever),
            visit_id: Some(uuid::Uuid::now_v7().to_string()),
            host: None,
            tags: vec!["hubei_return".into()],
            direction_inferred: true,
            venue_kind: Some(VenueKind::Checkpoint),
        }
    }

    #[test]
    fn an_event_comes_back_unchanged_from_under_a_quarter_of_its_json() {
        let e = event();
        let bytes = encode(&e).unwrap_or_else(|err| panic!("{err}"));
        let json = serde_json::to_vec(&e).unwrap_or_default();
        assert_eq!(decode(&bytes).unwrap_or_else(|err| panic!("{err}")), e);
        eprintln!("an event: {} bytes, {} of JSON", bytes.len(), json.len());
        assert!(
            bytes.len() * 4 < json.len(),
            "{} against {}",
            bytes.len(),
            json.len()
        );
        assert_ne!(bytes.first(), Some(&b'{'));
    }

    #[test]
    fn a_record_without_the_venues_kind_reads_as_none_and_an_earlier_build_reads_one_with_it() {
        let with = event();
        let without = ScanEvent {
            venue_kind: None,
            ..with.clone()
        };
        let old = encode(&without).unwrap_or_else(|err| panic!("{err}"));
        let new = encode(&with).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            decode(&old)
                .unwrap_or_else(|err| panic!("{err}"))
                .venue_kind,
            None
        );
        assert!(new.starts_with(&old), "the record comes first");
        assert_eq!(decode(&new).unwrap_or_else(|err| panic!("{err}")), with);
        // What an earlier build reads: the record, the kind after it left alone.
        let earlier: Record = postcard::from_bytes(&new).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(earlier.gate.to_string(), "北门");
    }

    #[test]
    fn an_event_stored_as_json_is_still_read_and_garbage_is_corrupt() {
        let e = event();
        let json = serde_json::to_vec(&e).unwrap_or_default();
        assert_eq!(decode(&json).unwrap_or_else(|err| panic!("{err}")), e);
        assert!(decode(&[7, 7, 7]).is_err());
    }
}
