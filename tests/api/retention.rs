//! Retention with an injected clock: visits and scan events older than the retention period
//! are gone from the store itself (not just hidden from the API), newer ones stay, and audit
//! records outlive them.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use checkin::clock::{Clock, ManualClock};
use checkin::domain::{ResidentId, VenueId};
use chrono::{DateTime, Duration, Utc};

use crate::helpers::{spawn_app_with_clock, Backend, TestApp};

/// Polls the store until the person has `n` visits left, for at most 15 s (the purge runs
/// every second in these tests).
async fn wait_for_visits(app: &TestApp, who: &ResidentId, n: usize) -> usize {
    let store = app.store().await;
    let (from, to) = (
        DateTime::<Utc>::UNIX_EPOCH,
        Utc::now() + Duration::days(400),
    );
    let started = Instant::now();
    loop {
        let left = store
            .resident_visits(who, from, to)
            .await
            .unwrap_or_else(|e| panic!("read: {e}"))
            .len();
        if left == n || started.elapsed() > StdDuration::from_secs(15) {
            return left;
        }
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
}

async fn visits_past_retention_leave_every_store_and_audit_records_stay(backend: Backend) {
    let start = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    let clock = ManualClock::starting_at(start);
    let app = spawn_app_with_clock(backend, Arc::new(clock.clone()), |s| {
        s.retention.purge_interval_seconds = 1;
    })
    .await;
    let shop = app.venue("S1", "shop").await;
    let home = app.venue("C1", "residential_compound").await;
    let (tok, rid) = app.resident("19900000001").await;
    let who = ResidentId::parse(&rid).unwrap_or_else(|e| panic!("{e}"));
    // Day 0: an hour at the shop; a tracer reads it, which is audited.
    let a = app
        .scan_at(&tok, &shop, "in", start - Duration::minutes(60))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    app.scan_at(&tok, &shop, "out", start - Duration::minutes(10))
        .await;
    assert_eq!(app.visits_of(&rid).await.len(), 1);

    // Day 27: home. Day 29: the shop visit is 29 days old, the home one 2.
    clock.advance(Duration::days(27));
    let b = app
        .scan_at(&tok, &home, "in", clock.now() - Duration::minutes(5))
        .await;
    assert_eq!(b.status, 200, "{}", b.body);
    clock.advance(Duration::days(2));

    assert_eq!(
        wait_for_visits(&app, &who, 1).await,
        1,
        "the old visit stays"
    );
    let store = app.store().await;
    let (from, to) = (DateTime::<Utc>::UNIX_EPOCH, clock.now());
    let left = store
        .resident_visits(&who, from, to)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(left[0].venue_id.as_str(), "C1");
    let shop_id = VenueId::parse("S1").unwrap_or_else(|e| panic!("{e}"));
    let at_shop = store
        .venue_visits(&shop_id, from, to)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(at_shop.is_empty(), "the shop still has {at_shop:?}");
    let events = store
        .scan_events(&who)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len(), 1, "only the day-27 scan event stays");
    let mine = app
        .get(
            &format!(
                "/api/v1/me/visits?from={}&to={}",
                (start - Duration::days(1)).to_rfc3339(),
                clock.now().to_rfc3339()
            )
            .replace('+', "%2B"),
            &tok,
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body["visits"].as_array().map(Vec::len), Some(1));
    // The tracer's read of day 0 is still on record.
    let admin = app.admin().await;
    let audit = app
        .get(
            &format!(
                "/api/v1/audit?from={}&to={}",
                (start - Duration::hours(1)).to_rfc3339(),
                clock.now().to_rfc3339()
            )
            .replace('+', "%2B"),
            &admin,
        )
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let reads = audit.body["records"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        reads.iter().any(|r| r["action"] == "trace.resident_visits"),
        "audit: {reads:?}"
    );
}

#[tokio::test]
async fn embedded_visits_past_retention_leave_the_store_and_audit_records_stay() {
    visits_past_retention_leave_every_store_and_audit_records_stay(Backend::Embedded).await;
}

#[tokio::test]
async fn redis_visits_past_retention_leave_the_store_and_audit_records_stay() {
    visits_past_retention_leave_every_store_and_audit_records_stay(Backend::Redis).await;
}
