//! Household check-in: one phone scans for members of its household, each of whom gets their
//! own visit (and their own fever check); anyone outside the household refuses the whole scan.

use serde_json::json;

use crate::helpers::{ago, TestApp};

async fn one_scan_checks_a_household_of_three_in_and_out_and_each_gets_a_visit(app: TestApp) {
    let shop = app.venue("S1", "shop").await;
    app.venue("C1", "residential_compound").await;
    app.import_residents(
        "RA,付秀,19900000901,C1,1栋,402,H1,\n\
         RK,付小宝,19900000902,C1,1栋,402,H1,\n\
         RE,付奶奶,19900000903,C1,1栋,402,H1,\n\
         RG,付爷爷,19900000904,C1,1栋,402,H1,\n\
         RN,邻居,19900000905,C1,1栋,401,H2,\n",
    )
    .await;
    let (tok, _) = app.resident("19900000901").await;
    let scan = |direction: &str, members: serde_json::Value, minutes: i64| {
        let body = json!({"code": shop, "direction": direction, "members": members,
                          "client_time": ago(minutes).to_rfc3339()});
        let (app, tok) = (&app, tok.clone());
        async move { app.post("/api/v1/scans", &tok, &body).await }
    };

    let stranger = scan("in", json!([{"resident_id": "RN"}]), 60).await;
    let scanner = scan("in", json!([{"resident_id": "RA"}]), 60).await;
    let entering = scan(
        "in",
        json!([{"resident_id": "RK", "temperature_c": 36.5},
               {"resident_id": "RE", "temperature_c": 38.2},
               {"resident_id": "RG"}]),
        60,
    )
    .await;
    let leaving = scan(
        "out",
        json!([{"resident_id": "RK"}, {"resident_id": "RG"}]),
        30,
    )
    .await;

    assert_eq!(stranger.status, 400, "{}", stranger.body);
    assert_eq!(stranger.body["error"]["code"], "invalid_input");
    assert_eq!(scanner.status, 400, "{}", scanner.body);
    assert_eq!(
        scanner.body["error"]["message"],
        "members: RA is the scanner, whose own scan this is"
    );
    assert_eq!(entering.status, 200, "{}", entering.body);
    let decided: Vec<(String, String)> = entering.body["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["resident_id"].as_str().unwrap_or_default().to_owned(),
                m["decision"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        decided,
        vec![
            pair("RK", "admitted"),
            pair("RE", "denied"),
            pair("RG", "admitted")
        ]
    );
    assert_eq!(entering.body["members"][1]["reason"], "fever");
    assert_eq!(leaving.status, 200, "{}", leaving.body);
    // The refused scan recorded nothing: one visit each, none for the feverish grandmother.
    for (who, n) in [("RA", 1), ("RK", 1), ("RG", 1), ("RE", 0), ("RN", 0)] {
        let visits = app.visits_of(who).await;
        assert_eq!(visits.len(), n, "{who}: {visits:?}");
        if n == 1 {
            assert_eq!(visits[0]["closed_by"], "check_out", "{who}: {visits:?}");
        }
    }
}

/// The household's retry: the same key with other members is refused; a scanner turned away
/// brings nobody in; members go the scanner's way and carry their own watch tags.
async fn a_household_scan_is_idempotent_as_a_whole_and_goes_one_way(app: TestApp) {
    let shop = app.venue("S1", "shop").await;
    app.venue("C1", "residential_compound").await;
    app.import_residents(
        "RA,付秀,19900000911,C1,1栋,402,H1,\n\
         RK,付小宝,19900000912,C1,1栋,402,H1,\n\
         RE,付奶奶,19900000913,C1,1栋,402,H1,hubei_return\n",
    )
    .await;
    let (tok, _) = app.resident("19900000911").await;
    let (kid, _) = app.resident("19900000912").await;
    let post = |body: serde_json::Value| {
        let (app, tok) = (&app, tok.clone());
        async move { app.post("/api/v1/scans", &tok, &body).await }
    };
    // The child is already inside; the parent brings the grandmother and the child along.
    app.scan_at(&kid, &shop, "in", ago(90)).await;

    let hot = post(
        json!({"code": shop, "temperature_c": 38.5, "client_time": ago(80).to_rfc3339(),
                          "members": [{"resident_id": "RE"}]}),
    )
    .await;
    let first = post(
        json!({"code": shop, "client_time": ago(60).to_rfc3339(), "idempotency_key": "k1",
                            "members": [{"resident_id": "RE"}, {"resident_id": "RK"}]}),
    )
    .await;
    let again = post(
        json!({"code": shop, "client_time": ago(60).to_rfc3339(), "idempotency_key": "k1",
                            "members": [{"resident_id": "RE"}, {"resident_id": "RK"}]}),
    )
    .await;
    let other = post(
        json!({"code": shop, "client_time": ago(60).to_rfc3339(), "idempotency_key": "k1",
                            "members": [{"resident_id": "RK"}]}),
    )
    .await;

    assert_eq!(hot.body["decision"], "denied", "{}", hot.body);
    assert!(hot.body.get("members").is_none(), "{}", hot.body);
    assert_eq!(
        app.visits_of("RE").await.len(),
        1,
        "only the household scan's visit"
    );
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["direction"], "in");
    assert_eq!(first.body["members"][0]["direction"], "in");
    assert_eq!(
        first.body["members"][1]["direction"], "in",
        "the scanner's way"
    );
    assert_eq!(first.body["members"][0]["watch"], json!(["hubei_return"]));
    assert_eq!(again.body, first.body, "a retry gets the first answer");
    assert_eq!(other.status, 409, "{}", other.body);
    assert_eq!(other.body["error"]["code"], "idempotency_key_reused");
}

crate::on_both_backends!(
    one_scan_checks_a_household_of_three_in_and_out_and_each_gets_a_visit,
    a_household_scan_is_idempotent_as_a_whole_and_goes_one_way,
);

/// An offline phone's retry that arrives after the `client_time` window has passed still gets
/// the answer first given, not `client_time_out_of_range`.
async fn a_retry_after_the_time_window_gets_the_first_answer(backend: crate::helpers::Backend) {
    let start = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0)
        .unwrap_or_else(chrono::Utc::now);
    let clock = checkin::clock::ManualClock::starting_at(start);
    let app =
        crate::helpers::spawn_app_with_clock(backend, std::sync::Arc::new(clock.clone()), |_| {})
            .await;
    let shop = app.venue("S1", "shop").await;
    let (tok, _) = app.resident("19900000921").await;
    let body = json!({"code": shop, "client_time": (start - chrono::Duration::hours(23)).to_rfc3339(),
                      "idempotency_key": "offline-1"});

    let first = app.post("/api/v1/scans", &tok, &body).await;
    clock.advance(chrono::Duration::hours(2));
    let retry = app.post("/api/v1/scans", &tok, &body).await;
    let fresh = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": shop, "client_time": (start - chrono::Duration::hours(23)).to_rfc3339()}),
        )
        .await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.body, first.body);
    assert_eq!(
        fresh.status, 422,
        "without the key it is a new scan, now too old"
    );
}

#[tokio::test]
async fn embedded_a_retry_after_the_time_window_gets_the_first_answer() {
    a_retry_after_the_time_window_gets_the_first_answer(crate::helpers::Backend::Embedded).await;
}

#[tokio::test]
async fn redis_a_retry_after_the_time_window_gets_the_first_answer() {
    a_retry_after_the_time_window_gets_the_first_answer(crate::helpers::Backend::Redis).await;
}
