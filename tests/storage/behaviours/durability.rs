//! Durability: what one store wrote, a second store opened on the same data reads back.

use checkin::domain::staff::{Role, StaffAccount, Username};
use checkin::domain::{Direction, VenueKind};
use checkin::storage::{CommitResult, ScanCommit};

use crate::fixtures::{all_time, decided, idempotency_record, resident, rid, t, venue};
use crate::helpers::Backend;

pub async fn data_survives_reopening_the_store(backend: &Backend) {
    let home = venue("GC-C001", VenueKind::ResidentialCompound);
    let person = resident("R00001", "19900000001");
    let account = StaffAccount {
        username: Username::parse("admin").expect("a valid username"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: Role::Admin,
        token_generation: 2,
    };
    let outcome = decided(
        None,
        &person.id,
        &home,
        Some(Direction::In),
        None,
        t("2020-03-10T08:00:00Z"),
    );
    let record = idempotency_record("kept");
    backend.put_venue(&home).await.expect("put venue");
    backend.put_resident(&person).await.expect("put resident");
    backend.put_staff(&account).await.expect("put staff");
    let committed = backend
        .commit_scan(&ScanCommit {
            resident_id: person.id.clone(),
            expected_version: 0,
            removed: Vec::new(),
            event: outcome.event.clone(),
            changed: outcome.changed.clone(),
            open_after: outcome.open_after.clone(),
            idempotency: Some(("key-1".into(), record.clone())),
            alerts: Vec::new(),
        })
        .await
        .expect("the commit runs");
    assert_eq!(committed, CommitResult::Committed);

    let reopened = backend.reopen().await;

    assert_eq!(reopened.venues().await.expect("reads"), vec![home.clone()]);
    let r = reopened
        .resident_by_phone(&person.phone)
        .await
        .expect("reads");
    assert_eq!(r, Some(person.clone()));
    let staff = reopened
        .staff(&account.username)
        .await
        .expect("reads")
        .expect("the account survives");
    assert_eq!(staff.password_hash, account.password_hash);
    assert_eq!(staff.token_generation, 2);
    let state = reopened
        .person_state(&rid("R00001"), Some("key-1"))
        .await
        .expect("reads");
    assert_eq!(state.version, 1);
    assert_eq!(state.open, outcome.open_after);
    assert_eq!(state.idempotent, Some(record));
    assert_eq!(
        reopened.scan_events(&person.id).await.expect("reads"),
        vec![outcome.event]
    );
    let (from, to) = all_time();
    let here = reopened
        .venue_visits(&home.id, from, to)
        .await
        .expect("reads");
    assert_eq!(here, outcome.changed);
    assert_eq!(
        reopened.open_visits(&home.id).await.expect("reads"),
        outcome.changed
    );
}
