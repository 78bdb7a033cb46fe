//! Test data with known values: venues, residents, visits built by hand, and scans decided by
//! the domain's rules and committed the way the scan service does it.

use checkin::domain::rules::{decide, Outcome, ScanInput, ScanPolicy};
use checkin::domain::scan::Decision;
use checkin::domain::{
    ClosedBy, Direction, EntryPolicy, Gate, Phone, Resident, ResidentId, ScanEvent, Temperature,
    Venue, VenueId, VenueKind, Visit,
};
use checkin::storage::{CommitResult, IdempotencyRecord, ScanCommit, Store};
use chrono::{DateTime, Duration, Utc};

/// A time from RFC 3339 text.
pub fn t(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("a valid RFC 3339 time")
        .with_timezone(&Utc)
}

/// A resident id.
pub fn rid(id: &str) -> ResidentId {
    ResidentId::parse(id).expect("a valid resident id")
}

/// A venue id.
pub fn vid(id: &str) -> VenueId {
    VenueId::parse(id).expect("a valid venue id")
}

/// A phone.
pub fn phone(digits: &str) -> Phone {
    Phone::parse(digits).expect("a valid phone")
}

/// The gate every fixture venue has.
pub fn gate() -> Gate {
    Gate::parse("北门").expect("a valid gate")
}

/// A venue of `kind` with the kind's default maximum stay.
pub fn venue(id: &str, kind: VenueKind) -> Venue {
    Venue {
        id: vid(id),
        name: format!("场所 {id}"),
        kind,
        community: Some("古城社区".into()),
        address: Some("古城路 1 号".into()),
        gates: vec![gate(), Gate::parse("南门").expect("a valid gate")],
        max_stay_minutes: None,
        // Storage does not enforce who may enter; the scans here are by people with no home.
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
        created_at: t("2020-02-01T08:00:00.123456789Z"),
    }
}

/// A registered resident.
pub fn resident(id: &str, digits: &str) -> Resident {
    Resident {
        id: rid(id),
        name: Some("张三".into()),
        phone: phone(digits),
        home: Some(vid("GC-C001")),
        building: Some("1栋".into()),
        room: Some("402".into()),
        household: Some("H001".into()),
        tags: vec!["hubei_return".into()],
        registered: true,
        created_at: t("2020-02-01T08:00:00Z"),
        token_generation: 0,
    }
}

/// A visit built by hand: `check_in` as given (or none), closed by check-out at `check_out`
/// when given, open otherwise; maximum stay 2 h.
pub fn visit(
    id: &str,
    resident: &str,
    venue: &str,
    check_in: Option<DateTime<Utc>>,
    check_out: Option<DateTime<Utc>>,
) -> Visit {
    Visit {
        id: id.to_owned(),
        resident_id: rid(resident),
        venue_id: vid(venue),
        gate_in: check_in.map(|_| gate()),
        gate_out: check_out.map(|_| gate()),
        check_in,
        check_out,
        closed_by: check_out.map(|_| ClosedBy::CheckOut),
        start_inferred: check_in.is_none(),
        max_stay_seconds: 2 * 3600,
        parent: None,
        host: None,
    }
}

/// An admitted scan event about `visit`.
pub fn event_for(visit: &Visit, direction: Direction) -> ScanEvent {
    let at = match direction {
        Direction::In => visit.start(),
        Direction::Out => visit.check_out.unwrap_or_else(|| visit.start()),
    };
    ScanEvent {
        id: uuid::Uuid::now_v7().to_string(),
        resident_id: visit.resident_id.clone(),
        venue_id: visit.venue_id.clone(),
        gate: gate(),
        direction,
        temperature_c: Some(Temperature::parse(36.6).expect("a valid temperature")),
        scan_time: at,
        server_time: at,
        client_time: None,
        decision: Decision::Admitted,
        reason: None,
        visit_id: Some(visit.id.clone()),
        host: None,
        tags: Vec::new(),
        direction_inferred: false,
        venue_kind: None,
    }
}

