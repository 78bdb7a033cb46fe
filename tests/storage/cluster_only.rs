//! Checks that only make sense on a Redis Cluster: a scan's commit there is a sequence of
//! single-slot steps (the person's first), and a commit stopped after the person's step is
//! finished later, by the person's next scan or by the repair.

use checkin::domain::{Direction, VenueKind};
use checkin::storage::redis::keys::Keys;
use checkin::storage::redis::Faults;
use checkin::storage::{Store, StoreError};
use chrono::Utc;

use crate::fixtures::{all_time, plus_minutes, rid, t, venue};
use crate::helpers::{catch, Backend};

/// Runs the repair for every commit begun until a minute from now: all of them.
async fn repair_all(store: &dyn Store) -> u64 {
    store
        .repair(Utc::now() + chrono::Duration::minutes(1))
        .await
        .expect("repairs")
}

/// A store on the backend's data that stops every commit right after the person's step.
async fn crashing(backend: &Backend) -> checkin::storage::redis::RedisStore {
    backend
        .reopen_with_faults(Faults {
            stop_after_person_step: true,
            ..Faults::default()
        })
        .await
}

/// One scan through `store`, expected to stop after the person's step.
async fn scan_that_stops(
    store: &dyn Store,
    person: &checkin::domain::ResidentId,
    at_venue: &checkin::domain::Venue,
    direction: Direction,
    at: chrono::DateTime<Utc>,
) {
    let state = store.person_state(person, None).await.expect("reads");
    let outcome = crate::fixtures::decided(
        state.open.as_ref(),
        person,
        at_venue,
        Some(direction),
        None,
        at,
    );
    let result = store
        .commit_scan(&checkin::storage::ScanCommit {
            resident_id: person.clone(),
            expected_version: state.version,
            removed: Vec::new(),
            event: outcome.event,
            changed: outcome.changed,
            open_after: outcome.open_after,
            idempotency: None,
            alerts: Vec::new(),
        })
        .await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "the injected stop did not happen: {result:?}"
    );
}

#[tokio::test]
async fn a_commit_stopped_after_the_persons_step_is_kept_and_the_repair_finishes_the_venues_side() {
    let backend = Backend::cluster().await;
    let outcome = catch(async {
        let store: &dyn Store = backend.arg();
        let person = rid("R00001");
        let shop = venue("GC-S001", VenueKind::Shop);
        let at = t("2020-03-10T08:00:00Z");

        scan_that_stops(&crashing(&backend).await, &person, &shop, Direction::In, at).await;

        // The person's side is the truth: the scan is committed.
        let state = store.person_state(&person, None).await.expect("reads");
        assert_eq!(state.version, 1);
        let open = state.open.expect("the check-in opened a visit");
        // The venue's side lags until repaired.
        assert!(store.open_visits(&shop.id).await.expect("reads").is_empty());
        assert!(store
            .recent_scans(&shop.id, 10)
            .await
            .expect("reads")
            .is_empty());

        // A repair only takes commits begun before its cutoff.
        assert_eq!(
            store
                .repair(Utc::now() - chrono::Duration::hours(1))
                .await
                .expect("repairs"),
            0
        );
        assert_eq!(repair_all(store).await, 1);

        assert_eq!(
            store.open_visits(&shop.id).await.expect("reads"),
            vec![open.clone()]
        );
        let (from, to) = all_time();
        assert_eq!(
            store.venue_visits(&shop.id, from, to).await.expect("reads"),
            vec![open]
        );
        assert_eq!(
            store.recent_scans(&shop.id, 10).await.expect("reads").len(),
            1
        );
        // Done once: nothing is left to repair.
        assert_eq!(repair_all(store).await, 0);
    })
    .await;
    backend.finish(outcome).await;
}

