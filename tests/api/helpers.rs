//! Spawning the service for black-box tests: one app per test, on port 0, with its own data
//! directory (embedded) or its own key prefix (Redis), removed when the test ends.

use std::sync::Arc;

use checkin::clock::{Clock, SystemClock};
use checkin::config::{OtpDelivery, Overrides, Settings};
use checkin::startup::Application;
use checkin::storage::Store;
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde_json::{json, Value};

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Redis,
    /// The Redis Cluster of `CHECKIN_TEST_REDIS_CLUSTER_URL` (`scripts/test` starts one).
    Cluster,
}

pub const ADMIN_PASSWORD: &str = "admin-test-password";
pub const JWT_SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";

/// The Redis Cluster the cluster tests use: `CHECKIN_TEST_REDIS_CLUSTER_URL`.
///
/// # Panics
/// When it is not set (`scripts/test` starts a cluster and sets it).
pub fn cluster_url() -> String {
    std::env::var("CHECKIN_TEST_REDIS_CLUSTER_URL").unwrap_or_else(|_| {
        panic!("the cluster tests need CHECKIN_TEST_REDIS_CLUSTER_URL: run scripts/test")
    })
}

/// The Redis the tests use: `CHECKIN_TEST_REDIS_URL`, else the local default.
pub fn redis_url() -> String {
    std::env::var("CHECKIN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A running app and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub data_dir: Arc<tempfile::TempDir>,
    pub prefix: String,
    pub settings: Settings,
    /// Whether dropping this app deletes its Redis keys (false for a restarted app).
    owns_storage: bool,
    admin: tokio::sync::OnceCell<String>,
}

pub fn settings_for(backend: Backend, data_dir: &std::path::Path, prefix: &str) -> Settings {
    let mut s = Settings::load(&Overrides {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(data_dir.to_path_buf()),
        ..Overrides::default()
    })
    .unwrap_or_else(|e| panic!("settings: {e}"));
    s.otp_delivery = OtpDelivery::Echo;
    // Tests sign in thousands of residents from one address; the rate-limit tests turn the
    // limits back on.
    s.rate_limits = "off".into();
    s.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
    s.auth.jwt_secret = Some(SecretString::from(JWT_SECRET));
    s.redis_key_prefix = prefix.to_owned();
    s.redis_url = match backend {
        Backend::Embedded => None,
        Backend::Redis => Some(SecretString::from(redis_url())),
        Backend::Cluster => Some(SecretString::from(cluster_url())),
    };
    s
}

/// Starts an app on `backend` with fresh storage.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts an app with fresh storage and settings changed by `tweak`.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_clock(backend, Arc::new(SystemClock), tweak).await
}

/// Starts an app with fresh storage, telling time by `clock` (a test moves a `ManualClock`).
pub async fn spawn_app_with_clock(
    backend: Backend,
    clock: Arc<dyn Clock>,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")));
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let mut app = start(backend, dir, prefix, clock, tweak).await;
    app.owns_storage = true;
    app
}

/// Starts an app on existing storage (a restart); the storage stays with its first owner.
pub async fn spawn_with(backend: Backend, dir: Arc<tempfile::TempDir>, prefix: String) -> TestApp {
    start(backend, dir, prefix, Arc::new(SystemClock), |_| {}).await
}

/// Starts a second instance on `app`'s storage with settings changed by `tweak` (several
/// instances behind one load balancer); the storage stays with `app`.
pub async fn spawn_beside(app: &TestApp, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    start(
        app.backend,
        Arc::clone(&app.data_dir),
        app.prefix.clone(),
        Arc::new(SystemClock),
        tweak,
    )
    .await
}

async fn start(
    backend: Backend,
    dir: Arc<tempfile::TempDir>,
    prefix: String,
    clock: Arc<dyn Clock>,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        checkin::telemetry::init_logging();
    }
    let mut settings = settings_for(backend, dir.path(), &prefix);
    tweak(&mut settings);
    let app = Application::build_with_clock(settings.clone(), clock)
        .await
        .unwrap_or_else(|e| panic!("build: {e:?}"));
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp::handle(address, backend, dir, prefix, settings, false)
}

