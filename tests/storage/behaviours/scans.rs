//! Scans: a person's state, the optimistic commit, idempotency records and the event log.

use checkin::domain::scan::{Decision, DenyReason};
use checkin::domain::{Direction, VenueKind};
use checkin::storage::{CommitResult, ScanCommit, Store};

use crate::fixtures::{
    all_time, decided, idempotency_record, plus_minutes, rid, scan, scan_with, t, venue, vid,
};

/// A person's first commit (version 0) of `outcome`, with an idempotency record under a key.
fn first_commit(
    person: &checkin::domain::ResidentId,
    outcome: checkin::domain::rules::Outcome,
    idempotency: Option<(&str, &checkin::storage::IdempotencyRecord)>,
) -> ScanCommit {
    ScanCommit {
        resident_id: person.clone(),
        expected_version: 0,
        removed: Vec::new(),
        event: outcome.event,
        changed: outcome.changed,
        open_after: outcome.open_after,
        idempotency: idempotency.map(|(k, r)| (k.to_owned(), r.clone())),
        alerts: Vec::new(),
    }
}

pub async fn a_first_commit_opens_a_visit_and_bumps_the_version(store: &dyn Store) {
    let person = rid("R00001");
    let compound = venue("GC-C001", VenueKind::ResidentialCompound);
    let at = t("2020-03-10T08:00:00Z");
    let outcome = decided(
        None,
        &person,
        &compound,
        Some(Direction::In),
        Some(36.5),
        at,
    );
    let opened = outcome
        .open_after
        .clone()
        .expect("a check-in opens a visit");

    let result = store
        .commit_scan(&ScanCommit {
            resident_id: person.clone(),
            expected_version: 0,
            removed: Vec::new(),
            event: outcome.event.clone(),
            changed: outcome.changed.clone(),
            open_after: outcome.open_after.clone(),
            idempotency: None,
            alerts: Vec::new(),
        })
        .await
        .expect("the commit runs");

    assert_eq!(result, CommitResult::Committed);
    let state = store.person_state(&person, None).await.expect("reads");
    assert_eq!(state.version, 1);
    assert_eq!(state.open.as_ref(), Some(&opened));
    assert!(state.idempotent.is_none());
    assert_eq!(
        store.scan_events(&person).await.expect("events read"),
        vec![outcome.event]
    );
    let (from, to) = all_time();
    let mine = store
        .resident_visits(&person, from, to)
        .await
        .expect("reads");
    assert_eq!(mine, vec![opened.clone()]);
    let here = store
        .venue_visits(&compound.id, from, to)
        .await
        .expect("reads");
    assert_eq!(here, vec![opened]);
}

pub async fn a_commit_with_a_stale_version_is_refused_and_writes_nothing(store: &dyn Store) {
    let person = rid("R00001");
    let home = venue("GC-C001", VenueKind::ResidentialCompound);
    let shop = venue("GC-S001", VenueKind::Shop);
    let at = t("2020-03-10T08:00:00Z");
    let first = scan(store, &person, &home, Some(Direction::In), at).await;
    // A second scan decided on the state before the first one was committed.
    let stale = decided(
        None,
        &person,
        &shop,
        Some(Direction::In),
        None,
        plus_minutes(at, 1),
    );

    let result = store
        .commit_scan(&ScanCommit {
            resident_id: person.clone(),
            expected_version: 0,
            removed: Vec::new(),
            event: stale.event.clone(),
            changed: stale.changed.clone(),
            open_after: stale.open_after.clone(),
            idempotency: Some(("key-stale".into(), idempotency_record("stale"))),
            alerts: Vec::new(),
        })
        .await
        .expect("the commit runs");

    assert_eq!(result, CommitResult::Conflict);
    let state = store
        .person_state(&person, Some("key-stale"))
        .await
        .expect("reads");
    assert_eq!(state.version, 1);
    assert_eq!(state.open, first.open_after);
    assert!(state.idempotent.is_none(), "no idempotency record is kept");
    assert_eq!(
        store.scan_events(&person).await.expect("events read"),
        vec![first.event]
    );
    let (from, to) = all_time();
    let mine = store
        .resident_visits(&person, from, to)
        .await
        .expect("reads");
    assert_eq!(mine, first.changed);
    let at_shop = store.venue_visits(&shop.id, from, to).await.expect("reads");
    assert!(at_shop.is_empty());
    assert!(store.open_visits(&shop.id).await.expect("reads").is_empty());
    assert_eq!(
        store.open_visits(&home.id).await.expect("reads"),
        first.changed
    );
}

