//! Driving the load: a closed loop of workers that each wait for their answer, or an open loop
//! that sends on a fixed schedule and counts each latency from the request's scheduled time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::plan::{Mode, Window};
use super::stats::Stats;
use super::target::{Outcome, Target};
use crate::cli::api::Api;

/// Runs the load on `target` and counts the requests of the measured window.
///
/// # Errors
/// When a sender task panics.
pub async fn drive(
    api: &Api,
    target: Arc<Target>,
    mode: Mode,
    window: Window,
) -> anyhow::Result<Stats> {
    let empty = Stats::new()?;
    let start = Instant::now();
    let clock = Clock {
        measure_from: start + window.warmup,
        end: start + window.warmup + window.duration,
    };
    match mode {
        Mode::Closed { concurrency } => closed(api, target, concurrency, clock, empty).await,
        Mode::Open { rate } => open(api, target, rate, start, clock, empty).await,
    }
}

/// When counting starts and when sending stops.
#[derive(Debug, Clone, Copy)]
struct Clock {
    measure_from: Instant,
    end: Instant,
}

/// `concurrency` workers; worker `w` sends for senders w, w + C, w + 2C, … in turn, so no
/// two workers ever act for the same resident.
async fn closed(
    api: &Api,
    target: Arc<Target>,
    concurrency: usize,
    clock: Clock,
    empty: Stats,
) -> anyhow::Result<Stats> {
    let senders = target.senders();
    let mut set = JoinSet::new();
    for first in 0..concurrency.min(senders) {
        let (api, target, mut stats) = (api.clone(), Arc::clone(&target), empty.clone());
        set.spawn(async move {
            let mut who = first;
            loop {
                let sent = Instant::now();
                if sent >= clock.end {
                    break;
                }
                let outcome = target.send(&api, who).await;
                if sent >= clock.measure_from {
                    stats.record(sent.elapsed(), outcome);
                }
                who = who
                    .checked_add(concurrency)
                    .filter(|n| *n < senders)
                    .unwrap_or(first);
            }
            stats
        });
    }
    let mut all = empty;
    while let Some(done) = set.join_next().await {
        all.merge(done?);
    }
    Ok(all)
}

/// Request k is due at `start + k / rate`, sent to sender k (mod senders) by a task of its
/// own; its latency runs from when it was due, so time the service (or this generator) lost
/// falls into the percentiles instead of silently lowering the rate.
///
/// The schedule is kept by a thread of its own that sleeps with the operating system's
/// high-resolution timer (tens of µs late), not by the async runtime's timer, whose 1 ms
/// ticks would send up to a millisecond late and count that as the service's latency (at
/// 1,000 scans/s it made a 0.35 ms scan look like a 1.7 ms one).
async fn open(
    api: &Api,
    target: Arc<Target>,
    rate: f64,
    start: Instant,
    clock: Clock,
    empty: Stats,
) -> anyhow::Result<Stats> {
    let senders = u64::try_from(target.senders()).unwrap_or(u64::MAX);
    let (tx, mut rx) = mpsc::unbounded_channel::<(Duration, Outcome)>();
    let collector = tokio::spawn(async move {
        let mut stats = empty;
        while let Some((latency, outcome)) = rx.recv().await {
            stats.record(latency, outcome);
        }
        stats
    });
    let runtime = tokio::runtime::Handle::current();
    let api = api.clone();
    let (start, measure_from, end) = (
        start.into_std(),
        clock.measure_from.into_std(),
        clock.end.into_std(),
    );
    tokio::task::spawn_blocking(move || {
        for k in 0_u64.. {
            // Request numbers stay far below 2^52, where u64 to f64 is exact.
            #[allow(clippy::cast_precision_loss)]
            let due = start + Duration::from_secs_f64(k as f64 / rate);
            if due >= end {
                break;
            }
            let now = std::time::Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let counted = due >= measure_from;
            let who = usize::try_from(k % senders).unwrap_or(0);
            let (api, target, tx) = (api.clone(), Arc::clone(&target), tx.clone());
            runtime.spawn(async move {
                let outcome = target.send(&api, who).await;
                if counted {
                    // The collector outlives every sender (it ends when the last `tx` is gone).
                    let _ = tx.send((due.elapsed(), outcome));
                }
            });
        }
    })
    .await?;
    Ok(collector.await?)
}
