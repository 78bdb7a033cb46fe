//! `checkin load`: a load generator that speaks the real protocol against a running service
//! and measures answers per second and latency.
//!
//! Against `--target scan` it first sets up a population through the API (an admin imports
//! `--venues` shops `LOAD-V0001`…, and `--residents` phones sign in by one-time code, which
//! needs `CHECKIN_OTP_DELIVERY=echo`), then every request is one resident's next scan: a
//! check-in at a venue, then the check-out there, then the next venue. `--target healthz`
//! sends `GET /healthz`, the service's ceiling. The service must run with
//! `CHECKIN_RATE_LIMITS=off` (every request comes from this one address).
//!
//! Closed loop (`--concurrency C`): C workers, each sends its next request when the previous
//! one is answered. Open loop (`--rate R`): requests are due on a fixed schedule of R per
//! second whatever the answers, and each latency is counted from the request's *scheduled*
//! time, so a stalled service shows in the percentiles (no coordinated omission). Requests
//! sent during `--warmup` are not counted.

mod drive;
mod plan;
mod population;
mod stats;
mod target;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

use crate::cli::api::Api;
pub use plan::{Mode, Window};
pub use stats::Summary;
use target::Target;

/// What the load generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    /// `POST /api/v1/scans`: check-ins and check-outs of signed-in residents.
    Scan,
    /// `GET /healthz`: no store, no auth; the HTTP ceiling.
    Healthz,
}

/// Flags of `checkin load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The running service's origin.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// What to send.
    #[arg(long, value_enum, default_value_t = TargetKind::Scan)]
    pub target: TargetKind,
    /// Open loop: requests per second on a fixed schedule (else closed loop).
    #[arg(long, conflicts_with = "concurrency")]
    pub rate: Option<f64>,
    /// Closed loop: workers, each sending its next request when answered [default: 16].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: Option<u16>,
    /// Measured seconds, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of load before measuring starts (not counted).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Residents (phones) that scan; at least the concurrency in a closed loop.
    #[arg(long, default_value_t = 200)]
    pub residents: u32,
    /// Venues (shops) they scan at.
    #[arg(long, default_value_t = 20)]
    pub venues: u32,
    /// The password of the staff account `admin` (to register the venues; scan target only).
    #[arg(long, env = "CHECKIN_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<SecretString>,
    /// Print one JSON object instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

/// Default workers of a closed loop.
const DEFAULT_CONCURRENCY: u16 = 16;

impl LoadArgs {
    /// The mode the flags ask for.
    ///
    /// # Errors
    /// A rate that is not a positive number.
    pub fn mode(&self) -> anyhow::Result<Mode> {
        match self.rate {
            Some(rate) if rate.is_finite() && rate > 0.0 => Ok(Mode::Open { rate }),
            Some(rate) => {
                bail!("--rate must be a positive number of requests per second, not {rate}")
            }
            None => Ok(Mode::Closed {
                concurrency: usize::from(self.concurrency.unwrap_or(DEFAULT_CONCURRENCY)),
            }),
        }
    }

    fn window(&self) -> anyhow::Result<Window> {
        let secs = |name: &str, v: f64| {
            Duration::try_from_secs_f64(v).with_context(|| format!("--{name} {v}: not seconds"))
        };
        let duration = secs("duration", self.duration)?;
        if duration.is_zero() {
            bail!("--duration must be more than 0 s");
        }
        Ok(Window {
            warmup: secs("warmup", self.warmup)?,
            duration,
        })
    }
}

/// Sets up the population (scan target), runs the load and prints the summary.
///
/// # Errors
/// As [`measure`].
pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let summary = measure(&args, !args.json).await?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{summary}");
    }
    Ok(())
}

/// Sets up the population (scan target) and runs the load; the counts and percentiles.
/// `progress` prints what the set-up did.
///
/// # Errors
/// Bad flags, an unreachable service, a failed admin login or venue import, a service that
/// does not echo one-time codes, or a resident who cannot sign in. Failed requests during
/// the load are counted, not errors.
pub async fn measure(args: &LoadArgs, progress: bool) -> anyhow::Result<Summary> {
    let mode = args.mode()?;
    let window = args.window()?;
    let pool = match mode {
        Mode::Closed { concurrency } => concurrency,
        Mode::Open { .. } => 256,
    };
    let api = Api::new(&args.base_url, pool)?;
    let target = match args.target {
        TargetKind::Healthz => Target::Healthz,
        TargetKind::Scan => {
            if let Mode::Closed { concurrency } = mode {
                if (args.residents as usize) < concurrency {
                    bail!(
                        "--residents {} is fewer than --concurrency {concurrency}: each worker \
                         needs residents of its own",
                        args.residents
                    );
                }
            }
            let password = args.admin_password.as_ref().context(
                "--admin-password (or CHECKIN_ADMIN_PASSWORD) is needed for --target scan",
            )?;
            let people = population::set_up(
                &api,
                password.expose_secret(),
                args.venues,
                args.residents,
                pool,
            )
            .await?;
            if progress {
                println!(
                    "set-up: {} venues, {} residents signed in, in {:.1} s",
                    people.codes.len(),
                    people.tokens.len(),
                    people.elapsed.as_secs_f64()
                );
            }
            Target::scans(people)
        }
    };
    let stats = drive::drive(&api, Arc::new(target), mode, window).await?;
    Ok(stats.summary(args.target, mode, window))
}
