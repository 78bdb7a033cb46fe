//! Alert delivery: claims under a lease, settled only by the claim that holds the alert.

use checkin::domain::alert::{Alert, AlertKind};
use checkin::domain::delivery::{Delivery, DeliveryStatus, Settlement};
use checkin::storage::{CommitResult, Store};

use crate::fixtures::{all_time, commit_of, rid, t, visit};

/// Commits a scan at `at` that raised one fever alert; returns the alert.
async fn raise(store: &dyn Store, id: &str, at: &str) -> Alert {
    let v = visit(id, "R00001", "GC-C001", Some(t(at)), Some(t(at)));
    let version = store
        .person_state(&rid("R00001"), None)
        .await
        .expect("reads")
        .version;
    let mut commit = commit_of(version, vec![v], None);
    let alert = Alert {
        id: commit.event.id.clone(),
        kind: AlertKind::Fever,
        at: commit.event.scan_time,
        resident_id: commit.event.resident_id.clone(),
        venue_id: commit.event.venue_id.clone(),
        gate: commit.event.gate.clone(),
        temperature_c: commit.event.temperature_c,
    };
    commit.alerts = vec![alert.clone()];
    assert_eq!(
        store.commit_scan(&commit).await.expect("commits"),
        CommitResult::Committed
    );
    alert
}

pub async fn an_alert_is_claimed_by_one_claim_at_a_time_and_settled_only_by_the_claim_holding_it(
    store: &dyn Store,
) {
    let alert = raise(store, "v-f1", "2020-02-16T08:00:00Z").await;
    let now = t("2020-02-16T08:00:01Z");
    let lease_end = t("2020-02-16T08:00:31Z");

    let first = store
        .claim_alerts(now, lease_end, 10)
        .await
        .expect("claims");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].alert, alert);
    assert_eq!(first[0].delivery, Delivery::pending());
    // While the lease holds, nobody else gets it.
    assert!(store
        .claim_alerts(now, lease_end, 10)
        .await
        .expect("claims")
        .is_empty());

    // The lease lapses (its holder died): another claim takes the alert over.
    let second = store
        .claim_alerts(lease_end, t("2020-02-16T08:01:01Z"), 10)
        .await
        .expect("claims");
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].claim, first[0].claim);
    let failed = Delivery {
        status: DeliveryStatus::Pending,
        attempts: 1,
        delivered_at: None,
        last_error: Some("webhook answered 500".into()),
    };
    let retry = Settlement::Retry {
        delivery: failed.clone(),
        retry_at: t("2020-02-16T08:05:00Z"),
    };
    assert!(
        !store
            .settle_alert(&alert.id, &first[0].claim, &retry)
            .await
            .expect("settles"),
        "the lapsed claim no longer settles"
    );
    assert!(store
        .settle_alert(&alert.id, &second[0].claim, &retry)
        .await
        .expect("settles"));

    // Not due before its retry time; due at it, with the failed attempt counted.
    assert!(store
        .claim_alerts(t("2020-02-16T08:04:59Z"), t("2020-02-16T08:06:00Z"), 10)
        .await
        .expect("claims")
        .is_empty());
    let third = store
        .claim_alerts(t("2020-02-16T08:05:00Z"), t("2020-02-16T08:06:00Z"), 10)
        .await
        .expect("claims");
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].delivery, failed);

    let done = Delivery {
        status: DeliveryStatus::Delivered,
        attempts: 2,
        delivered_at: Some(t("2020-02-16T08:05:01Z")),
        last_error: failed.last_error.clone(),
    };
    assert!(store
        .settle_alert(
            &alert.id,
            &third[0].claim,
            &Settlement::Delivered(done.clone())
        )
        .await
        .expect("settles"));
    // Settled for good: never claimed again, not even by the claim that delivered it.
    assert!(store
        .claim_alerts(t("2020-03-01T00:00:00Z"), t("2020-03-01T00:01:00Z"), 10)
        .await
        .expect("claims")
        .is_empty());
    assert!(!store
        .settle_alert(
            &alert.id,
            &third[0].claim,
            &Settlement::Delivered(done.clone())
        )
        .await
        .expect("settles"));
    let (from, to) = all_time();
    let listed = store.alerts(from, to).await.expect("reads");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].alert, alert);
    assert_eq!(listed[0].delivery, done);
}

pub async fn alerts_are_claimed_oldest_due_first_up_to_the_limit(store: &dyn Store) {
    let a = raise(store, "v-f1", "2020-02-16T08:00:00Z").await;
    let b = raise(store, "v-f2", "2020-02-16T09:00:00Z").await;
    let c = raise(store, "v-f3", "2020-02-16T10:00:00Z").await;
    let lease_end = t("2020-02-16T12:00:00Z");

    let not_yet = store
        .claim_alerts(t("2020-02-16T07:59:59Z"), lease_end, 10)
        .await
        .expect("claims");
    assert!(not_yet.is_empty(), "an alert is not due before its time");
    let two = store
        .claim_alerts(t("2020-02-16T11:00:00Z"), lease_end, 2)
        .await
        .expect("claims");
    let ids: Vec<&str> = two.iter().map(|x| x.alert.id.as_str()).collect();
    assert_eq!(ids, vec![a.id.as_str(), b.id.as_str()]);
    let rest = store
        .claim_alerts(t("2020-02-16T11:00:00Z"), lease_end, 10)
        .await
        .expect("claims");
    let ids: Vec<&str> = rest.iter().map(|x| x.alert.id.as_str()).collect();
    assert_eq!(ids, vec![c.id.as_str()]);
}
