//! The guard view: a gate's newest scans, names masked, with household and decision.

use crate::helpers::{ago, TestApp};

async fn a_guard_sees_a_gates_newest_scans_with_masked_names(app: TestApp) {
    let north = app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let south = app.get("/api/v1/venues/S1", &admin).await.body["codes"][1]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.import_residents("RA,付秀英,19900000971,,,,H7,\n").await;
    let (known, _) = app.resident("19900000971").await;
    let (stranger, _) = app.resident("19900000972").await;
    app.scan_at(&known, &north, "in", ago(30)).await;
    app.scan_at(&stranger, &north, "in", ago(20)).await;
    app.scan_at(&known, &south, "out", ago(10)).await;

    let gate = app
        .get(
            "/api/v1/venues/S1/recent-scans?gate=%E5%8C%97%E9%97%A8",
            &admin,
        )
        .await;
    let all = app.get("/api/v1/venues/S1/recent-scans", &admin).await;
    let bad = app
        .get("/api/v1/venues/S1/recent-scans?limit=0", &admin)
        .await;
    let audit = app.get("/api/v1/audit", &admin).await;

    assert_eq!(gate.status, 200, "{}", gate.body);
    let seen: Vec<(Option<&str>, Option<&str>, &str)> = gate.body["scans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["name"].as_str(),
                s["household"].as_str(),
                s["direction"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![(None, None, "in"), (Some("付*"), Some("H7"), "in")]
    );
    assert_eq!(all.body["scans"].as_array().map(Vec::len), Some(3));
    assert_eq!(all.body["scans"][0]["gate"], "南门", "newest first");
    assert_eq!(bad.status, 400);
    let reads = audit.body["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["action"] == "venue.recent_scans")
        .count();
    assert_eq!(reads, 2, "the two answered reads are audited");
}

async fn a_guard_account_reads_the_guard_view_and_may_not_trace_or_manage_venues(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let created = app
        .post(
            "/api/v1/staff",
            &admin,
            &serde_json::json!({"username": "gate1", "password": "a-long-password-1",
                                "role": "guard"}),
        )
        .await;
    let login = app.login("gate1", "a-long-password-1").await;
    let guard = login.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (phone, rid) = app.resident("19900000973").await;
    app.scan_at(&phone, &code, "in", ago(5)).await;

    let recent = app.get("/api/v1/venues/S1/recent-scans", &guard).await;
    let trace = app
        .get(&format!("/api/v1/trace/residents/{rid}/visits"), &guard)
        .await;
    let venue = app.get("/api/v1/venues/S1", &guard).await;
    let alerts = app.get("/api/v1/alerts", &guard).await;

    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(login.body["role"], "guard");
    assert_eq!(recent.status, 200, "{}", recent.body);
    assert_eq!(recent.body["scans"].as_array().map(Vec::len), Some(1));
    for refused in [&trace, &venue, &alerts] {
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(refused.body["error"]["code"], "forbidden");
    }
}

async fn a_quiet_gates_scans_are_found_past_the_venues_newest_hundred(app: TestApp) {
    let north = app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let south = app.get("/api/v1/venues/S1", &admin).await.body["codes"][1]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (person, _) = app.resident("19900000981").await;
    app.scan_at(&person, &south, "in", ago(200)).await;
    app.scan_at(&person, &south, "out", ago(199)).await;
    // 120 scans at the busy gate since.
    for i in 0..120 {
        let direction = if i % 2 == 0 { "in" } else { "out" };
        app.scan_at(&person, &north, direction, ago(150 - i)).await;
    }

    let quiet = app
        .get(
            "/api/v1/venues/S1/recent-scans?gate=%E5%8D%97%E9%97%A8&limit=5",
            &admin,
        )
        .await;

    assert_eq!(quiet.status, 200, "{}", quiet.body);
    let directions: Vec<&str> = quiet.body["scans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["direction"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(directions, vec!["out", "in"], "{}", quiet.body);
}

async fn an_unknown_gate_is_a_404_in_the_guard_view_as_for_its_live_code(app: TestApp) {
    app.venue("S1", "shop").await;
    let admin = app.admin().await;
    // 西门 is not one of S1's gates (北门, 南门).
    let unknown = "gate=%E8%A5%BF%E9%97%A8";

    let live = app
        .get(&format!("/api/v1/venues/S1/live-code?{unknown}"), &admin)
        .await;
    let recent = app
        .get(&format!("/api/v1/venues/S1/recent-scans?{unknown}"), &admin)
        .await;

    assert_eq!(live.status, 404, "{}", live.body);
    assert_eq!(recent.status, 404, "{}", recent.body);
    assert_eq!(recent.body["error"]["code"], live.body["error"]["code"]);
    assert_eq!(recent.body["error"]["code"], "not_found");
    let message = recent.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("西门"), "{message}");
    let known = app
        .get(
            "/api/v1/venues/S1/recent-scans?gate=%E5%8C%97%E9%97%A8",
            &admin,
        )
        .await;
    assert_eq!(known.status, 200, "{}", known.body);
}

crate::on_both_backends!(
    an_unknown_gate_is_a_404_in_the_guard_view_as_for_its_live_code,
    a_quiet_gates_scans_are_found_past_the_venues_newest_hundred,
    a_guard_sees_a_gates_newest_scans_with_masked_names,
    a_guard_account_reads_the_guard_view_and_may_not_trace_or_manage_venues,
);
