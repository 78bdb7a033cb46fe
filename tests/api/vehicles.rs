//! Vehicle passes at checkpoints, and the guard role that records them.

use serde_json::{json, Value};

use crate::helpers::TestApp;

const PLATE_PATH: &str = "/api/v1/trace/vehicles/云D12345/passes";

/// A let-through pass body with `passengers`.
pub(crate) fn pass_body(passengers: Value) -> Value {
    json!({
        "gate": "北门",
        "plate": "云D12345",
        "origin": {"province": "湖北", "city": "武汉"},
        "passenger_count": 3,
        "passengers": passengers,
        "decision": "let_through",
    })
}

fn three_passengers() -> Value {
    json!([
        {"name": "付秀英", "phone": "19900000801", "temperature_c": 36.5},
        {"name": "陆鹏", "phone": "199 0000 0802"},
        {"name": "小明"},
    ])
}

fn strs<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x[key].as_str())
        .collect()
}

async fn a_pass_with_three_passengers_gives_the_two_with_phones_visits_that_tracers_find(
    app: TestApp,
) {
    app.venue("K1", "checkpoint").await;
    app.import_residents("R1,付秀英,19900000801,,,,,\n").await;
    let guard = app.staff("guard1", "guard").await;
    let admin = app.admin().await;

    let made = app
        .post(
            "/api/v1/venues/K1/vehicle-passes",
            &guard,
            &pass_body(three_passengers()),
        )
        .await;

    assert_eq!(made.status, 201, "{}", made.body);
    let visits = &made.body["passenger_visits"];
    assert_eq!(strs(visits, "decision"), vec!["admitted", "admitted"]);
    assert_eq!(made.body["officer"], "guard1");
    assert_eq!(made.body["plate"], "云D12345");
    let known = visits[0]["resident_id"].as_str().unwrap_or_default();
    let new = visits[1]["resident_id"].as_str().unwrap_or_default();
    assert_eq!(known, "R1", "a registered phone is the registered person");
    assert!(
        new.starts_with('U'),
        "an unknown phone is a new person: {new}"
    );
    let theirs = app.visits_of(known).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["venue_id"], "K1");
    assert_eq!(theirs[0]["closed_by"], "pass");
    assert_eq!(theirs[0]["visit_id"], visits[0]["visit_id"]);
    let at_k1 = app.get("/api/v1/trace/venues/K1/visits", &admin).await;
    assert_eq!(at_k1.body["visits"].as_array().map(Vec::len), Some(2));
    let contacts = app
        .get(&format!("/api/v1/trace/residents/{known}/contacts"), &admin)
        .await;
    assert_eq!(
        strs(&contacts.body["contacts"], "resident_id"),
        vec![new],
        "fellow passengers share the pass's time: {}",
        contacts.body
    );
    let searched = app
        .get("/api/v1/trace/vehicles/云d·12345/passes", &admin)
        .await;
    assert_eq!(searched.status, 200, "{}", searched.body);
    assert_eq!(
        strs(&searched.body["passes"], "id"),
        vec![made.body["id"].as_str().unwrap_or_default()]
    );
    assert_eq!(
        searched.body["passes"][0]["passengers"][1]["phone"],
        "19900000802"
    );
}

async fn a_turned_back_vehicle_needs_a_reason(app: TestApp) {
    app.venue("K1", "checkpoint").await;
    let guard = app.staff("guard1", "guard").await;
    let mut body = pass_body(json!([]));
    body["decision"] = json!("turned_back");

    let without = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    body["reason"] = json!("来自疫区，劝返");
    let with = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;

    assert_eq!(without.status, 422, "{}", without.body);
    assert_eq!(without.body["error"]["code"], "reason_required");
    assert_eq!(with.status, 201, "{}", with.body);
    assert_eq!(with.body["decision"], "turned_back");
    assert_eq!(with.body["reason"], "来自疫区，劝返");
}

