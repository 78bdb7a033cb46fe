//! `checkin load` against a running app: its own counts, and what the service recorded.

use checkin::cli::load::{measure, LoadArgs, TargetKind};
use secrecy::SecretString;

use crate::helpers::{spawn_app, Backend, TestApp, ADMIN_PASSWORD};

fn args(app: &TestApp, target: TargetKind) -> LoadArgs {
    LoadArgs {
        base_url: app.address.clone(),
        target,
        rate: None,
        concurrency: None,
        duration: 1.0,
        warmup: 0.0,
        residents: 8,
        venues: 3,
        admin_password: Some(SecretString::from(ADMIN_PASSWORD)),
        json: true,
    }
}

async fn a_second_of_closed_loop_scans_admits_check_ins_and_counts_no_errors(app: TestApp) {
    let load = LoadArgs {
        concurrency: Some(4),
        warmup: 0.2,
        ..args(&app, TargetKind::Scan)
    };

    let s = measure(&load, false)
        .await
        .unwrap_or_else(|e| panic!("load: {e:#}"));

    assert!(s.ok >= 8, "{s}");
    assert_eq!((s.errors, s.non_2xx, s.denied), (0, 0, 0), "{s}");
    assert_eq!(s.answers, s.ok);
    assert!(
        s.p50_ms > 0.0 && s.p50_ms <= s.p99_ms && s.p99_ms <= s.max_ms,
        "{s}"
    );
    let (_, first) = app.resident("19800000000").await;
    let visits = app.visits_of(&first).await;
    assert!(!visits.is_empty(), "the first load resident has no visits");
    assert!(
        visits.iter().all(|v| v["venue_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("LOAD-V"))),
        "{visits:?}"
    );
}

crate::on_both_backends!(a_second_of_closed_loop_scans_admits_check_ins_and_counts_no_errors);

#[tokio::test]
async fn an_open_loop_sends_exactly_its_schedule_and_every_request_is_answered() {
    let app = spawn_app(Backend::Embedded).await;
    let load = LoadArgs {
        rate: Some(100.0),
        ..args(&app, TargetKind::Healthz)
    };

    let s = measure(&load, false)
        .await
        .unwrap_or_else(|e| panic!("load: {e:#}"));

    assert_eq!((s.answers, s.ok, s.errors), (100, 100, 0), "{s}");
    assert_eq!(s.mode, "open");
}

#[tokio::test]
async fn a_scan_load_refuses_fewer_residents_than_workers() {
    let app = spawn_app(Backend::Embedded).await;
    let load = LoadArgs {
        concurrency: Some(9),
        ..args(&app, TargetKind::Scan)
    };

    let e = measure(&load, false).await.err().map(|e| e.to_string());

    assert!(e.is_some_and(|m| m.contains("fewer than --concurrency")));
}
