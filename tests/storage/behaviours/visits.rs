//! Visits: presence (a venue's open visits) and the window queries by resident and by venue.

use checkin::domain::{ClosedBy, Direction, VenueKind};
use checkin::storage::Store;

use crate::fixtures::{all_time, plus_minutes, rid, scan, store_visits, t, venue, vid, visit};

pub async fn an_open_visit_shows_in_presence_until_closed(store: &dyn Store) {
    let (a, b) = (rid("R00001"), rid("R00002"));
    let home = venue("GC-C001", VenueKind::ResidentialCompound);
    let at = t("2020-03-10T08:00:00Z");

    let a_in = scan(store, &a, &home, Some(Direction::In), at).await;
    let b_in = scan(store, &b, &home, Some(Direction::In), plus_minutes(at, 10)).await;
    let both = store.open_visits(&home.id).await.expect("reads");
    let a_out = scan(store, &a, &home, Some(Direction::Out), plus_minutes(at, 60)).await;
    let after = store.open_visits(&home.id).await.expect("reads");

    let (a_visit, b_visit) = (
        a_in.open_after.expect("a is in"),
        b_in.open_after.expect("b is in"),
    );
    assert_eq!(
        both,
        vec![a_visit.clone(), b_visit.clone()],
        "ordered by start"
    );
    assert_eq!(after, vec![b_visit]);
    let (from, to) = all_time();
    let history = store.resident_visits(&a, from, to).await.expect("reads");
    assert_eq!(history, a_out.changed);
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id, a_visit.id);
    assert_eq!(history[0].closed_by, Some(ClosedBy::CheckOut));
    assert!(store
        .person_state(&a, None)
        .await
        .expect("reads")
        .open
        .is_none());
}

pub async fn a_check_in_elsewhere_moves_presence_to_the_new_venue(store: &dyn Store) {
    let person = rid("R00001");
    let home = venue("GC-C001", VenueKind::ResidentialCompound);
    let market = venue("GC-M001", VenueKind::Market);
    let at = t("2020-03-10T08:00:00Z");

    let first = scan(store, &person, &home, None, at).await;
    let second = scan(store, &person, &market, None, plus_minutes(at, 30)).await;

    let opened = second.open_after.clone().expect("a visit at the market");
    assert!(store.open_visits(&home.id).await.expect("reads").is_empty());
    assert_eq!(
        store.open_visits(&market.id).await.expect("reads"),
        vec![opened.clone()]
    );
    let (from, to) = all_time();
    let at_home = store.venue_visits(&home.id, from, to).await.expect("reads");
    assert_eq!(at_home.len(), 1);
    assert_eq!(
        Some(&at_home[0].id),
        first.open_after.as_ref().map(|v| &v.id)
    );
    assert_eq!(at_home[0].closed_by, Some(ClosedBy::NextCheckIn));
    assert_eq!(at_home[0].check_out, Some(plus_minutes(at, 30)));
    let state = store.person_state(&person, None).await.expect("reads");
    assert_eq!(state.open, Some(opened));
    assert_eq!(state.version, 2);
}

pub async fn a_visit_closed_by_timeout_leaves_presence_to_the_next_visit_at_the_same_venue(
    store: &dyn Store,
) {
    let person = rid("R00001");
    let shop = venue("GC-S001", VenueKind::Shop);
    let at = t("2020-03-10T08:00:00Z");

    let first = scan(store, &person, &shop, None, at).await;
    // Three hours later: past the shop's 2 h, so the first visit closed by itself.
    let second = scan(store, &person, &shop, None, plus_minutes(at, 180)).await;

    let old = first.open_after.expect("the first visit opened");
    let new = second.open_after.expect("a second visit opened");
    assert_ne!(old.id, new.id);
    assert_eq!(store.open_visits(&shop.id).await.expect("reads"), vec![new]);
    let (from, to) = all_time();
    let here = store.venue_visits(&shop.id, from, to).await.expect("reads");
    assert_eq!(here.len(), 2);
    assert_eq!(here[0].id, old.id);
    assert_eq!(here[0].closed_by, Some(ClosedBy::Auto));
    assert_eq!(here[0].check_out, Some(plus_minutes(at, 120)));
}

