//! `checkin report`: the daily report from the command line, straight from the store, as
//! JSON (default), CSV or a printable HTML page, to stdout or a file.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use clap::{Args, ValueEnum};

use super::serve::StoreArgs;
use crate::domain::report::Scope;
use crate::service::{report_export, reports};
use crate::startup::open_existing_store;

/// The report's format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// JSON, as `GET /reports/daily` answers.
    Json,
    /// CSV: the total, then a row per community and per venue.
    Csv,
    /// A printable page.
    Html,
}

/// Flags of `checkin report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The local day, YYYY-MM-DD (default: today in the configured zone).
    #[arg(long)]
    pub date: Option<NaiveDate>,
    /// `street`, `community:NAME` or `venue:ID`.
    #[arg(long, default_value = "street")]
    pub scope: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the data is.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Makes the report.
///
/// # Errors
/// Settings, store or argument errors; an unknown scope.
pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let settings = args.store.settings(None)?;
    let tz: Tz = settings
        .time_zone
        .parse()
        .map_err(|_| anyhow::anyhow!("bad time_zone {:?}", settings.time_zone))?;
    let scope = Scope::parse(&args.scope)?;
    let store = open_existing_store(&settings).await?;
    let now = Utc::now();
    let date = args
        .date
        .unwrap_or_else(|| now.with_timezone(&tz).date_naive());
    let report = reports::daily(
        store.as_ref(),
        tz,
        &settings.checkpoints.home_province,
        &scope,
        date,
        now,
    )
    .await?;
    let body = match args.format {
        Format::Json => serde_json::to_vec_pretty(&report)?,
        Format::Csv => report_export::csv(&report)?,
        Format::Html => report_export::html(&report).into_bytes(),
    };
    if let Some(path) = &args.out {
        std::fs::write(path, &body).with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "report for {} {} written to {}",
            report.date,
            report.scope,
            path.display()
        );
        return Ok(());
    }
    // A reader that stops early (`| head`) is not an error.
    match std::io::stdout().lock().write_all(&body) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
