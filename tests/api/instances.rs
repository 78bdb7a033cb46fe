//! Several stateless instances on one store (the way the service scales out): whichever
//! instance answers, a person's visits, presence, idempotency and contacts are the same, on
//! each store and on a Redis Cluster.

use serde_json::json;

use crate::helpers::{ago, spawn_app_with, spawn_beside, Backend};

async fn a_resident_checks_in_through_one_instance_and_out_through_another(backend: Backend) {
    let one = spawn_app_with(backend, |_| {}).await;
    let two = spawn_beside(&one, |_| {}).await;
    let code = one.venue("S1", "shop").await;
    // A token from one instance is good at the other (they share the signing secret).
    let (token, rid) = one.resident("19900000991").await;
    let (other, other_id) = two.resident("19900000992").await;

    let first = one
        .post(
            "/api/v1/scans",
            &token,
            &json!({"code": code, "direction": "in", "client_time": ago(60).to_rfc3339(),
                    "idempotency_key": "k-in"}),
        )
        .await;
    // The phone retries through the other instance: the same answer, nothing new.
    let retried = two
        .post(
            "/api/v1/scans",
            &token,
            &json!({"code": code, "direction": "in", "client_time": ago(60).to_rfc3339(),
                    "idempotency_key": "k-in"}),
        )
        .await;
    two.scan_at(&other, &code, "in", ago(50)).await;
    let inside_one = one.presence("S1").await;
    let inside_two = two.presence("S1").await;
    let out = two.scan_at(&token, &code, "out", ago(30)).await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(retried.body, first.body);
    assert_eq!(inside_one["count"], 2);
    assert_eq!(inside_two["people"], inside_one["people"]);
    assert_eq!(out.body["decision"], "admitted", "{}", out.body);
    let visits_one = one.visits_of(&rid).await;
    let visits_two = two.visits_of(&rid).await;
    assert_eq!(visits_one, visits_two);
    assert_eq!(visits_one.len(), 1, "{visits_one:?}");
    assert_eq!(visits_one[0]["closed_by"], "check_out");
    let admin_one = one.admin().await;
    let admin_two = two.admin().await;
    let path = format!(
        "/api/v1/trace/residents/{rid}/contacts?from={}",
        (ago(0) - chrono::Duration::days(1))
            .to_rfc3339()
            .replace('+', "%2B")
    );
    let contacts_one = one.get(&path, &admin_one).await;
    let contacts_two = two.get(&path, &admin_two).await;
    assert_eq!(contacts_one.status, 200, "{}", contacts_one.body);
    assert_eq!(contacts_one.body["contacts"], contacts_two.body["contacts"]);
    assert_eq!(
        contacts_one.body["contacts"][0]["resident_id"],
        other_id.as_str()
    );
}

crate::for_each_backend!(a_resident_checks_in_through_one_instance_and_out_through_another);

mod cluster {
    /// The same on a three-master Redis Cluster, where a scan's commit is several single-slot
    /// steps.
    #[tokio::test]
    async fn a_resident_checks_in_through_one_instance_and_out_through_another() {
        super::a_resident_checks_in_through_one_instance_and_out_through_another(
            crate::helpers::Backend::Cluster,
        )
        .await;
    }
}