async fn a_bad_plate_is_refused_naming_the_field_and_stores_nothing(app: TestApp) {
    app.venue("K1", "checkpoint").await;
    let guard = app.staff("guard1", "guard").await;
    let mut body = pass_body(three_passengers());
    body["plate"] = json!("ABC-123");

    let refused = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    let listed = app.get("/api/v1/venues/K1/vehicle-passes", &guard).await;
    let store = app.store().await;
    let phone = checkin::domain::Phone::parse("19900000801").expect("a valid phone");

    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "invalid_input");
    let message = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.starts_with("plate:"), "{message}");
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["passes"], json!([]));
    assert!(
        store
            .resident_by_phone(&phone)
            .await
            .expect("reads")
            .is_none(),
        "no passenger was created"
    );
}

async fn a_pass_is_recorded_only_at_a_checkpoint_and_one_of_its_gates(app: TestApp) {
    app.venue("S1", "shop").await;
    app.venue("K1", "checkpoint").await;
    let guard = app.staff("guard1", "guard").await;
    let body = pass_body(json!([]));
    let mut west = body.clone();
    west["gate"] = json!("西门");

    let shop = app
        .post("/api/v1/venues/S1/vehicle-passes", &guard, &body)
        .await;
    let nowhere = app
        .post("/api/v1/venues/K9/vehicle-passes", &guard, &body)
        .await;
    let no_gate = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &west)
        .await;

    assert_eq!(shop.status, 422, "{}", shop.body);
    assert_eq!(shop.body["error"]["code"], "not_a_checkpoint");
    assert_eq!(nowhere.status, 404, "{}", nowhere.body);
    assert_eq!(no_gate.status, 400, "{}", no_gate.body);
    assert!(no_gate.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("gate:"));
}

async fn a_passenger_with_a_fever_raises_a_fever_alert_whatever_the_officer_decided(app: TestApp) {
    app.venue("K1", "checkpoint").await;
    let guard = app.staff("guard1", "guard").await;
    let admin = app.admin().await;
    let body = pass_body(json!([
        {"name": "陆鹏", "phone": "19900000802", "temperature_c": 38.2},
    ]));

    let made = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    let alerts = app.get("/api/v1/alerts", &admin).await;

    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["decision"], "let_through");
    let scan = &made.body["passenger_visits"][0];
    assert_eq!(scan["decision"], "denied");
    assert_eq!(scan["reason"], "fever");
    assert_eq!(scan["visit_id"], Value::Null);
    let listed = &alerts.body["alerts"];
    assert_eq!(strs(listed, "kind"), vec!["fever"], "{}", alerts.body);
    assert_eq!(listed[0]["resident_id"], scan["resident_id"]);
    assert_eq!(listed[0]["venue_id"], "K1");
    assert_eq!(listed[0]["temperature_c"], 38.2);
}

