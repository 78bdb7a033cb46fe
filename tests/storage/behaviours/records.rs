//! Plain records: the readiness probe, venues, residents and their phones, staff, one-time
//! codes, and reads of things never written.

use checkin::domain::staff::{Role, StaffAccount, Username};
use checkin::domain::VenueKind;
use checkin::storage::{OtpRecord, Store, StoreError, Upsert};
use chrono::{Duration, Utc};

use crate::fixtures::{all_time, phone, resident, rid, t, venue, vid};

pub async fn ping_succeeds(store: &dyn Store) {
    store.ping().await.expect("ping succeeds");
    store.ping().await.expect("ping succeeds again");
}

pub async fn reading_what_was_never_written_gives_nothing(store: &dyn Store) {
    let (from, to) = all_time();
    let who = rid("R404");
    let place = vid("GC-C404");
    let username = Username::parse("nobody").expect("a valid username");

    assert!(store.venue(&place).await.expect("venue reads").is_none());
    assert!(store.venues().await.expect("venues read").is_empty());
    assert!(store
        .resident(&who)
        .await
        .expect("resident reads")
        .is_none());
    let by_phone = store.resident_by_phone(&phone("19900000404")).await;
    assert!(by_phone.expect("resident by phone reads").is_none());
    assert!(store.staff(&username).await.expect("staff reads").is_none());
    let otp = store.take_otp(&phone("19900000404")).await;
    assert!(otp.expect("otp reads").is_none());

    let state = store
        .person_state(&who, Some("key-1"))
        .await
        .expect("person state reads");
    assert_eq!(state.version, 0);
    assert!(state.open.is_none());
    assert!(state.idempotent.is_none());

    assert!(store
        .scan_events(&who)
        .await
        .expect("events read")
        .is_empty());
    let visits = store.resident_visits(&who, from, to).await;
    assert!(visits.expect("resident visits read").is_empty());
    let visits = store.venue_visits(&place, from, to).await;
    assert!(visits.expect("venue visits read").is_empty());
    let open = store.open_visits(&place).await;
    assert!(open.expect("open visits read").is_empty());
}

pub async fn a_put_venue_then_get_returns_the_same_venue(store: &dyn Store) {
    let mut v = venue("GC-C001", VenueKind::ResidentialCompound);
    v.households = Some(320);

    let first = store.put_venue(&v).await.expect("put venue");
    let read = store.venue(&v.id).await.expect("venue reads");

    assert_eq!(first, Upsert::Created);
    assert_eq!(read.as_ref(), Some(&v));

    v.name = "古城小区".into();
    v.max_stay_minutes = Some(600);
    v.code_version = 2;
    let second = store.put_venue(&v).await.expect("put venue again");
    let read = store.venue(&v.id).await.expect("venue reads");

    assert_eq!(second, Upsert::Updated);
    assert_eq!(read.as_ref(), Some(&v));
    assert_eq!(store.venues().await.expect("venues read"), vec![v]);
}

pub async fn a_venue_is_inserted_once_even_by_concurrent_inserts(store: &dyn Store) {
    let tries: Vec<_> = (0..10)
        .map(|i| {
            let mut v = venue("RACE-1", VenueKind::Shop);
            v.name = format!("竞争{i}");
            v
        })
        .collect();

    let won = futures::future::join_all(tries.iter().map(|v| store.insert_venue(v))).await;

    let winners: Vec<usize> = won
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, Ok(true)))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "{won:?}");
    let stored = store.venue(&vid("RACE-1")).await.expect("venue reads");
    assert_eq!(stored.map(|v| v.name), Some(format!("竞争{}", winners[0])));
    assert_eq!(store.venues().await.expect("venues read").len(), 1);
}

pub async fn venues_are_listed_in_id_order(store: &dyn Store) {
    for id in ["GC-C002", "gc-a", "GC-C010", "GC-C001", "A.1"] {
        store
            .put_venue(&venue(id, VenueKind::Shop))
            .await
            .expect("put venue");
    }

    let listed: Vec<String> = store
        .venues()
        .await
        .expect("venues read")
        .into_iter()
        .map(|v| v.id.to_string())
        .collect();

    assert_eq!(listed, ["A.1", "GC-C001", "GC-C002", "GC-C010", "gc-a"]);
}