pub async fn concurrent_commits_on_the_same_version_let_exactly_one_through(store: &dyn Store) {
    let person = rid("R00001");
    let venues: Vec<_> = (1..=8)
        .map(|i| venue(&format!("GC-S00{i}"), VenueKind::Shop))
        .collect();
    let at = t("2020-03-10T08:00:00Z");
    let commits: Vec<ScanCommit> = venues
        .iter()
        .map(|v| {
            let o = decided(None, &person, v, Some(Direction::In), None, at);
            ScanCommit {
                resident_id: person.clone(),
                expected_version: 0,
                removed: Vec::new(),
                event: o.event,
                changed: o.changed,
                open_after: o.open_after,
                idempotency: None,
                alerts: Vec::new(),
            }
        })
        .collect();

    let results = futures::future::join_all(commits.iter().map(|c| store.commit_scan(c))).await;

    let results: Vec<CommitResult> = results
        .into_iter()
        .map(|r| r.expect("every commit runs"))
        .collect();
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| **r == CommitResult::Committed)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "results: {results:?}");
    let winner = &commits[winners[0]];
    let state = store.person_state(&person, None).await.expect("reads");
    assert_eq!(state.version, 1);
    assert_eq!(state.open, winner.open_after);
    assert_eq!(
        store.scan_events(&person).await.expect("events read"),
        vec![winner.event.clone()]
    );
    let mut present = 0;
    for v in &venues {
        present += store.open_visits(&v.id).await.expect("reads").len();
    }
    assert_eq!(present, 1, "exactly one open visit in all venues");
}

pub async fn an_idempotency_record_is_read_back_with_the_person_state(store: &dyn Store) {
    let person = rid("R00001");
    let someone_else = rid("R00002");
    let shop = venue("GC-S001", VenueKind::Shop);
    let outcome = decided(None, &person, &shop, None, None, t("2020-03-10T08:00:00Z"));
    let record = idempotency_record("first");

    let result = store
        .commit_scan(&first_commit(
            &person,
            outcome.clone(),
            Some(("key-1", &record)),
        ))
        .await
        .expect("the commit runs");

    assert_eq!(result, CommitResult::Committed);
    let state = store
        .person_state(&person, Some("key-1"))
        .await
        .expect("reads");
    assert_eq!(state.version, 1);
    assert_eq!(state.open, outcome.open_after);
    assert_eq!(state.idempotent, Some(record));
    let other_key = store
        .person_state(&person, Some("key-2"))
        .await
        .expect("reads");
    assert!(other_key.idempotent.is_none());
    let no_key = store.person_state(&person, None).await.expect("reads");
    assert!(no_key.idempotent.is_none());
    let other_person = store
        .person_state(&someone_else, Some("key-1"))
        .await
        .expect("reads");
    assert!(other_person.idempotent.is_none(), "keys are per person");
}