impl TestApp {
    /// A handle on a service already running at `address` (a `checkin serve` process a test
    /// started) on `backend` with the storage in `dir` or under `prefix`, which this handle
    /// owns and removes when dropped.
    pub fn attach(
        address: String,
        backend: Backend,
        dir: Arc<tempfile::TempDir>,
        prefix: String,
    ) -> Self {
        let settings = settings_for(backend, dir.path(), &prefix);
        Self::handle(address, backend, dir, prefix, settings, true)
    }

    fn handle(
        address: String,
        backend: Backend,
        data_dir: Arc<tempfile::TempDir>,
        prefix: String,
        settings: Settings,
        owns_storage: bool,
    ) -> Self {
        Self {
            address,
            // Idle connections are dropped well before the service's keep-alive (5 s) closes
            // them: a request sent on a connection the service is closing fails to send.
            client: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .unwrap_or_else(|e| panic!("test client: {e}")),
            backend,
            data_dir,
            prefix,
            settings,
            owns_storage,
            admin: tokio::sync::OnceCell::new(),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if self.owns_storage {
            match self.backend {
                Backend::Embedded => {}
                Backend::Redis => delete_prefix(&redis_url(), &self.prefix),
                Backend::Cluster => delete_prefix(&cluster_url(), &self.prefix),
            }
        }
    }
}

/// Deletes every Redis key under `prefix` at `url`: on each node a cluster URL names (the
/// test cluster's URL names all its masters), one key per `DEL`.
pub fn delete_prefix(url: &str, prefix: &str) {
    let nodes = match checkin::storage::redis::conn::cluster_nodes(url) {
        Ok(Some(nodes)) => nodes,
        _ => vec![url.to_owned()],
    };
    for node in nodes {
        let Ok(client) = redis::Client::open(node) else {
            continue;
        };
        let Ok(mut con) = client.get_connection() else {
            continue;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query(&mut con)
            .unwrap_or_default();
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("DEL").arg(key).ignore();
        }
        let _: redis::RedisResult<()> = pipe.query(&mut con);
    }
}

/// A response's status and JSON body (Null when the body is not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl TestApp {
    /// A second handle on the app's store, to see what it holds behind the API.
    pub async fn store(&self) -> Arc<dyn Store> {
        checkin::startup::open_store(&self.settings)
            .await
            .unwrap_or_else(|e| panic!("open store: {e:?}"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.unwrap_or_else(|e| panic!("request: {e}"));
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(self.client.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Answer {
        self.send(
            self.client
                .post(self.url("/api/v1/auth/login"))
                .json(&json!({"username": username, "password": password})),
        )
        .await
    }

    /// The admin's token (logged in once per app).
    pub async fn admin(&self) -> String {
        self.admin
            .get_or_init(|| async {
                let a = self.login("admin", ADMIN_PASSWORD).await;
                assert_eq!(a.status, 200, "admin login: {}", a.body);
                a.body["access_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .await
            .clone()
    }

    /// Creates a staff account with `role` (`admin`, `tracer`, `guard`) and returns its token.
    pub async fn staff(&self, username: &str, role: &str) -> String {
        let admin = self.admin().await;
        let created = self
            .post(
                "/api/v1/staff",
                &admin,
                &json!({"username": username, "password": "a-long-password-1", "role": role}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let login = self.login(username, "a-long-password-1").await;
        assert_eq!(login.status, 200, "{}", login.body);
        assert_eq!(login.body["role"], role);
        login.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Logs a phone in by OTP and returns (token, resident_id).
    pub async fn resident(&self, phone: &str) -> (String, String) {
        let otp = self
            .send(
                self.client
                    .post(self.url("/api/v1/auth/otp"))
                    .json(&json!({ "phone": phone })),
            )
            .await;
        assert_eq!(otp.status, 202, "otp: {}", otp.body);
        let code = otp.body["dev_code"].as_str().unwrap_or_default().to_owned();
        let login = self
            .send(
                self.client
                    .post(self.url("/api/v1/auth/resident"))
                    .json(&json!({ "phone": phone, "code": code })),
            )
            .await;
        assert_eq!(login.status, 200, "resident login: {}", login.body);
        (
            login.body["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            login.body["resident_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    /// Posts a CSV to an admin import path (`/api/v1/residents/import`, `…/venues/import`)
    /// and returns the answer.
    pub async fn import_csv(&self, path: &str, csv: impl Into<Vec<u8>>) -> Answer {
        let admin = self.admin().await;
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(&admin)
                .header("content-type", "text/csv")
                .body(csv.into()),
        )
        .await
    }

    /// Imports `rows` of `residents.csv` (the header is added) and checks that every row was
    /// created.
    pub async fn import_residents(&self, rows: &str) {
        let csv = format!("resident_id,name,phone,home,building,room,household,tags\n{rows}");
        let a = self.import_csv("/api/v1/residents/import", csv).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["errors"], json!([]), "{}", a.body);
        assert_eq!(a.body["created"], rows.lines().count(), "{}", a.body);
    }

    /// Registers a venue open to anyone (whatever its kind: tests of who may enter say so)
    /// and returns the code of its first gate.
    pub async fn venue(&self, id: &str, kind: &str) -> String {
        let admin = self.admin().await;
        let a = self
            .post(
                "/api/v1/venues",
                &admin,
                &json!({"id": id, "name": format!("测试{id}"), "kind": kind,
                        "gates": ["北门", "南门"], "entry_policy": "open"}),
            )
            .await;
        assert_eq!(a.status, 201, "create venue: {}", a.body);
        a.body["codes"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Changes venue `id` as an admin (`PATCH /api/v1/venues/{id}` with `change`).
    pub async fn patch_venue(&self, id: &str, change: &Value) -> Answer {
        let admin = self.admin().await;
        self.send(
            self.client
                .patch(self.url(&format!("/api/v1/venues/{id}")))
                .bearer_auth(&admin)
                .json(change),
        )
        .await
    }

    /// Sends a scan with an explicit time.
    pub async fn scan_at(
        &self,
        token: &str,
        code: &str,
        direction: &str,
        at: DateTime<Utc>,
    ) -> Answer {
        self.post(
            "/api/v1/scans",
            token,
            &json!({"code": code, "direction": direction, "client_time": at.to_rfc3339()}),
        )
        .await
    }

    /// A tracer's query of a resident's visits from two days ago to an hour ahead.
    pub async fn visits_of(&self, resident: &str) -> Vec<Value> {
        let admin = self.admin().await;
        let from = (Utc::now() - Duration::days(2)).to_rfc3339();
        let to = (Utc::now() + Duration::hours(1)).to_rfc3339();
        let a = self
            .send(
                self.client
                    .get(self.url(&format!("/api/v1/trace/residents/{resident}/visits")))
                    .query(&[("from", from.as_str()), ("to", to.as_str())])
                    .bearer_auth(&admin),
            )
            .await;
        assert_eq!(a.status, 200, "visits: {}", a.body);
        a.body["visits"].as_array().cloned().unwrap_or_default()
    }

    pub async fn presence(&self, venue: &str) -> Value {
        let admin = self.admin().await;
        let a = self
            .get(&format!("/api/v1/venues/{venue}/presence"), &admin)
            .await;
        assert_eq!(a.status, 200, "presence: {}", a.body);
        a.body
    }
}

/// A time `minutes` before the test binary's start, in whole seconds (as phones send them).
/// One fixed base for every call, so that expected times computed after the fact equal the
/// times sent, whatever second the clock has moved to.
pub fn ago(minutes: i64) -> DateTime<Utc> {
    static BASE: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| {
        let now = Utc::now();
        DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
    });
    base - Duration::minutes(minutes)
}

/// Parses an RFC 3339 time in a JSON value.
pub fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Runs each named scenario `async fn NAME(app: TestApp)` once per backend, as
/// `embedded::NAME` and `redis::NAME`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::spawn_app($crate::helpers::Backend::Embedded).await).await
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::spawn_app($crate::helpers::Backend::Redis).await).await
                }
            )*
        }
    };
}

/// Runs each named scenario `async fn NAME(backend: Backend)` once per backend, as
/// `embedded::NAME` and `redis::NAME`: for scenarios that start their apps themselves (with
/// a clock, settings, or several instances).
#[macro_export]
macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Embedded).await
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Redis).await
                }
            )*
        }
    };
}
