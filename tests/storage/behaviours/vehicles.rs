//! Vehicle passes: kept by id, read by checkpoint and by plate in a time window, oldest
//! first, and purged with visits.

use checkin::domain::scan::Decision;
use checkin::domain::vehicle::{
    OfficerDecision, Origin, Passenger, PassengerVisit, Plate, VehiclePass,
};
use checkin::domain::Temperature;
use checkin::storage::Store;
use chrono::{DateTime, Utc};

use crate::fixtures::{all_time, gate, phone, rid, t, vid};

fn pass(id: &str, venue: &str, plate: &str, at: DateTime<Utc>) -> VehiclePass {
    VehiclePass {
        id: id.to_owned(),
        venue_id: vid(venue),
        gate: gate(),
        plate: Plate::parse(plate).expect("a valid plate"),
        origin: Origin::parse("湖北", "武汉").expect("a valid origin"),
        passenger_count: 2,
        passengers: vec![Passenger {
            name: Some("张三".into()),
            phone: Some(phone("19900000001")),
            temperature_c: Some(Temperature::parse(36.6).expect("a valid reading")),
        }],
        decision: OfficerDecision::LetThrough,
        reason: None,
        officer: "guard1".into(),
        at,
        passenger_visits: vec![PassengerVisit {
            passenger: 0,
            resident_id: rid("R00001"),
            visit_id: Some(format!("visit-of-{id}")),
            decision: Decision::Admitted,
            reason: None,
        }],
        idempotency_key: None,
        fingerprint: None,
    }
}

fn ids(passes: &[VehiclePass]) -> Vec<&str> {
    passes.iter().map(|p| p.id.as_str()).collect()
}

pub async fn vehicle_passes_are_read_by_checkpoint_and_by_plate_in_a_window_oldest_first(
    store: &dyn Store,
) {
    let later = pass("p-2", "GC-K001", "云D12345", t("2020-02-16T10:00:00Z"));
    let earlier = pass("p-1", "GC-K001", "云D12345", t("2020-02-16T08:00:00Z"));
    let other_plate = pass("p-3", "GC-K001", "鄂AD12345", t("2020-02-16T09:00:00Z"));
    let other_checkpoint = pass("p-4", "GC-K002", "云D12345", t("2020-02-16T09:30:00Z"));
    for p in [&later, &earlier, &other_plate, &other_checkpoint] {
        store.add_vehicle_pass(p).await.expect("a pass is stored");
    }
    let (from, to) = all_time();
    let plate = Plate::parse("云D12345").expect("a valid plate");

    let at_k1 = store
        .vehicle_passes_at(&vid("GC-K001"), from, to)
        .await
        .expect("reads");
    let by_plate = store
        .vehicle_passes_by_plate(&plate, from, to)
        .await
        .expect("reads");
    let morning = store
        .vehicle_passes_by_plate(&plate, t("2020-02-16T08:00:00Z"), t("2020-02-16T09:30:00Z"))
        .await
        .expect("reads");
    let none = store
        .vehicle_passes_at(&vid("GC-K003"), from, to)
        .await
        .expect("reads");

    assert_eq!(ids(&at_k1), vec!["p-1", "p-3", "p-2"]);
    assert_eq!(at_k1[0], earlier, "read back as written");
    assert_eq!(ids(&by_plate), vec!["p-1", "p-4", "p-2"]);
    assert_eq!(ids(&morning), vec!["p-1", "p-4"], "the window is closed");
    assert!(none.is_empty());
}

pub async fn a_vehicle_pass_added_again_under_its_id_keeps_the_first(store: &dyn Store) {
    let first = pass("p-1", "GC-K001", "云D12345", t("2020-02-16T08:00:00Z"));
    let mut again = first.clone();
    again.reason = Some("补记".into());
    again.at = t("2020-02-16T08:00:01Z");
    let added = store.add_vehicle_pass(&first).await.expect("stored");
    let kept = store.add_vehicle_pass(&again).await.expect("answered");
    let (from, to) = all_time();

    let read = store
        .vehicle_passes_at(&vid("GC-K001"), from, to)
        .await
        .expect("reads");
    let by_plate = store
        .vehicle_passes_by_plate(&Plate::parse("云D12345").expect("a valid plate"), from, to)
        .await
        .expect("reads");

    assert_eq!(added, None, "the first is new");
    assert_eq!(kept, Some(first.clone()), "the second gets the first back");
    assert_eq!(read, vec![first.clone()]);
    assert_eq!(by_plate, vec![first]);
}

pub async fn vehicle_passes_are_purged_with_visits(store: &dyn Store) {
    let old = pass("p-old", "GC-K001", "云D12345", t("2020-03-01T08:00:00Z"));
    let recent = pass("p-new", "GC-K001", "云D12345", t("2020-03-20T08:00:00Z"));
    store.add_vehicle_pass(&old).await.expect("stored");
    store.add_vehicle_pass(&recent).await.expect("stored");
    let (from, to) = all_time();
    let plate = Plate::parse("云D12345").expect("a valid plate");

    let report = store
        .purge(t("2020-03-10T00:00:00Z"), t("2020-01-01T00:00:00Z"))
        .await
        .expect("purge runs");
    let again = store
        .purge(t("2020-03-10T00:00:00Z"), t("2020-01-01T00:00:00Z"))
        .await
        .expect("purge runs");

    assert_eq!(report.vehicle_passes, 1);
    assert!(again.is_empty(), "a second purge found {again:?}");
    let at = store
        .vehicle_passes_at(&vid("GC-K001"), from, to)
        .await
        .expect("reads");
    let by_plate = store
        .vehicle_passes_by_plate(&plate, from, to)
        .await
        .expect("reads");
    assert_eq!(ids(&at), vec!["p-new"]);
    assert_eq!(ids(&by_plate), vec!["p-new"]);
}
