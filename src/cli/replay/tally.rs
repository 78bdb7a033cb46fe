//! Counting what happened: errors grouped by status and code with a few sample messages,
//! and the decisions and latencies of the scans. Workers count on their own and merge at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cli::api::Failure;

/// Sample messages kept per error group.
const SAMPLES: usize = 3;

/// Errors grouped by (HTTP status, error code).
#[derive(Debug, Default)]
pub struct ErrorTally {
    groups: BTreeMap<(String, String), Group>,
}

#[derive(Debug, Default)]
struct Group {
    count: u64,
    samples: Vec<String>,
}

impl ErrorTally {
    /// Counts `failure`; `context` (e.g. `line 12 R00001`) prefixes its sample message.
    pub fn add(&mut self, context: &str, failure: &Failure) {
        let status = failure
            .status
            .map_or_else(|| "-".to_owned(), |s| s.to_string());
        let group = self
            .groups
            .entry((status, failure.code.clone()))
            .or_default();
        group.count += 1;
        if group.samples.len() < SAMPLES {
            group
                .samples
                .push(format!("{context}: {}", failure.message));
        }
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: ErrorTally) {
        for (key, g) in other.groups {
            let mine = self.groups.entry(key).or_default();
            mine.count += g.count;
            let room = SAMPLES.saturating_sub(mine.samples.len());
            mine.samples.extend(g.samples.into_iter().take(room));
        }
    }

    /// How many errors in all.
    pub fn total(&self) -> u64 {
        self.groups.values().map(|g| g.count).sum()
    }

    /// Whether any error has this code.
    pub fn has_code(&self, code: &str) -> bool {
        self.groups.keys().any(|(_, c)| c == code)
    }

    /// Prints one line per group and its samples, indented.
    pub fn print(&self, indent: &str) {
        for ((status, code), g) in &self.groups {
            println!("{indent}{status} {code}: {}", g.count);
            for s in &g.samples {
                println!("{indent}    e.g. {s}");
            }
        }
    }
}

/// What the scans gave.
#[derive(Debug, Default)]
pub struct ScanTally {
    /// Requests sent (answered or not).
    pub sent: u64,
    /// Admitted scans.
    pub admitted: u64,
    /// Denied scans by reason (an unknown decision is counted here too, named as such).
    pub denied: BTreeMap<String, u64>,
    /// Failed or unsent scans.
    pub errors: ErrorTally,
    /// How long each sent request took.
    pub latencies: Vec<Duration>,
}

impl ScanTally {
    /// Counts a decision (`admitted`, or `denied` with its reason).
    pub fn decided(&mut self, decision: &str, reason: Option<&str>) {
        if decision == "admitted" {
            self.admitted += 1;
        } else {
            let why = match (decision, reason) {
                ("denied", Some(r)) => r.to_owned(),
                ("denied", None) => "(no reason)".to_owned(),
                (other, _) => format!("(decision {other:?})"),
            };
            *self.denied.entry(why).or_default() += 1;
        }
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: ScanTally) {
        self.sent += other.sent;
        self.admitted += other.admitted;
        for (reason, n) in other.denied {
            *self.denied.entry(reason).or_default() += n;
        }
        self.errors.merge(other.errors);
        self.latencies.extend(other.latencies);
    }

    /// Denied scans in all.
    pub fn denied_total(&self) -> u64 {
        self.denied.values().sum()
    }

    /// The latency below which `q` (0 to 1) of the requests finished; sorts the samples.
    pub fn latency_quantile(&mut self, q: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        self.latencies.sort_unstable();
        let last = self.latencies.len() - 1;
        // Rounded rank of a quantile; the float-to-index cast is the intent here.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((last as f64) * q.clamp(0.0, 1.0)).round() as usize;
        self.latencies.get(rank.min(last)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_errors_keep_counts_and_at_most_three_samples() {
        let f = Failure::local("boom", "it broke");
        let mut a = ErrorTally::default();
        let mut b = ErrorTally::default();
        for i in 0..2 {
            a.add(&format!("a{i}"), &f);
            b.add(&format!("b{i}"), &f);
        }
        a.merge(b);
        assert_eq!(a.total(), 4);
        let g = a.groups.values().next().unwrap();
        assert_eq!(g.samples, ["a0: it broke", "a1: it broke", "b0: it broke"]);
    }

    #[test]
    fn denials_are_counted_by_reason() {
        let mut t = ScanTally::default();
        t.decided("admitted", None);
        t.decided("denied", Some("fever"));
        t.decided("denied", Some("fever"));
        assert_eq!(t.admitted, 1);
        assert_eq!(t.denied.get("fever"), Some(&2));
    }

    #[test]
    fn quantiles_pick_the_rounded_rank() {
        let mut t = ScanTally {
            latencies: (1..=100).rev().map(Duration::from_millis).collect(),
            ..ScanTally::default()
        };
        assert_eq!(t.latency_quantile(0.5), Some(Duration::from_millis(51)));
        assert_eq!(t.latency_quantile(1.0), Some(Duration::from_millis(100)));
    }
}
