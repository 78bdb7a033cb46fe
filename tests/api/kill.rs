//! `kill -9` of the service in the middle of a day's scans (issue 8): no scan answered 2xx is
//! lost. The service runs as its own process (`checkin serve`), is killed with SIGKILL while
//! residents scan, and is started again on the same store; every acknowledged scan's visit is
//! then stored exactly once. Redis's own durability is the outage test's (`outage.rs`).

use std::sync::Arc;
use std::time::Duration;

use crate::acknowledged::{assert_every_acknowledged_scan_is_stored_once, Scanning};
use crate::helpers::{Backend, TestApp};
use crate::process::{free_port, serve, wait_ready, Service};

/// Residents scanning at once.
const RESIDENTS: usize = 12;

async fn killing_the_service_mid_load_loses_no_acknowledged_scan(backend: Backend) {
    let dir = Arc::new(tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")));
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut service = Service::start(serve(backend, port, dir.path(), &prefix));
    wait_ready(&base).await;
    let app = TestApp::attach(base.clone(), backend, Arc::clone(&dir), prefix.clone());

    let scanning =
        Scanning::start(&app, "KILL", "1980000", RESIDENTS, Duration::from_secs(5)).await;

    tokio::time::sleep(Duration::from_millis(1500)).await;
    // SIGKILL: no shutdown hook runs.
    let _ = service.0.kill();
    let _ = service.0.wait();
    tokio::time::sleep(Duration::from_millis(300)).await;
    service = Service::start(serve(backend, port, dir.path(), &prefix));
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
