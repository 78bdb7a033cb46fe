//! Posting alerts to the responsible staff's webhook, with retries (compound policy issue).
//!
//! Every instance runs [`run`] when `alerts.webhook_url` is set. Each round claims the due
//! alerts under a lease (`Store::claim_alerts`), posts each one as an [`AlertMessage`] with its
//! id as `Idempotency-Key`, and records the outcome (`Store::settle_alert`): a 2xx answer
//! delivers it, anything else is retried on the [`Backoff`] schedule. The lease outlasts a
//! post's timeout, so while one instance posts an alert no other does.
//!
//! Delivery runs on the wall clock (`Utc::now`), not the service's injected clock: leases are
//! shared between instances, and retries must happen in real time.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use serde::Serialize;

use crate::config::AlertSettings;
use crate::domain::alert::{Alert, AlertKind};
use crate::domain::delivery::{Backoff, ClaimedAlert, Settlement};
use crate::storage::{Store, StoreError};

/// Alerts claimed, and posted concurrently, per round.
pub const BATCH: usize = 16;

/// How long a claim holds beyond the post's timeout: time to record the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// The body posted for one alert.
#[derive(Debug, Serialize)]
pub struct AlertMessage {
    /// The alert's id (also the `Idempotency-Key` header): the same on every retry.
    pub id: String,
    /// `fever` or `left_home_under_observation`.
    pub kind: AlertKind,
    /// The scan's time, in the configured zone (RFC 3339).
    pub at: DateTime<FixedOffset>,
    /// The gate.
    pub gate: String,
    /// The reading, °C, when one was given.
    pub temperature_c: Option<f64>,
    /// Who, as registered (only the id when the person is not registered).
    pub resident: PersonPart,
    /// Where.
    pub venue: VenuePart,
}

/// The person an alert is about.
#[derive(Debug, Serialize)]
pub struct PersonPart {
    /// Resident id.
    pub id: String,
    /// Name, when registered.
    pub name: Option<String>,
    /// Phone, so the responsible cadre can call.
    pub phone: Option<String>,
    /// Home compound id.
    pub home: Option<String>,
    /// Building.
    pub building: Option<String>,
    /// Room.
    pub room: Option<String>,
    /// Household.
    pub household: Option<String>,
    /// Watch-list tags.
    pub tags: Vec<String>,
}

/// The venue an alert is about.
#[derive(Debug, Serialize)]
pub struct VenuePart {
    /// Venue id.
    pub id: String,
    /// Name, when the venue is still registered.
    pub name: Option<String>,
    /// Its community, for routing to the responsible cadre.
    pub community: Option<String>,
}

/// The webhook and its schedule, built from settings.
#[derive(Debug, Clone)]
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    backoff: Backoff,
    lease: Duration,
    poll: Duration,
    timeout: Duration,
    tz: Tz,
}

