//! `checkin posters`: a batch of posters to one A4 PDF file, with a progress bar; the same
//! pages as `GET /api/v1/posters.pdf`, straight from the store.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::serve::StoreArgs;
use crate::domain::VenueKind;
use crate::service::posters::{batch, PosterData, Selection};
use crate::startup::{code_signer, open_existing_store};

/// Flags of `checkin posters`.
#[derive(Debug, Args)]
pub struct PostersArgs {
    /// The PDF file to write.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Only venues of this community, e.g. 东门社区.
    #[arg(long)]
    pub community: Option<String>,
    /// Only venues of this kind, e.g. residential_compound.
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<VenueKind>,
    /// Only these venues, ids separated by commas.
    #[arg(long)]
    pub venue: Option<String>,
    /// Where the data is.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Writes the batch.
///
/// # Errors
/// Settings, store, signing or rendering errors, or when no venue matches.
pub async fn run(args: PostersArgs) -> anyhow::Result<()> {
    let settings = args.store.settings(None)?;
    let store = open_existing_store(&settings).await?;
    let codes = code_signer(&settings)?;
    let selection = Selection::parse(args.community.as_deref(), args.kind, args.venue.as_deref())?;
    let all = store.venues().await?;
    let unknown = selection.unknown(&all);
    anyhow::ensure!(unknown.is_empty(), "no venue {unknown:?}");
    let posters = batch(&codes, &all, &selection)?;
    anyhow::ensure!(!posters.is_empty(), "no venue matches the selection");
    let bar = ProgressBar::new(posters.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} pages {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let specs: Vec<_> = posters.iter().map(PosterData::spec).collect();
    let started = std::time::Instant::now();
    let pdf = crate::posters::render_pdf_with_progress(&specs, &mut |done, _| {
        bar.set_position(done as u64);
    })?;
    bar.finish();
    std::fs::write(&args.out, &pdf).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{} pages, {:.1} MB, in {:.1} s: {}",
        specs.len(),
        pdf.len() as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

fn parse_kind(raw: &str) -> Result<VenueKind, String> {
    VenueKind::parse(raw).map_err(|e| e.to_string())
}
