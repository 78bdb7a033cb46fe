//! Processing one scan: verify the code, place it in time, apply the visit rules, and commit
//! atomically, with idempotent retries (contract, visit rules 1 to 6 and "Time").

use chrono::{DateTime, Duration, FixedOffset, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::codes::{CodeClaims, CodeError};
use crate::domain::alert::raised;
use crate::domain::rederive::{self, Rederived};
use crate::domain::rules::{decide, ScanInput};
use crate::domain::scan::{Decision, DenyReason};
use crate::domain::{Direction, EntryPolicy, Gate, Resident, ResidentId, Temperature, Venue};
use crate::state::AppState;
use crate::storage::{CommitResult, IdempotencyRecord, ScanCommit, StoreError};

/// How often a scan is decided again when another scan of the same person committed first.
const MAX_ATTEMPTS: usize = 16;

/// The longest pause before deciding a scan again after its `n`-th conflict, µs: a random
/// pause up to 200 µs doubled at each conflict, at most 12.8 ms (about 50 ms over all
/// attempts). Without it, a handful of one person's scans arriving together, late ones above
/// all (each reads the person's whole history), could keep beating one another until one ran
/// out of attempts.
fn backoff_cap_us(n: usize) -> u64 {
    200 << n.min(6)
}

/// A scan as parsed at the edge.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// The whole text read off the poster.
    pub code: String,
    /// `in` or `out`; absent lets the person's state decide.
    pub direction: Option<Direction>,
    /// Temperature, °C.
    pub temperature: Option<Temperature>,
    /// The client's clock at the scan.
    pub client_time: Option<DateTime<FixedOffset>>,
    /// A client-chosen key, 1 to 128 printable ASCII characters.
    pub idempotency_key: Option<String>,
    /// Household members scanned along (children, the elderly), each with their reading.
    pub members: Vec<MemberScan>,
}

/// The most household members one scan may bring along.
pub const MAX_MEMBERS: usize = 10;

/// A household member scanned along with the person holding the phone (compound policy
/// issue): each gets their own visit, so that tracing sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberScan {
    /// Who.
    pub resident_id: ResidentId,
    /// Their temperature, °C.
    pub temperature: Option<Temperature>,
}

/// What a household member's scan decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberAnswer {
    /// Who.
    pub resident_id: String,
    /// `admitted` or `denied`.
    pub decision: Decision,
    /// Why it was denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<DenyReason>,
    /// Their visit opened, closed or repeated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visit_id: Option<String>,
    /// Which way, as decided for them.
    pub direction: Direction,
    /// Their watch-list tags, for the guard; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<String>,
}

/// The venue named in an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VenueRef {
    /// Venue id.
    pub id: String,
    /// Venue name.
    pub name: String,
}

/// The answer to a processed scan (contract, `POST /scans`). Times are RFC 3339, UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScanAnswer {
    /// `admitted` or `denied`.
    pub decision: Decision,
    /// Why it was denied (`fever`, `not_a_resident`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<DenyReason>,
    /// The visit opened, closed or repeated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visit_id: Option<String>,
    /// Where.
    pub venue: VenueRef,
    /// Which gate.
    pub gate: String,
    /// Which way, as decided.
    pub direction: Direction,
    /// The server's clock at receipt.
    #[serde(serialize_with = "crate::domain::utc_json::serialize")]
    pub server_time: DateTime<Utc>,
    /// The time the scan counts at (`client_time` when given, else `server_time`).
    #[serde(serialize_with = "crate::domain::utc_json::serialize")]
    pub scan_time: DateTime<Utc>,
    /// The person's watch-list tags (`out_of_province`, `hubei_return`, `key_monitoring`, or
    /// any an admin defined), flagged at the gate; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<String>,
    /// The household members scanned along, each decided as their own scan; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberAnswer>,
}

/// A scan's answer and, when it was made for the idempotency record, its JSON: the HTTP answer
/// sends those bytes rather than serialising the answer a second time (2.6 % of the service's
/// instructions a scan; docs/scaling.md, "Constants in the script text; the answer serialised
/// once").
#[derive(Debug)]
pub struct Answered {
    /// The answer.
    pub answer: ScanAnswer,
    /// `answer` as JSON, when already made.
    pub json: Option<Box<RawValue>>,
}

