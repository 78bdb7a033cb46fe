//! A restarted service keeps every visit, venue, account and its signing keys.

use std::sync::Arc;

use crate::helpers::{ago, spawn_with, TestApp};

async fn restarting_the_service_keeps_every_visit(app: TestApp) {
    let home = app.venue("C1", "residential_compound").await;
    let shop = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    app.scan_at(&tok, &home, "in", ago(90)).await;
    app.scan_at(&tok, &shop, "in", ago(30)).await;
    let before = app.visits_of(&rid).await;

    let again = spawn_with(app.backend, Arc::clone(&app.data_dir), app.prefix.clone()).await;

    assert_eq!(again.visits_of(&rid).await, before);
    assert_eq!(again.presence("S1").await["count"], 1);
    // Same signing key: old posters and old tokens still work.
    let out = again
        .post("/api/v1/scans", &tok, &serde_json::json!({"code": shop}))
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(out.body["direction"], "out");
}

crate::on_both_backends!(restarting_the_service_keeps_every_visit);