async fn a_plate_search_is_audited_and_given_as_csv_in_local_time(app: TestApp) {
    app.venue("K1", "checkpoint").await;
    let guard = app.staff("guard1", "guard").await;
    let tracer = app.staff("tracer1", "tracer").await;
    let admin = app.admin().await;
    let made = app
        .post(
            "/api/v1/venues/K1/vehicle-passes",
            &guard,
            &pass_body(three_passengers()),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);

    let json_answer = app.get(PLATE_PATH, &tracer).await;
    let csv = app
        .client
        .get(app.url(PLATE_PATH))
        .bearer_auth(&tracer)
        .header("accept", "text/csv")
        .send()
        .await
        .expect("the request is answered");
    let content_type = csv
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = csv.text().await.expect("a CSV body");
    let audit = app.get("/api/v1/audit", &admin).await;

    assert_eq!(json_answer.status, 200, "{}", json_answer.body);
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    assert!(text.starts_with('\u{feff}'), "a byte-order mark first");
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert!(
        lines[0].starts_with("pass_id,at,venue_id,gate,plate"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 4, "one row per listed passenger: {text}");
    let at = made.body["at"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .expect("a time");
    let local = at
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    assert!(lines[1].contains(&local), "{} has {local}", lines[1]);
    assert!(lines[1].contains("云D12345") && lines[1].contains("19900000801"));
    let reads: Vec<&str> = audit.body["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["action"] == "trace.vehicle_passes")
        .filter_map(|r| r["format"].as_str())
        .collect();
    assert_eq!(reads, vec!["json", "csv"]);
}

async fn a_guard_records_passes_and_reads_the_guard_view_and_nothing_more(app: TestApp) {
    app.venue("K1", "checkpoint").await;
    app.import_residents("R1,付秀英,19900000801,,,,,\n").await;
    let guard = app.staff("guard1", "guard").await;
    let tracer = app.staff("tracer1", "tracer").await;
    let made = app
        .post(
            "/api/v1/venues/K1/vehicle-passes",
            &guard,
            &pass_body(three_passengers()),
        )
        .await;

    let listed = app.get("/api/v1/venues/K1/vehicle-passes", &guard).await;
    let recent = app.get("/api/v1/venues/K1/recent-scans", &guard).await;
    let trace = app.get("/api/v1/trace/residents/R1/visits", &guard).await;
    let plate = app.get(PLATE_PATH, &guard).await;
    let venues = app.get("/api/v1/venues", &guard).await;
    let new_venue = app
        .post(
            "/api/v1/venues",
            &guard,
            &json!({"name": "新店", "kind": "shop", "gates": ["正门"]}),
        )
        .await;
    let residents = app
        .send(
            app.client
                .post(app.url("/api/v1/residents/import"))
                .bearer_auth(&guard)
                .header("content-type", "text/csv")
                .body("resident_id,name,phone,home,building,room,household,tags\n"),
        )
        .await;
    let tracer_records = app
        .post(
            "/api/v1/venues/K1/vehicle-passes",
            &tracer,
            &pass_body(json!([])),
        )
        .await;

    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        listed.body["passes"][0]["passengers"][0]["phone"], "199****0801",
        "a guard's list masks phones"
    );
    assert_eq!(recent.status, 200, "{}", recent.body);
    assert_eq!(recent.body["scans"].as_array().map(Vec::len), Some(2));
    for refused in [
        &trace,
        &plate,
        &venues,
        &new_venue,
        &residents,
        &tracer_records,
    ] {
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(refused.body["error"]["code"], "forbidden");
    }
}

async fn a_retry_with_the_same_idempotency_key_records_no_visit_twice(app: TestApp) {
    app.venue("K1", "checkpoint").await;
    let guard = app.staff("guard1", "guard").await;
    let mut body = pass_body(three_passengers());
    body["idempotency_key"] = json!("lane1-0001");

    let first = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    let again = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    body["passenger_count"] = json!(4);
    let changed = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    let listed = app.get("/api/v1/venues/K1/vehicle-passes", &guard).await;

    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(changed.status, 409, "{}", changed.body);
    assert_eq!(changed.body["error"]["code"], "idempotency_key_reused");
    assert_eq!(listed.body["passes"].as_array().map(Vec::len), Some(1));
    let rid = first.body["passenger_visits"][0]["resident_id"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(app.visits_of(rid).await.len(), 1);
}

async fn retries_sent_at_once_under_one_idempotency_key_store_one_pass(app: TestApp) {
    app.venue("K1", "checkpoint").await;
    let guard = app.staff("guard1", "guard").await;
    let mut body = pass_body(three_passengers());
    body["idempotency_key"] = json!("lane1-race");

    // A guard's phone retrying while its first request is still in flight.
    let sends = (0..10).map(|_| app.post("/api/v1/venues/K1/vehicle-passes", &guard, &body));
    let answers = futures::future::join_all(sends).await;
    let listed = app.get("/api/v1/venues/K1/vehicle-passes", &guard).await;

    for a in &answers {
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(
            a.body["id"], answers[0].body["id"],
            "every retry gets the one pass"
        );
    }
    assert_eq!(
        listed.body["passes"].as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.body
    );
    let rid = answers[0].body["passenger_visits"][0]["resident_id"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(app.visits_of(rid).await.len(), 1);
}

async fn a_reused_idempotency_key_is_refused_in_words_of_the_vehicle_pass(app: TestApp) {
    app.venue("K1", "checkpoint").await;
    let guard = app.staff("guard1", "guard").await;
    let mut body = pass_body(three_passengers());
    body["idempotency_key"] = json!("lane1-0002");
    let first = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    body["decision"] = json!("turned_back");
    body["reason"] = json!("no pass");

    let changed = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;

    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(changed.status, 409, "{}", changed.body);
    assert_eq!(changed.body["error"]["code"], "idempotency_key_reused");
    assert_eq!(
        changed.body["error"]["message"],
        "this idempotency_key was already used for a different vehicle pass"
    );
}

async fn the_same_idempotency_key_with_another_plate_is_a_new_pass_with_visits_of_its_own(
    app: TestApp,
) {
    app.venue("K1", "checkpoint").await;
    let guard = app.staff("guard1", "guard").await;
    let one = json!([{"name": "付秀英", "phone": "19900000801", "temperature_c": 36.5}]);
    let mut body = pass_body(one);
    body["passenger_count"] = json!(1);
    body["idempotency_key"] = json!("shift-1");

    let first = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    body["plate"] = json!("云D54321");
    let second = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    body["plate"] = json!("云D99999");
    body["passengers"][0]["temperature_c"] = json!(36.8);
    let third = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;

    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!(third.status, 201, "{}", third.body);
    let visit = |a: &crate::helpers::Answer| a.body["passenger_visits"][0]["visit_id"].clone();
    assert_ne!(
        visit(&first),
        visit(&second),
        "each vehicle's pass visit is its own"
    );
    assert_ne!(visit(&second), visit(&third));
    let rid = first.body["passenger_visits"][0]["resident_id"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(app.visits_of(rid).await.len(), 3);
}

async fn the_daily_report_counts_a_checkpoints_vehicles_people_out_of_province_and_turned_back(
    app: TestApp,
) {
    app.venue("K1", "checkpoint").await;
    let admin = app.admin().await;
    let vehicles = [
        ("云D12345", "云南省", "曲靖", 2, "let_through", None),
        (
            "鄂A54321",
            "湖北",
            "武汉",
            3,
            "turned_back",
            Some("来自疫区"),
        ),
        ("粤B11111", "广东省", "深圳", 1, "let_through", None),
    ];
    for (plate, province, city, count, decision, reason) in vehicles {
        let mut body = json!({
            "gate": "北门", "plate": plate, "origin": {"province": province, "city": city},
            "passenger_count": count, "passengers": [], "decision": decision,
        });
        if let Some(r) = reason {
            body["reason"] = json!(r);
        }
        let made = app
            .post("/api/v1/venues/K1/vehicle-passes", &admin, &body)
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
    }
    // From Hubei, one passenger with a phone: a pass scan, the checkpoint's one check-in.
    let with_phone = app
        .post(
            "/api/v1/venues/K1/vehicle-passes",
            &admin,
            &pass_body(json!([{"name": "付秀英", "phone": "19900000811"}])),
        )
        .await;
    assert_eq!(with_phone.status, 201, "{}", with_phone.body);

    let report = app
        .get("/api/v1/reports/daily?scope=venue:K1", &admin)
        .await;

    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(
        report.body["totals"]["checkpoint"],
        json!({"vehicles": 4, "people": 9, "out_of_province": 3, "turned_back": 1})
    );
    assert_eq!(report.body["totals"]["check_ins"], 1);
    assert_eq!(report.body["totals"]["people"], 1);
    let street = app.get("/api/v1/reports/daily", &admin).await;
    assert_eq!(
        street.body["totals"]["checkpoint"],
        report.body["totals"]["checkpoint"]
    );
}

crate::on_both_backends!(
    the_same_idempotency_key_with_another_plate_is_a_new_pass_with_visits_of_its_own,
    the_daily_report_counts_a_checkpoints_vehicles_people_out_of_province_and_turned_back,
    a_pass_with_three_passengers_gives_the_two_with_phones_visits_that_tracers_find,
    a_turned_back_vehicle_needs_a_reason,
    a_bad_plate_is_refused_naming_the_field_and_stores_nothing,
    a_pass_is_recorded_only_at_a_checkpoint_and_one_of_its_gates,
    a_passenger_with_a_fever_raises_a_fever_alert_whatever_the_officer_decided,
    a_plate_search_is_audited_and_given_as_csv_in_local_time,
    a_guard_records_passes_and_reads_the_guard_view_and_nothing_more,
    a_retry_with_the_same_idempotency_key_records_no_visit_twice,
    a_reused_idempotency_key_is_refused_in_words_of_the_vehicle_pass,
    retries_sent_at_once_under_one_idempotency_key_store_one_pass,
);
