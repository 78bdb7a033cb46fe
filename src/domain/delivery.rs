//! Delivering alerts to the responsible staff's webhook: each alert's delivery state and the
//! retry schedule (compound policy issue: "an alert list and an outgoing webhook with
//! retries").
//!
//! Delivery is at least once on the wire and once in effect: a delivery is claimed under a
//! lease, so two instances never post the same alert at the same time, and every post carries
//! the alert's id as its `Idempotency-Key`, so a receiver that saw a post whose answer was lost
//! can drop the repeat.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::alert::Alert;

/// Where an alert's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet accepted by the webhook (or no webhook is configured); tried again when due.
    Pending,
    /// The webhook answered 2xx.
    Delivered,
    /// Every allowed attempt failed; no more are made.
    Failed,
}

/// An alert's delivery state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Posts made so far.
    pub attempts: u32,
    /// When the webhook accepted it, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// What went wrong the last time, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Delivery {
    /// The state of an alert never tried.
    pub fn pending() -> Self {
        Self {
            status: DeliveryStatus::Pending,
            attempts: 0,
            delivered_at: None,
            last_error: None,
        }
    }
}

/// An alert with its delivery state.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    /// The alert.
    pub alert: Alert,
    /// How its delivery stands.
    pub delivery: Delivery,
}

/// An alert claimed for one delivery attempt, until its lease ends.
#[derive(Debug, Clone)]
pub struct ClaimedAlert {
    /// The alert.
    pub alert: Alert,
    /// Its state when claimed (`attempts` counts earlier posts).
    pub delivery: Delivery,
    /// The claim: settling with another (a lease that ran out and was taken over) is refused.
    pub claim: String,
}

/// How one attempt ended, to be recorded by the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// The webhook accepted the alert.
    Delivered(Delivery),
    /// It failed; try again at `retry_at` (UTC).
    Retry {
        /// The state after the attempt.
        delivery: Delivery,
        /// When to try again.
        retry_at: DateTime<Utc>,
    },
    /// It failed for the last allowed time.
    GaveUp(Delivery),
}

/// The retry schedule: exponential backoff from `first` doubling up to `longest`, at most
/// `max_attempts` posts in all.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Wait after the first failure.
    pub first: Duration,
    /// The longest wait between attempts.
    pub longest: Duration,
    /// Posts in all, the first included (at least 1).
    pub max_attempts: u32,
}

impl Backoff {
    /// How to record an attempt made at `now` that ended with `outcome` (`Err` carries what
    /// went wrong), given the state before it.
    pub fn settle(
        &self,
        before: &Delivery,
        now: DateTime<Utc>,
        outcome: Result<(), String>,
    ) -> Settlement {
        let attempts = before.attempts.saturating_add(1);
        match outcome {
            Ok(()) => Settlement::Delivered(Delivery {
                status: DeliveryStatus::Delivered,
                attempts,
                delivered_at: Some(now),
                last_error: before.last_error.clone(),
            }),
            Err(error) if attempts >= self.max_attempts.max(1) => Settlement::GaveUp(Delivery {
                status: DeliveryStatus::Failed,
                attempts,
                delivered_at: None,
                last_error: Some(error),
            }),
            Err(error) => {
                let wait = self.wait_after(attempts);
                let retry_at = chrono::Duration::from_std(wait)
                    .ok()
                    .and_then(|w| now.checked_add_signed(w))
                    .unwrap_or(now);
                Settlement::Retry {
                    delivery: Delivery {
                        status: DeliveryStatus::Pending,
                        attempts,
                        delivered_at: None,
                        last_error: Some(error),
                    },
                    retry_at,
                }
            }
        }
    }

    /// The wait after the `failures`-th failed post: `first * 2^(failures - 1)`, at most
    /// `longest`.
    pub fn wait_after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.first
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.longest)
            .min(self.longest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            first: Duration::from_secs(5),
            longest: Duration::from_secs(60),
            max_attempts: 3,
        }
    }

    #[test]
    fn waits_double_up_to_the_longest() {
        let b = backoff();
        let waits: Vec<u64> = (1..=6).map(|n| b.wait_after(n).as_secs()).collect();
        assert_eq!(waits, vec![5, 10, 20, 40, 60, 60]);
        assert_eq!(b.wait_after(u32::MAX).as_secs(), 60);
    }

    #[test]
    fn a_failure_is_retried_until_the_last_attempt_then_given_up() {
        let b = backoff();
        let now = Utc::now();
        let first = b.settle(&Delivery::pending(), now, Err("500".into()));
        let Settlement::Retry { delivery, retry_at } = first else {
            panic!("expected a retry, got {first:?}");
        };
        assert_eq!(delivery.attempts, 1);
        assert_eq!(retry_at - now, chrono::Duration::seconds(5));
        let second = b.settle(&delivery, now, Err("timeout".into()));
        let Settlement::Retry { delivery, .. } = second else {
            panic!("expected a retry, got {second:?}");
        };
        let third = b.settle(&delivery, now, Err("refused".into()));
        assert!(
            matches!(&third, Settlement::GaveUp(d) if d.attempts == 3 && d.status == DeliveryStatus::Failed && d.last_error.as_deref() == Some("refused")),
            "{third:?}"
        );
    }

    #[test]
    fn a_success_records_when_and_how_many_attempts() {
        let now = Utc::now();
        let before = Delivery {
            attempts: 2,
            last_error: Some("500".into()),
            ..Delivery::pending()
        };
        let done = backoff().settle(&before, now, Ok(()));
        assert_eq!(
            done,
            Settlement::Delivered(Delivery {
                status: DeliveryStatus::Delivered,
                attempts: 3,
                delivered_at: Some(now),
                last_error: Some("500".into()),
            })
        );
    }
}
