//! Who may enter: a `residents_only` compound admits the people whose home it is, refuses
//! others with `not_a_resident`, never refuses a check-out, and a change of policy leaves
//! earlier scans as they were; watch-listed residents are flagged at the gate.

use serde_json::json;

use crate::helpers::{ago, spawn_app_with, Backend, TestApp};

async fn a_residents_only_compound_admits_its_residents_and_turns_others_away(app: TestApp) {
    let admin = app.admin().await;
    let made = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "C1", "name": "瑞祥小区", "kind": "residential_compound",
                    "gates": ["北门"]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(
        made.body["entry_policy"], "residents_only",
        "the compound default"
    );
    let code = made.body["codes"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.venue("C2", "residential_compound").await;
    app.import_residents(
        "RH,付秀,19900000701,C1,1栋,402,H1,\n\
         RO,向强,19900000702,C2,1栋,101,H2,\n",
    )
    .await;
    let (resident, _) = app.resident("19900000701").await;
    let (outsider, ro) = app.resident("19900000702").await;
    let (stranger, _) = app.resident("19900000703").await;

    let home = app.scan_at(&resident, &code, "in", ago(50)).await;
    let other = app.scan_at(&outsider, &code, "in", ago(40)).await;
    let unknown = app.scan_at(&stranger, &code, "in", ago(40)).await;
    let out = app.scan_at(&outsider, &code, "out", ago(30)).await;
    let opened = app
        .send(
            app.client
                .patch(app.url("/api/v1/venues/C1"))
                .bearer_auth(&admin)
                .json(&json!({"entry_policy": "open"})),
        )
        .await;
    let later = app.scan_at(&outsider, &code, "in", ago(20)).await;

    assert_eq!(home.body["decision"], "admitted", "{}", home.body);
    for denied in [&other, &unknown] {
        assert_eq!(denied.status, 200, "{}", denied.body);
        assert_eq!(denied.body["decision"], "denied");
        assert_eq!(denied.body["reason"], "not_a_resident");
        assert!(denied.body["visit_id"].is_null(), "{}", denied.body);
    }
    assert_eq!(
        out.body["decision"], "admitted",
        "a check-out is never refused"
    );
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(later.body["decision"], "admitted", "{}", later.body);
    // The outsider's history: the check-out (inferred start) and the later check-in; the
    // refused check-in made no visit, then or after the change.
    let visits = app.visits_of(&ro).await;
    let starts: Vec<bool> = visits
        .iter()
        .map(|v| v["start_inferred"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(starts, vec![true, false], "{visits:?}");
}

async fn a_watch_listed_resident_is_flagged_at_the_gate(app: TestApp) {
    let shop = app.venue("S1", "shop").await;
    app.import_residents(
        "RW,雷婷,19900000801,,,,,hubei_return;key_monitoring\n\
         RN,陆鹏,19900000802,,,,,\n",
    )
    .await;
    let (watched, _) = app.resident("19900000801").await;
    let (plain, _) = app.resident("19900000802").await;

    let flagged = app.scan_at(&watched, &shop, "in", ago(10)).await;
    let quiet = app.scan_at(&plain, &shop, "in", ago(10)).await;

    assert_eq!(flagged.body["decision"], "admitted", "{}", flagged.body);
    assert_eq!(
        flagged.body["watch"],
        json!(["hubei_return", "key_monitoring"])
    );
    assert_eq!(quiet.body["decision"], "admitted", "{}", quiet.body);
    assert!(quiet.body.get("watch").is_none(), "{}", quiet.body);
}

/// A policy left at its kind's default follows a change of kind, by PATCH or import; one an
/// admin chose stays.
async fn a_change_of_kind_carries_the_default_entry_policy_along(app: TestApp) {
    let admin = app.admin().await;
    let made = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "C3", "name": "和平小区", "kind": "residential_compound", "gates": ["北门"]}),
        )
        .await;
    assert_eq!(made.body["entry_policy"], "residents_only", "{}", made.body);
    let patch = |body: serde_json::Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.send(
                app.client
                    .patch(app.url("/api/v1/venues/C3"))
                    .bearer_auth(&admin)
                    .json(&body),
            )
            .await
        }
    };

    let shop = patch(json!({"kind": "shop"})).await;
    let back = patch(json!({"kind": "residential_compound"})).await;
    let chosen = patch(json!({"entry_policy": "open"})).await;
    let kept = patch(json!({"kind": "hotel"})).await;

    assert_eq!(shop.body["entry_policy"], "open", "{}", shop.body);
    assert_eq!(back.body["entry_policy"], "residents_only", "{}", back.body);
    assert_eq!(chosen.body["entry_policy"], "open");
    assert_eq!(kept.body["entry_policy"], "open", "{}", kept.body);
    // Chosen, it stays open back at the compound's kind, whose default it is not.
    let again = patch(json!({"kind": "residential_compound"})).await;
    assert_eq!(again.body["entry_policy"], "open", "{}", again.body);

    // An import's change of kind carries a default policy along as a PATCH does.
    let header = "code,name,kind,community,address,gates,households\n";
    for kind in ["residential_compound", "shop"] {
        let csv = format!("{header}C4,东园小区,{kind},东门社区,,北门,\n");
        let imported = app.import_csv("/api/v1/venues/import", csv).await;
        assert_eq!(imported.status, 200, "{}", imported.body);
    }
    let imported = app.get("/api/v1/venues/C4", &admin).await;
    assert_eq!(imported.body["entry_policy"], "open", "{}", imported.body);
}

crate::on_both_backends!(
    a_change_of_kind_carries_the_default_entry_policy_along,
    a_residents_only_compound_admits_its_residents_and_turns_others_away,
    a_watch_listed_resident_is_flagged_at_the_gate,
);

/// Markets configured to require a reading: a check-in without one is refused, with one it
/// goes through, and leaving needs none.
async fn a_venue_kind_configured_to_require_a_temperature_refuses_a_check_in_without_one(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |s| {
        s.scans.temperature_required = vec!["market".into()];
    })
    .await;
    let market = app.venue("M1", "market").await;
    let (tok, _) = app.resident("19900000851").await;

    let bare = app.scan_at(&tok, &market, "in", ago(30)).await;
    let measured = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": market, "direction": "in", "temperature_c": 36.4,
                    "client_time": ago(29).to_rfc3339()}),
        )
        .await;
    let out = app.scan_at(&tok, &market, "out", ago(10)).await;

    assert_eq!(bare.body["decision"], "denied", "{}", bare.body);
    assert_eq!(bare.body["reason"], "temperature_required");
    assert_eq!(measured.body["decision"], "admitted", "{}", measured.body);
    assert_eq!(out.body["decision"], "admitted", "{}", out.body);
}

#[tokio::test]
async fn embedded_a_venue_kind_configured_to_require_a_temperature_refuses_a_check_in_without_one()
{
    a_venue_kind_configured_to_require_a_temperature_refuses_a_check_in_without_one(
        Backend::Embedded,
    )
    .await;
}

#[tokio::test]
async fn redis_a_venue_kind_configured_to_require_a_temperature_refuses_a_check_in_without_one() {
    a_venue_kind_configured_to_require_a_temperature_refuses_a_check_in_without_one(Backend::Redis)
        .await;
}