impl Answered {
    /// `answer` as JSON: the bytes already made, or made now.
    ///
    /// # Errors
    /// [`ScanError::Store`] (corrupt) if it does not serialise, which a `ScanAnswer` always does.
    pub fn into_json(self) -> Result<Box<RawValue>, ScanError> {
        match self.json {
            Some(json) => Ok(json),
            None => answer_json(&self.answer),
        }
    }
}

/// `answer` as JSON.
fn answer_json(answer: &ScanAnswer) -> Result<Box<RawValue>, ScanError> {
    serde_json::value::to_raw_value(answer)
        .map_err(|e| ScanError::Store(StoreError::Corrupt(e.to_string())))
}

/// Why a scan was not processed.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Not a code, or not verified.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// The code is signed but its version or gate is no longer current.
    #[error("code revoked")]
    CodeRevoked,
    /// An event or live code scanned after its window.
    #[error("code expired")]
    CodeExpired,
    /// An event code scanned before its window.
    #[error("code not yet valid")]
    CodeNotYetValid,
    /// The code is one-way, and the client asked for the other direction.
    #[error("this code is only for {0:?}")]
    DirectionMismatch(Direction),
    /// The code names a venue that does not exist (any more).
    #[error("unknown venue")]
    UnknownVenue,
    /// `client_time` is outside the accepted skew.
    #[error("{0}")]
    ClientTimeOutOfRange(String),
    /// The idempotency key was used with another body.
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// The person's state kept changing under us.
    #[error("too many concurrent scans of one person")]
    Contended,
    /// The token's sign-in was revoked (a sign-out everywhere, an admin's revocation), or
    /// names no person.
    #[error("{0}")]
    SignedOut(String),
    /// A member brought along is not registered in the scanner's household.
    #[error("members: {0} is not registered in your household")]
    NotHouseholdMember(ResidentId),
    /// The scanner listed themselves among the members they bring along.
    #[error("members: {0} is the scanner, whose own scan this is")]
    ScannerAsMember(ResidentId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a scan was made: through the code on a poster, or at a venue and gate the server
/// already knows (a checkpoint officer recording a passenger, who shows no code).
#[derive(Clone, Copy)]
enum Source<'a> {
    /// `ScanRequest::code` names the venue and gate, and is verified; with the sign-in
    /// generation of the scanner's token when it is still to be checked against the person's.
    Code(Option<u32>),
    /// This venue and gate, checked by the caller; `ScanRequest::code` is not read.
    Gate(&'a Venue, &'a Gate),
}

fn fingerprint(req: &ScanRequest, source: Source<'_>) -> String {
    let members: Vec<(String, Option<f64>)> = req
        .members
        .iter()
        .map(|m| {
            (
                m.resident_id.to_string(),
                m.temperature.map(Temperature::celsius),
            )
        })
        .collect();
    let place = match source {
        Source::Code(_) => req.code.trim().to_owned(),
        // A client's code never holds the separator, so the two kinds cannot collide.
        Source::Gate(venue, gate) => format!("gate\u{1f}{}\u{1f}{gate}", venue.id),
    };
    let direction = req.direction;
    let temperature = req.temperature.map(Temperature::celsius);
    let client_ms = req
        .client_time
        .map(|t| t.with_timezone(&Utc).timestamp_millis());
    // The JSON array `[place, direction, temperature, client_ms]`, with the members after
    // them only when there are some, so a scan without them keeps its earlier fingerprint.
    // Serialising strings, numbers and options cannot fail (a non-finite number is `null`).
    let canonical = if members.is_empty() {
        serde_json::to_vec(&(place, direction, temperature, client_ms))
    } else {
        serde_json::to_vec(&(place, direction, temperature, client_ms, members))
    }
    .unwrap_or_default();
    format!("{:x}", Sha256::digest(&canonical))
}

