//! `checkin replay`: plays the sample town's day of scans through a running service's HTTP
//! API, as the residents' phones would.
//!
//! The steps: log in as `admin`, import `venues.csv` and `residents.csv`, read the gate codes
//! from `GET /venues`; log every resident who scans in by one-time code (the service must run
//! with `CHECKIN_OTP_DELIVERY=echo`); then send every scan with `client_time` moved so the day
//! ends now, and an idempotency key made from its line number (`replay-{line}`), so a repeated
//! replay records nothing twice. At the end it prints what the service decided, the errors,
//! the speed of the scan phase and the fullest venues, and fails if there was any error.

mod data;
mod logins;
mod occupancy;
mod scans;
mod tally;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use chrono::Utc;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use crate::cli::api::{Api, Venue};
use data::Town;
use tally::ScanTally;

/// How many of the fullest venues the summary shows.
const FULLEST: usize = 5;

/// Flags of `checkin replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The running service's origin.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// The town's directory: venues.csv, residents.csv and one scans-*.jsonl.
    #[arg(long, default_value = "samples/gucheng")]
    pub data: PathBuf,
    /// The password of the staff account `admin`.
    #[arg(long, env = "CHECKIN_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: SecretString,
    /// Requests in flight at once (logins, and scan workers).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Replay only the first N scans (quick tests).
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Runs the replay and prints its summary.
///
/// # Errors
/// Unreadable data, an unreachable service, a failed admin login or import, a service that
/// does not echo one-time codes, or any failed login, scan or presence read (counted first).
pub async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let town = Town::load(&args.data, args.limit)?;
    let concurrency = usize::from(args.concurrency);
    let api = Api::new(&args.base_url, concurrency)?;
    let admin = api
        .staff_login("admin", args.admin_password.expose_secret())
        .await
        .with_context(|| format!("admin login at {}", args.base_url))?
        .access_token;
    let mut errors = import(&api, &admin, "/venues/import", town.venues_csv.clone()).await?;
    errors += import(
        &api,
        &admin,
        "/residents/import",
        town.residents_csv.clone(),
    )
    .await?;
    let venues = api.venues(&admin).await.context("GET /venues")?;
    let codes = scans::code_map(&venues);
    println!(
        "venue codes: {} venues, {} gates",
        venues.len(),
        codes.len()
    );

    let logins = logins::log_in_all(&api, town.scanners(), concurrency).await?;
    print_logins(&logins);
    errors += logins.errors.total();

    errors += scan_phase(&api, &town, &logins, &codes, concurrency).await?;
    errors += fullest_venues(&api, &admin, &venues, concurrency).await;
    if errors > 0 {
        bail!("{errors} errors (see above)");
    }
    println!("0 errors");
    Ok(())
}

/// Uploads one CSV and prints its summary; the number of refused rows.
async fn import(api: &Api, admin: &str, path: &str, csv: Vec<u8>) -> anyhow::Result<u64> {
    let report = api
        .import(admin, path, csv)
        .await
        .with_context(|| format!("POST {path}"))?;
    println!(
        "{path}: {} created, {} updated, {} rows refused",
        report.created,
        report.updated,
        report.errors.len()
    );
    for e in report.errors.iter().take(5) {
        println!("    line {}: {}", e.line, e.message);
    }
    Ok(u64::try_from(report.errors.len()).unwrap_or(u64::MAX))
}

fn print_logins(logins: &logins::Logins) {
    println!(
        "logins: {} residents in {:.1} s, {} failed",
        logins.tokens.len(),
        logins.elapsed.as_secs_f64(),
        logins.errors.total()
    );
    logins.errors.print("    ");
}

/// Sends the scans and prints what came of them; the number of errors.
async fn scan_phase(
    api: &Api,
    town: &Town,
    logins: &logins::Logins,
    codes: &scans::CodeMap,
    workers: usize,
) -> anyhow::Result<u64> {
    let last = town.scans.iter().map(|s| s.ts).max().context("no scans")?;
    let shift = scans::shift_to(Utc::now(), last);
    println!(
        "scans: {} from {}, moved by {} d {} h so the last is at {}",
        town.scans.len(),
        town.scans_file,
        shift.num_days(),
        shift.num_hours() % 24,
        (last + shift).to_rfc3339()
    );
    let plan = scans::Plan {
        scans: &town.scans,
        tokens: &logins.tokens,
        codes,
        shift,
        workers,
    };
    let started = Instant::now();
    let mut tally = scans::replay(api, &plan).await?;
    print_scans(&mut tally, started.elapsed().as_secs_f64(), workers);
    Ok(tally.errors.total())
}

fn print_scans(tally: &mut ScanTally, secs: f64, workers: usize) {
    // Counts far below 2^52 convert to f64 exactly.
    #[allow(clippy::cast_precision_loss)]
    let rate = tally.sent as f64 / secs.max(f64::EPSILON);
    println!(
        "scan phase: {} sent in {secs:.1} s by {workers} workers = {rate:.0} scans/s",
        tally.sent
    );
    let mut ms = |q| {
        tally
            .latency_quantile(q)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let (p50, p99, max) = (ms(0.5), ms(0.99), ms(1.0));
    println!("  latency: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms");
    println!("  admitted: {}", tally.admitted);
    println!("  denied: {}", tally.denied_total());
    for (reason, n) in &tally.denied {
        println!("    {reason}: {n}");
    }
    println!("  errors: {}", tally.errors.total());
    tally.errors.print("    ");
    if tally.errors.has_code("idempotency_key_reused") {
        println!(
            "  (idempotency_key_reused: this service already has these scans from an earlier \
             replay, at other times; nothing was recorded twice. Replay into a fresh service.)"
        );
    }
}

/// Prints the fullest venues; the number of presence reads that failed.
async fn fullest_venues(api: &Api, admin: &str, venues: &[Venue], concurrency: usize) -> u64 {
    let survey = occupancy::survey(api, admin, venues, concurrency).await;
    survey.print(FULLEST);
    survey.errors.total()
}
