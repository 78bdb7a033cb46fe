//! The contract's visit rules, each pinned with hand-computed times, on both backends.

use chrono::Duration;
use serde_json::json;

use crate::helpers::{ago, time, Backend, TestApp};

async fn a_check_in_opens_a_visit_and_shows_in_presence(app: TestApp) {
    let code = app.venue("C1", "residential_compound").await;
    let (tok, rid) = app.resident("19900000001").await;
    let t = ago(30);

    let a = app.scan_at(&tok, &code, "in", t).await;

    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["decision"], "admitted");
    assert_eq!(a.body["venue"]["id"], "C1");
    assert_eq!(a.body["gate"], "北门");
    let p = app.presence("C1").await;
    assert_eq!(p["count"], 1);
    assert_eq!(p["people"][0]["resident_id"], rid.as_str());
    assert_eq!(time(&p["people"][0]["since"]), Some(t));
}

async fn a_duplicate_check_in_returns_the_same_visit(app: TestApp) {
    let code = app.venue("C1", "residential_compound").await;
    let (tok, rid) = app.resident("19900000001").await;

    let first = app.scan_at(&tok, &code, "in", ago(30)).await;
    let again = app.scan_at(&tok, &code, "in", ago(20)).await;

    assert_eq!(again.body["decision"], "admitted");
    assert_eq!(first.body["visit_id"], again.body["visit_id"]);
    let visits = app.visits_of(&rid).await;
    assert_eq!(visits.len(), 1, "{visits:?}");
    assert_eq!(time(&visits[0]["check_in"]), Some(ago(30)));
}

async fn a_check_in_elsewhere_closes_the_open_visit_at_its_time(app: TestApp) {
    let home = app.venue("C1", "residential_compound").await;
    let shop = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    let (t1, t2) = (ago(90), ago(40));

    let a = app.scan_at(&tok, &home, "in", t1).await;
    let b = app.scan_at(&tok, &shop, "in", t2).await;

    let visits = app.visits_of(&rid).await;
    assert_eq!(visits.len(), 2, "{visits:?}");
    assert_eq!(visits[0]["visit_id"], a.body["visit_id"]);
    assert_eq!(time(&visits[0]["check_out"]), Some(t2));
    assert_eq!(visits[0]["closed_by"], "next_check_in");
    assert_eq!(visits[1]["visit_id"], b.body["visit_id"]);
    assert!(visits[1]["check_out"].is_null());
    assert_eq!(app.presence("C1").await["count"], 0);
    assert_eq!(app.presence("S1").await["count"], 1);
}

async fn a_check_out_closes_the_open_visit(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;

    app.scan_at(&tok, &code, "in", ago(50)).await;
    let out = app.scan_at(&tok, &code, "out", ago(10)).await;

    assert_eq!(out.body["direction"], "out");
    let v = app.visits_of(&rid).await;
    assert_eq!(v.len(), 1);
    assert_eq!(time(&v[0]["check_in"]), Some(ago(50)));
    assert_eq!(time(&v[0]["check_out"]), Some(ago(10)));
    assert_eq!(v[0]["closed_by"], "check_out");
    assert_eq!(v[0]["gate_out"], "北门");
    assert_eq!(app.presence("S1").await["count"], 0);
}

async fn a_check_out_with_no_check_in_is_kept_with_an_inferred_start(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;

    let out = app.scan_at(&tok, &code, "out", ago(10)).await;

    assert_eq!(out.body["decision"], "admitted");
    let v = app.visits_of(&rid).await;
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0]["check_in"].is_null());
    assert_eq!(v[0]["start_inferred"], true);
    assert_eq!(v[0]["closed_by"], "check_out");
    assert_eq!(time(&v[0]["check_out"]), Some(ago(10)));
}

async fn a_visit_left_open_past_its_maximum_stay_is_closed_automatically(app: TestApp) {
    // A shop's maximum stay is 2 h: a check-in 5 h ago closed at check-in + 2 h.
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;

    app.scan_at(&tok, &code, "in", ago(300)).await;

    let v = app.visits_of(&rid).await;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["closed_by"], "auto");
    assert_eq!(
        time(&v[0]["check_out"]),
        Some(ago(300) + Duration::hours(2))
    );
    assert_eq!(app.presence("S1").await["count"], 0);
}