/// The scan's time: an accepted `client_time`, else `now` (contract, "Time"), to the
/// millisecond.
fn scan_time(
    state: &AppState,
    client_time: Option<DateTime<FixedOffset>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ScanError> {
    // Scan times are kept to the millisecond (a stored visit's times take fewer bytes).
    let now = now.trunc_subsecs(3);
    let Some(ct) = client_time.map(|t| t.with_timezone(&Utc).trunc_subsecs(3)) else {
        return Ok(now);
    };
    let s = &state.settings.scans;
    let past = Duration::seconds(i64::try_from(s.client_time_max_past_seconds).unwrap_or(0));
    let future = Duration::seconds(i64::try_from(s.client_time_max_future_seconds).unwrap_or(0));
    if ct < now - past || ct > now + future {
        return Err(ScanError::ClientTimeOutOfRange(format!(
            "accepted from {}s before to {}s after the server's clock",
            past.num_seconds(),
            future.num_seconds()
        )));
    }
    Ok(ct)
}

/// Checks a time (seconds since the epoch) against a code's validity window, if it has one.
fn within_window(claims: &CodeClaims, at: i64) -> Result<(), ScanError> {
    if claims.f.is_some_and(|f| at < f) {
        return Err(ScanError::CodeNotYetValid);
    }
    if claims.u.is_some_and(|u| at > u) {
        return Err(ScanError::CodeExpired);
    }
    Ok(())
}

/// What a scan's code and request resolve to, checked once per scan.
struct Checked {
    gate: Gate,
    venue: Venue,
    direction: Option<Direction>,
    /// The venue's parent, for a sub-location: leaving it puts the person back there.
    parent: Option<Venue>,
}

/// Verifies the code, finds its venue and checks the scan's time against the code's window.
async fn check(
    state: &AppState,
    req: &ScanRequest,
    server_time: DateTime<Utc>,
) -> Result<Checked, ScanError> {
    let claims = state.codes.verify(&req.code)?;
    let venue = state.store.venue(&claims.v).await?;
    check_claims(state, req, server_time, claims, venue).await
}

/// [`check`] once the code is verified (`claims`) and its venue read (`venue`, `None` when
/// there is no such venue).
async fn check_claims(
    state: &AppState,
    req: &ScanRequest,
    server_time: DateTime<Utc>,
    claims: CodeClaims,
    venue: Option<Venue>,
) -> Result<Checked, ScanError> {
    let venue = venue.ok_or(ScanError::UnknownVenue)?;
    if claims.n < venue.code_version || !venue.has_gate(&claims.g) {
        return Err(ScanError::CodeRevoked);
    }
    if claims.n > venue.code_version {
        return Err(CodeError::Invalid.into());
    }
    // A code's window holds the scan's time, so an offline scan made inside an event's window
    // counts when it arrives later; a live code must also be inside its window by the server's
    // clock, so neither a photo used later nor a backdated client_time gets through.
    let at = scan_time(state, req.client_time, server_time)?.timestamp();
    within_window(&claims, at)?;
    if claims.l {
        within_window(&claims, server_time.timestamp())?;
    }
    // A one-way code fixes the direction; a client asking for the other one is refused.
    let direction = match (claims.d, req.direction) {
        (Some(fixed), Some(asked)) if fixed != asked => {
            return Err(ScanError::DirectionMismatch(fixed))
        }
        (Some(fixed), _) => Some(fixed),
        (None, asked) => asked,
    };
    let parent = parent_of(state, &venue).await?;
    Ok(Checked {
        gate: claims.g,
        venue,
        direction,
        parent,
    })
}

/// The venue's parent, for a sub-location.
async fn parent_of(state: &AppState, venue: &Venue) -> Result<Option<Venue>, ScanError> {
    Ok(match &venue.parent {
        Some(p) => state.store.venue(p).await?,
        None => None,
    })
}

/// What a code opens, for the page behind its URL: the venue, the gate and the direction the
/// code fixes, if any, checked as a scan now would check them.
///
/// # Errors
/// [`ScanError`] for a code that would be refused (not verified, revoked, expired, unknown
/// venue).
pub async fn describe_code(
    state: &AppState,
    code: &str,
) -> Result<(Venue, Gate, Option<Direction>), ScanError> {
    let req = ScanRequest {
        code: code.to_owned(),
        direction: None,
        temperature: None,
        client_time: None,
        idempotency_key: None,
        members: Vec::new(),
    };
    let c = check(state, &req, state.clock.now()).await?;
    Ok((c.venue, c.gate, c.direction))
}

/// At a `residents_only` venue that is not the person's home, the host of a visitor pass for
/// the person's phone that admits them there at `at`, is not over at `server_time`, and whose
/// host still lives there. Read only then.
async fn visitor_host(
    state: &AppState,
    venue: &Venue,
    person: Option<&Resident>,
    at: DateTime<Utc>,
    server_time: DateTime<Utc>,
) -> Result<Option<ResidentId>, ScanError> {
    let Some(person) = person else {
        return Ok(None);
    };
    if venue.entry_policy != EntryPolicy::ResidentsOnly
        || person.home.as_ref() == Some(venue.place())
    {
        return Ok(None);
    }
    let passes = state.store.visitor_passes(&person.phone).await?;
    // Valid at the scan's time and not yet over by the server's clock, so a backdated
    // client_time does not stretch an expired pass.
    for pass in passes
        .into_iter()
        .filter(|p| p.admits(venue.place(), at) && server_time <= p.valid_until)
    {
        // A host who has since moved out (or been removed) no longer brings visitors in.
        let host = state.store.resident(&pass.host).await?;
        if host.is_some_and(|h| h.home.as_ref() == Some(venue.place())) {
            return Ok(Some(pass.host));
        }
    }
    Ok(None)
}

/// Processes one scan by `resident`, received now.
///
/// # Errors
/// [`ScanError`]; a denied scan is not an error but an answer with `decision: denied`.
pub async fn scan(
    state: &AppState,
    resident: &ResidentId,
    req: &ScanRequest,
) -> Result<Answered, ScanError> {
    scan_received_at(state, resident, None, req, state.clock.now()).await
}

/// Processes one scan by `resident` received at `server_time`. A retry under an idempotency
/// key gets the first answer before anything else is checked, so a retry that arrives after
/// the code or the `client_time` window has passed still learns what was recorded.
///
/// `sign_in` is the generation of the resident's token when the caller has not checked it
/// against the person's record: it is checked on the record the scan reads anyway, which
/// saves a store read.
///
/// # Errors
/// [`ScanError`]; a denied scan is not an error but an answer with `decision: denied`;
/// [`ScanError::SignedOut`] for a token of an older sign-in generation.
pub(crate) async fn scan_received_at(
    state: &AppState,
    resident: &ResidentId,
    sign_in: Option<u32>,
    req: &ScanRequest,
    server_time: DateTime<Utc>,
) -> Result<Answered, ScanError> {
    process(state, resident, req, Source::Code(sign_in), server_time).await
}

/// Processes a scan of `resident` at `gate` of `venue`, received at `received_at` (the
/// server's clock), without a code: a checkpoint officer recording a passenger. The caller has
/// checked that the gate is one of the venue's. The scan goes through the same rules, commit
/// and idempotency as a scan with a code; its time is `received_at` (so the passengers of one
/// vehicle share one time) and the person's state decides its direction.
///
/// # Errors
/// [`ScanError`]; a denied scan (a fever) is not an error but an answer with `decision:
/// denied`.
pub async fn scan_at_gate(
    state: &AppState,
    resident: &ResidentId,
    venue: &Venue,
    gate: &Gate,
    temperature: Option<Temperature>,
    idempotency_key: Option<String>,
    received_at: DateTime<Utc>,
) -> Result<ScanAnswer, ScanError> {
    let req = ScanRequest {
        code: String::new(),
        direction: None,
        temperature,
        client_time: None,
        idempotency_key,
        members: Vec::new(),
    };
    let source = Source::Gate(venue, gate);
    Ok(process(state, resident, &req, source, received_at)
        .await?
        .answer)
}

/// Places a late scan among the person's scans (contract, visit rule 7): reads their visits
/// and scan events from the scan's time on, and the venues of those scans, and derives the
/// visits again (see [`rederive`]).
async fn place_late(
    state: &AppState,
    late: &ScanInput<'_>,
    latest: Option<DateTime<Utc>>,
) -> Result<(Rederived, rederive::Venues), ScanError> {
    let t = late.scan_time;
    let to = latest.unwrap_or(t).max(t);
    let (visits, events) = futures::try_join!(
        state.store.resident_visits(late.resident_id, t, to),
        state.store.scan_events(late.resident_id),
    )?;
    let mut venues = rederive::Venues::new();
    for e in events.iter().filter(|e| e.scan_time >= t) {
        let mut next = Some(e.venue_id.clone());
        while let Some(id) = next.take() {
            if venues.contains_key(id.as_str()) {
                break;
            }
            if let Some(v) = state.store.venue(&id).await? {
                next.clone_from(&v.parent);
                venues.insert(id.to_string(), v);
            }
        }
    }
    let r = rederive::rederive(late, &state.policy, &visits, &events, &venues);
    Ok((r, venues))
}

/// The alerts the person's later scans raise as a late scan's re-derivation applied them again
/// (a check-in that became a fever, a watched person's scan that became leaving home), each
/// with the tags of its own time. One already raised for a scan is not raised twice (alerts
/// are kept by the scan's id); one a scan no longer raises stays.
fn replayed_alerts(
    r: &Rederived,
    venues: &rederive::Venues,
    home: Option<&crate::domain::VenueId>,
) -> Vec<crate::domain::alert::Alert> {
    r.replayed
        .iter()
        .filter_map(|(event, changed)| {
            let venue = venues.get(event.venue_id.as_str())?;
            Some(raised(event, venue, home, &event.tags, changed))
        })
        .flatten()
        .collect()
}

/// The scan loop shared by scans with a code and scans at a known gate: read the person's
/// state, answer a retry, decide, commit; again on a conflict.
async fn process(
    state: &AppState,
    resident: &ResidentId,
    req: &ScanRequest,
    source: Source<'_>,
    server_time: DateTime<Utc>,
) -> Result<Answered, ScanError> {
    // Held until the scan is answered: this instance's other scans of the person wait.
    let _turn = state.turns.turn(resident).await;
    let fp = fingerprint(req, source);
    // The code's check (its venue read) goes with the first read of the person's state, one
    // round trip instead of two; its outcome, an error included, is used only after a retry
    // under an idempotency key has had its first answer.
    let mut early: Option<Result<Checked, ScanError>> = None;
    let mut checked: Option<Checked> = None;
    for attempt in 0..MAX_ATTEMPTS {
        // A retry after a conflict lost to a scan committed meanwhile: it takes the clock
        // again, so a scan without client_time is never placed before one already applied.
        let server_time = if attempt == 0 {
            server_time
        } else {
            state.clock.now()
        };
        let key = req.idempotency_key.as_deref();
        let person = if attempt == 0 && matches!(source, Source::Code(_)) {
            // The code's venue is read with the person's state, in one round trip.
            match state.codes.verify(&req.code) {
                Ok(claims) => {
                    let (person, venue) = state
                        .store
                        .person_state_and_venue(resident, key, &claims.v)
                        .await?;
                    early = Some(match venue {
                        Ok(venue) => check_claims(state, req, server_time, claims, venue).await,
                        Err(e) => Err(e.into()),
                    });
                    person
                }
                Err(e) => {
                    early = Some(Err(e.into()));
                    state.store.person_state(resident, key).await?
                }
            }
        } else {
            state.store.person_state(resident, key).await?
        };
        if let Source::Code(Some(generation)) = source {
            match &person.resident {
                Some(r) if r.token_generation == generation => {}
                Some(_) => {
                    return Err(ScanError::SignedOut(
                        "this sign-in was revoked; sign in again".into(),
                    ))
                }
                None => return Err(ScanError::SignedOut("invalid or expired token".into())),
            }
        }
        if let Some(rec) = person.idempotent {
            if rec.fingerprint != fp {
                return Err(ScanError::IdempotencyKeyReused);
            }
            // Sent as this build writes it (a record of an earlier build may be shaped
            // otherwise): made again from the answer when asked for.
            let answer = serde_json::from_str(rec.answer.get())
                .map_err(|e| ScanError::Store(StoreError::Corrupt(e.to_string())))?;
            return Ok(Answered { answer, json: None });
        }
        let c = match (checked.take(), early.take(), source) {
            (Some(c), _, _) => c,
            (None, Some(c), _) => c?,
            (None, None, Source::Code(_)) => check(state, req, server_time).await?,
            (None, None, Source::Gate(venue, gate)) => Checked {
                gate: gate.clone(),
                venue: venue.clone(),
                direction: req.direction,
                parent: parent_of(state, venue).await?,
            },
        };
        let t = scan_time(state, req.client_time, server_time)?;
        let host = visitor_host(state, &c.venue, person.resident.as_ref(), t, server_time).await?;
        let input = ScanInput {
            resident_id: resident,
            venue: &c.venue,
            gate: &c.gate,
            direction: c.direction,
            temperature: req.temperature,
            scan_time: t,
            server_time,
            client_time: req.client_time.map(|c| c.with_timezone(&Utc)),
            home: person.resident.as_ref().and_then(|r| r.home.as_ref()),
            parent: c.parent.as_ref(),
            visitor_host: host.as_ref(),
        };
        let late = rederive::is_late(t, person.latest_scan_time);
        let (mut outcome, own_changes, removed, replayed) = if late {
            let (r, venues) = place_late(state, &input, person.latest_scan_time).await?;
            let replayed = replayed_alerts(&r, &venues, input.home);
            (r.outcome, r.own_changes, r.removed, replayed)
        } else {
            let o = decide(person.open.as_ref(), &input, &state.policy);
            let own = o.changed.clone();
            (o, own, Vec::new(), Vec::new())
        };
        if let Some(r) = &person.resident {
            outcome.event.tags.clone_from(&r.tags);
        }
        let answer = ScanAnswer {
            decision: outcome.event.decision,
            reason: outcome.event.reason,
            visit_id: outcome.event.visit_id.clone(),
            venue: VenueRef {
                id: c.venue.id.to_string(),
                name: c.venue.name.clone(),
            },
            gate: c.gate.to_string(),
            direction: outcome.event.direction,
            server_time,
            scan_time: t,
            members: Vec::new(),
            watch: person
                .resident
                .as_ref()
                .map(|r| r.tags.clone())
                .unwrap_or_default(),
        };
        let (idempotency, json) = match &req.idempotency_key {
            Some(k) => {
                let json = answer_json(&answer)?;
                let record = IdempotencyRecord {
                    fingerprint: fp.clone(),
                    answer: json.clone(),
                };
                (Some((k.clone(), record)), Some(json))
            }
            None => (None, None),
        };
        let mut alerts = raised(
            &outcome.event,
            &c.venue,
            person.resident.as_ref().and_then(|r| r.home.as_ref()),
            person.resident.as_ref().map_or(&[][..], |r| &r.tags[..]),
            &own_changes,
        );
        alerts.extend(replayed);
        let commit = ScanCommit {
            alerts,
            resident_id: resident.clone(),
            expected_version: person.version,
            removed,
            event: outcome.event,
            changed: outcome.changed,
            open_after: outcome.open_after,
            idempotency,
        };
        if state.store.commit_scan(&commit).await? == CommitResult::Committed {
            let decision = match answer.decision {
                Decision::Admitted => "admitted",
                Decision::Denied => "denied",
            };
            metrics::counter!("checkin_scans_total", "decision" => decision).increment(1);
            return Ok(Answered { answer, json });
        }
        metrics::counter!("checkin_scan_conflicts_total").increment(1);
        checked = Some(c);
        let pause = rand::Rng::gen_range(&mut rand::thread_rng(), 0..backoff_cap_us(attempt));
        tokio::time::sleep(std::time::Duration::from_micros(pause)).await;
    }
    Err(ScanError::Contended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_the_sha256_in_lowercase_hex_as_stored_records_have_it() {
        let req = ScanRequest {
            code: " https://x/s/abc ".into(),
            direction: Some(Direction::In),
            temperature: None,
            client_time: None,
            idempotency_key: Some("k".into()),
            members: Vec::new(),
        };
        let canonical = r#"["https://x/s/abc","in",null,null]"#;
        let by_byte: String = Sha256::digest(canonical.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(fingerprint(&req, Source::Code(None)), by_byte);
    }

    #[test]
    fn a_fingerprint_with_every_field_hashes_the_array_earlier_builds_stored() {
        let member = |id: &str, t: Option<f64>| MemberScan {
            resident_id: ResidentId::parse(id).expect("an id"),
            temperature: t.map(|c| Temperature::try_from(c).expect("a reading")),
        };
        let req = ScanRequest {
            code: "https://x/s/abc".into(),
            direction: Some(Direction::Out),
            temperature: Some(Temperature::try_from(36.5).expect("a reading")),
            client_time: DateTime::parse_from_rfc3339("2020-02-16T08:00:00+08:00").ok(),
            idempotency_key: None,
            members: vec![member("R1", Some(36.6)), member("R2", None)],
        };
        let canonical = r#"["https://x/s/abc","out",36.5,1581811200000,[["R1",36.6],["R2",null]]]"#;
        // As earlier builds made it: a `serde_json::Value` array, written out.
        let earlier = serde_json::json!([
            "https://x/s/abc",
            Direction::Out,
            36.5,
            1_581_811_200_000_i64,
            [["R1", 36.6], ["R2", null]]
        ]);
        assert_eq!(earlier.to_string(), canonical);
        let expected = format!("{:x}", Sha256::digest(canonical.as_bytes()));
        assert_eq!(fingerprint(&req, Source::Code(None)), expected);
    }
}
