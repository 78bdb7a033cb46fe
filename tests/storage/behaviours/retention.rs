//! Retention: the purge removes visits, scan events and audit records past their periods and
//! keeps everything else, on every index a store keeps.

use checkin::domain::alert::{Alert, AlertKind};
use checkin::domain::audit::AuditRecord;
use checkin::domain::staff::Role;
use checkin::domain::{Direction, VenueKind};
use checkin::storage::{PurgeReport, Store};
use chrono::{DateTime, Utc};

use crate::fixtures::{all_time, commit_of, rid, scan, store_visits, t, venue, vid, visit};

fn audit_at(at: DateTime<Utc>) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::now_v7().to_string(),
        at,
        actor: "tracer1".into(),
        role: Role::Tracer,
        action: "trace.contacts".into(),
        query: "/api/v1/trace/residents/R00001/contacts".into(),
        format: "json".into(),
        returned: 2,
    }
}

pub async fn a_purge_removes_visits_events_and_audit_records_past_retention_and_keeps_the_rest(
    store: &dyn Store,
) {
    let (a, b) = (rid("R00001"), rid("R00002"));
    // A's old visit ended 1 March 09:00; A's recent one is 20 March.
    let old = visit(
        "v-old",
        "R00001",
        "GC-S001",
        Some(t("2020-03-01T08:00:00Z")),
        Some(t("2020-03-01T09:00:00Z")),
    );
    let recent = visit(
        "v-recent",
        "R00001",
        "GC-S001",
        Some(t("2020-03-20T08:00:00Z")),
        Some(t("2020-03-20T09:00:00Z")),
    );
    store_visits(store, vec![old], None).await;
    store_visits(store, vec![recent.clone()], None).await;
    // B checked in on 1 March and never out: the visit can last until 22:00 (2 h stay).
    let left_open = visit(
        "v-open",
        "R00002",
        "GC-C001",
        Some(t("2020-03-01T20:00:00Z")),
        None,
    );
    store_visits(store, vec![left_open.clone()], Some(left_open)).await;
    let old_audit = audit_at(t("2020-03-01T10:00:00Z"));
    let recent_audit = audit_at(t("2020-03-20T10:00:00Z"));
    store.append_audit(&old_audit).await.expect("audit appends");
    store
        .append_audit(&recent_audit)
        .await
        .expect("audit appends");

    let report = store
        .purge(t("2020-03-10T00:00:00Z"), t("2020-03-05T00:00:00Z"))
        .await
        .expect("purge runs");
    let again = store
        .purge(t("2020-03-10T00:00:00Z"), t("2020-03-05T00:00:00Z"))
        .await
        .expect("purge runs");

    assert_eq!(
        report,
        PurgeReport {
            visits: 2,
            events: 2,
            audit: 1,
            vehicle_passes: 0
        }
    );
    assert!(again.is_empty(), "a second purge found {again:?}");
    let (from, to) = all_time();
    let read = |who| store.resident_visits(who, from, to);
    assert_eq!(read(&a).await.expect("reads"), vec![recent.clone()]);
    assert_eq!(read(&b).await.expect("reads"), vec![]);
    let shop = store
        .venue_visits(&vid("GC-S001"), from, to)
        .await
        .expect("reads");
    assert_eq!(shop, vec![recent]);
    let compound = store
        .venue_visits(&vid("GC-C001"), from, to)
        .await
        .expect("reads");
    assert_eq!(compound, vec![]);
    assert_eq!(
        store.open_visits(&vid("GC-C001")).await.expect("reads"),
        vec![]
    );
    let events = store.scan_events(&a).await.expect("reads");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].visit_id.as_deref(), Some("v-recent"));
    assert_eq!(store.scan_events(&b).await.expect("reads"), vec![]);
    assert_eq!(
        store.audit(from, to).await.expect("reads"),
        vec![recent_audit]
    );
    // B's state no longer holds the purged visit open, and B can scan again.
    let state = store.person_state(&b, None).await.expect("reads");
    assert!(state.open.is_none());
    let home = venue("GC-C001", VenueKind::ResidentialCompound);
    scan(
        store,
        &b,
        &home,
        Some(Direction::In),
        t("2020-03-21T08:00:00Z"),
    )
    .await;
    assert_eq!(store.open_visits(&home.id).await.expect("reads").len(), 1);
}

pub async fn alerts_are_written_with_their_scan_read_by_time_and_purged_with_visits(
    store: &dyn Store,
) {
    let old = visit(
        "v-a1",
        "R00001",
        "GC-S001",
        Some(t("2020-03-01T08:00:00Z")),
        Some(t("2020-03-01T09:00:00Z")),
    );
    let recent = visit(
        "v-a2",
        "R00001",
        "GC-S001",
        Some(t("2020-03-20T08:00:00Z")),
        Some(t("2020-03-20T09:00:00Z")),
    );
    let mut alerts = Vec::new();
    for v in [old, recent] {
        let mut commit = commit_of(
            store
                .person_state(&rid("R00001"), None)
                .await
                .expect("reads")
                .version,
            vec![v],
            None,
        );
        let alert = Alert {
            id: commit.event.id.clone(),
            kind: AlertKind::LeftHomeUnderObservation,
            at: commit.event.scan_time,
            resident_id: commit.event.resident_id.clone(),
            venue_id: commit.event.venue_id.clone(),
            gate: commit.event.gate.clone(),
            temperature_c: None,
        };
        commit.alerts = vec![alert.clone()];
        alerts.push(alert);
        assert_eq!(
            store.commit_scan(&commit).await.expect("commits"),
            checkin::storage::CommitResult::Committed
        );
    }
    let (from, to) = all_time();
    let read = |records: Vec<checkin::domain::delivery::AlertRecord>| -> Vec<Alert> {
        records.into_iter().map(|r| r.alert).collect()
    };
    let before = read(store.alerts(from, to).await.expect("reads"));

    store
        .purge(t("2020-03-10T00:00:00Z"), t("2020-01-01T00:00:00Z"))
        .await
        .expect("purge runs");

    assert_eq!(before, alerts);
    assert_eq!(
        read(store.alerts(from, to).await.expect("reads")),
        alerts[1..]
    );
    // The purged alert is no longer queued for delivery; the kept one still is.
    let due = store
        .claim_alerts(t("2020-04-01T00:00:00Z"), t("2020-04-01T00:01:00Z"), 10)
        .await
        .expect("claims");
    let due: Vec<&str> = due.iter().map(|c| c.alert.id.as_str()).collect();
    assert_eq!(due, vec![alerts[1].id.as_str()]);
}