/// A commit of `changed` for the person of the first visit, at `expected_version`.
pub fn commit_of(
    expected_version: u64,
    changed: Vec<Visit>,
    open_after: Option<Visit>,
) -> ScanCommit {
    let first = changed.first().expect("at least one visit");
    let direction = if first.is_open() {
        Direction::In
    } else {
        Direction::Out
    };
    ScanCommit {
        resident_id: first.resident_id.clone(),
        expected_version,
        removed: Vec::new(),
        event: event_for(first, direction),
        changed,
        open_after,
        idempotency: None,
        alerts: Vec::new(),
    }
}

/// Writes hand-built visits of one person in one commit at the person's current version.
pub async fn store_visits(store: &dyn Store, changed: Vec<Visit>, open_after: Option<Visit>) {
    let person = changed
        .first()
        .expect("at least one visit")
        .resident_id
        .clone();
    let version = store
        .person_state(&person, None)
        .await
        .expect("person state reads")
        .version;
    let result = store
        .commit_scan(&commit_of(version, changed, open_after))
        .await
        .expect("the commit runs");
    assert_eq!(result, CommitResult::Committed);
}

/// An idempotency record with a recognisable answer.
pub fn idempotency_record(tag: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        fingerprint: format!("{tag}-fingerprint"),
        answer: serde_json::value::to_raw_value(
            &serde_json::json!({"decision": "admitted", "visit_id": tag, "n": [1, 2.5]}),
        )
        .expect("JSON"),
    }
}

/// What the domain decides for one scan by `person` at `venue`'s first gate at `at`, given
/// the person's open visit.
pub fn decided(
    open: Option<&Visit>,
    person: &ResidentId,
    venue: &Venue,
    direction: Option<Direction>,
    temperature: Option<f64>,
    at: DateTime<Utc>,
) -> Outcome {
    let gate = gate();
    let input = ScanInput {
        resident_id: person,
        venue,
        gate: &gate,
        direction,
        temperature: temperature.map(|c| Temperature::parse(c).expect("a valid temperature")),
        scan_time: at,
        server_time: at,
        client_time: None,
        home: None,
        parent: None,
        visitor_host: None,
    };
    decide(open, &input, &ScanPolicy::default())
}

/// One scan as the scan service runs it: read the person's state, decide, commit at the
/// version read. Panics unless it commits.
pub async fn scan(
    store: &dyn Store,
    person: &ResidentId,
    venue: &Venue,
    direction: Option<Direction>,
    at: DateTime<Utc>,
) -> Outcome {
    scan_with(store, person, venue, direction, None, at).await
}

/// [`scan`] with a temperature.
pub async fn scan_with(
    store: &dyn Store,
    person: &ResidentId,
    venue: &Venue,
    direction: Option<Direction>,
    temperature: Option<f64>,
    at: DateTime<Utc>,
) -> Outcome {
    let state = store
        .person_state(person, None)
        .await
        .expect("person state reads");
    let outcome = decided(
        state.open.as_ref(),
        person,
        venue,
        direction,
        temperature,
        at,
    );
    let commit = ScanCommit {
        resident_id: person.clone(),
        expected_version: state.version,
        removed: Vec::new(),
        event: outcome.event.clone(),
        changed: outcome.changed.clone(),
        open_after: outcome.open_after.clone(),
        idempotency: None,
        alerts: Vec::new(),
    };
    let result = store.commit_scan(&commit).await.expect("the commit runs");
    assert_eq!(result, CommitResult::Committed);
    outcome
}

/// A wide window around every fixture time.
pub fn all_time() -> (DateTime<Utc>, DateTime<Utc>) {
    (t("2000-01-01T00:00:00Z"), t("2100-01-01T00:00:00Z"))
}

/// `minutes` after `at`.
pub fn plus_minutes(at: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    at + Duration::minutes(minutes)
}
