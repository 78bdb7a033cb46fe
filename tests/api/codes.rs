//! The code lifecycle through `POST /scans`: rotated versions, event windows, live codes,
//! signing key rotation and retirement, and offline verification with the JWKS.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp};

async fn scan(app: &TestApp, tok: &str, code: &str) -> crate::helpers::Answer {
    app.post(
        "/api/v1/scans",
        tok,
        &json!({"code": code, "direction": "in"}),
    )
    .await
}

async fn rotating_a_venues_codes_revokes_its_old_posters(app: TestApp) {
    let old = app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let (tok, _) = app.resident("19900000001").await;

    let rotated = app
        .post("/api/v1/venues/S1/codes/rotate", &admin, &json!({}))
        .await;

    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_eq!(rotated.body["code_version"], 2);
    let new = rotated.body["codes"][0]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert_ne!(new, old);
    let refused = scan(&app, &tok, &old).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.body["error"]["code"], "code_revoked");
    assert_eq!(scan(&app, &tok, &new).await.status, 200);
}

async fn a_gate_taken_away_and_added_back_does_not_bring_its_old_posters_back(app: TestApp) {
    // The venue's gates are 北门 and 南门; the helper answers 北门's code.
    let north = app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let (tok, _) = app.resident("19900000001").await;
    let set_gates = |gates: Value| {
        app.send(
            app.client
                .patch(app.url("/api/v1/venues/S1"))
                .bearer_auth(&admin)
                .json(&json!({ "gates": gates })),
        )
    };

    let removed = set_gates(json!(["南门"])).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        removed.body["code_version"], 1,
        "taking a gate away revokes only its posters"
    );
    let while_gone = scan(&app, &tok, &north).await;
    assert_eq!(
        while_gone.body["error"]["code"], "code_revoked",
        "{}",
        while_gone.body
    );

    let back = set_gates(json!(["南门", "北门"])).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(
        back.body["code_version"], 2,
        "adding it back rotates the codes"
    );
    let old = scan(&app, &tok, &north).await;
    assert_eq!(old.status, 422);
    assert_eq!(old.body["error"]["code"], "code_revoked", "{}", old.body);
    let new = back.body["codes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["gate"] == "北门")
        .and_then(|c| c["code"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert_ne!(new, north);
    assert_eq!(scan(&app, &tok, &new).await.status, 200);

    // A change that keeps the gates rotates nothing.
    let again = set_gates(json!(["南门", "北门"])).await;
    assert_eq!(again.body["code_version"], 2, "{}", again.body);
}

async fn event_code(app: &TestApp, from: i64, until: i64) -> Value {
    let admin = app.admin().await;
    let a = app
        .post(
            "/api/v1/venues/S1/codes",
            &admin,
            &json!({"gate": "北门",
                    "valid_from": (Utc::now() + Duration::minutes(from)).to_rfc3339(),
                    "valid_until": (Utc::now() + Duration::minutes(until)).to_rfc3339()}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.body
}

async fn an_event_code_is_accepted_only_within_its_window(app: TestApp) {
    app.venue("S1", "shop").await;
    let (tok, _) = app.resident("19900000001").await;
    let now = event_code(&app, -60, 60).await;
    let past = event_code(&app, -120, -60).await;
    let future = event_code(&app, 60, 120).await;

    let ok = scan(&app, &tok, now["code"].as_str().unwrap_or("")).await;
    let late = scan(&app, &tok, past["code"].as_str().unwrap_or("")).await;
    let early = scan(&app, &tok, future["code"].as_str().unwrap_or("")).await;

    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(late.body["error"]["code"], "code_expired");
    assert_eq!(early.body["error"]["code"], "code_not_yet_valid");
    let admin = app.admin().await;
    let backwards = app
        .post(
            "/api/v1/venues/S1/codes",
            &admin,
            &json!({"gate": "北门", "valid_until": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(backwards.status, 400);
}

async fn a_rotated_signing_key_keeps_old_posters_until_it_is_retired(app: TestApp) {
    let old = app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let (tok, _) = app.resident("19900000001").await;
    let before = app.get("/api/v1/keys", &admin).await.body["keys"].clone();
    let old_kid = before[0]["kid"].as_str().unwrap_or("").to_owned();

    let rotated = app.post("/api/v1/keys/rotate", &admin, &json!({})).await;

    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_eq!(rotated.body["keys"][0]["status"], "previous");
    assert_eq!(rotated.body["keys"][1]["status"], "active");
    let new = app.get("/api/v1/venues/S1", &admin).await.body["codes"][0]["code"].clone();
    assert_ne!(
        new.as_str(),
        Some(old.as_str()),
        "new codes use the new key"
    );
    assert_eq!(
        scan(&app, &tok, &old).await.status,
        200,
        "old posters still work"
    );
    let jwks = app
        .send(app.client.get(app.url("/.well-known/jwks.json")))
        .await;
    assert_eq!(jwks.body["keys"].as_array().map(Vec::len), Some(2));

    let retired = app
        .post(
            &format!("/api/v1/keys/{old_kid}/retire"),
            &admin,
            &json!({}),
        )
        .await;

    assert_eq!(retired.status, 200, "{}", retired.body);
    let refused = scan(&app, &tok, &old).await;
    assert_eq!(refused.body["error"]["code"], "code_revoked");
    assert_eq!(
        scan(&app, &tok, new.as_str().unwrap_or("")).await.status,
        200
    );
    let jwks = app
        .send(app.client.get(app.url("/.well-known/jwks.json")))
        .await;
    assert_eq!(jwks.body["keys"].as_array().map(Vec::len), Some(1));
    let active = rotated.body["keys"][1]["kid"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let again = app
        .post(&format!("/api/v1/keys/{active}/retire"), &admin, &json!({}))
        .await;
    assert_eq!(again.status, 409, "the active key cannot be retired");
}

async fn a_code_verifies_offline_with_the_published_keys(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let jwks = app
        .send(app.client.get(app.url("/.well-known/jwks.json")))
        .await;
    let key = &jwks.body["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );

    let token = code.rsplit("/s/").next().unwrap_or("");
    let header = jsonwebtoken::decode_header(token).unwrap_or_else(|e| panic!("{e}"));
    let decoding = jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .unwrap_or_else(|e| panic!("offline verification: {e}"))
        .claims;

    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    assert_eq!(claims["v"], "S1");
    assert_eq!(claims["g"], "北门");
}

async fn a_one_way_code_fixes_the_direction_and_refuses_the_other(app: TestApp) {
    app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let (tok, _) = app.resident("19900000001").await;
    let exit = app
        .post(
            "/api/v1/venues/S1/codes",
            &admin,
            &json!({"gate": "北门", "direction": "out"}),
        )
        .await;
    assert_eq!(exit.status, 201, "{}", exit.body);
    let code = exit.body["code"].as_str().unwrap_or("").to_owned();

    let wrong = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": code, "direction": "in"}),
        )
        .await;
    let plain = app
        .post("/api/v1/scans", &tok, &json!({"code": code}))
        .await;

    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.body["error"]["code"], "direction_mismatch");
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_eq!(
        plain.body["direction"], "out",
        "the code's direction, not a toggle"
    );
}

async fn an_offline_scan_made_inside_an_event_window_counts_when_it_arrives_later(app: TestApp) {
    app.venue("S1", "shop").await;
    let (tok, _) = app.resident("19900000001").await;
    let past = event_code(&app, -180, -60).await;
    let code = past["code"].as_str().unwrap_or("").to_owned();

    let inside = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": code, "direction": "in",
                    "client_time": (Utc::now() - Duration::minutes(120)).to_rfc3339()}),
        )
        .await;
    let after = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": code, "direction": "out",
                    "client_time": (Utc::now() - Duration::minutes(30)).to_rfc3339()}),
        )
        .await;

    assert_eq!(inside.status, 200, "{}", inside.body);
    assert_eq!(after.body["error"]["code"], "code_expired");
}

async fn concurrent_rotations_and_changes_are_all_kept(app: TestApp) {
    app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let empty = json!({});
    let rotate = || app.post("/api/v1/venues/S1/codes/rotate", &admin, &empty);
    let patch = app.send(
        app.client
            .patch(app.url("/api/v1/venues/S1"))
            .bearer_auth(&admin)
            .json(&json!({"address": "翠屏路9号"})),
    );

    let (rotations, patched) =
        futures::future::join(futures::future::join_all((0..10).map(|_| rotate())), patch).await;

    assert!(rotations.iter().all(|a| a.status == 200));
    assert_eq!(patched.status, 200, "{}", patched.body);
    let venue = app.get("/api/v1/venues/S1", &admin).await.body;
    assert_eq!(venue["code_version"], 11, "every rotation counts");
    assert_eq!(
        venue["address"], "翠屏路9号",
        "the change made meanwhile is kept"
    );
}

crate::on_both_backends!(
    an_offline_scan_made_inside_an_event_window_counts_when_it_arrives_later,
    concurrent_rotations_and_changes_are_all_kept,
    a_one_way_code_fixes_the_direction_and_refuses_the_other,
    rotating_a_venues_codes_revokes_its_old_posters,
    a_gate_taken_away_and_added_back_does_not_bring_its_old_posters_back,
    an_event_code_is_accepted_only_within_its_window,
    a_rotated_signing_key_keeps_old_posters_until_it_is_retired,
    a_code_verifies_offline_with_the_published_keys,
);

#[tokio::test]
async fn a_live_code_works_now_and_answers_code_expired_after_two_periods() {
    let app = spawn_app_with(Backend::Embedded, |s| s.codes.live_refresh_seconds = 1).await;
    app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let (tok, _) = app.resident("19900000001").await;

    let live = app
        .get(
            "/api/v1/venues/S1/live-code?gate=%E5%8D%97%E9%97%A8",
            &admin,
        )
        .await;
    let code = live.body["code"].as_str().unwrap_or("").to_owned();
    let fresh = scan(&app, &tok, &code).await;
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let stale = scan(&app, &tok, &code).await;

    assert_eq!(live.status, 200, "{}", live.body);
    assert!(live.body["refresh_seconds"]
        .as_u64()
        .is_some_and(|s| s <= 1));
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(fresh.body["gate"], "南门");
    assert_eq!(stale.status, 422);
    assert_eq!(stale.body["error"]["code"], "code_expired");
    let fresh_code = app.get("/api/v1/venues/S1/live-code", &admin).await.body["code"].clone();
    let backdated = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": fresh_code, "direction": "in",
                    "client_time": (Utc::now() - Duration::hours(5)).to_rfc3339()}),
        )
        .await;
    assert_eq!(
        backdated.body["error"]["code"], "code_not_yet_valid",
        "no visit before the code existed"
    );
}
