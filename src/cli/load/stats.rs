//! Counting the load's answers: latencies in an HDR histogram (microseconds, 3 significant
//! digits), statuses and failures; each sender counts on its own and they merge at the end.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::plan::{Mode, Window};
use super::target::Outcome;
use super::TargetKind;

/// The longest latency the histogram tells apart, µs (longer ones count as this).
const MAX_MICROS: u64 = 120_000_000;
/// Failure messages kept as samples.
const SAMPLES: usize = 3;

/// The counts of one sender, or of all merged.
#[derive(Debug, Clone)]
pub struct Stats {
    latency: Histogram<u64>,
    answered: u64,
    denied: u64,
    statuses: BTreeMap<String, u64>,
    failed: u64,
    samples: Vec<String>,
}

impl Stats {
    /// Empty counts, latencies from 1 µs to [`MAX_MICROS`].
    ///
    /// # Errors
    /// Never with these constant bounds; `hdrhistogram` checks them at run time.
    pub fn new() -> Result<Self, hdrhistogram::CreationError> {
        Ok(Self {
            latency: Histogram::new_with_bounds(1, MAX_MICROS, 3)?,
            answered: 0,
            denied: 0,
            statuses: BTreeMap::new(),
            failed: 0,
            samples: Vec::new(),
        })
    }
}

impl Stats {
    /// Counts one request that took `latency` (from its scheduled time in an open loop).
    pub fn record(&mut self, latency: Duration, outcome: Outcome) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(micros.clamp(1, MAX_MICROS));
        match outcome {
            Outcome::Answered { denied } => {
                self.answered += 1;
                self.denied += u64::from(denied);
            }
            Outcome::Status(status, code) => {
                *self.statuses.entry(format!("{status} {code}")).or_default() += 1;
            }
            Outcome::Failed(message) => {
                self.failed += 1;
                if self.samples.len() < SAMPLES {
                    self.samples.push(message);
                }
            }
        }
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: Stats) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        self.answered += other.answered;
        self.denied += other.denied;
        for (k, n) in other.statuses {
            *self.statuses.entry(k).or_default() += n;
        }
        self.failed += other.failed;
        let room = SAMPLES.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.into_iter().take(room));
    }

    /// The summary of a run of `target` in `mode` over `window`.
    pub fn summary(&self, target: TargetKind, mode: Mode, window: Window) -> Summary {
        let ms = |q: f64| micros_to_ms(self.latency.value_at_quantile(q));
        let non_2xx: u64 = self.statuses.values().sum();
        let answers = self.answered + non_2xx;
        let secs = window.duration.as_secs_f64();
        // Counts far below 2^52 convert to f64 exactly.
        #[allow(clippy::cast_precision_loss)]
        let per_second = answers as f64 / secs;
        let (mode_name, concurrency, rate) = match mode {
            Mode::Closed { concurrency } => ("closed", Some(concurrency), None),
            Mode::Open { rate } => ("open", None, Some(rate)),
        };
        Summary {
            target: match target {
                TargetKind::Scan => "scan",
                TargetKind::Healthz => "healthz",
            },
            mode: mode_name,
            concurrency,
            rate,
            warmup_s: window.warmup.as_secs_f64(),
            duration_s: secs,
            answers,
            answers_per_s: per_second,
            ok: self.answered,
            denied: self.denied,
            non_2xx,
            statuses: self.statuses.clone(),
            errors: self.failed,
            error_samples: self.samples.clone(),
            p50_ms: ms(0.50),
            p95_ms: ms(0.95),
            p99_ms: ms(0.99),
            max_ms: micros_to_ms(self.latency.max()),
        }
    }
}

// Latencies below 2^52 µs convert to f64 exactly.
#[allow(clippy::cast_precision_loss)]
fn micros_to_ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// What a load run measured; `checkin load --json` prints it as one object.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `scan` or `healthz`.
    pub target: &'static str,
    /// `closed` (fixed workers) or `open` (fixed arrival rate).
    pub mode: &'static str,
    /// Closed loop: workers.
    pub concurrency: Option<usize>,
    /// Open loop: requests scheduled per second.
    pub rate: Option<f64>,
    /// Unmeasured seconds before measuring.
    pub warmup_s: f64,
    /// Measured seconds.
    pub duration_s: f64,
    /// Requests answered (any status) among those sent in the measured seconds.
    pub answers: u64,
    /// `answers` per measured second.
    pub answers_per_s: f64,
    /// 2xx answers.
    pub ok: u64,
    /// 2xx scan answers that were `denied` decisions.
    pub denied: u64,
    /// Answers with another status.
    pub non_2xx: u64,
    /// Those answers by `"{status} {error code}"`.
    pub statuses: BTreeMap<String, u64>,
    /// Requests without a usable answer (transport errors, timeouts, undecodable answers).
    pub errors: u64,
    /// A few of their messages.
    pub error_samples: Vec<String>,
    /// Latency percentiles and maximum of every counted request, ms (open loop: from the
    /// scheduled send time).
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match (self.concurrency, self.rate) {
            (Some(c), _) => format!("closed loop, {c} workers"),
            (_, Some(r)) => format!("open loop, {r} requests/s scheduled"),
            _ => String::new(),
        };
        writeln!(
            f,
            "{}: {how}, {:.1} s measured after {:.1} s warm-up",
            self.target, self.duration_s, self.warmup_s
        )?;
        writeln!(
            f,
            "  answers: {} = {:.0}/s ({} 2xx, of which {} denied; {} non-2xx; {} errors)",
            self.answers, self.answers_per_s, self.ok, self.denied, self.non_2xx, self.errors
        )?;
        writeln!(
            f,
            "  latency: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.p50_ms, self.p95_ms, self.p99_ms, self.max_ms
        )?;
        for (status, n) in &self.statuses {
            writeln!(f, "    {status}: {n}")?;
        }
        for s in &self.error_samples {
            writeln!(f, "    error: {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_counts_add_up_and_percentiles_come_from_every_sender() {
        let mut a = Stats::new().unwrap();
        let mut b = a.clone();
        for ms in 1..=99 {
            a.record(
                Duration::from_millis(ms),
                Outcome::Answered { denied: false },
            );
        }
        b.record(
            Duration::from_millis(1000),
            Outcome::Status(503, "unavailable".into()),
        );
        b.record(Duration::from_millis(5), Outcome::Failed("reset".into()));

        a.merge(b);
        let window = Window {
            warmup: Duration::ZERO,
            duration: Duration::from_secs(10),
        };
        let s = a.summary(TargetKind::Healthz, Mode::Closed { concurrency: 2 }, window);

        assert_eq!((s.answers, s.ok, s.non_2xx, s.errors), (100, 99, 1, 1));
        assert!((s.answers_per_s - 10.0).abs() < 1e-9);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{}", s.p50_ms);
        assert!((s.max_ms - 1000.0).abs() < 1.0, "{}", s.max_ms);
        assert_eq!(s.statuses.get("503 unavailable"), Some(&1));
    }
}
