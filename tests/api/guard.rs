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

crate::on_both_backends!(a_guard_sees_a_gates_newest_scans_with_masked_names);
