//! The `checkin` command line: `serve` runs the service, `posters` prints a batch of posters,
//! `trace` runs a tracer's contact query, `report` makes the daily report, `replay` plays a day of scans through a running
//! service's HTTP API, `load` measures a running service under load (`fill-visits`, hidden,
//! fills a store for the storage-cost figures of `scripts/bench-scale`; `redis-replay`, hidden,
//! replays captured scans' Redis commands for its Redis-alone figure).

pub mod api;
pub mod fill;
pub mod load;
pub mod posters;
pub mod redis_replay;
pub mod replay;
pub mod report;
pub mod serve;
pub mod trace;

use clap::{Parser, Subcommand};

/// Check-in backend for closed management during an epidemic.
#[derive(Debug, Parser)]
#[command(name = "checkin", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (embedded store unless a Redis URL is given).
    Serve(serve::ServeArgs),
    /// Write a batch of posters (one A4 page per venue gate) to a PDF file.
    Posters(posters::PostersArgs),
    /// A tracer's contact query, printed as a table or written as CSV.
    Trace(trace::TraceArgs),
    /// The daily report of a venue, a community or the street, as JSON, CSV or a printable page.
    Report(report::ReportArgs),
    /// Replay a day of scans (JSON lines) through a running service, as residents' phones would.
    Replay(replay::ReplayArgs),
    /// Load a running service with scans (or `GET /healthz`) and print throughput and latency.
    Load(load::LoadArgs),
    /// Write N generated closed visits straight into a store (for scripts/bench-scale).
    #[command(hide = true)]
    FillVisits(fill::FillArgs),
    /// Replay captured scans' Redis commands for fresh people (for scripts/bench-scale).
    #[command(hide = true)]
    RedisReplay(redis_replay::RedisReplayArgs),
}

/// Parses the command line and runs it. Returns the process exit code.
pub async fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Posters(args) => posters::run(args).await,
        Command::Replay(args) => replay::run(args).await,
        Command::Trace(args) => trace::run(args).await,
        Command::Report(args) => report::run(args).await,
        Command::Load(args) => load::run(args).await,
        Command::FillVisits(args) => fill::run(args).await,
        Command::RedisReplay(args) => redis_replay::run(args).await,
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("checkin: {e:#}");
            1
        }
    }
}
