//! Redis going away in the middle of a day's scans (issue 8): while it is gone every request
//! is answered quickly with 503 `store_unavailable` and `Retry-After`, none hangs and none is
//! a 500; `/readyz` says so; the service recovers by itself when Redis is back; and every scan
//! that was answered 2xx is there afterwards, exactly once.
//!
//! The test runs its own `redis-server` (append-only file, `appendfsync always`, on a free port
//! in a temporary directory), kills it with SIGKILL mid-load and starts it again on the same
//! file.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::acknowledged::{assert_every_acknowledged_scan_is_stored_once, Scanning, Sent};
use crate::helpers::{spawn_app_with, Backend, TestApp};

/// Residents scanning at once.
const RESIDENTS: usize = 12;
/// The longest any answer may take while Redis is down: two connection attempts and one
/// command of the test's 300 ms timeouts, for each of a scan's store calls, with room to spare.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// A `redis-server` of this test's own, killed when dropped.
struct OwnRedis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("a free port: {e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let child = Self::spawn(port, dir.path());
        Self { child, port, dir }
    }

    fn spawn(port: u16, dir: &std::path::Path) -> Child {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server: {e}"));
        wait_for_port(port);
        child
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: nothing is flushed that was not already.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts again on the same port and append-only file.
    fn restart(&mut self) {
        self.child = Self::spawn(self.port, self.dir.path());
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_for_port(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("redis-server did not listen on {port}");
}

async fn ready(app: &TestApp) -> u16 {
    app.client
        .get(app.url("/readyz"))
        .timeout(ANSWER_WITHIN * 2)
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_answers_503_quickly_and_loses_no_acknowledged_scan() {
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = spawn_app_with(Backend::Redis, |s| {
        s.redis_url = Some(SecretString::from(url));
        s.redis.connect_timeout_ms = 300;
        s.redis.response_timeout_ms = 300;
    })
    .await;
    let scanning = Scanning::start(&app, "OUT", "1990000", RESIDENTS, ANSWER_WITHIN * 2).await;

    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let readiness_during = ready(&app).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.restart();
    let back = Instant::now();
    while ready(&app).await != 200 {
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "the service did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Each service worker reconnects on its own (up to half a second apart, more on a busy
    // machine): /readyz answered by one says little of the others, so every resident gets time.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let (residents, per_resident) = scanning.stop().await;

    let all: Vec<&Sent> = per_resident.iter().flatten().collect();
    assert_eq!(readiness_during, 503, "/readyz while Redis is down");
    for s in &all {
        assert!(s.status != 0, "a scan got no answer (hung or dropped)");
        assert!(
            s.status == 200 || s.status == 503,
            "only 200 or 503 expected, got {}: {}",
            s.status,
            s.body
        );
        assert!(s.took < ANSWER_WITHIN, "an answer took {:?}", s.took);
        if s.status == 503 {
            assert_eq!(s.body["error"]["code"], "store_unavailable", "{}", s.body);
            assert!(s.retry_after, "a 503 without Retry-After");
        }
    }
    let unavailable = all.iter().filter(|s| s.status == 503).count();
    assert!(unavailable > 0, "no request met the outage");
    // Scans answered after the service recovered, by every resident.
    for sent in &per_resident {
        assert!(
            sent.iter().rev().take_while(|s| s.status == 200).count() > 0,
            "a resident's last scans were not answered 200"
        );
    }

    // Every acknowledged scan's visit is stored exactly once, closed when the answer was a
    // check-out.
    assert_every_acknowledged_scan_is_stored_once(&app, &residents, &per_resident).await;
    let acknowledged = all.len() - unavailable;
    eprintln!(
        "outage: {} requests, {acknowledged} answered 200, {unavailable} answered 503",
        all.len()
    );
}

/// `/readyz` through a new connection each time, so that every worker thread answers some.
async fn readyz_on_fresh_connections(app: &TestApp, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"));
        statuses.push(
            client
                .get(app.url("/readyz"))
                .timeout(ANSWER_WITHIN * 2)
                .send()
                .await
                .map_or(0, |r| r.status().as_u16()),
        );
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_redis_is_back_no_worker_fails_its_first_request() {
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = spawn_app_with(Backend::Redis, |s| {
        s.redis_url = Some(SecretString::from(url));
        s.workers = 4;
    })
    .await;
    assert!(readyz_on_fresh_connections(&app, 12)
        .await
        .iter()
        .all(|s| *s == 200));

    redis.kill();
    redis.restart();
    // Every worker's connection broke while idle; each finds out on its next command.
    let after = readyz_on_fresh_connections(&app, 12).await;
    assert!(
        after.iter().all(|s| *s == 200),
        "after Redis came back: {after:?}"
    );
}
