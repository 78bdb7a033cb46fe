//! Contact classes (household, building, compound from registration; shared visits elsewhere)
//! and second-degree contacts with their paths, on both backends.

use chrono::{Duration, Utc};
use serde_json::Value;

use crate::helpers::{ago, TestApp};

/// The contacts of `who` over the last day, with `extra` query parameters.
async fn contacts_of(app: &TestApp, who: &str, extra: &str) -> (u16, Value) {
    let admin = app.admin().await;
    let from = (Utc::now() - Duration::days(1)).to_rfc3339();
    let a = app
        .send(
            app.client
                .get(app.url(&format!("/api/v1/trace/residents/{who}/contacts?{extra}")))
                .query(&[("from", from)])
                .bearer_auth(&admin),
        )
        .await;
    (a.status, a.body)
}

/// `(resident_id, class, degree, path, overlap minutes)` of each contact, in answer order.
fn rows(body: &Value) -> Vec<(String, String, u64, String, i64)> {
    body["contacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let path: Vec<&str> = c["path"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (
                c["resident_id"].as_str().unwrap_or_default().to_owned(),
                c["class"].as_str().unwrap_or_default().to_owned(),
                c["degree"].as_u64().unwrap_or_default(),
                path.join(">"),
                c["overlap_minutes"].as_f64().unwrap_or(f64::NAN).round() as i64,
            )
        })
        .collect()
}

fn row(
    id: &str,
    class: &str,
    degree: u64,
    path: &str,
    minutes: i64,
) -> (String, String, u64, String, i64) {
    (id.into(), class.into(), degree, path.into(), minutes)
}

/// Registered in compound C1: RP (the index case) and RH in household H1 of building 1栋, RB
/// in another household of 1栋, RC in building 2栋; RX lives in C2. Only RP and RX scan: both
/// at shop S1, RP from 60 to 120 and RX from 90 to 150 minutes after a base 10 h ago.
async fn household_building_and_compound_ties_count_without_a_scan_and_carry_their_class(
    app: TestApp,
) {
    app.venue("C1", "residential_compound").await;
    app.venue("C2", "residential_compound").await;
    let shop = app.venue("S1", "shop").await;
    app.import_residents(
        "RP,付秀,19900000401,C1,1栋,402,H1,\n\
         RH,付强,19900000402,C1,1栋,402,H1,\n\
         RB,向梅,19900000403,C1,1栋,301,H2,\n\
         RC,李娜,19900000404,C1,2栋,101,H3,\n\
         RX,王伟,19900000405,C2,1栋,101,H9,\n",
    )
    .await;
    let base = ago(600);
    for (phone, i, o) in [("19900000401", 60, 120), ("19900000405", 90, 150)] {
        let (tok, _) = app.resident(phone).await;
        for (dir, m) in [("in", i), ("out", o)] {
            let a = app
                .scan_at(&tok, &shop, dir, base + Duration::minutes(m))
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
        }
    }

    let (_, contract) = contacts_of(&app, "RP", "").await;
    let (status, all) = contacts_of(&app, "RP", "classes=all").await;
    let (_, household) = contacts_of(&app, "RP", "classes=household").await;
    let (_, some) = contacts_of(&app, "RP", "classes=shared_visit,household").await;
    let (bad, _) = contacts_of(&app, "RP", "classes=neighbours").await;

    // Without `classes`, the contract's contacts: people with shared visits, with their class.
    assert_eq!(
        rows(&contract),
        vec![row("RX", "shared_visit", 1, "RP>RX", 30)]
    );
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        rows(&all),
        vec![
            row("RX", "shared_visit", 1, "RP>RX", 30),
            row("RB", "building", 1, "RP>RB", 0),
            row("RC", "compound", 1, "RP>RC", 0),
            row("RH", "household", 1, "RP>RH", 0),
        ]
    );
    let rh = &all["contacts"][3];
    assert_eq!(rh["venues"], serde_json::json!([]));
    assert!(rh["first_contact"].is_null(), "{rh}");
    assert_eq!(rh["name"], "付强");
    assert_eq!(
        rows(&household),
        vec![row("RH", "household", 1, "RP>RH", 0)]
    );
    assert_eq!(
        rows(&some),
        vec![
            row("RX", "shared_visit", 1, "RP>RX", 30),
            row("RH", "household", 1, "RP>RH", 0),
        ]
    );
    assert_eq!(bad, 400);
}

/// Unregistered people at three shops (minutes after a base 10 h ago):
/// - S1: P 60–120, Q 90–150, T 110–115
/// - S2: Q 180–240, R 210–270, T 230–235
///
/// P's contacts are Q (30) and T (5); Q's are P, T and R (30 at S2). At depth 2 only R is new,
/// reached through Q; P (the index case) and T (already first-degree) are not repeated.
async fn second_degree_contacts_come_with_their_path_and_leave_out_the_index_case_and_first_degree(
    app: TestApp,
) {
    let s1 = app.venue("S1", "shop").await;
    let s2 = app.venue("S2", "shop").await;
    let base = ago(600);
    type Stays<'a> = &'a [(&'a String, i64, i64)];
    let plan: [(&str, Stays); 4] = [
        ("19900000501", &[(&s1, 60, 120)]),
        ("19900000502", &[(&s1, 90, 150), (&s2, 180, 240)]),
        ("19900000503", &[(&s2, 210, 270)]),
        ("19900000504", &[(&s1, 110, 115), (&s2, 230, 235)]),
    ];
    let mut ids = Vec::new();
    for (phone, stays) in plan {
        let (tok, rid) = app.resident(phone).await;
        for (code, i, o) in stays {
            for (dir, m) in [("in", *i), ("out", *o)] {
                let a = app
                    .scan_at(&tok, code, dir, base + Duration::minutes(m))
                    .await;
                assert_eq!(a.status, 200, "{}", a.body);
            }
        }
        ids.push(rid);
    }
    let (p, q, r, t) = (&ids[0], &ids[1], &ids[2], &ids[3]);

    let (_, first) = contacts_of(&app, p, "").await;
    let (status, second) = contacts_of(&app, p, "depth=2").await;
    let (bad, _) = contacts_of(&app, p, "depth=3").await;

    let path = |ids: &[&String]| ids.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(">");
    let first_degree = vec![
        row(q, "shared_visit", 1, &path(&[p, q]), 30),
        row(t, "shared_visit", 1, &path(&[p, t]), 5),
    ];
    assert_eq!(rows(&first), first_degree);
    assert_eq!(status, 200, "{second}");
    let mut both = first_degree;
    both.push(row(r, "shared_visit", 2, &path(&[p, q, r]), 30));
    assert_eq!(rows(&second), both);
    assert_eq!(bad, 400);
}

crate::on_both_backends!(
    household_building_and_compound_ties_count_without_a_scan_and_carry_their_class,
    second_degree_contacts_come_with_their_path_and_leave_out_the_index_case_and_first_degree,
);
