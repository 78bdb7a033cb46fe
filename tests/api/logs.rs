//! No personal data in the logs (issue 8): phones and names sent in queries, bodies, CSV
//! imports and malformed input never appear in the service's log, at the default level.

use std::process::Stdio;
use std::sync::Arc;

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::process::{free_port, serve, wait_ready, Service};

/// A phone and names used only by this test, so that finding them in the log means a leak.
const PHONE: &str = "19987654321";
const OTHER_PHONE: &str = "19987650000";
const NAME: &str = "鲁一测";
const OTHER_NAME: &str = "鲁二测";

#[tokio::test]
async fn phones_and_names_sent_in_any_way_never_reach_the_log() {
    let dir = Arc::new(tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")));
    let log_path = dir.path().join("service.log");
    let log = std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("log file: {e}"));
    let err = log.try_clone().unwrap_or_else(|e| panic!("log file: {e}"));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let mut cmd = serve(Backend::Embedded, port, dir.path(), &prefix);
    cmd.env("RUST_LOG", "info")
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err));
    let service = Service::start(cmd);
    wait_ready(&base).await;
    let app = TestApp::attach(base, Backend::Embedded, Arc::clone(&dir), prefix);
    let admin = app.admin().await;
    let compound = app.venue("LOG-C1", "residential_compound").await;

    // Queries: without a token (401) and with one (200, audited).
    let q = format!("/api/v1/visitors?phone={PHONE}");
    assert_eq!(app.get(&q, "not-a-token").await.status, 401);
    assert_eq!(app.get(&q, &admin).await.status, 200);
    // Sign-in: a code sent, a wrong code, a malformed phone, a phone as a number.
    let otp = json!({"phone": PHONE});
    assert_eq!(app.post("/api/v1/auth/otp", "", &otp).await.status, 202);
    let wrong = json!({"phone": PHONE, "code": "000000"});
    assert_eq!(
        app.post("/api/v1/auth/resident", "", &wrong).await.status,
        401
    );
    let malformed = json!({"phone": format!("{PHONE}9"), "code": "000000"});
    let refused = |status: u16| (400..500).contains(&status);
    assert!(refused(
        app.post("/api/v1/auth/resident", "", &malformed)
            .await
            .status
    ));
    let number = json!({"phone": PHONE.parse::<u64>().unwrap_or(0), "code": "1"});
    assert!(refused(
        app.post("/api/v1/auth/resident", "", &number).await.status
    ));
    // A residents' import with a good row and a bad one.
    let csv = format!(
        "resident_id,name,phone,home,building,room,household,tags\n\
         R90001,{NAME},{PHONE},LOG-C1,1栋,101,H1,\n\
         R90002,{OTHER_NAME},{OTHER_PHONE}x,LOG-C1,1栋,102,H1,\n"
    );
    let imported = app.import_csv("/api/v1/residents/import", csv).await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    // A registered resident's visitor, and a path holding a phone.
    let (token, _) = app.resident(PHONE).await;
    let visitor = json!({"name": OTHER_NAME, "phone": OTHER_PHONE, "relation": "女儿",
        "arrival": chrono::Utc::now().to_rfc3339(), "valid_hours": 2});
    assert_eq!(
        app.post("/api/v1/visitors", &token, &visitor).await.status,
        201
    );
    let bad_visitor = json!({"name": format!("{NAME}\u{7}"), "phone": OTHER_PHONE});
    assert!(refused(
        app.post("/api/v1/visitors", &token, &bad_visitor)
            .await
            .status
    ));
    assert!(refused(
        app.get(&format!("/api/v1/residents/by-phone/{PHONE}"), &admin)
            .await
            .status
    ));
    assert!(
        app.scan_at(&token, &compound, "in", chrono::Utc::now())
            .await
            .status
            < 500
    );
    // Personal data where other values belong: errors that quote what was sent.
    let wrong_type = json!({"code": compound, "temperature_c": format!("{NAME} {PHONE}")});
    assert!(refused(
        app.post("/api/v1/scans", &token, &wrong_type).await.status
    ));
    let wrong_variant = json!({"code": compound, "direction": format!("{NAME}{PHONE}")});
    assert!(refused(
        app.post("/api/v1/scans", &token, &wrong_variant)
            .await
            .status
    ));
    let as_id = format!("/api/v1/trace/residents/{PHONE}/contacts");
    assert!(refused(app.get(&as_id, &admin).await.status));
    drop(service);

    let logged = std::fs::read_to_string(&log_path).unwrap_or_else(|e| panic!("log: {e}"));
    assert!(
        logged.matches("HTTP request").count() >= 5,
        "the log holds the requests' lines:\n{logged}"
    );
    for secret in [PHONE, OTHER_PHONE, NAME, OTHER_NAME] {
        assert!(
            !logged.contains(secret),
            "{secret} is in the log:\n{logged}"
        );
    }
}
