//! Vehicle passes at checkpoints (checkpoint issue): record a vehicle stopped at a
//! `checkpoint` venue, give each passenger who gives a phone a pass visit through the ordinary
//! scan path (so tracing finds them and a fever raises its alert), and read passes back by
//! checkpoint and by plate.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::auth::extract::Staff;
use crate::domain::vehicle::{PassDetails, PassengerVisit, Plate, VehiclePass};
use crate::domain::{Gate, Phone, Resident, ResidentId, TimeWindow, Venue, VenueId, VenueKind};
use crate::service::scans::{scan_at_gate, ScanError};
use crate::state::AppState;
use crate::storage::{StoreError, IDEMPOTENCY_TTL_SECONDS};

/// A pass to register, parsed at the edge.
#[derive(Debug, Clone)]
pub struct NewPass {
    /// The checkpoint.
    pub venue_id: VenueId,
    /// The gate (lane); `None` is the checkpoint's first gate.
    pub gate: Option<Gate>,
    /// What the officer recorded.
    pub details: PassDetails,
    /// A client-chosen key (1 to 128 printable ASCII characters): a retry with it gets the
    /// first pass back.
    pub idempotency_key: Option<String>,
}

/// Why a pass was not registered.
#[derive(Debug, thiserror::Error)]
pub enum VehicleError {
    /// No venue with that id.
    #[error("no venue {0}")]
    UnknownVenue(VenueId),
    /// The venue is not a `checkpoint`.
    #[error("venue {0} is not a checkpoint: vehicle passes are recorded at checkpoints only")]
    NotACheckpoint(VenueId),
    /// The gate is not one of the venue's.
    #[error("gate: {0} is not a gate of this checkpoint")]
    UnknownGate(Gate),
    /// The idempotency key was used with another pass of the same plate.
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// A passenger's scan failed.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The registered pass, and whether it was registered before under the same idempotency key.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The pass as stored.
    pub pass: VehiclePass,
    /// `true` when this answers a retry.
    pub replayed: bool,
}

/// SHA-256 (hex) of a pass's meaningful fields.
fn fingerprint(venue: &VenueId, gate: &Gate, d: &PassDetails) -> String {
    let passengers: Vec<_> = d
        .passengers
        .iter()
        .map(|p| {
            (
                p.name.as_deref(),
                p.phone.as_ref().map(Phone::as_str),
                p.temperature_c.map(f64::from),
            )
        })
        .collect();
    let canonical = serde_json::json!([
        venue.as_str(),
        gate.as_str(),
        d.plate.as_str(),
        d.origin.province,
        d.origin.city,
        d.passenger_count,
        passengers,
        d.decision,
        d.reason,
    ]);
    Sha256::digest(canonical.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The checkpoint and gate of a new pass.
async fn checkpoint(state: &AppState, new: &NewPass) -> Result<(Venue, Gate), VehicleError> {
    let venue = state
        .store
        .venue(&new.venue_id)
        .await?
        .ok_or_else(|| VehicleError::UnknownVenue(new.venue_id.clone()))?;
    if venue.kind != VenueKind::Checkpoint {
        return Err(VehicleError::NotACheckpoint(venue.id));
    }
    let gate = match &new.gate {
        Some(g) if venue.has_gate(g) => g.clone(),
        Some(g) => return Err(VehicleError::UnknownGate(g.clone())),
        None => venue
            .gates
            .first()
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("venue {} has no gate", venue.id)))?,
    };
    Ok((venue, gate))
}

/// The person with `phone`, or a new unregistered one (as a first OTP login makes), named
/// `name` when the officer recorded one.
async fn person_with(
    state: &AppState,
    phone: &Phone,
    name: Option<&String>,
    now: DateTime<Utc>,
) -> Result<ResidentId, StoreError> {
    if let Some(r) = state.store.resident_by_phone(phone).await? {
        return Ok(r.id);
    }
    let mut person = Resident::unregistered(phone.clone(), now);
    person.name = name.cloned();
    match state.store.put_resident(&person).await {
        Ok(_) => Ok(person.id),
        // Created meanwhile (a login, another lane): that person it is.
        Err(StoreError::Conflict(m)) => state
            .store
            .resident_by_phone(phone)
            .await?
            .map(|r| r.id)
            .ok_or(StoreError::Conflict(m)),
        Err(e) => Err(e),
    }
}

