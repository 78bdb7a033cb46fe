//! `GET /api/v1/occupancy`: every venue's count of people inside, for the admin console.

use serde_json::Value;

use crate::helpers::{ago, TestApp};

/// The `(venue_id, count)` pairs of an occupancy answer.
fn counts(body: &Value) -> Vec<(String, u64)> {
    body["venues"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    (
                        v["venue_id"].as_str().unwrap_or_default().to_owned(),
                        v["count"].as_u64().unwrap_or(u64::MAX),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn occupancy_counts_everyone_inside_every_venue_as_presence_does(app: TestApp) {
    let shop = app.venue("S1", "shop").await;
    let market = app.venue("M1", "market").await;
    app.venue("E1", "shop").await;
    let (a, _) = app.resident("19900000001").await;
    let (b, _) = app.resident("19900000002").await;
    let (c, _) = app.resident("19900000003").await;
    let (d, _) = app.resident("19900000004").await;
    app.scan_at(&a, &shop, "in", ago(20)).await;
    app.scan_at(&b, &shop, "in", ago(15)).await;
    app.scan_at(&c, &market, "in", ago(10)).await;
    app.scan_at(&c, &market, "out", ago(5)).await;
    // A market's longest stay is 4 h: a check-in 5 h ago has been closed since.
    app.scan_at(&d, &market, "in", ago(300)).await;

    let admin = app.admin().await;
    let occupancy = app.get("/api/v1/occupancy", &admin).await;

    assert_eq!(occupancy.status, 200, "{}", occupancy.body);
    assert_eq!(
        counts(&occupancy.body),
        vec![("E1".into(), 0), ("M1".into(), 0), ("S1".into(), 2)]
    );
    let s1 = &occupancy.body["venues"][2];
    assert_eq!(s1["name"], "测试S1");
    assert_eq!(s1["kind"], "shop");
    assert_eq!(
        s1["count"],
        app.presence("S1").await["count"],
        "the same count as the venue's presence"
    );
    assert!(occupancy.body["at"].is_string());
}

async fn occupancy_is_for_admins_only(app: TestApp) {
    let tracer = app.staff("tracer1", "tracer").await;
    let (resident, _) = app.resident("19900000001").await;

    let as_tracer = app.get("/api/v1/occupancy", &tracer).await;
    let as_resident = app.get("/api/v1/occupancy", &resident).await;
    let anonymous = app.get("/api/v1/occupancy", "").await;

    assert_eq!(as_tracer.status, 403, "{}", as_tracer.body);
    assert_eq!(as_tracer.body["error"]["code"], "forbidden");
    assert_eq!(as_resident.status, 403);
    assert_eq!(anonymous.status, 401);
}

crate::on_both_backends!(
    occupancy_counts_everyone_inside_every_venue_as_presence_does,
    occupancy_is_for_admins_only,
);
