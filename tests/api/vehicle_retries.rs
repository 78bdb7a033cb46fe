//! Retries of a vehicle pass under its idempotency key, on a clock the test moves (the
//! service's: the stores keep the passengers' scan records by the wall clock, so this
//! checks the passes, not the passengers' visits).

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use crate::helpers::{spawn_app_with_clock, Backend};
use crate::vehicles::pass_body;

async fn the_same_idempotency_key_after_its_48_hours_records_a_new_pass(backend: Backend) {
    let start = Utc
        .with_ymd_and_hms(2020, 2, 16, 8, 0, 0)
        .single()
        .unwrap_or_default();
    let clock = std::sync::Arc::new(checkin::clock::ManualClock::starting_at(start));
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    app.venue("K1", "checkpoint").await;
    let guard = app.staff("guard1", "guard").await;
    let mut body = pass_body(json!([
        {"name": "付秀英", "phone": "19900000801", "temperature_c": 36.5}
    ]));
    body["passenger_count"] = json!(1);
    body["idempotency_key"] = json!("lane1-0001");

    let first = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    clock.advance(Duration::hours(49));
    let later = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;
    let retried = app
        .post("/api/v1/venues/K1/vehicle-passes", &guard, &body)
        .await;

    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(later.status, 201, "{}", later.body);
    assert_ne!(
        later.body["id"], first.body["id"],
        "a key past its time is a new pass"
    );
    assert_eq!(
        retried.body["id"], later.body["id"],
        "whose own retry gets it back"
    );
}

crate::for_each_backend!(the_same_idempotency_key_after_its_48_hours_records_a_new_pass,);
