//! The command-line tools over a store that the service wrote.

use crate::helpers::{ago, spawn_app, Backend};

#[tokio::test]
async fn checkin_trace_prints_and_exports_the_same_contacts_as_the_api() {
    let app = spawn_app(Backend::Embedded).await;
    let code = app.venue("S1", "shop").await;
    let (tok, index) = app.resident("19900000001").await;
    let (other, contact) = app.resident("19900000002").await;
    app.scan_at(&tok, &code, "in", ago(60)).await;
    app.scan_at(&other, &code, "in", ago(50)).await;
    app.scan_at(&tok, &code, "out", ago(20)).await;
    let csv = app.data_dir.path().join("out.csv");
    let run = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_checkin"));
        cmd.args(["trace", "--resident", &index, "--data-dir"])
            .arg(app.data_dir.path())
            .args(extra)
            .env("CHECKIN_ENV", "local");
        cmd.output()
            .unwrap_or_else(|e| panic!("running checkin: {e}"))
    };

    let table = run(&[]);
    let export = run(&["--csv", csv.to_str().unwrap_or("")]);

    let printed = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(
        table.status.success(),
        "{printed} {}",
        String::from_utf8_lossy(&table.stderr)
    );
    assert!(
        printed.contains(&contact) && printed.contains("30.0"),
        "{printed}"
    );
    assert!(export.status.success());
    let text = std::fs::read_to_string(&csv).unwrap_or_default();
    assert!(text.starts_with('\u{feff}'));
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(&contact) && text.contains("30.00"), "{text}");
    let admin = app.admin().await;
    let audit = app.get("/api/v1/audit", &admin).await;
    let actions: Vec<&str> = audit.body["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["actor"].as_str())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("cli:")).count(),
        2,
        "{actions:?}"
    );
    let typo = std::process::Command::new(env!("CARGO_BIN_EXE_checkin"))
        .args(["trace", "--resident", &index, "--data-dir"])
        .arg(app.data_dir.path().join("no-such-dir"))
        .output()
        .unwrap_or_else(|e| panic!("running checkin: {e}"));
    assert!(
        !typo.status.success(),
        "a mistyped data dir is an error, not an empty town"
    );
    let nobody = std::process::Command::new(env!("CARGO_BIN_EXE_checkin"))
        .args(["trace", "--resident", "NOBODY", "--data-dir"])
        .arg(app.data_dir.path())
        .output()
        .unwrap_or_else(|e| panic!("running checkin: {e}"));
    assert!(
        !nobody.status.success(),
        "an unknown resident is an error, not zero contacts"
    );
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no resident NOBODY"));
}

#[tokio::test]
async fn checkin_trace_names_a_venue_shared_twice_once() {
    let app = spawn_app(Backend::Embedded).await;
    let code = app.venue("S1", "shop").await;
    let (tok, index) = app.resident("19900000001").await;
    let (other, contact) = app.resident("19900000002").await;
    app.scan_at(&other, &code, "in", ago(70)).await;
    for (direction, minutes) in [("in", 60), ("out", 50), ("in", 40), ("out", 30)] {
        app.scan_at(&tok, &code, direction, ago(minutes)).await;
    }
    let table = std::process::Command::new(env!("CARGO_BIN_EXE_checkin"))
        .args(["trace", "--resident", &index, "--data-dir"])
        .arg(app.data_dir.path())
        .env("CHECKIN_ENV", "local")
        .output()
        .unwrap_or_else(|e| panic!("running checkin: {e}"));

    let printed = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(table.status.success(), "{printed}");
    let row = printed
        .lines()
        .find(|l| l.starts_with(contact.as_str()))
        .unwrap_or_else(|| panic!("no row for {contact}: {printed}"));
    assert!(
        row.contains("20.0"),
        "two shared visits of 10 minutes: {row}"
    );
    assert!(row.trim_end().ends_with(" S1"), "{row}");
}

#[tokio::test]
async fn checkin_trace_into_a_reader_that_stops_early_exits_cleanly() {
    let app = spawn_app(Backend::Embedded).await;
    let code = app.venue("S1", "shop").await;
    let (tok, index) = app.resident("19900000001").await;
    app.scan_at(&tok, &code, "in", ago(60)).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_checkin"))
        .args(["trace", "--resident", &index, "--data-dir"])
        .arg(app.data_dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running checkin: {e}"));

    // Like `| head -0`: the reader is gone before the table is written.
    drop(child.stdout.take());
    let done = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for checkin: {e}"));

    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