pub async fn a_put_resident_then_get_returns_the_same_resident_by_id_and_by_phone(
    store: &dyn Store,
) {
    let mut r = resident("R00001", "19900000001");

    let first = store.put_resident(&r).await.expect("put resident");

    assert_eq!(first, Upsert::Created);
    assert_eq!(
        store.resident(&r.id).await.expect("reads").as_ref(),
        Some(&r)
    );
    let by_phone = store.resident_by_phone(&r.phone).await.expect("reads");
    assert_eq!(by_phone.as_ref(), Some(&r));

    r.room = Some("502".into());
    r.tags.push("out_of_province".into());
    let second = store.put_resident(&r).await.expect("put resident again");

    assert_eq!(second, Upsert::Updated);
    assert_eq!(
        store.resident(&r.id).await.expect("reads").as_ref(),
        Some(&r)
    );
    let by_phone = store.resident_by_phone(&r.phone).await.expect("reads");
    assert_eq!(by_phone, Some(r));
}

pub async fn a_phone_already_used_by_another_resident_is_refused(store: &dyn Store) {
    let first = resident("R00001", "19900000001");
    let second = resident("R00002", "19900000001");
    store
        .put_resident(&first)
        .await
        .expect("put first resident");

    let refused = store.put_resident(&second).await;

    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "expected a conflict, got {refused:?}"
    );
    assert!(store.resident(&second.id).await.expect("reads").is_none());
    let owner = store.resident_by_phone(&first.phone).await.expect("reads");
    assert_eq!(owner, Some(first));
}

pub async fn changing_a_residents_phone_frees_the_old_phone(store: &dyn Store) {
    let mut r = resident("R00001", "19900000001");
    store.put_resident(&r).await.expect("put resident");
    let old_phone = r.phone.clone();

    r.phone = phone("19900000002");
    let moved = store.put_resident(&r).await.expect("put with a new phone");

    assert_eq!(moved, Upsert::Updated);
    assert!(store
        .resident_by_phone(&old_phone)
        .await
        .expect("reads")
        .is_none());
    let by_new = store.resident_by_phone(&r.phone).await.expect("reads");
    assert_eq!(by_new.as_ref(), Some(&r));

    let other = resident("R00002", "19900000001");
    let taken = store
        .put_resident(&other)
        .await
        .expect("the old phone is free");
    assert_eq!(taken, Upsert::Created);
    let by_old = store.resident_by_phone(&old_phone).await.expect("reads");
    assert_eq!(by_old, Some(other));
}

