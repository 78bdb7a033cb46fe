//! `POST /scans/batch`: an offline queue sent at once; each scan answered in its place.

use serde_json::{json, Value};

use crate::helpers::{ago, TestApp};

async fn a_batch_answers_each_scan_in_its_place_and_a_resend_records_nothing_twice(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (token, rid) = app.resident("19900000801").await;
    let batch = json!({"scans": [
        {"code": code, "direction": "in", "client_time": ago(30).to_rfc3339(), "idempotency_key": "q-1"},
        {"code": code, "direction": "in", "temperature_c": 50.0, "client_time": ago(25).to_rfc3339(), "idempotency_key": "q-2"},
        {"code": code, "direction": "sideways", "idempotency_key": "q-3"},
        {"code": code, "direction": "out", "client_time": ago(20).to_rfc3339(), "idempotency_key": "q-4"},
    ]});

    let first = app.post("/api/v1/scans/batch", &token, &batch).await;
    let again = app.post("/api/v1/scans/batch", &token, &batch).await;

    assert_eq!(first.status, 200, "{}", first.body);
    let results = first.body["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["decision"], "admitted");
    assert_eq!(results[1]["status"], 400);
    assert_eq!(results[1]["error"]["code"], "invalid_input");
    assert_eq!(results[2]["error"]["code"], "invalid_json");
    assert_eq!(results[3]["decision"], "admitted");
    assert_eq!(results[3]["direction"], "out");
    assert_eq!(
        again.body, first.body,
        "the same answers, from the idempotency records"
    );
    let visits = app.visits_of(&rid).await;
    assert_eq!(visits.len(), 1, "{visits:?}");
    assert_eq!(visits[0]["closed_by"], "check_out");
}

async fn an_empty_or_oversized_batch_is_refused(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (token, _) = app.resident("19900000802").await;
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"code": code, "idempotency_key": format!("k-{i}")}))
        .collect();

    let empty = app
        .post("/api/v1/scans/batch", &token, &json!({"scans": []}))
        .await;
    let oversized = app
        .post("/api/v1/scans/batch", &token, &json!({"scans": many}))
        .await;

    assert_eq!(empty.status, 400, "{}", empty.body);
    assert_eq!(oversized.status, 400, "{}", oversized.body);
    assert!(app
        .visits_of(&app.resident("19900000802").await.1)
        .await
        .is_empty());
}

crate::on_both_backends!(
    a_batch_answers_each_scan_in_its_place_and_a_resend_records_nothing_twice,
    an_empty_or_oversized_batch_is_refused,
);

#[tokio::test]
async fn a_batch_over_the_configured_size_is_refused_whole() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Embedded, |s| {
        s.scans.batch_max_scans = 3;
    })
    .await;
    let code = app.venue("S1", "shop").await;
    let (token, rid) = app.resident("19900000803").await;
    let scans = |n: usize| {
        let list: Vec<Value> = (0..n)
            .map(|i| {
                json!({"code": code, "client_time": ago(30 - i as i64).to_rfc3339(),
                            "idempotency_key": format!("c-{i}")})
            })
            .collect();
        json!({"scans": list})
    };

    let four = app.post("/api/v1/scans/batch", &token, &scans(4)).await;
    let three = app.post("/api/v1/scans/batch", &token, &scans(3)).await;

    assert_eq!(four.status, 400, "{}", four.body);
    assert!(
        four.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 to 3")),
        "{}",
        four.body
    );
    assert_eq!(three.status, 200, "{}", three.body);
    assert_eq!(
        app.visits_of(&rid).await.len(),
        2,
        "in, out, in: two visits"
    );
}