#[tokio::test]
async fn the_persons_next_scan_finishes_a_stopped_commit_first_and_presence_ends_right() {
    let backend = Backend::cluster().await;
    let outcome = catch(async {
        let store: &dyn Store = backend.arg();
        let person = rid("R00002");
        let shop = venue("GC-S001", VenueKind::Shop);
        let market = venue("GC-S002", VenueKind::Shop);
        let at = t("2020-03-10T08:00:00Z");

        scan_that_stops(&crashing(&backend).await, &person, &shop, Direction::In, at).await;
        // The next scan, through a healthy instance: a check-in elsewhere closes the first visit.
        crate::fixtures::scan(
            store,
            &person,
            &market,
            Some(Direction::In),
            plus_minutes(at, 20),
        )
        .await;

        assert!(
            store.open_visits(&shop.id).await.expect("reads").is_empty(),
            "the first visit was closed by the second check-in"
        );
        let (from, to) = all_time();
        let at_shop = store.venue_visits(&shop.id, from, to).await.expect("reads");
        assert_eq!(at_shop.len(), 1);
        assert!(!at_shop[0].is_open(), "the shop's copy is the closed visit");
        let at_market = store.open_visits(&market.id).await.expect("reads");
        assert_eq!(at_market.len(), 1);
        assert_eq!(
            store
                .resident_visits(&person, from, to)
                .await
                .expect("reads"),
            [at_shop, at_market].concat()
        );
        // The next scan finished everything: the repair finds nothing.
        assert_eq!(repair_all(store).await, 0);
    })
    .await;
    backend.finish(outcome).await;
}

/// A plain connection to the test cluster, for reading and writing behind the store's back.
async fn raw_cluster() -> redis::cluster_async::ClusterConnection {
    let nodes = checkin::storage::redis::conn::cluster_nodes(&crate::helpers::cluster_url())
        .expect("a valid cluster URL")
        .expect("a cluster URL");
    redis::cluster::ClusterClient::new(nodes)
        .expect("a cluster client")
        .get_async_connection()
        .await
        .expect("the cluster answers")
}

#[tokio::test]
async fn stopped_commits_are_finished_in_order_and_an_older_one_replayed_late_changes_nothing() {
    let backend = Backend::cluster().await;
    let outcome = catch(async {
        let store: &dyn Store = backend.arg();
        let keys = Keys::new(backend.prefix()).expect("a valid prefix");
        let person = rid("R00003");
        let shop = venue("GC-S001", VenueKind::Shop);
        let at = t("2020-03-10T08:00:00Z");
        let crashing = crashing(&backend).await;
        let mut raw = raw_cluster().await;

        // Two commits both stop after the person's step: the check-in, then the check-out.
        scan_that_stops(&crashing, &person, &shop, Direction::In, at).await;
        scan_that_stops(
            &crashing,
            &person,
            &shop,
            Direction::Out,
            plus_minutes(at, 30),
        )
        .await;
        let owed: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(keys.person_outbox(&person))
            .query_async(&mut raw)
            .await
            .expect("reads the outbox");
        assert_eq!(owed.len(), 2, "both commits owe their venue's side");
        assert_eq!(repair_all(store).await, 2);
        let (from, to) = all_time();
        let mine = store
            .resident_visits(&person, from, to)
            .await
            .expect("reads");
        assert_eq!(mine.len(), 1);
        assert!(!mine[0].is_open());
        let check_venue = || async {
            assert_eq!(
                store.venue_visits(&shop.id, from, to).await.expect("reads"),
                mine
            );
            assert!(store.open_visits(&shop.id).await.expect("reads").is_empty());
            assert_eq!(
                store.recent_scans(&shop.id, 10).await.expect("reads").len(),
                2
            );
        };
        check_venue().await;

        // The check-in's entry comes back late (a repair that read it before the check-out was
        // finished): replaying it must not reopen the visit nor repeat the event.
        let (version, json) = owed
            .iter()
            .min_by_key(|(v, _)| v.parse::<u64>().expect("a version"))
            .expect("an entry");
        let () = redis::cmd("HSET")
            .arg(keys.person_outbox(&person))
            .arg(version)
            .arg(json)
            .query_async(&mut raw)
            .await
            .expect("writes");
        let () = redis::cmd("ZADD")
            .arg(keys.repair_pending())
            .arg(0)
            .arg(person.as_str())
            .query_async(&mut raw)
            .await
            .map(|_: i64| ())
            .expect("writes");
        assert_eq!(repair_all(store).await, 1);
        check_venue().await;
    })
    .await;
    backend.finish(outcome).await;
}