impl Webhook {
    /// The webhook of `settings`, or `None` when none is configured.
    ///
    /// # Errors
    /// A `reqwest` error when the HTTP client cannot be built (no TLS roots).
    pub fn from_settings(settings: &AlertSettings, tz: Tz) -> Result<Option<Self>, reqwest::Error> {
        let Some(url) = settings.webhook() else {
            return Ok(None);
        };
        let timeout = Duration::from_millis(settings.webhook_timeout_ms);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // A redirect would turn the POST into a bodiless GET whose 200 looks like delivery:
            // a 3xx answer is a failure to fix at the receiver.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("checkin/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Some(Self {
            client,
            url: url.to_owned(),
            backoff: Backoff {
                first: Duration::from_millis(settings.retry_first_ms),
                longest: Duration::from_millis(settings.retry_longest_ms),
                max_attempts: settings.max_attempts,
            },
            lease: timeout + LEASE_MARGIN,
            timeout,
            poll: Duration::from_millis(settings.poll_interval_ms),
            tz,
        }))
    }

    /// One round: claims the due alerts and posts them. Returns how many were delivered.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read or written; claimed alerts not settled
    /// become due again when their lease ends.
    pub async fn deliver_due(&self, store: &dyn Store) -> Result<usize, StoreError> {
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::MAX);
        let until = now.checked_add_signed(lease).unwrap_or(now);
        let claimed = store.claim_alerts(now, until, BATCH).await?;
        let outcomes: Vec<Result<bool, StoreError>> = futures::stream::iter(claimed)
            .map(|c| self.deliver(store, c))
            .buffer_unordered(BATCH)
            .collect()
            .await;
        let mut delivered = 0;
        for o in outcomes {
            if o? {
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// Posts one claimed alert and records the outcome; `true` when it was delivered.
    async fn deliver(&self, store: &dyn Store, c: ClaimedAlert) -> Result<bool, StoreError> {
        let message = self.message(store, &c.alert).await?;
        let outcome = match self
            .client
            .post(&self.url)
            .header("Idempotency-Key", &c.alert.id)
            .json(&message)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("webhook answered {}", r.status())),
            Err(e) if e.is_timeout() => Err(format!(
                "webhook did not answer within {} ms",
                self.timeout.as_millis()
            )),
            Err(e) => Err(format!("webhook unreachable: {e}")),
        };
        let settlement = self.backoff.settle(&c.delivery, Utc::now(), outcome);
        match &settlement {
            Settlement::Delivered(_) => {
                metrics::counter!("checkin_alert_posts_total", "outcome" => "delivered")
                    .increment(1);
            }
            Settlement::Retry { delivery, retry_at } => {
                metrics::counter!("checkin_alert_posts_total", "outcome" => "retry").increment(1);
                tracing::warn!(alert = %c.alert.id, attempts = delivery.attempts, %retry_at,
                    error = delivery.last_error.as_deref().unwrap_or(""), "alert webhook failed");
            }
            Settlement::GaveUp(delivery) => {
                metrics::counter!("checkin_alert_posts_total", "outcome" => "failed").increment(1);
                tracing::error!(alert = %c.alert.id, attempts = delivery.attempts,
                    error = delivery.last_error.as_deref().unwrap_or(""),
                    "alert webhook gave up");
            }
        }
        let recorded = store
            .settle_alert(&c.alert.id, &c.claim, &settlement)
            .await?;
        if !recorded {
            tracing::warn!(alert = %c.alert.id, "alert lease lapsed before its post was recorded");
        }
        Ok(recorded && matches!(settlement, Settlement::Delivered(_)))
    }

    /// The body for `alert`, with the person and venue as registered now.
    async fn message(&self, store: &dyn Store, alert: &Alert) -> Result<AlertMessage, StoreError> {
        let person = store.resident(&alert.resident_id).await?;
        let venue = store.venue(&alert.venue_id).await?;
        Ok(AlertMessage {
            id: alert.id.clone(),
            kind: alert.kind,
            at: alert.at.with_timezone(&self.tz).fixed_offset(),
            gate: alert.gate.to_string(),
            temperature_c: alert.temperature_c.map(|t| t.celsius()),
            resident: PersonPart {
                id: alert.resident_id.to_string(),
                name: person.as_ref().and_then(|p| p.name.clone()),
                phone: person.as_ref().map(|p| p.phone.as_str().to_owned()),
                home: person
                    .as_ref()
                    .and_then(|p| p.home.as_ref().map(ToString::to_string)),
                building: person.as_ref().and_then(|p| p.building.clone()),
                room: person.as_ref().and_then(|p| p.room.clone()),
                household: person.as_ref().and_then(|p| p.household.clone()),
                tags: person.map(|p| p.tags).unwrap_or_default(),
            },
            venue: VenuePart {
                id: alert.venue_id.to_string(),
                name: venue.as_ref().map(|v| v.name.clone()),
                community: venue.and_then(|v| v.community),
            },
        })
    }
}

/// Delivers due alerts every `poll_interval_ms`, for ever; store failures are logged and
/// retried at the next tick.
pub async fn run(store: Arc<dyn Store>, webhook: Webhook) {
    let mut ticks = tokio::time::interval(webhook.poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = webhook.deliver_due(store.as_ref()).await {
            tracing::warn!(error = %e, "alert delivery round failed; retrying next time");
        }
    }
}