async fn a_venue_override_of_the_maximum_stay_is_used_for_the_auto_close(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let p = app
        .send(
            app.client
                .patch(app.url("/api/v1/venues/S1"))
                .bearer_auth(&admin)
                .json(&json!({"max_stay_minutes": 30})),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let (tok, rid) = app.resident("19900000001").await;

    app.scan_at(&tok, &code, "in", ago(60)).await;

    let v = app.visits_of(&rid).await;
    assert_eq!(v[0]["closed_by"], "auto");
    assert_eq!(time(&v[0]["check_out"]), Some(ago(30)));
}

async fn a_fever_check_in_is_denied_and_changes_no_visit(app: TestApp) {
    let home = app.venue("C1", "residential_compound").await;
    let shop = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    app.scan_at(&tok, &home, "in", ago(60)).await;

    let hot = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": shop, "direction": "in", "temperature_c": 37.3}),
        )
        .await;
    let fine = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": home, "direction": "in", "temperature_c": 37.2}),
        )
        .await;

    assert_eq!(hot.status, 200);
    assert_eq!(hot.body["decision"], "denied");
    assert_eq!(hot.body["reason"], "fever");
    assert!(hot.body.get("visit_id").is_none());
    assert_eq!(fine.body["decision"], "admitted");
    let v = app.visits_of(&rid).await;
    assert_eq!(
        v.len(),
        1,
        "the denied scan must not close or open a visit: {v:?}"
    );
    assert!(v[0]["check_out"].is_null());
    assert_eq!(app.presence("S1").await["count"], 0);
}

async fn a_checkpoint_scan_is_a_pass_that_closes_no_other_visit(app: TestApp) {
    let home = app.venue("C1", "residential_compound").await;
    let gate = app.venue("K1", "checkpoint").await;
    let (tok, rid) = app.resident("19900000001").await;
    app.scan_at(&tok, &home, "in", ago(60)).await;

    let pass = app.scan_at(&tok, &gate, "in", ago(30)).await;

    assert_eq!(pass.body["decision"], "admitted");
    let v = app.visits_of(&rid).await;
    assert_eq!(v.len(), 2);
    assert!(v[0]["check_out"].is_null(), "home stays open: {v:?}");
    assert_eq!(v[1]["closed_by"], "pass");
    assert_eq!(v[1]["check_in"], v[1]["check_out"]);
    assert_eq!(time(&v[1]["check_in"]), Some(ago(30)));
}

async fn a_late_scan_replays_a_pass_as_a_pass_after_the_checkpoint_became_a_shop(app: TestApp) {
    let home = app.venue("C1", "residential_compound").await;
    let gate = app.venue("K1", "checkpoint").await;
    let shop = app.venue("S2", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    app.scan_at(&tok, &home, "in", ago(60)).await;
    app.scan_at(&tok, &gate, "in", ago(30)).await;
    let patched = app.patch_venue("K1", &json!({"kind": "shop"})).await;
    assert_eq!(patched.status, 200, "{}", patched.body);

    // Sent late (an offline phone): before the pass, which is applied again after it.
    let late = app.scan_at(&tok, &shop, "in", ago(40)).await;

    assert_eq!(late.status, 200, "{}", late.body);
    let v = app.visits_of(&rid).await;
    let at = |venue: &str| v.iter().find(|x| x["venue_id"] == venue).cloned();
    let pass = at("K1").unwrap_or_default();
    assert_eq!(pass["closed_by"], "pass", "{v:?}");
    assert_eq!(pass["check_in"], pass["check_out"], "{v:?}");
    let s2 = at("S2").unwrap_or_default();
    assert!(
        s2["check_out"].is_null(),
        "a pass closes no other visit: {v:?}"
    );
    assert_eq!(app.presence("S2").await["count"], 1);
}

async fn a_late_scan_replays_a_shop_visit_as_a_visit_after_the_shop_became_a_checkpoint(
    app: TestApp,
) {
    let home = app.venue("C1", "residential_compound").await;
    let shop = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    app.scan_at(&tok, &shop, "in", ago(60)).await;
    app.scan_at(&tok, &shop, "out", ago(50)).await;
    let patched = app.patch_venue("S1", &json!({"kind": "checkpoint"})).await;
    assert_eq!(patched.status, 200, "{}", patched.body);

    let late = app.scan_at(&tok, &home, "in", ago(70)).await;

    assert_eq!(late.status, 200, "{}", late.body);
    let v = app.visits_of(&rid).await;
    let at_shop: Vec<_> = v.iter().filter(|x| x["venue_id"] == "S1").collect();
    assert_eq!(at_shop.len(), 1, "{v:?}");
    assert_eq!(at_shop[0]["closed_by"], "check_out", "{v:?}");
    assert_eq!(time(&at_shop[0]["check_in"]), Some(ago(60)));
    assert_eq!(time(&at_shop[0]["check_out"]), Some(ago(50)));
}

async fn a_retried_scan_with_the_same_idempotency_key_returns_the_first_answer(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    let body = json!({"code": code, "direction": "in", "idempotency_key": "k-1",
                      "client_time": ago(5).to_rfc3339()});

    let first = app.post("/api/v1/scans", &tok, &body).await;
    let retry = app.post("/api/v1/scans", &tok, &body).await;

    assert_eq!(first.status, 200);
    assert_eq!(first.body, retry.body);
    assert_eq!(app.visits_of(&rid).await.len(), 1);
}

async fn a_retry_gets_its_first_answer_even_when_the_venue_can_no_longer_be_read(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, _) = app.resident("19900000001").await;
    let body = json!({"code": code, "direction": "in", "idempotency_key": "k-1"});
    let first = app.post("/api/v1/scans", &tok, &body).await;
    assert_eq!(first.status, 200);

    // The venue's stored record is damaged behind the service's back.
    let garbage = r#"{"not": "a venue"}"#;
    match app.backend {
        Backend::Embedded => {
            let db = app
                .data_dir
                .path()
                .join(checkin::storage::embedded::DB_FILE);
            let conn = rusqlite::Connection::open(db).expect("opens the database");
            conn.execute("UPDATE venues SET json = ?1 WHERE id = 'S1'", [garbage])
                .expect("updates the venue");
        }
        Backend::Redis | Backend::Cluster => {
            let url = match app.backend {
                Backend::Cluster => crate::helpers::cluster_url(),
                _ => crate::helpers::redis_url(),
            };
            let keys = checkin::storage::redis::keys::Keys::new(&app.prefix).expect("a prefix");
            let venue = checkin::domain::VenueId::parse("S1").expect("a venue id");
            let key = keys.venue(&venue);
            let nodes = checkin::storage::redis::conn::cluster_nodes(&url)
                .expect("a valid URL")
                .unwrap_or_else(|| vec![url.clone()]);
            // On a cluster only the key's master takes the write; the others refuse it.
            for node in nodes {
                let mut con = ::redis::Client::open(node)
                    .and_then(|c| c.get_connection())
                    .expect("connects");
                let _: ::redis::RedisResult<()> =
                    ::redis::cmd("SET").arg(&key).arg(garbage).query(&mut con);
            }
        }
    }
    let retry = app.post("/api/v1/scans", &tok, &body).await;
    let fresh = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": code, "direction": "out", "idempotency_key": "k-2"}),
        )
        .await;

    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(first.body, retry.body);
    assert_eq!(
        fresh.status, 500,
        "a new scan cannot be checked: {}",
        fresh.body
    );
}