pub async fn a_staff_account_is_added_only_under_a_new_username(store: &dyn Store) {
    let first = StaffAccount {
        username: Username::parse("guard.wang").expect("a valid username"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$Zmlyc3Q".into(),
        role: Role::Guard,
        token_generation: 0,
    };
    let second = StaffAccount {
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$c2Vjb25k".into(),
        role: Role::Admin,
        ..first.clone()
    };

    let added = store.add_staff(&first).await.expect("add staff");
    let again = store.add_staff(&second).await.expect("add staff again");
    let read = store
        .staff(&first.username)
        .await
        .expect("staff reads")
        .expect("the account exists");

    assert!(added, "a new username is added");
    assert!(!again, "a taken one is not");
    assert_eq!(
        read.password_hash, first.password_hash,
        "the first is kept whole"
    );
    assert_eq!(read.role, Role::Guard);
}

pub async fn a_put_staff_then_get_returns_the_same_account(store: &dyn Store) {
    let mut account = StaffAccount {
        username: Username::parse("Tracer.Li").expect("a valid username"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: Role::Tracer,
        token_generation: 0,
    };

    let first = store.put_staff(&account).await.expect("put staff");
    let read = store
        .staff(&account.username)
        .await
        .expect("staff reads")
        .expect("the account exists");

    assert_eq!(first, Upsert::Created);
    assert_eq!(read.username, account.username);
    assert_eq!(read.password_hash, account.password_hash);
    assert_eq!(read.role, Role::Tracer);
    assert_eq!(read.token_generation, 0);

    account.role = Role::Admin;
    account.token_generation = 1;
    account.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$b3RoZXI".into();
    let second = store.put_staff(&account).await.expect("put staff again");
    let read = store
        .staff(&account.username)
        .await
        .expect("staff reads")
        .expect("the account exists");

    assert_eq!(second, Upsert::Updated);
    assert_eq!(read.password_hash, account.password_hash);
    assert_eq!(read.role, Role::Admin);
    assert_eq!(read.token_generation, 1, "the sign-in generation is stored");
}

fn otp(code_hash: &str, valid_minutes: i64) -> OtpRecord {
    OtpRecord {
        code_hash: code_hash.into(),
        expires_at: Utc::now() + Duration::minutes(valid_minutes),
        attempts: 0,
    }
}

pub async fn an_otp_can_be_taken_only_once(store: &dyn Store) {
    let p = phone("19900000001");
    let code = otp("hash-1", 5);
    store.put_otp(&p, &code).await.expect("put otp");

    let first = store.take_otp(&p).await.expect("take otp");
    let second = store.take_otp(&p).await.expect("take otp again");

    let first = first.expect("the code is there the first time");
    assert_eq!(first.code_hash, code.code_hash);
    assert_eq!(first.expires_at, code.expires_at);
    assert!(second.is_none());
}

pub async fn a_code_put_back_after_a_wrong_try_does_not_replace_a_newer_one(store: &dyn Store) {
    let p = phone("19900000003");
    store.put_otp(&p, &otp("old", 5)).await.expect("put otp");
    let mut tried = store.take_otp(&p).await.expect("take").expect("a code");
    tried.attempts += 1;
    store
        .put_otp(&p, &otp("new", 5))
        .await
        .expect("a new code sent meanwhile");

    store.restore_otp(&p, &tried).await.expect("put back");
    let pending = store.take_otp(&p).await.expect("take").expect("a code");
    store
        .restore_otp(&p, &tried)
        .await
        .expect("put back with none pending");
    let restored = store.take_otp(&p).await.expect("take").expect("a code");

    assert_eq!(pending.code_hash, "new", "the newer code is kept");
    assert_eq!(
        restored.code_hash, "old",
        "with none pending, the tried one is back"
    );
    assert_eq!(restored.attempts, 1);
}

pub async fn a_new_otp_replaces_the_pending_one(store: &dyn Store) {
    let p = phone("19900000001");
    let other = phone("19900000002");
    store.put_otp(&p, &otp("old", 5)).await.expect("put otp");
    store
        .put_otp(&other, &otp("other", 5))
        .await
        .expect("put otp");
    let newer = otp("new", 5);

    store.put_otp(&p, &newer).await.expect("put newer otp");

    let taken = store.take_otp(&p).await.expect("take").expect("a code");
    assert_eq!(taken.code_hash, "new");
    assert_eq!(taken.expires_at, newer.expires_at);
    assert!(store.take_otp(&p).await.expect("take").is_none());
    let kept = store.take_otp(&other).await.expect("take").expect("a code");
    assert_eq!(kept.code_hash, "other");
}

pub async fn an_otp_past_its_expiry_is_still_returned_for_the_caller_to_judge(store: &dyn Store) {
    let p = phone("19900000001");
    let expired = otp("late", -1);
    store.put_otp(&p, &expired).await.expect("put otp");

    let taken = store.take_otp(&p).await.expect("take").expect("a code");

    assert_eq!(taken.code_hash, "late");
    assert!(taken.expires_at < Utc::now());
    assert!(store.take_otp(&p).await.expect("take").is_none());
}

pub async fn audit_records_are_kept_and_read_back_by_time_window(store: &dyn Store) {
    let base = Utc::now() - Duration::hours(3);
    let record = |minutes: i64, action: &str| checkin::domain::audit::AuditRecord {
        id: uuid::Uuid::now_v7().to_string(),
        at: base + Duration::minutes(minutes),
        actor: "tracer1".into(),
        role: Role::Tracer,
        action: action.into(),
        query: "/api/v1/trace/venues/S1/visits".into(),
        format: "json".into(),
        returned: 3,
    };
    let (a, b, c) = (
        record(0, "first"),
        record(60, "second"),
        record(120, "third"),
    );
    for r in [&c, &a, &b] {
        store.append_audit(r).await.expect("audit appends");
    }

    let all = store
        .audit(base - Duration::minutes(1), base + Duration::minutes(121))
        .await
        .expect("audit reads");
    let middle = store
        .audit(base + Duration::minutes(30), base + Duration::minutes(90))
        .await
        .expect("audit reads");

    assert_eq!(all, vec![a, b.clone(), c]);
    assert_eq!(middle, vec![b]);
}

pub async fn a_venue_is_replaced_only_at_the_expected_revision(store: &dyn Store) {
    let mut v = venue("GC-S900", VenueKind::Shop);
    store.put_venue(&v).await.expect("put venue");
    v.name = "新名".into();
    v.revision = 1;

    let stale = store.replace_venue(&v, 5).await.expect("replace runs");
    let fresh = store.replace_venue(&v, 0).await.expect("replace runs");
    let again = store.replace_venue(&v, 0).await.expect("replace runs");
    let missing = store
        .replace_venue(&venue("GC-NONE", VenueKind::Shop), 0)
        .await
        .expect("replace runs");

    assert!(!stale && fresh && !again && !missing);
    let read = store.venue(&v.id).await.expect("venue reads");
    assert_eq!(
        read.map(|r| (r.name, r.revision)),
        Some(("新名".to_owned(), 1))
    );
}

pub async fn residents_are_listed_by_home_and_follow_a_move(store: &dyn Store) {
    let mut a = resident("R00001", "19900000001");
    let b = resident("R00002", "19900000002");
    let mut elsewhere = resident("R00003", "19900000003");
    elsewhere.home = Some(vid("GC-C002"));
    for r in [&a, &b, &elsewhere] {
        store.put_resident(r).await.expect("put resident");
    }
    let before = store
        .residents_at_home(&vid("GC-C001"))
        .await
        .expect("reads");
    let first = a.clone();
    a.home = Some(vid("GC-C002"));
    store.put_resident(&a).await.expect("put resident");

    assert_eq!(before, vec![first, b.clone()]);
    assert_eq!(
        store
            .residents_at_home(&vid("GC-C001"))
            .await
            .expect("reads"),
        vec![b]
    );
    assert_eq!(
        store
            .residents_at_home(&vid("GC-C002"))
            .await
            .expect("reads"),
        vec![a, elsewhere]
    );
}

pub async fn sub_locations_are_listed_under_their_parent(store: &dyn Store) {
    let compound = venue("GC-C001", VenueKind::ResidentialCompound);
    let mut b2 = venue("GC-C001-B2", VenueKind::ResidentialCompound);
    b2.parent = Some(compound.id.clone());
    let mut b1 = venue("GC-C001-B1", VenueKind::ResidentialCompound);
    b1.parent = Some(compound.id.clone());
    store.put_venue(&compound).await.expect("put venue");
    store.put_venue(&b2).await.expect("put venue");
    assert!(store.insert_venue(&b1).await.expect("insert venue"));

    assert_eq!(
        store.sub_locations(&compound.id).await.expect("reads"),
        vec![b1.id.clone(), b2.id]
    );
    assert_eq!(store.sub_locations(&b1.id).await.expect("reads"), vec![]);
    assert_eq!(
        store
            .venue(&b1.id)
            .await
            .expect("reads")
            .and_then(|v| v.parent),
        Some(compound.id)
    );
}

pub async fn a_persons_state_carries_their_registration(store: &dyn Store) {
    let person = resident("R00001", "19900000001");
    let before = store.person_state(&person.id, None).await.expect("reads");
    store.put_resident(&person).await.expect("put resident");

    let after = store
        .person_state(&person.id, Some("k"))
        .await
        .expect("reads");

    assert!(before.resident.is_none());
    assert_eq!(after.resident, Some(person));
}

pub async fn visitor_passes_are_found_by_phone_and_replaced_by_id(store: &dyn Store) {
    let pass = |id: &str, digits: &str| checkin::domain::visitor::VisitorPass {
        id: id.into(),
        host: rid("R00001"),
        venue_id: vid("GC-C001"),
        name: "王芳".into(),
        phone: phone(digits),
        relation: "女儿".into(),
        valid_from: Utc::now(),
        valid_until: Utc::now() + Duration::hours(12),
        revoked: false,
        created_at: Utc::now(),
    };
    let (a, b, other) = (
        pass("p-1", "19900000961"),
        pass("p-2", "19900000961"),
        pass("p-3", "19900000962"),
    );
    for p in [&b, &a, &other] {
        store.put_visitor_pass(p).await.expect("put pass");
    }
    let mut revoked = a.clone();
    revoked.revoked = true;
    store.put_visitor_pass(&revoked).await.expect("put pass");

    assert_eq!(
        store
            .visitor_passes(&phone("19900000961"))
            .await
            .expect("reads"),
        vec![revoked.clone(), b]
    );
    assert_eq!(
        store.visitor_pass("p-1").await.expect("reads"),
        Some(revoked)
    );
    assert_eq!(store.visitor_pass("p-9").await.expect("reads"), None);
}

pub async fn a_visitor_pass_is_purged_once_its_validity_ended_before_the_cutoff(store: &dyn Store) {
    let pass = |id: &str, until: &str| checkin::domain::visitor::VisitorPass {
        id: id.into(),
        host: rid("R00001"),
        venue_id: vid("GC-C001"),
        name: "王芳".into(),
        phone: phone("19900000961"),
        relation: "女儿".into(),
        valid_from: t(until) - Duration::hours(12),
        valid_until: t(until),
        revoked: false,
        created_at: t(until) - Duration::hours(13),
    };
    let (old, recent) = (
        pass("p-old", "2020-03-01T12:00:00Z"),
        pass("p-recent", "2020-03-20T12:00:00Z"),
    );
    for p in [&old, &recent] {
        store.put_visitor_pass(p).await.expect("put pass");
    }

    store
        .purge(t("2020-03-10T00:00:00Z"), t("2020-01-01T00:00:00Z"))
        .await
        .expect("purges");

    assert_eq!(store.visitor_pass("p-old").await.expect("reads"), None);
    assert_eq!(
        store
            .visitor_passes(&phone("19900000961"))
            .await
            .expect("reads"),
        vec![recent]
    );
}
