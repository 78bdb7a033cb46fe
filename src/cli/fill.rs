//! `checkin fill-visits` (hidden, for `scripts/bench-scale`): writes N closed visits straight
//! into the store through [`Store::import_visits`], in batches, to measure what a stored visit
//! costs in memory (Redis) or on disk (the embedded file). Fast: no HTTP, no scan rules.
//!
//! The visits look like the ones check-in then check-out makes at a shop: one gate in and
//! out, 30 minutes long, times in whole milliseconds. Visit `n` is by resident `n mod 10,000`
//! (`FILL-R00000`…); visits are spread over 200 venues (`FILL-V000`…) and over the last 28
//! days (the retention of visits) by multiplying `n` by a prime, so that consecutive visits
//! land at different venues and days, as a day of real scans does. The residents and venues
//! themselves are not written, only the visits and their indexes.

use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, SubsecRound, Utc};
use clap::Args;

use super::serve::StoreArgs;
use crate::domain::visit::{ClosedBy, Visit};
use crate::domain::{Gate, ResidentId, VenueId};
use crate::startup::open_store;

/// Distinct residents of the filled visits.
const RESIDENTS: u64 = 10_000;
/// Distinct venues of the filled visits.
const VENUES: u64 = 200;
/// A prime that divides neither `VENUES` nor the seconds of `RETENTION_DAYS`.
const SPREAD: u64 = 7_919;
/// The days the visits are spread over: the default retention of visits.
const RETENTION_DAYS: u64 = 28;
/// A shop's maximum stay, seconds (as a real shop visit carries).
const MAX_STAY_SECONDS: i64 = 2 * 60 * 60;

/// Flags of `checkin fill-visits`.
#[derive(Debug, Args)]
pub struct FillArgs {
    /// How many visits to write.
    #[arg(long, default_value_t = 1_000_000)]
    pub visits: u64,
    /// Visits per `import_visits` call.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Where the data is (the key prefix comes from CHECKIN_REDIS_KEY_PREFIX).
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Writes the visits and prints how many, and how fast.
///
/// # Errors
/// Settings or store errors.
pub async fn run(args: FillArgs) -> anyhow::Result<()> {
    let settings = args.store.settings(None)?;
    let store = open_store(&settings).await?;
    let started = Instant::now();
    let mut written = 0;
    while written < args.visits {
        let n = args.batch.min(args.visits - written);
        let batch = (written..written + n)
            .map(visit)
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.import_visits(&batch).await.context("import_visits")?;
        written += n;
    }
    let secs = started.elapsed().as_secs_f64();
    // Counts far below 2^52 convert to f64 exactly.
    #[allow(clippy::cast_precision_loss)]
    let rate = written as f64 / secs.max(f64::EPSILON);
    println!("filled {written} visits in {secs:.1} s = {rate:.0} visits/s");
    Ok(())
}

/// The `n`-th filled visit.
fn visit(n: u64) -> anyhow::Result<Visit> {
    let resident = ResidentId::parse(&format!("FILL-R{:05}", n % RESIDENTS))?;
    // Multiplying by a prime that divides neither count spreads consecutive visits over every
    // venue and over the whole 28 days that retention keeps.
    let venue = VenueId::parse(&format!(
        "FILL-V{:03}",
        (n * SPREAD + n / RESIDENTS) % VENUES
    ))?;
    let gate = Gate::parse("正门")?;
    // To the millisecond, as scans are.
    let span = RETENTION_DAYS * 86_400;
    let seconds_ago = i64::try_from((n * SPREAD) % span).unwrap_or(0) + 1800;
    let check_in = Utc::now().trunc_subsecs(3) - Duration::seconds(seconds_ago);
    Ok(Visit {
        id: uuid::Uuid::now_v7().to_string(),
        resident_id: resident,
        venue_id: venue,
        gate_in: Some(gate.clone()),
        gate_out: Some(gate),
        check_in: Some(check_in),
        check_out: Some(check_in + Duration::minutes(30)),
        closed_by: Some(ClosedBy::CheckOut),
        start_inferred: false,
        max_stay_seconds: MAX_STAY_SECONDS,
        parent: None,
        host: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_visits_are_closed_and_spread_over_residents_and_venues() {
        let a = visit(0).unwrap();
        let b = visit(RESIDENTS).unwrap();
        assert!(a.check_out.is_some() && a.closed_by == Some(ClosedBy::CheckOut));
        assert_eq!(a.resident_id, b.resident_id);
        assert_ne!(a.venue_id, b.venue_id);
        assert_ne!(a.id, b.id);
    }
}
