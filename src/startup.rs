//! Building and running the service; shared by `checkin serve` and the tests (which bind
//! port 0 and read the port back).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpServer};
use secrecy::ExposeSecret;
use tracing_actix_web::TracingLogger;

use crate::auth::tokens::TokenKeys;
use crate::clock::{Clock, SystemClock};
use crate::codes::keyring::KeyRing;
use crate::codes::keys::CodeKey;
use crate::codes::{CodeSigner, PublicBaseUrl};
use crate::config::Settings;
use crate::limits::Limits;
use crate::service::person_turns::PersonTurns;
use crate::service::{accounts, alert_webhook, retention};
use crate::state::AppState;
use crate::storage::embedded::EmbeddedStore;
use crate::storage::redis::{RedisStore, Timeouts};
use crate::storage::Store;
use crate::{http, telemetry};

/// Why the service could not start. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is unusable.
    #[error("{0}")]
    Settings(String),
    /// The store could not be opened.
    /// (Its cause is the source, printed once by the caller's error chain.)
    #[error("store")]
    Store(#[from] crate::storage::StoreError),
    /// A key could not be loaded or made.
    #[error("keys: {0}")]
    Keys(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The bootstrap admin could not be written.
    #[error("bootstrap admin: {0}")]
    Admin(String),
}

/// Opens the store the settings ask for: Redis when `redis_url` is set, else the embedded
/// store in `data_dir`.
///
/// # Errors
/// [`StartupError::Store`] when it cannot be opened or reached.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, StartupError> {
    Ok(match &settings.redis_url {
        Some(url) => {
            let timeouts = Timeouts {
                connection: Duration::from_millis(settings.redis.connect_timeout_ms),
                response: Duration::from_millis(settings.redis.response_timeout_ms),
            };
            let store =
                RedisStore::connect_with(url.expose_secret(), &settings.redis_key_prefix, timeouts)
                    .await?
                    .expire_idle_after(settings.retention.visits() + crate::storage::lookback());
            Arc::new(store)
        }
        None => Arc::new(EmbeddedStore::open(&settings.data_dir)?),
    })
}

/// Opens an existing store for a command-line tool: with no Redis configured, the embedded
/// store must already be in the data directory; on Redis, the key prefix must hold venues (a
/// mistyped `--data-dir` or prefix must not read as an empty town).
///
/// # Errors
/// [`StartupError::Settings`] when there is no store there; else as [`open_store`].
pub async fn open_existing_store(settings: &Settings) -> Result<Arc<dyn Store>, StartupError> {
    let file = settings.data_dir.join(crate::storage::embedded::DB_FILE);
    if settings.redis_url.is_none() && !file.exists() {
        return Err(StartupError::Settings(format!(
            "no store at {}: give the service's --data-dir (or --redis-url)",
            file.display()
        )));
    }
    let store = open_store(settings).await?;
    // On Redis, a mistyped key prefix opens an empty namespace: refuse one with no venues.
    if settings.redis_url.is_some() && store.venues().await?.is_empty() {
        return Err(StartupError::Settings(format!(
            "no venues under the Redis key prefix {:?}: give the service's \
             CHECKIN_REDIS_KEY_PREFIX",
            settings.redis_key_prefix
        )));
    }
    Ok(store)
}

/// The code signer the settings ask for: the configured key, or the key ring in the data
/// directory (made on first start).
///
/// # Errors
/// [`StartupError`] when the base URL or a key is unusable.
pub fn code_signer(settings: &Settings) -> Result<CodeSigner, StartupError> {
    let base = PublicBaseUrl::parse(&settings.public_base_url).map_err(StartupError::Settings)?;
    let ring = match &settings.code_signing_key_file {
        Some(path) => CodeKey::load(path).map(KeyRing::fixed),
        None => KeyRing::open(&settings.data_dir),
    }
    .map_err(|e| StartupError::Keys(e.to_string()))?;
    CodeSigner::new(base, ring).map_err(|e| StartupError::Keys(e.to_string()))
}