async fn the_same_idempotency_key_with_another_body_is_refused(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    app.post(
        "/api/v1/scans",
        &tok,
        &json!({"code": code, "direction": "in", "idempotency_key": "k-1"}),
    )
    .await;

    let other = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": code, "direction": "out", "idempotency_key": "k-1"}),
        )
        .await;

    assert_eq!(other.status, 409);
    assert_eq!(other.body["error"]["code"], "idempotency_key_reused");
    let v = app.visits_of(&rid).await;
    assert!(
        v[0]["check_out"].is_null(),
        "the refused scan closed the visit: {v:?}"
    );
}

async fn two_concurrent_check_ins_by_one_person_leave_one_open_visit(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    let body = json!({"code": code, "direction": "in"});

    let answers =
        futures::future::join_all((0..8).map(|_| app.post("/api/v1/scans", &tok, &body))).await;

    assert!(answers.iter().all(|a| a.status == 200), "all answered");
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|a| a.body["visit_id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every scan names the one visit: {ids:?}");
    assert_eq!(app.visits_of(&rid).await.len(), 1);
    assert_eq!(app.presence("S1").await["count"], 1);
}

async fn a_scan_without_a_direction_checks_in_then_out(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, _) = app.resident("19900000001").await;

    let first = app
        .post("/api/v1/scans", &tok, &json!({"code": code}))
        .await;
    let second = app
        .post("/api/v1/scans", &tok, &json!({"code": code}))
        .await;

    assert_eq!(first.body["direction"], "in");
    assert_eq!(second.body["direction"], "out");
    assert_eq!(first.body["visit_id"], second.body["visit_id"]);
}

crate::on_both_backends!(
    a_check_in_opens_a_visit_and_shows_in_presence,
    a_duplicate_check_in_returns_the_same_visit,
    a_check_in_elsewhere_closes_the_open_visit_at_its_time,
    a_check_out_closes_the_open_visit,
    a_check_out_with_no_check_in_is_kept_with_an_inferred_start,
    a_visit_left_open_past_its_maximum_stay_is_closed_automatically,
    a_venue_override_of_the_maximum_stay_is_used_for_the_auto_close,
    a_fever_check_in_is_denied_and_changes_no_visit,
    a_checkpoint_scan_is_a_pass_that_closes_no_other_visit,
    a_late_scan_replays_a_pass_as_a_pass_after_the_checkpoint_became_a_shop,
    a_late_scan_replays_a_shop_visit_as_a_visit_after_the_shop_became_a_checkpoint,
    a_retried_scan_with_the_same_idempotency_key_returns_the_first_answer,
    a_retry_gets_its_first_answer_even_when_the_venue_can_no_longer_be_read,
    the_same_idempotency_key_with_another_body_is_refused,
    two_concurrent_check_ins_by_one_person_leave_one_open_visit,
    a_scan_without_a_direction_checks_in_then_out,
);