pub async fn visits_are_returned_for_a_window_by_resident_and_by_venue(store: &dyn Store) {
    // The window is 10 March; the lookback reaches back 7 days, to 3 March 00:00.
    let (from, to) = (t("2020-03-10T00:00:00Z"), t("2020-03-11T00:00:00Z"));
    let closed = |id: &str, who: &str, place: &str, start: &str| {
        let s = t(start);
        visit(id, who, place, Some(s), Some(plus_minutes(s, 30)))
    };
    let too_early = closed("v-a0", "R00001", "GC-S001", "2020-03-02T23:59:59.999Z");
    let lookback_edge = closed("v-a1", "R00001", "GC-S001", "2020-03-03T00:00:00Z");
    // A check-out with no check-in: it starts at check_out - max_stay (2 h) = 9 March 23:00.
    let inferred = visit(
        "v-a2",
        "R00001",
        "GC-S001",
        None,
        Some(t("2020-03-10T01:00:00Z")),
    );
    let noon = closed("v-b9", "R00001", "GC-S001", "2020-03-10T12:00:00Z");
    let elsewhere = closed("v-a4", "R00001", "GC-M001", "2020-03-10T13:00:00Z");
    let window_end = visit("v-a5", "R00001", "GC-S001", Some(to), None);
    let too_late = closed("v-a6", "R00002", "GC-S001", "2020-03-11T00:00:00.001Z");
    // Someone else at the same shop at the same start: the venue lists both by id.
    let same_start = closed("v-a3", "R00002", "GC-S001", "2020-03-10T12:00:00Z");

    store_visits(store, vec![too_early.clone(), inferred.clone()], None).await;
    store_visits(store, vec![noon.clone(), lookback_edge.clone()], None).await;
    store_visits(store, vec![elsewhere.clone()], None).await;
    store_visits(store, vec![window_end.clone()], Some(window_end.clone())).await;
    store_visits(store, vec![too_late.clone()], None).await;
    store_visits(store, vec![same_start.clone()], None).await;

    let mine = store
        .resident_visits(&rid("R00001"), from, to)
        .await
        .expect("reads");
    let at_shop = store
        .venue_visits(&vid("GC-S001"), from, to)
        .await
        .expect("reads");

    assert_eq!(
        mine,
        vec![
            lookback_edge.clone(),
            inferred.clone(),
            noon.clone(),
            elsewhere,
            window_end.clone()
        ]
    );
    assert_eq!(
        at_shop,
        vec![
            lookback_edge,
            inferred.clone(),
            same_start,
            noon,
            window_end
        ]
    );
    // A window given backwards still means starts in [from - 7 days, to].
    let reversed = store
        .venue_visits(&vid("GC-S001"), to, from)
        .await
        .expect("a reversed window reads");
    assert_eq!(reversed, vec![inferred]);
}

pub async fn a_rewritten_visit_replaces_the_stored_one(store: &dyn Store) {
    let start = t("2020-03-10T08:00:00Z");
    let open = visit("v-1", "R00001", "GC-S001", Some(start), None);
    let closed = visit(
        "v-1",
        "R00001",
        "GC-S001",
        Some(start),
        Some(plus_minutes(start, 45)),
    );
    store_visits(store, vec![open.clone()], Some(open.clone())).await;

    store_visits(store, vec![closed.clone()], None).await;

    let (from, to) = all_time();
    let mine = store
        .resident_visits(&rid("R00001"), from, to)
        .await
        .expect("reads");
    let here = store
        .venue_visits(&vid("GC-S001"), from, to)
        .await
        .expect("reads");
    assert_eq!(mine, vec![closed.clone()]);
    assert_eq!(here, vec![closed]);
    assert!(store
        .open_visits(&vid("GC-S001"))
        .await
        .expect("reads")
        .is_empty());
    let state = store
        .person_state(&rid("R00001"), None)
        .await
        .expect("reads");
    assert_eq!(state.version, 2);
    assert!(state.open.is_none());
}

pub async fn presence_follows_the_open_visit_whatever_the_order_of_the_changed_visits(
    store: &dyn Store,
) {
    let start = t("2020-03-10T08:00:00Z");
    let old = visit("v-1", "R00001", "GC-S001", Some(start), None);
    store_visits(store, vec![old.clone()], Some(old.clone())).await;
    let old_closed = visit(
        "v-1",
        "R00001",
        "GC-S001",
        Some(start),
        Some(plus_minutes(start, 120)),
    );
    let new = visit(
        "v-2",
        "R00001",
        "GC-S001",
        Some(plus_minutes(start, 180)),
        None,
    );

    // The newly opened visit first, the closed one after it.
    store_visits(
        store,
        vec![new.clone(), old_closed.clone()],
        Some(new.clone()),
    )
    .await;

    assert_eq!(
        store.open_visits(&vid("GC-S001")).await.expect("reads"),
        vec![new.clone()]
    );
    let (from, to) = all_time();
    let here = store
        .venue_visits(&vid("GC-S001"), from, to)
        .await
        .expect("reads");
    assert_eq!(here, vec![old_closed, new.clone()]);
    let state = store
        .person_state(&rid("R00001"), None)
        .await
        .expect("reads");
    assert_eq!(state.open, Some(new));
}
