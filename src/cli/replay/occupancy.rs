//! After the replay: how many people each venue holds now (`GET /venues/{id}/presence` for
//! every venue), to show the fullest.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};

use super::tally::ErrorTally;
use crate::cli::api::{Api, Venue};

/// One venue's head count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occupancy {
    /// Venue id.
    pub id: String,
    /// Name.
    pub name: String,
    /// People inside.
    pub count: u64,
}

/// The head counts of all venues, fullest first, with the failed reads.
#[derive(Debug, Default)]
pub struct Survey {
    /// Fullest first; ties by id.
    pub venues: Vec<Occupancy>,
    /// Venues whose presence could not be read.
    pub errors: ErrorTally,
    /// Wall time of the survey.
    pub elapsed: Duration,
}

/// Reads the presence of every venue, at most `concurrency` at a time.
pub async fn survey(api: &Api, admin: &str, venues: &[Venue], concurrency: usize) -> Survey {
    let started = Instant::now();
    let mut answers = stream::iter(venues)
        .map(|v| async move { (v, api.presence_count(admin, &v.id).await) })
        .buffer_unordered(concurrency);
    let mut out = Survey::default();
    while let Some((v, answer)) = answers.next().await {
        match answer {
            Ok(count) => out.venues.push(Occupancy {
                id: v.id.clone(),
                name: v.name.clone(),
                count,
            }),
            Err(f) => out.errors.add(&v.id, &f),
        }
    }
    out.venues
        .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.id.cmp(&b.id)));
    out.elapsed = started.elapsed();
    out
}

impl Survey {
    /// Prints the `n` fullest venues and the total inside.
    pub fn print(&self, n: usize) {
        let inside: u64 = self.venues.iter().map(|o| o.count).sum();
        println!(
            "occupancy now: {inside} people inside {} venues (read in {:.1} s); the {n} fullest:",
            self.venues.len(),
            self.elapsed.as_secs_f64()
        );
        for (rank, o) in self.venues.iter().take(n).enumerate() {
            println!("  {}. {} {}: {}", rank + 1, o.id, o.name, o.count);
        }
        if self.errors.total() > 0 {
            println!("  presence errors: {}", self.errors.total());
            self.errors.print("    ");
        }
    }
}