/// The pass registered earlier by `officer` under `key` for the same plate, if any (kept as
/// long as scans' idempotency records).
async fn earlier(
    state: &AppState,
    officer: &str,
    key: &str,
    plate: &Plate,
    now: DateTime<Utc>,
) -> Result<Option<VehiclePass>, StoreError> {
    let passes = state
        .store
        .vehicle_passes_by_plate(plate, now - ttl(), now + Duration::minutes(5))
        .await?;
    Ok(passes
        .into_iter()
        .find(|p| p.officer == officer && p.idempotency_key.as_deref() == Some(key)))
}

/// Registers a vehicle pass recorded by `officer` now (the server's clock). Each passenger
/// with a phone is found by phone or created unregistered, then scanned at the checkpoint's
/// gate at the pass's time: a pass visit when admitted, a `fever` denial (and its alert) at or
/// above the fever threshold, whatever the officer decided (a vehicle turned back was at the
/// checkpoint too, and its passengers are traced like the others). The passengers' scans carry
/// idempotency keys derived from the request's key and plate (else the pass id) and their
/// index, so a
/// retry with the same key records no visit twice and gets the first pass back.
///
/// # Errors
/// [`VehicleError`]; nothing is written for an unknown or non-checkpoint venue or gate. A
/// failure part way leaves the passengers' scans already made; a retry with the same key
/// answers those as first given and goes on. A key is looked up among the plate's passes,
/// so the same key with another plate is a new pass; registrations of one key racing each
/// other store one pass, which each answers (see [`pass_id`]).
pub async fn register(
    state: &AppState,
    officer: &Staff,
    new: NewPass,
) -> Result<Registered, VehicleError> {
    let now = state.clock.now();
    let (venue, gate) = checkpoint(state, &new).await?;
    let fp = fingerprint(&venue.id, &gate, &new.details);
    if let Some(key) = &new.idempotency_key {
        if let Some(pass) = earlier(state, &officer.username, key, &new.details.plate, now).await? {
            if pass.fingerprint.as_deref() != Some(fp.as_str()) {
                return Err(VehicleError::IdempotencyKeyReused);
            }
            return Ok(Registered {
                pass,
                replayed: true,
            });
        }
    }
    let id = pass_id(
        &officer.username,
        &new.details.plate,
        new.idempotency_key.as_deref(),
    );
    let mut passenger_visits = Vec::new();
    for (i, p) in new.details.passengers.iter().enumerate() {
        let Some(phone) = &p.phone else { continue };
        let resident_id = person_with(state, phone, p.name.as_ref(), now).await?;
        // Under the passenger's own records; a client's key cannot hold the separator. The
        // plate is part of it, as of the pass's: the same key with another plate is a new pass.
        let key = match &new.idempotency_key {
            Some(k) => format!(
                "vehicle\u{1f}{}\u{1f}{}\u{1f}{k}\u{1f}{i}",
                officer.username, new.details.plate
            ),
            None => format!("vehicle\u{1f}{id}\u{1f}{i}"),
        };
        let a = scan_at_gate(
            state,
            &resident_id,
            &venue,
            &gate,
            p.temperature_c,
            Some(key),
            now,
        )
        .await?;
        passenger_visits.push(PassengerVisit {
            passenger: i,
            resident_id,
            visit_id: a.visit_id,
            decision: a.decision,
            reason: a.reason,
        });
    }
    let d = new.details;
    let mut pass = VehiclePass {
        id,
        venue_id: venue.id,
        gate,
        plate: d.plate,
        origin: d.origin,
        passenger_count: d.passenger_count,
        passengers: d.passengers,
        decision: d.decision,
        reason: d.reason,
        officer: officer.username.clone(),
        at: now,
        passenger_visits,
        idempotency_key: new.idempotency_key,
        fingerprint: Some(fp),
    };
    let mut kept = state.store.add_vehicle_pass(&pass).await?;
    // The key again after its time (its passengers' scans above were new ones too): a new
    // pass, under the next id of the key's chain, which retries racing it compute alike.
    for _ in 0..MAX_KEY_REUSES {
        match &kept {
            Some(k) if k.at < now - ttl() => {
                pass.id = next_pass_id(&k.id);
                kept = state.store.add_vehicle_pass(&pass).await?;
            }
            _ => break,
        }
    }
    if let Some(kept) = kept {
        // The same key's registration racing this one stored its pass first.
        if kept.fingerprint.as_deref() != pass.fingerprint.as_deref() {
            return Err(VehicleError::IdempotencyKeyReused);
        }
        return Ok(Registered {
            pass: kept,
            replayed: true,
        });
    }
    metrics::counter!("checkin_vehicle_passes_total").increment(1);
    Ok(Registered {
        pass,
        replayed: false,
    })
}

