//! Body size limits per route (issue 8): each route takes a few times its largest real body,
//! and a larger one is refused with 413 `payload_too_large` before it is read whole, changing
//! nothing; a real body of each kind, at its largest, still goes through.

use serde_json::{json, Value};

use crate::helpers::{ago, TestApp};

/// A raw JSON post, answered with (status, error code).
async fn post_raw(app: &TestApp, path: &str, token: &str, body: String) -> (u16, String) {
    let a = app
        .send(
            app.client
                .post(app.url(path))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    let code = a.body["error"]["code"].as_str().unwrap_or("").to_owned();
    (a.status, code)
}

async fn each_route_refuses_a_body_over_its_limit_with_413_and_takes_its_largest_real_one(
    app: TestApp,
) {
    let admin = app.admin().await;
    let code = app.venue("S1", "shop").await;
    let (token, rid) = app.resident("19900000901").await;
    let too_large = (413, "payload_too_large".to_owned());

    // A scan: 8 KiB.
    let padded = |n: usize| json!({"code": code, "idempotency_key": "k".repeat(n)}).to_string();
    assert_eq!(
        post_raw(&app, "/api/v1/scans", &token, padded(9_000)).await,
        too_large
    );
    // A batch of 100 scans, each with a client time and a key, fits its 256 KiB...
    let full: Vec<Value> = (0..100)
        .map(|i| {
            json!({"code": code, "client_time": ago(60 - i / 2).to_rfc3339(),
                   "idempotency_key": format!("batch-{i:03}-{}", "k".repeat(100)),
                   "temperature_c": 36.5})
        })
        .collect();
    let body = json!({"scans": full}).to_string();
    assert!(
        body.len() > 8 * 1024,
        "larger than a scan may be: {}",
        body.len()
    );
    assert_eq!(
        post_raw(&app, "/api/v1/scans/batch", &token, body).await.0,
        200
    );
    // ... and a batch over it is refused.
    let huge: Vec<Value> = (0..100)
        .map(|_| json!({"code": "x".repeat(2_700)}))
        .collect();
    let body = json!({"scans": huge}).to_string();
    assert_eq!(
        post_raw(&app, "/api/v1/scans/batch", &token, body).await,
        too_large
    );
    // Sign-in: 1 KiB.
    let otp = json!({"phone": format!("1990000090{}", " ".repeat(1_100))}).to_string();
    assert_eq!(post_raw(&app, "/api/v1/auth/otp", "", otp).await, too_large);
    let login = json!({"username": "admin", "password": "p".repeat(1_100)}).to_string();
    assert_eq!(
        post_raw(&app, "/api/v1/auth/login", "", login).await,
        too_large
    );
    // Any other JSON body: 64 KiB.
    let venue = json!({"name": "x".repeat(70_000), "kind": "shop", "gates": ["北门"]}).to_string();
    assert_eq!(
        post_raw(&app, "/api/v1/venues", &admin, venue).await,
        too_large
    );
    // A CSV import: 16 MiB; over it, the same error body.
    let mut csv = String::from("resident_id,name,phone,home,building,room,household,tags\n");
    while csv.len() <= 16 * 1024 * 1024 {
        csv.push_str("R99999,某,19900000999,S1,1栋,101,H1,\n");
    }
    let a = app.import_csv("/api/v1/residents/import", csv).await;
    assert_eq!(a.status, 413, "{}", a.body);
    assert_eq!(a.body["error"]["code"], "payload_too_large");

    // Nothing the refused bodies carried was stored: the batch's 100 scans are the visits.
    let visits = app.visits_of(&rid).await;
    assert!(
        !visits.is_empty() && visits.len() <= 100,
        "{}",
        visits.len()
    );
    let venues = app.get("/api/v1/venues", &admin).await;
    assert_eq!(venues.body["venues"].as_array().map(Vec::len), Some(1));
    // And a scan of ordinary size still goes through.
    let ok = app
        .post("/api/v1/scans", &token, &json!({"code": code}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

crate::on_both_backends!(
    each_route_refuses_a_body_over_its_limit_with_413_and_takes_its_largest_real_one,
);
