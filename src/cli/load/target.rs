//! One request of the load and what came of it. A scan request is the next step of one
//! resident: step 2k checks in at the k-th venue of their round, step 2k+1 checks out there.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::population::Population;
use crate::cli::api::{Api, Failure};

/// The temperature a check-in reports, °C (below every fever threshold).
const TEMPERATURE_C: f64 = 36.5;

/// What came of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer; for a scan, whether the service denied it.
    Answered {
        /// A scan answered `denied` (a decision, not an error).
        denied: bool,
    },
    /// An answer with another status.
    Status(u16, String),
    /// No answer (connection refused or reset, timeout) or an answer that does not decode.
    Failed(String),
}

impl From<Failure> for Outcome {
    fn from(f: Failure) -> Self {
        match f.status {
            Some(s) if !(200..300).contains(&s) => Outcome::Status(s, f.code),
            _ => Outcome::Failed(f.to_string()),
        }
    }
}

/// What the load sends.
#[derive(Debug)]
pub enum Target {
    /// `GET /healthz`.
    Healthz,
    /// Residents' scans.
    Scans(Scans),
}

/// The residents, their poster codes and how far each has got.
#[derive(Debug)]
pub struct Scans {
    people: Population,
    /// Per resident, their next step.
    steps: Vec<AtomicU64>,
    /// Makes this run's idempotency keys differ from an earlier run's.
    run: String,
}

impl Target {
    /// Scans by `people`.
    pub fn scans(people: Population) -> Self {
        let steps = people.tokens.iter().map(|_| AtomicU64::new(0)).collect();
        Target::Scans(Scans {
            people,
            steps,
            run: uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    /// How many independent senders there are (residents; unbounded for `healthz`).
    pub fn senders(&self) -> usize {
        match self {
            Target::Healthz => usize::MAX,
            Target::Scans(s) => s.people.tokens.len(),
        }
    }

    /// Sends the next request of sender `who` (taken modulo [`Self::senders`]).
    pub async fn send(&self, api: &Api, who: usize) -> Outcome {
        match self {
            Target::Healthz => match api.healthz().await {
                Ok(()) => Outcome::Answered { denied: false },
                Err(f) => f.into(),
            },
            Target::Scans(s) => s.send(api, who).await,
        }
    }
}

/// The body of `POST /scans`, as a phone sends it.
#[derive(Serialize)]
struct ScanBody<'a> {
    code: &'a str,
    direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature_c: Option<f64>,
    idempotency_key: String,
}

impl Scans {
    async fn send(&self, api: &Api, who: usize) -> Outcome {
        let n = self.people.tokens.len().max(1);
        let who = who % n;
        let (Some(token), Some(step)) = (self.people.tokens.get(who), self.steps.get(who)) else {
            return Outcome::Failed(format!("no resident {who}"));
        };
        let step = step.fetch_add(1, Ordering::Relaxed);
        let venue = venue_of(who, step / 2, self.people.codes.len());
        let Some(code) = self.people.codes.get(venue) else {
            return Outcome::Failed(format!("no venue {venue}"));
        };
        let check_in = step % 2 == 0;
        let body = ScanBody {
            code,
            direction: if check_in { "in" } else { "out" },
            temperature_c: check_in.then_some(TEMPERATURE_C),
            idempotency_key: format!("load-{}-{who}-{step}", self.run),
        };
        match api.scan(token, &body).await {
            Ok(answer) => Outcome::Answered {
                denied: answer.decision != "admitted",
            },
            Err(f) => f.into(),
        }
    }
}

/// The venue of a resident's `visit`-th visit: residents start at different venues and move
/// on to the next, so visits spread over every venue.
fn venue_of(resident: usize, visit: u64, venues: usize) -> usize {
    let venues_u64 = u64::try_from(venues.max(1)).unwrap_or(1);
    let start = u64::try_from(resident).unwrap_or(0);
    usize::try_from(start.wrapping_add(visit) % venues_u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_spread_over_every_venue() {
        let seen: std::collections::HashSet<_> = (0..10).map(|v| venue_of(3, v, 10)).collect();
        assert_eq!(seen.len(), 10);
        assert!(venue_of(12_345, 99, 1) == 0);
    }

    #[test]
    fn an_error_answer_counts_by_status_and_no_answer_as_a_failure() {
        let refused = Failure::local("transport", "connection refused");
        assert!(matches!(Outcome::from(refused), Outcome::Failed(_)));
        let limited = Failure {
            status: Some(429),
            code: "rate_limited".into(),
            message: "slow down".into(),
        };
        assert_eq!(
            Outcome::from(limited),
            Outcome::Status(429, "rate_limited".into())
        );
    }
}
