//! The scan phase: each scan of the file becomes a `POST /scans` from its resident's phone,
//! moved in time so the day ends now. Residents are spread over workers (tokio tasks) by a
//! hash of their id, so scans of different people run concurrently while each person's scans
//! keep their file order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use serde::Serialize;
use tokio::task::JoinSet;

use super::data::{Direction, ScanLine};
use super::tally::ScanTally;
use crate::cli::api::{Api, Failure, Venue};

/// (venue id, gate) → the exact QR text of that gate.
pub type CodeMap = HashMap<(String, String), Arc<str>>;

/// The codes of every gate of `venues`.
pub fn code_map(venues: &[Venue]) -> CodeMap {
    venues
        .iter()
        .flat_map(|v| {
            v.codes
                .iter()
                .map(|c| ((v.id.clone(), c.gate.clone()), Arc::from(c.code.as_str())))
        })
        .collect()
}

/// How far to move the day so its last scan lands one second before `now`, whole seconds.
pub fn shift_to(now: DateTime<Utc>, last: DateTime<FixedOffset>) -> Duration {
    Duration::seconds((now - last.with_timezone(&Utc)).num_seconds() - 1)
}

/// The body of `POST /scans`.
#[derive(Debug, Serialize)]
struct ScanBody {
    #[serde(serialize_with = "shared_str")]
    code: Arc<str>,
    direction: Direction,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature_c: Option<f64>,
    client_time: String,
    idempotency_key: String,
}

/// Serializes a shared string (serde's `rc` feature is off).
fn shared_str<S: serde::Serializer>(s: &Arc<str>, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s)
}

/// One scan ready to send.
#[derive(Debug)]
struct Job {
    line: usize,
    resident_id: String,
    token: Arc<str>,
    body: ScanBody,
}

impl Job {
    fn context(&self) -> String {
        format!("line {} {}", self.line, self.resident_id)
    }
}

/// What the scan phase needs to know.
pub struct Plan<'a> {
    /// The scans, in file order.
    pub scans: &'a [ScanLine],
    /// Resident tokens.
    pub tokens: &'a HashMap<String, Arc<str>>,
    /// Gate codes.
    pub codes: &'a CodeMap,
    /// Added to every scan's time.
    pub shift: Duration,
    /// How many workers.
    pub workers: usize,
}

/// Sends every scan of `plan` and counts the answers. Scans that cannot be sent (no token,
/// unknown gate) are counted as errors.
///
/// # Errors
/// Only when a worker task panics.
pub async fn replay(api: &Api, plan: &Plan<'_>) -> anyhow::Result<ScanTally> {
    let (queues, mut tally) = queues(plan);
    let mut set = JoinSet::new();
    for jobs in queues {
        let api = api.clone();
        set.spawn(async move { work(&api, jobs).await });
    }
    while let Some(done) = set.join_next().await {
        tally.merge(done?);
    }
    Ok(tally)
}

/// The jobs of each worker, in file order, and the tally of the scans left unsent.
fn queues(plan: &Plan<'_>) -> (Vec<Vec<Job>>, ScanTally) {
    let workers = plan.workers.max(1);
    let mut queues: Vec<Vec<Job>> = (0..workers).map(|_| Vec::new()).collect();
    let mut unsent = ScanTally::default();
    for scan in plan.scans {
        match job(plan, scan) {
            Ok(job) => {
                if let Some(q) = queues.get_mut(worker_of(&scan.resident_id, workers)) {
                    q.push(job);
                }
            }
            Err(f) => unsent
                .errors
                .add(&format!("line {} {}", scan.line, scan.resident_id), &f),
        }
    }
    (queues, unsent)
}

fn job(plan: &Plan<'_>, scan: &ScanLine) -> Result<Job, Failure> {
    let token = plan
        .tokens
        .get(&scan.resident_id)
        .ok_or_else(|| Failure::local("not_sent", "the resident did not log in"))?;
    let code = plan
        .codes
        .get(&(scan.venue.clone(), scan.gate.clone()))
        .ok_or_else(|| {
            Failure::local(
                "not_sent",
                format!("no code for {} gate {}", scan.venue, scan.gate),
            )
        })?;
    Ok(Job {
        line: scan.line,
        resident_id: scan.resident_id.clone(),
        token: Arc::clone(token),
        body: ScanBody {
            code: Arc::clone(code),
            direction: scan.direction,
            temperature_c: scan.temperature_c,
            client_time: (scan.ts + plan.shift).to_rfc3339_opts(SecondsFormat::Secs, false),
            idempotency_key: format!("replay-{}", scan.line),
        },
    })
}

/// The worker of a resident: FNV-1a of the id, so the split is the same on every run.
fn worker_of(resident_id: &str, workers: usize) -> usize {
    let hash = resident_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let n = u64::try_from(workers.max(1)).unwrap_or(u64::MAX);
    usize::try_from(hash % n).unwrap_or(0)
}

/// Sends `jobs` one after another.
async fn work(api: &Api, jobs: Vec<Job>) -> ScanTally {
    let mut tally = ScanTally::default();
    for job in jobs {
        let started = Instant::now();
        let result = api.scan(&job.token, &job.body).await;
        tally.latencies.push(started.elapsed());
        tally.sent += 1;
        match result {
            Ok(answer) => tally.decided(&answer.decision, answer.reason.as_deref()),
            Err(f) => tally.errors.add(&job.context(), &f),
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shifted_day_ends_a_second_before_now() {
        let last = DateTime::parse_from_rfc3339("2020-02-16T20:01:15+08:00").unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-29T10:00:00.750Z")
            .unwrap()
            .to_utc();
        let end = last + shift_to(now, last);
        assert_eq!(end.to_rfc3339(), "2026-11-29T17:59:59+08:00");
    }

    #[test]
    fn a_resident_always_goes_to_the_same_worker() {
        assert_eq!(worker_of("R00001", 32), worker_of("R00001", 32));
        assert!(worker_of("R05314", 7) < 7);
        let spread: std::collections::HashSet<_> = (0..200)
            .map(|i| worker_of(&format!("R{i:05}"), 8))
            .collect();
        assert_eq!(spread.len(), 8);
    }
}