/// The application state for `settings` over `store`.
///
/// # Errors
/// [`StartupError`] when keys or settings are unusable.
pub fn build_state(
    settings: Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> Result<AppState, StartupError> {
    let codes = code_signer(&settings)?;
    let secret = TokenKeys::secret_from(settings.auth.jwt_secret.as_ref(), &settings.data_dir)
        .map_err(|e| StartupError::Keys(e.to_string()))?;
    let tokens = TokenKeys::new(
        &secret,
        settings.auth.previous_jwt_secret.as_ref(),
        &settings.auth.issuer,
    )
    .map_err(|e| StartupError::Keys(e.to_string()))?;
    let tz = settings.time_zone.parse().map_err(|_| {
        StartupError::Settings(format!("time_zone {:?} unknown", settings.time_zone))
    })?;
    let policy = settings
        .scan_policy()
        .map_err(|e| StartupError::Settings(e.to_string()))?;
    let settings_limits = settings.rate_limits == "on";
    Ok(AppState {
        store,
        tokens: Arc::new(tokens),
        codes: Arc::new(codes),
        settings: Arc::new(settings),
        tz,
        policy,
        metrics: telemetry::metrics_handle(),
        clock,
        limits: Arc::new(Limits::new(settings_limits)),
        turns: Arc::new(PersonTurns::default()),
    })
}

/// A bound, not yet running service.
pub struct Application {
    port: u16,
    server: Server,
    /// Background tasks (retention purge, repair, alert webhook), stopped with the server.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Opens the store, loads keys, creates the bootstrap admin if asked, and binds.
    ///
    /// # Errors
    /// [`StartupError`] with what to fix.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], telling time by `clock` (tests move a [`crate::clock::ManualClock`]).
    /// Also starts the periodic retention purge and, when a webhook is configured, alert
    /// delivery; both stop with the server.
    ///
    /// # Errors
    /// [`StartupError`] with what to fix.
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let store = open_store(&settings).await?;
        if let Some(pw) = &settings.admin_password {
            accounts::bootstrap_admin(store.as_ref(), pw)
                .await
                .map_err(|e| StartupError::Admin(e.to_string()))?;
            tracing::info!("staff account `admin` set from CHECKIN_ADMIN_PASSWORD");
        }
        let addr = settings.listen.clone();
        let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        let purge = retention::run(
            Arc::clone(&store),
            Arc::clone(&clock),
            settings.retention.clone(),
        );
        let webhook = settings
            .time_zone
            .parse::<chrono_tz::Tz>()
            .map_err(|e| StartupError::Settings(format!("time_zone: {e}")))
            .and_then(|tz| {
                alert_webhook::Webhook::from_settings(&settings.alerts, tz)
                    .map_err(|e| StartupError::Settings(format!("alert webhook client: {e}")))
            })?;
        let deliver = webhook.map(|w| alert_webhook::run(Arc::clone(&store), w));
        let state = web::Data::new(build_state(settings, store, clock)?);
        let housekeeping = crate::limits::run_housekeeping(Arc::clone(&state.limits));
        let repair = crate::service::repair::run(Arc::clone(&state.store));
        let shared = state.get_ref().clone();
        let workers = state.settings.workers;
        let mut server = HttpServer::new(move || {
            let shared = shared.clone();
            App::new()
                // Each worker's state, made on the worker's own thread: on Redis its store has
                // a connection of its own, driven there (see `Store::for_this_thread`).
                .data_factory(move || {
                    let shared = shared.clone();
                    async move { Ok::<_, std::convert::Infallible>(shared.for_this_thread().await) }
                })
                .wrap(actix_web::middleware::from_fn(http::head::head_as_get))
                // Answers carry personal data: no cache keeps them unless a route says so.
                .wrap(http::method_not_allowed::middleware())
                .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
                .wrap(http::metrics::RequestMetrics)
                .wrap(TracingLogger::<crate::telemetry::PrivateRootSpan>::new())
                .configure(http::configure)
        });
        if workers > 0 {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                addr: "listener".into(),
                source,
            })?
            .run();
        let mut tasks = vec![
            tokio::spawn(purge),
            tokio::spawn(housekeeping),
            tokio::spawn(repair),
        ];
        tasks.extend(deliver.map(tokio::spawn));
        Ok(Self {
            port,
            server,
            tasks,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until the server stops (Ctrl-C or SIGTERM).
    ///
    /// # Errors
    /// An I/O error from the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopped = self.server.await;
        for task in &self.tasks {
            task.abort();
        }
        stopped
    }
}
