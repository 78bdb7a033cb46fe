//! Household check-in: one phone scans for members of its household, each of whom gets their
//! own visit (and their own fever check); anyone outside the household refuses the whole scan.

use serde_json::json;

use crate::helpers::{ago, TestApp};

async fn one_scan_checks_a_household_of_three_in_and_out_and_each_gets_a_visit(app: TestApp) {
    let shop = app.venue("S1", "shop").await;
    app.venue("C1", "residential_compound").await;
    let imported = app
        .import_csv(
            "/api/v1/residents/import",
            "resident_id,name,phone,home,building,room,household,tags\n\
             RA,付秀,19900000901,C1,1栋,402,H1,\n\
             RK,付小宝,19900000902,C1,1栋,402,H1,\n\
             RE,付奶奶,19900000903,C1,1栋,402,H1,\n\
             RG,付爷爷,19900000904,C1,1栋,402,H1,\n\
             RN,邻居,19900000905,C1,1栋,401,H2,\n",
        )
        .await;
    assert_eq!(imported.body["created"], 5, "{}", imported.body);
    let (tok, _) = app.resident("19900000901").await;
    let scan = |direction: &str, members: serde_json::Value, minutes: i64| {
        let body = json!({"code": shop, "direction": direction, "members": members,
                          "client_time": ago(minutes).to_rfc3339()});
        let (app, tok) = (&app, tok.clone());
        async move { app.post("/api/v1/scans", &tok, &body).await }
    };

    let stranger = scan("in", json!([{"resident_id": "RN"}]), 60).await;
    let entering = scan(
        "in",
        json!([{"resident_id": "RK", "temperature_c": 36.5},
               {"resident_id": "RE", "temperature_c": 38.2},
               {"resident_id": "RG"}]),
        60,
    )
    .await;
    let leaving = scan(
        "out",
        json!([{"resident_id": "RK"}, {"resident_id": "RG"}]),
        30,
    )
    .await;

    assert_eq!(stranger.status, 400, "{}", stranger.body);
    assert_eq!(stranger.body["error"]["code"], "invalid_input");
    assert_eq!(entering.status, 200, "{}", entering.body);
    let decided: Vec<(String, String)> = entering.body["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["resident_id"].as_str().unwrap_or_default().to_owned(),
                m["decision"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        decided,
        vec![
            pair("RK", "admitted"),
            pair("RE", "denied"),
            pair("RG", "admitted")
        ]
    );
    assert_eq!(entering.body["members"][1]["reason"], "fever");
    assert_eq!(leaving.status, 200, "{}", leaving.body);
    // The refused scan recorded nothing: one visit each, none for the feverish grandmother.
    for (who, n) in [("RA", 1), ("RK", 1), ("RG", 1), ("RE", 0), ("RN", 0)] {
        let visits = app.visits_of(who).await;
        assert_eq!(visits.len(), n, "{who}: {visits:?}");
        if n == 1 {
            assert_eq!(visits[0]["closed_by"], "check_out", "{who}: {visits:?}");
        }
    }
}

crate::on_both_backends!(one_scan_checks_a_household_of_three_in_and_out_and_each_gets_a_visit);
