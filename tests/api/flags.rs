//! Implausible-scan flags (issue 8): a person scanning across town minutes apart, and a burst
//! of check-ins at a closed shop, are flagged for admins; the scans themselves are admitted.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with_clock, Backend, TestApp};

/// 2020-02-17 04:00 in Shanghai: the apps' clock.
fn night() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2020-02-17T04:00:00+08:00")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn venue(app: &TestApp, admin: &str, body: Value) -> String {
    let a = app.post("/api/v1/venues", admin, &body).await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.body["codes"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn scans_across_town_minutes_apart_and_a_burst_at_a_closed_shop_are_flagged_not_denied(
    backend: Backend,
) {
    let clock = std::sync::Arc::new(checkin::clock::ManualClock::starting_at(night()));
    let app = spawn_app_with_clock(backend, clock, |_| {}).await;
    let admin = app.admin().await;
    // Two shops about 11 km apart, and a shop open 08:00 to 20:00.
    let a = venue(
        &app,
        &admin,
        json!({"id": "FA", "name": "东", "kind": "shop", "gates": ["门"],
        "location": {"lat": 26.4170, "lon": 103.2970}}),
    )
    .await;
    let b = venue(
        &app,
        &admin,
        json!({"id": "FB", "name": "北", "kind": "shop", "gates": ["门"],
        "location": {"lat": 26.5170, "lon": 103.2970}}),
    )
    .await;
    let shop = venue(
        &app,
        &admin,
        json!({"id": "FS", "name": "店", "kind": "shop", "gates": ["门"],
        "opening_hours": {"opens": "08:00", "closes": "20:00"}}),
    )
    .await;
    let bad = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"name": "错", "kind": "shop", "gates": ["门"],
            "location": {"lat": 91.0, "lon": 0.0}}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    let at = |minutes: i64| (night() - Duration::minutes(60 - minutes)).to_rfc3339();
    let (walker, _) = app.resident("19900000931").await;
    let out_a = app
        .post(
            "/api/v1/scans",
            &walker,
            &json!({"code": a, "direction": "out", "client_time": at(0)}),
        )
        .await;
    let in_b = app
        .post(
            "/api/v1/scans",
            &walker,
            &json!({"code": b, "direction": "in", "client_time": at(2)}),
        )
        .await;
    assert_eq!(out_a.body["decision"], "admitted", "{}", out_a.body);
    assert_eq!(
        in_b.body["decision"], "admitted",
        "a flag, not a denial: {}",
        in_b.body
    );
    for i in 0..5 {
        let (tok, _) = app.resident(&format!("1990000094{i}")).await;
        let s = app
            .post(
                "/api/v1/scans",
                &tok,
                &json!({"code": shop, "direction": "in",
                "client_time": at(10 + i)}),
            )
            .await;
        assert_eq!(s.body["decision"], "admitted", "{}", s.body);
    }

    // Across town again, by way of a venue with opening hours and no location: still flagged.
    let always = venue(
        &app,
        &admin,
        json!({"id": "FH", "name": "夜", "kind": "shop",
        "gates": ["门"], "opening_hours": {"opens": "00:00", "closes": "23:59"}}),
    )
    .await;
    let (runner, _) = app.resident("19900000932").await;
    for (code, direction, minute) in [(&a, "out", 30), (&always, "in", 31), (&b, "in", 32)] {
        let s = app
            .post(
                "/api/v1/scans",
                &runner,
                &json!({"code": code, "direction": direction,
                "client_time": at(minute)}),
            )
            .await;
        assert_eq!(s.body["decision"], "admitted", "{}", s.body);
    }

    let window = [("from", at(-30)), ("to", night().to_rfc3339())];
    let listed = app
        .send(
            app.client
                .get(app.url("/api/v1/flags"))
                .query(&window)
                .bearer_auth(&admin),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let flags = listed.body["flags"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<&str> = flags.iter().filter_map(|f| f["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "implausible_travel",
            "off_hours_burst",
            "implausible_travel"
        ],
        "{flags:?}"
    );
    assert_eq!(flags[0]["from_venue"], "FA");
    assert_eq!(flags[0]["to_venue"], "FB");
    assert_eq!(flags[1]["venue_id"], "FS");
    assert_eq!(flags[1]["check_ins"], 5);
    // A resident may not read them.
    let refused = app
        .send(
            app.client
                .get(app.url("/api/v1/flags"))
                .bearer_auth(&walker),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // The venue shows what was recorded.
    let shown = app.get("/api/v1/venues/FS", &admin).await;
    assert_eq!(
        shown.body["opening_hours"],
        json!({"opens": "08:00", "closes": "20:00"})
    );

    // Removed with null; a location with a field it does not have is refused.
    let cleared = app
        .send(
            app.client
                .patch(app.url("/api/v1/venues/FS"))
                .bearer_auth(&admin)
                .json(&json!({"opening_hours": null})),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert!(
        cleared.body.get("opening_hours").is_none(),
        "{}",
        cleared.body
    );
    let extra = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"name": "多", "kind": "shop", "gates": ["门"],
            "location": {"lat": 26.4, "lon": 103.3, "alt": 2000}}),
        )
        .await;
    assert_eq!(extra.status, 400, "{}", extra.body);

    // An import may record both too; a row with a bad one is refused alone, and a file with
    // one column of a pair refuses every row.
    let csv = "code,name,kind,community,address,gates,households,lat,lon,opens,closes\n\
               FM,夜市,market,,,东门,,26.42,103.30,18:00,02:00\n\
               FX,错,shop,,,东门,,26.42,,,\n";
    let imported = app.import_csv("/api/v1/venues/import", csv).await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    let errors = imported.body["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(errors.len(), 1, "{}", imported.body);
    let market = app.get("/api/v1/venues/FM", &admin).await;
    assert_eq!(
        market.body["location"],
        json!({"lat": 26.42, "lon": 103.30})
    );
    assert_eq!(
        market.body["opening_hours"],
        json!({"opens": "18:00", "closes": "02:00"})
    );
    let half = "code,name,kind,community,address,gates,households,lat\n\
                FY,半,shop,,,东门,,26.42\n";
    let imported = app.import_csv("/api/v1/venues/import", half).await;
    let errors = imported.body["errors"].as_array().map(Vec::len);
    assert_eq!(errors, Some(1), "{}", imported.body);
}

crate::for_each_backend!(
    scans_across_town_minutes_apart_and_a_burst_at_a_closed_shop_are_flagged_not_denied,
);
