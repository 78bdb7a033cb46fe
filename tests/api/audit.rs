//! Every read of personal data by staff leaves exactly one audit record; refused callers leave
//! none; the trail is read-only.

use serde_json::{json, Value};

use crate::helpers::{ago, TestApp};

async fn audit_records(app: &TestApp) -> Vec<Value> {
    let admin = app.admin().await;
    let a = app.get("/api/v1/audit", &admin).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["records"].as_array().cloned().unwrap_or_default()
}

async fn every_trace_read_leaves_exactly_one_audit_record(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    app.scan_at(&tok, &code, "in", ago(30)).await;
    let admin = app.admin().await;
    let reads = [
        (
            format!("/api/v1/trace/residents/{rid}/visits"),
            "trace.resident_visits",
            "json",
        ),
        (
            "/api/v1/trace/venues/S1/visits".to_owned(),
            "trace.venue_visits",
            "json",
        ),
        (
            format!("/api/v1/trace/residents/{rid}/contacts"),
            "trace.contacts",
            "json",
        ),
        (
            "/api/v1/venues/S1/presence".to_owned(),
            "venue.presence",
            "json",
        ),
    ];

    for (i, (path, action, format)) in reads.iter().enumerate() {
        let a = app.get(path, &admin).await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        let records = audit_records(&app).await;
        assert_eq!(records.len(), i + 1, "one record per read: {records:?}");
        let last = &records[i];
        assert_eq!(last["action"], *action);
        assert_eq!(last["format"], *format);
        assert_eq!(last["actor"], "admin");
        assert_eq!(last["role"], "admin");
        assert!(last["query"]
            .as_str()
            .is_some_and(|q| q.starts_with(path.as_str())));
    }
    let visits = &audit_records(&app).await[0];
    assert_eq!(visits["returned"], 1, "the resident's one visit");

    let csv = app
        .client
        .get(app.url(&format!("/api/v1/trace/residents/{rid}/contacts")))
        .header("accept", "text/csv")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(csv.status().as_u16(), 200);
    let records = audit_records(&app).await;
    assert_eq!(records.len(), 5);
    assert_eq!(records[4]["format"], "csv", "an export is marked as one");
}

async fn refused_callers_leave_no_audit_record(app: TestApp) {
    app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    let paths = [
        format!("/api/v1/trace/residents/{rid}/visits"),
        "/api/v1/trace/venues/S1/visits".to_owned(),
        format!("/api/v1/trace/residents/{rid}/contacts"),
        "/api/v1/venues/S1/presence".to_owned(),
    ];

    for path in &paths {
        assert_eq!(app.get(path, &tok).await.status, 403, "{path}");
        let anonymous = app.send(app.client.get(app.url(path))).await;
        assert_eq!(anonymous.status, 401, "{path}");
    }

    assert!(audit_records(&app).await.is_empty());
    assert_eq!(app.get("/api/v1/audit", &tok).await.status, 403);
}

async fn the_audit_trail_cannot_be_changed_through_the_api(app: TestApp) {
    app.venue("S1", "shop").await;
    let admin = app.admin().await;
    app.get("/api/v1/trace/venues/S1/visits", &admin).await;

    for method in [
        reqwest::Method::DELETE,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
    ] {
        let a = app
            .send(
                app.client
                    .request(method.clone(), app.url("/api/v1/audit"))
                    .bearer_auth(&admin)
                    .json(&json!({"records": []})),
            )
            .await;
        assert_eq!(a.status, 405, "{method}: {}", a.body);
    }
    assert_eq!(audit_records(&app).await.len(), 1);
}

crate::on_both_backends!(
    every_trace_read_leaves_exactly_one_audit_record,
    refused_callers_leave_no_audit_record,
    the_audit_trail_cannot_be_changed_through_the_api,
);
