//! `checkin serve`: load settings, build the application, run until stopped.

use std::path::PathBuf;

use clap::Args;

use crate::config::{Overrides, Settings};
use crate::startup::Application;
use crate::telemetry;

/// Flags of `checkin serve` (contract, "Operating the service"); each also reads its
/// `CHECKIN_*` variable through the settings layers.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind, e.g. 127.0.0.1:8080 [env: CHECKIN_LISTEN].
    #[arg(long)]
    pub listen: Option<String>,
    /// Where the data is.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Flags that say where the data and keys are, shared by every command that opens the store.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Use Redis (redis://host:port, or a cluster: redis+cluster://host:port,host:port,…)
    /// instead of the embedded store [env: CHECKIN_REDIS_URL].
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Where the embedded store and keys live [env: CHECKIN_DATA_DIR].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The origin printed into QR codes [env: CHECKIN_PUBLIC_BASE_URL].
    #[arg(long)]
    pub public_base_url: Option<String>,
}

impl StoreArgs {
    /// The settings, with these flags as the top layer.
    ///
    /// # Errors
    /// Settings errors.
    pub fn settings(
        self,
        listen: Option<String>,
    ) -> Result<Settings, crate::config::SettingsError> {
        Settings::load(&Overrides {
            listen,
            redis_url: self.redis_url,
            data_dir: self.data_dir,
            public_base_url: self.public_base_url,
        })
    }
}

/// Runs the service.
///
/// # Errors
/// Settings, store, key or bind errors, with what to fix.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init_logging();
    let settings = args.store.settings(args.listen)?;
    let backend = if settings.redis_url.is_some() {
        "redis"
    } else {
        "embedded"
    };
    let listen = settings.listen.clone();
    let app = Application::build(settings).await?;
    tracing::info!(%listen, port = app.port(), backend, "checkin serving");
    app.run_until_stopped().await?;
    Ok(())
}
