//! `kill -9` of the service in the middle of a day's scans (issue 8): no scan answered 2xx is
//! lost. The service runs as its own process (`checkin serve`), is killed with SIGKILL while
//! residents scan, and is started again on the same store; every acknowledged scan's visit is
//! then stored exactly once. Redis's own durability is the outage test's (`outage.rs`).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::acknowledged::{assert_every_acknowledged_scan_is_stored_once, Scanning};
use crate::helpers::{redis_url, Backend, TestApp, ADMIN_PASSWORD, JWT_SECRET};

/// Residents scanning at once.
const RESIDENTS: usize = 12;

/// Starts `checkin serve` on `port` over the test's storage.
fn serve(backend: Backend, port: u16, dir: &std::path::Path, prefix: &str) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_checkin"));
    cmd.arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir)
        .env("CHECKIN_OTP_DELIVERY", "echo")
        .env("CHECKIN_RATE_LIMITS", "off")
        .env("CHECKIN_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("CHECKIN_AUTH__JWT_SECRET", JWT_SECRET)
        .env("CHECKIN_REDIS_KEY_PREFIX", prefix)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if backend == Backend::Redis {
        cmd.arg("--redis-url").arg(redis_url());
    }
    cmd.spawn().unwrap_or_else(|e| panic!("checkin serve: {e}"))
}

async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let ok = client
            .get(format!("{base}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the service did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Kills the child when dropped, so a failing test leaves no service running.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn killing_the_service_mid_load_loses_no_acknowledged_scan(backend: Backend) {
    let dir = Arc::new(tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")));
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("a free port: {e}"));
    let base = format!("http://127.0.0.1:{port}");
    let mut service = Service(serve(backend, port, dir.path(), &prefix));
    wait_ready(&base).await;
    let app = TestApp::attach(base.clone(), backend, Arc::clone(&dir), prefix.clone());

    let scanning =
        Scanning::start(&app, "KILL", "1980000", RESIDENTS, Duration::from_secs(5)).await;

    tokio::time::sleep(Duration::from_millis(1500)).await;
    // SIGKILL: no shutdown hook runs.
    let _ = service.0.kill();
    let _ = service.0.wait();
    tokio::time::sleep(Duration::from_millis(300)).await;
    service = Service(serve(backend, port, dir.path(), &prefix));
    wait_ready(&base).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (residents, per_resident) = scanning.stop().await;

    let all: Vec<_> = per_resident.iter().flatten().collect();
    for s in &all {
        assert!(
            s.status == 0 || s.status == 200,
            "only 200 (or no answer while the service was down) expected, got {}: {}",
            s.status,
            s.body
        );
    }
    let unanswered = all.iter().filter(|s| s.status == 0).count();
    assert!(unanswered > 0, "no request met the killed service");
    let after = per_resident
        .iter()
        .all(|sent| sent.last().is_some_and(|s| s.status == 200));
    assert!(
        after,
        "every resident's last scan is answered by the restarted service"
    );
    let acknowledged =
        assert_every_acknowledged_scan_is_stored_once(&app, &residents, &per_resident).await;
    eprintln!(
        "kill -9 ({backend:?}): {} requests, {acknowledged} acknowledged, all stored once; \
         {unanswered} got no answer while the service was down; 0 acknowledged scans lost",
        all.len()
    );
    drop(service);
}

crate::for_each_backend!(killing_the_service_mid_load_loses_no_acknowledged_scan);
