//! Bulk import of closed visits (`Store::import_visits`): read back like committed visits,
//! open visits refused with nothing written.

use checkin::domain::ClosedBy;
use checkin::storage::{Store, StoreError};

use crate::fixtures::{all_time, plus_minutes, rid, store_visits, t, vid, visit};

pub async fn imported_visits_are_read_back_like_committed_ones(store: &dyn Store) {
    let at = t("2020-03-10T08:00:00Z");
    // One visit written by a scan, the others imported around it, at two venues.
    let committed = visit(
        "v-c1",
        "R00001",
        "GC-S001",
        Some(plus_minutes(at, 30)),
        Some(plus_minutes(at, 60)),
    );
    store_visits(store, vec![committed.clone()], None).await;
    // Closed by a check-in elsewhere: no gate out.
    let mut by_next_check_in = visit(
        "v-i1",
        "R00001",
        "GC-S001",
        Some(at),
        Some(plus_minutes(at, 20)),
    );
    by_next_check_in.gate_out = None;
    by_next_check_in.closed_by = Some(ClosedBy::NextCheckIn);
    // A check-out with no check-in: it starts at check_out - 2 h = 07:15.
    let inferred = visit(
        "v-i2",
        "R00002",
        "GC-S001",
        None,
        Some(plus_minutes(at, 75)),
    );
    let elsewhere = visit(
        "v-i3",
        "R00001",
        "GC-M001",
        Some(plus_minutes(at, 90)),
        Some(plus_minutes(at, 150)),
    );
    let imported = vec![
        elsewhere.clone(),
        by_next_check_in.clone(),
        inferred.clone(),
    ];

    store.import_visits(&imported).await.expect("imports");
    // Importing the same visits again replaces them by id: nothing changes.
    store.import_visits(&imported).await.expect("imports again");

    let (from, to) = all_time();
    assert_eq!(
        store
            .resident_visits(&rid("R00001"), from, to)
            .await
            .expect("reads"),
        vec![
            by_next_check_in.clone(),
            committed.clone(),
            elsewhere.clone()
        ]
    );
    assert_eq!(
        store
            .resident_visits(&rid("R00002"), from, to)
            .await
            .expect("reads"),
        vec![inferred.clone()]
    );
    assert_eq!(
        store
            .venue_visits(&vid("GC-S001"), from, to)
            .await
            .expect("reads"),
        vec![inferred, by_next_check_in, committed.clone()]
    );
    assert_eq!(
        store
            .venue_visits(&vid("GC-M001"), from, to)
            .await
            .expect("reads"),
        vec![elsewhere]
    );
    // No scan events and no person state: only the scan's are there.
    let state = store
        .person_state(&rid("R00001"), None)
        .await
        .expect("reads");
    assert_eq!(state.version, 1);
    assert!(state.open.is_none());
    assert_eq!(
        store
            .person_state(&rid("R00002"), None)
            .await
            .expect("reads")
            .version,
        0
    );
    let events = store.scan_events(&rid("R00001")).await.expect("reads");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].visit_id.as_ref(), Some(&committed.id));
    assert!(store
        .scan_events(&rid("R00002"))
        .await
        .expect("reads")
        .is_empty());
    assert!(store
        .open_visits(&vid("GC-S001"))
        .await
        .expect("reads")
        .is_empty());
}

pub async fn a_large_import_is_written_whole(store: &dyn Store) {
    // More visits than one Redis script call takes (500), over three people and two venues.
    let at = t("2020-03-01T00:00:00Z");
    let visits: Vec<_> = (0..1201)
        .map(|i| {
            let start = plus_minutes(at, i * 10);
            visit(
                &format!("v-{i:05}"),
                ["R00001", "R00002", "R00003"][(i % 3) as usize],
                ["GC-S001", "GC-M001"][(i % 2) as usize],
                Some(start),
                Some(plus_minutes(start, 5)),
            )
        })
        .collect();

    store.import_visits(&visits).await.expect("imports");

    let (from, to) = all_time();
    let mine = store
        .resident_visits(&rid("R00002"), from, to)
        .await
        .expect("reads");
    let expected: Vec<_> = visits.iter().skip(1).step_by(3).cloned().collect();
    assert_eq!(mine.len(), 400);
    assert_eq!(mine, expected);
    let at_market = store
        .venue_visits(&vid("GC-M001"), from, to)
        .await
        .expect("reads");
    let expected: Vec<_> = visits.iter().skip(1).step_by(2).cloned().collect();
    assert_eq!(at_market.len(), 600);
    assert_eq!(at_market, expected);
}

pub async fn an_import_with_an_open_visit_is_refused_and_writes_nothing(store: &dyn Store) {
    let at = t("2020-03-10T08:00:00Z");
    let closed = visit(
        "v-1",
        "R00001",
        "GC-S001",
        Some(at),
        Some(plus_minutes(at, 30)),
    );
    let open = visit("v-2", "R00002", "GC-S001", Some(at), None);
    let later = visit(
        "v-3",
        "R00001",
        "GC-M001",
        Some(plus_minutes(at, 40)),
        Some(plus_minutes(at, 50)),
    );

    let refused = store.import_visits(&[closed, open, later]).await;

    match refused {
        Err(StoreError::Refused(message)) => {
            assert!(message.contains("v-2"), "names the open visit: {message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (from, to) = all_time();
    for person in ["R00001", "R00002"] {
        assert!(store
            .resident_visits(&rid(person), from, to)
            .await
            .expect("reads")
            .is_empty());
    }
    for place in ["GC-S001", "GC-M001"] {
        assert!(store
            .venue_visits(&vid(place), from, to)
            .await
            .expect("reads")
            .is_empty());
        assert!(store
            .open_visits(&vid(place))
            .await
            .expect("reads")
            .is_empty());
    }
}