pub async fn a_persons_state_is_read_with_a_venue_as_each_is_read_alone(store: &dyn Store) {
    let person = rid("R00001");
    let shop = venue("GC-S001", VenueKind::Shop);
    store.put_venue(&shop).await.expect("put venue");
    let outcome = decided(None, &person, &shop, None, None, t("2020-03-10T08:00:00Z"));
    let record = idempotency_record("first");
    let result = store
        .commit_scan(&first_commit(
            &person,
            outcome.clone(),
            Some(("key-1", &record)),
        ))
        .await
        .expect("the commit runs");
    assert_eq!(result, CommitResult::Committed);

    for key in [Some("key-1"), Some("key-2"), None] {
        let (state, read) = store
            .person_state_and_venue(&person, key, &shop.id)
            .await
            .expect("reads");
        let alone = store.person_state(&person, key).await.expect("reads");
        let read = read.expect("the venue reads");
        assert_eq!(read.as_ref(), Some(&shop));
        assert_eq!(state.version, 1);
        assert_eq!(state.open, outcome.open_after);
        assert_eq!(state.open, alone.open);
        assert_eq!(state.idempotent, alone.idempotent);
        assert_eq!(state.latest_scan_time, alone.latest_scan_time);
    }
    let (_, with_key) = store
        .person_state_and_venue(&person, Some("key-1"), &shop.id)
        .await
        .expect("reads");
    assert!(matches!(with_key, Ok(Some(_))));
    let (state, missing) = store
        .person_state_and_venue(&person, Some("key-1"), &vid("GC-S404"))
        .await
        .expect("reads");
    assert!(matches!(missing, Ok(None)), "a venue never written");
    assert_eq!(state.idempotent, Some(record));
}

pub async fn scan_events_are_kept_in_the_order_recorded_denied_ones_included(store: &dyn Store) {
    let person = rid("R00001");
    let home = venue("GC-C001", VenueKind::ResidentialCompound);
    let checkpoint = venue("GC-K001", VenueKind::Checkpoint);
    let at = t("2020-03-10T08:00:00Z");

    let fever = scan_with(store, &person, &home, Some(Direction::In), Some(38.2), at).await;
    let entry = scan(store, &person, &home, None, plus_minutes(at, 5)).await;
    let pass = scan(store, &person, &checkpoint, None, plus_minutes(at, 30)).await;
    let exit = scan(
        store,
        &person,
        &home,
        Some(Direction::Out),
        plus_minutes(at, 60),
    )
    .await;

    assert_eq!(fever.event.decision, Decision::Denied);
    assert_eq!(fever.event.reason, Some(DenyReason::Fever));
    let events = store.scan_events(&person).await.expect("events read");
    assert_eq!(
        events,
        vec![fever.event, entry.event, pass.event, exit.event]
    );
    assert_eq!(
        store
            .person_state(&person, None)
            .await
            .expect("reads")
            .version,
        4
    );
}

pub async fn a_venues_newest_scans_are_listed_newest_first(store: &dyn Store) {
    let shop = venue("GC-S001", VenueKind::Shop);
    let elsewhere = venue("GC-S002", VenueKind::Shop);
    let at = t("2020-03-10T08:00:00Z");
    for (i, who) in ["R00001", "R00002", "R00003"].iter().enumerate() {
        let minutes = i64::try_from(i).expect("small") * 10;
        scan(store, &rid(who), &shop, None, plus_minutes(at, minutes)).await;
    }
    scan(store, &rid("R00004"), &elsewhere, None, at).await;

    let two = store.recent_scans(&shop.id, 2).await.expect("reads");

    let who: Vec<&str> = two.iter().map(|e| e.resident_id.as_str()).collect();
    assert_eq!(who, vec!["R00003", "R00002"]);
    assert_eq!(
        store
            .recent_scans(&shop.id, 100)
            .await
            .expect("reads")
            .len(),
        3
    );
}

