//! A resident import whose phone another person holds names that person: a registered
//! resident by id, or a person not registered yet (a visitor's one-time-code sign-in, a
//! checkpoint passenger) with the way to register them, history kept.

use serde_json::json;

use crate::helpers::{ago, TestApp};

const HEADER: &str = "resident_id,name,phone,home,building,room,household,tags\n";

/// The messages of an import's row errors.
fn messages(answer: &crate::helpers::Answer) -> Vec<String> {
    answer.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn an_import_refused_for_a_phone_held_by_someone_says_who_holds_it(app: TestApp) {
    let shop = app.venue("S1", "shop").await;
    app.venue("K1", "checkpoint").await;
    app.import_residents("R1,付秀,19900000601,,,,,\n").await;
    // A visitor signs in by one-time code and scans in; a passenger rides through a checkpoint.
    let (visitor_token, visitor) = app.resident("19900000602").await;
    app.scan_at(&visitor_token, &shop, "in", ago(30)).await;
    let guard = app.staff("guard1", "guard").await;
    let pass = app
        .post(
            "/api/v1/venues/K1/vehicle-passes",
            &guard,
            &json!({"plate": "云D12345", "origin": {"province": "云南省", "city": "昆明"},
                    "passenger_count": 1, "passengers": [{"phone": "19900000603"}],
                    "decision": "let_through"}),
        )
        .await;
    assert_eq!(pass.status, 201, "{}", pass.body);
    let passenger = pass.body["passenger_visits"][0]["resident_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rows = format!(
        "{HEADER}R2,向强,19900000601,,,,,\nR3,陆鹏,19900000602,,,,,\nR4,雷婷,19900000603,,,,,\n"
    );

    for path in [
        "/api/v1/residents/import?dry_run=true",
        "/api/v1/residents/import",
    ] {
        let a = app.import_csv(path, rows.as_str()).await;

        assert_eq!(a.body["created"], 0, "{path}: {}", a.body);
        let said = messages(&a);
        assert_eq!(said.len(), 3, "{path}: {}", a.body);
        assert_eq!(said[0], "phone: the phone belongs to resident R1");
        for (message, holder) in said[1..].iter().zip([&visitor, &passenger]) {
            assert!(message.contains(&format!("held by {holder}")), "{message}");
            assert!(message.contains("not registered"), "{message}");
            assert!(
                message.contains(&format!("resident_id {holder}")),
                "{message}"
            );
        }
    }

    // As the message says: the row under the holder's id registers that very person.
    let registered = app
        .import_csv(
            "/api/v1/residents/import",
            format!("{HEADER}{visitor},陆鹏,19900000602,,,,,\n"),
        )
        .await;
    assert_eq!(registered.body["errors"], json!([]), "{}", registered.body);
    assert_eq!(registered.body["updated"], 1, "{}", registered.body);
    let me = app.get("/api/v1/me", &visitor_token).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(app.visits_of(&visitor).await.len(), 1, "their visit stays");
}

crate::on_both_backends!(an_import_refused_for_a_phone_held_by_someone_says_who_holds_it);