/// How long a pass answers a retry under its idempotency key (as scans' keys,
/// [`IDEMPOTENCY_TTL_SECONDS`]).
fn ttl() -> Duration {
    Duration::seconds(i64::try_from(IDEMPOTENCY_TTL_SECONDS).unwrap_or(i64::MAX))
}

/// How many times one officer's key for one plate may come back after its time, each a new
/// pass (ids chained by [`next_pass_id`]); past that the last pass answers.
const MAX_KEY_REUSES: usize = 16;

/// The id after `id` in an idempotency key's chain: a UUID v5 of it.
fn next_pass_id(id: &str) -> String {
    uuid::Uuid::new_v5(&PASSES, id.as_bytes()).to_string()
}

/// This service's namespace for vehicle pass ids (a random UUID, fixed once).
const PASSES: uuid::Uuid = uuid::uuid!("4f3b1c0e-8d2a-4c6b-9e57-2a1d6f0b7c93");

/// A new pass's id: a UUID v7 (time-ordered), or, under an idempotency key, a UUID v5 (RFC
/// 9562) of the officer, plate and key, so that registrations of one key racing each other
/// (a retry sent while the first is still in flight) name the same pass and the store keeps
/// one ([`crate::storage::Store::add_vehicle_pass`]).
fn pass_id(officer: &str, plate: &Plate, key: Option<&str>) -> String {
    match key {
        Some(key) => {
            let name = format!("{officer}\u{1f}{}\u{1f}{key}", plate.as_str());
            uuid::Uuid::new_v5(&PASSES, name.as_bytes()).to_string()
        }
        None => uuid::Uuid::now_v7().to_string(),
    }
}

/// The passes at a checkpoint in a window, oldest first.
///
/// # Errors
/// [`VehicleError::UnknownVenue`], [`VehicleError::NotACheckpoint`], or the store's error.
pub async fn at_checkpoint(
    state: &AppState,
    venue: &VenueId,
    window: &TimeWindow,
) -> Result<Vec<VehiclePass>, VehicleError> {
    let v = state
        .store
        .venue(venue)
        .await?
        .ok_or_else(|| VehicleError::UnknownVenue(venue.clone()))?;
    if v.kind != VenueKind::Checkpoint {
        return Err(VehicleError::NotACheckpoint(v.id));
    }
    Ok(state
        .store
        .vehicle_passes_at(venue, window.from(), window.to())
        .await?)
}

/// A plate's passes at every checkpoint in a window, oldest first.
///
/// # Errors
/// The store's error.
pub async fn by_plate(
    state: &AppState,
    plate: &Plate,
    window: &TimeWindow,
) -> Result<Vec<VehiclePass>, StoreError> {
    state
        .store
        .vehicle_passes_by_plate(plate, window.from(), window.to())
        .await
}