pub async fn a_venues_events_are_read_by_scan_time_for_the_venues_asked(store: &dyn Store) {
    let (a, b, c) = (
        venue("GC-S001", VenueKind::Shop),
        venue("GC-S002", VenueKind::Shop),
        venue("GC-S003", VenueKind::Shop),
    );
    let at = t("2020-03-10T08:00:00Z");
    // Recorded out of time order: the answer is by scan time.
    scan(store, &rid("R00001"), &b, None, plus_minutes(at, 30)).await;
    scan(store, &rid("R00002"), &a, None, plus_minutes(at, 10)).await;
    scan(store, &rid("R00003"), &c, None, plus_minutes(at, 20)).await;
    scan(store, &rid("R00004"), &a, None, plus_minutes(at, 24 * 60)).await;

    let day = store
        .venue_events(
            &[a.id.clone(), b.id.clone()],
            at,
            plus_minutes(at, 24 * 60 - 1),
        )
        .await
        .expect("reads");

    let seen: Vec<(&str, &str)> = day
        .iter()
        .map(|e| (e.resident_id.as_str(), e.venue_id.as_str()))
        .collect();
    assert_eq!(seen, vec![("R00002", "GC-S001"), ("R00001", "GC-S002")]);
    assert!(store
        .venue_events(&[], at, plus_minutes(at, 24 * 60))
        .await
        .expect("reads")
        .is_empty());
    let (from, to) = all_time();
    store
        .purge(plus_minutes(at, 25), from)
        .await
        .expect("purges");
    let kept = store
        .venue_events(&[a.id.clone(), b.id.clone(), c.id.clone()], from, to)
        .await
        .expect("reads");
    let kept: Vec<&str> = kept.iter().map(|e| e.resident_id.as_str()).collect();
    assert_eq!(kept, vec!["R00001", "R00004"]);
}

pub async fn a_commit_removes_the_visits_it_names_everywhere_and_never_lowers_the_latest_scan_time(
    store: &dyn Store,
) {
    let person = rid("R00001");
    let shop = venue("GC-S001", VenueKind::Shop);
    let at = t("2020-03-10T08:00:00Z");
    let first = scan(store, &person, &shop, Some(Direction::In), at).await;
    let removed = first.open_after.clone().expect("a check-in opens a visit");
    let before = store.person_state(&person, None).await.expect("reads");
    assert_eq!(before.latest_scan_time, Some(at));
    // A late scan's commit (an hour earlier) that no longer gives the open visit.
    let kept = crate::fixtures::visit(
        "0190f0e0-0000-7000-8000-000000000001",
        "R00001",
        "GC-C001",
        Some(plus_minutes(at, -60)),
        Some(plus_minutes(at, -30)),
    );
    let late = crate::fixtures::event_for(&kept, Direction::In);

    let result = store
        .commit_scan(&ScanCommit {
            resident_id: person.clone(),
            expected_version: before.version,
            removed: vec![removed.clone()],
            event: late,
            changed: vec![kept.clone()],
            open_after: None,
            idempotency: None,
            alerts: Vec::new(),
        })
        .await
        .expect("the commit runs");

    assert_eq!(result, CommitResult::Committed);
    let (from, to) = all_time();
    let state = store.person_state(&person, None).await.expect("reads");
    assert_eq!(state.open, None);
    assert_eq!(
        state.latest_scan_time,
        Some(at),
        "not lowered by the late scan"
    );
    assert_eq!(
        store
            .resident_visits(&person, from, to)
            .await
            .expect("reads"),
        vec![kept.clone()]
    );
    assert!(store
        .venue_visits(&shop.id, from, to)
        .await
        .expect("reads")
        .is_empty());
    assert!(store.open_visits(&shop.id).await.expect("reads").is_empty());

    // Written again by id, a removed visit is back.
    let closed = checkin::domain::Visit {
        check_out: Some(plus_minutes(at, 10)),
        closed_by: Some(checkin::domain::ClosedBy::CheckOut),
        ..removed
    };
    store
        .commit_scan(&ScanCommit {
            resident_id: person.clone(),
            expected_version: state.version,
            removed: Vec::new(),
            event: crate::fixtures::event_for(&closed, Direction::Out),
            changed: vec![closed.clone()],
            open_after: None,
            idempotency: None,
            alerts: Vec::new(),
        })
        .await
        .expect("the commit runs");
    let here = store.venue_visits(&shop.id, from, to).await.expect("reads");
    assert!(here.contains(&closed), "{here:?}");
    let mine = store
        .resident_visits(&person, from, to)
        .await
        .expect("reads");
    assert!(mine.contains(&closed) && mine.contains(&kept), "{mine:?}");
    let latest = store.person_state(&person, None).await.expect("reads");
    assert_eq!(latest.latest_scan_time, Some(plus_minutes(at, 10)));
}
