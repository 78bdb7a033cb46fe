//! `checkin replay` (being written).

use clap::Args;

/// Flags of `checkin replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {}

/// Runs the replay.
///
/// # Errors
/// Any failure.
pub async fn run(_args: ReplayArgs) -> anyhow::Result<()> {
    anyhow::bail!("replay is not written yet")
}