#[tokio::test]
async fn a_check_ins_venue_step_held_until_after_its_check_out_leaves_no_one_present() {
    let backend = Backend::cluster().await;
    let outcome = catch(async {
        let store: &dyn Store = backend.arg();
        let person = rid("R00009");
        let shop = venue("GC-S001", VenueKind::Shop);
        let at = t("2020-03-10T08:00:00Z");
        // An instance that stalls between a scan's person step and its venue steps.
        let slow = backend
            .reopen_with_faults(Faults {
                hold_after_person_step: Some(std::time::Duration::from_millis(800)),
                ..Faults::default()
            })
            .await;

        // The check-in's person step commits at once, its venue step waits; meanwhile the
        // check-out commits in full through a healthy instance.
        let check_in = crate::fixtures::scan(&slow, &person, &shop, Some(Direction::In), at);
        let check_out = async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            crate::fixtures::scan(
                store,
                &person,
                &shop,
                Some(Direction::Out),
                plus_minutes(at, 10),
            )
            .await
        };
        let _ = tokio::join!(check_in, check_out);

        // The late venue step must not make the person present again.
        assert!(
            store.open_visits(&shop.id).await.expect("reads").is_empty(),
            "a check-in's late venue step reopened presence after its check-out"
        );
        let (from, to) = all_time();
        let at_venue = store.venue_visits(&shop.id, from, to).await.expect("reads");
        assert_eq!(at_venue.len(), 1, "{at_venue:?}");
        assert!(!at_venue[0].is_open(), "{at_venue:?}");
        assert_eq!(
            store
                .resident_visits(&person, from, to)
                .await
                .expect("reads"),
            at_venue
        );
        assert_eq!(
            repair_all(store).await,
            0,
            "both commits finished themselves"
        );
    })
    .await;
    backend.finish(outcome).await;
}

#[tokio::test]
async fn a_person_whose_state_expired_is_seen_again_at_a_venue_that_kept_their_old_version() {
    let backend = Backend::cluster().await;
    let outcome = catch(async {
        let store: &dyn Store = backend.arg();
        let person = rid("R00001");
        let shop = venue("GC-S001", VenueKind::Shop);
        let at = t("2020-03-10T08:00:00Z");
        for (i, direction) in [Direction::In, Direction::Out, Direction::In, Direction::Out]
            .into_iter()
            .enumerate()
        {
            let minutes = i64::try_from(i).expect("small") * 10;
            crate::fixtures::scan(
                store,
                &person,
                &shop,
                Some(direction),
                plus_minutes(at, minutes),
            )
            .await;
        }
        // As when the person's state expires after a long idle time: versions start again,
        // while the venue still holds the old one (4) for them.
        let keys = Keys::new(backend.prefix()).expect("a valid prefix");
        let _: i64 = redis::cmd("DEL")
            .arg(keys.person_state(&person))
            .query_async(&mut raw_cluster().await)
            .await
            .expect("DEL");

        let later = plus_minutes(at, 60);
        crate::fixtures::scan(store, &person, &shop, Some(Direction::In), later).await;

        let present = store.open_visits(&shop.id).await.expect("reads");
        assert_eq!(present.len(), 1, "the new check-in is the venue's presence");
        let recent = store.recent_scans(&shop.id, 10).await.expect("reads");
        assert_eq!(recent.len(), 5, "the venue has the new scan event");
        // The version stays a bare number, as earlier builds read it.
        let applied: String = redis::cmd("HGET")
            .arg(keys.venue_applied(&shop.id))
            .arg(person.as_str())
            .query_async(&mut raw_cluster().await)
            .await
            .expect("HGET");
        assert_eq!(applied, "1");
    })
    .await;
    backend.finish(outcome).await;
}
