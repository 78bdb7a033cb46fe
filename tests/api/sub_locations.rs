//! Sub-locations: a compound's buildings (or a market's halls) have their own codes, and a
//! visit to one counts as a visit to its parent for contacts and exposure.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{ago, TestApp};

/// Registers `id` under `parent` and returns the code of its first gate, or the answer when
/// refused.
async fn sub_location(app: &TestApp, id: &str, parent: &str) -> Result<String, (u16, Value)> {
    let admin = app.admin().await;
    let a = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": id, "name": format!("楼{id}"), "kind": "residential_compound",
                    "gates": ["单元门"], "parent": parent, "entry_policy": "open"}),
        )
        .await;
    if a.status != 201 {
        return Err((a.status, a.body));
    }
    assert_eq!(a.body["parent"], parent);
    Ok(a.body["codes"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

async fn report(app: &TestApp, path: &str) -> Vec<(String, String, i64)> {
    let admin = app.admin().await;
    let from = (Utc::now() - Duration::days(1)).to_rfc3339();
    let a = app
        .send(
            app.client
                .get(app.url(path))
                .query(&[("from", from)])
                .bearer_auth(&admin),
        )
        .await;
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    a.body["contacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["resident_id"].as_str().unwrap_or_default().to_owned(),
                c["venues"][0]["venue_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                c["overlap_minutes"].as_f64().unwrap_or(f64::NAN).round() as i64,
            )
        })
        .collect()
}

/// Compound C1 with buildings B1 and B2 (minutes after a base 10 h ago):
/// P in B1 60–120; Q in B2 90–180; S in B1 75–80; R at C1's gate 105–110; T at C2 60–120.
/// Each leaves a building and the compound's gate in the same minute.
async fn visits_to_buildings_meet_at_their_compound_and_exposure_covers_the_buildings(
    app: TestApp,
) {
    let gate = app.venue("C1", "residential_compound").await;
    let other = app.venue("C2", "residential_compound").await;
    let b1 = sub_location(&app, "C1-B1", "C1").await.unwrap_or_default();
    let b2 = sub_location(&app, "C1-B2", "C1").await.unwrap_or_default();
    let nested = sub_location(&app, "C1-B1-U1", "C1-B1").await;
    let orphan = sub_location(&app, "C9-B1", "C9").await;
    let base = ago(600);
    let plan = [
        ("19900000601", &b1, 60, 120),
        ("19900000602", &b2, 90, 180),
        ("19900000603", &b1, 75, 80),
        ("19900000604", &gate, 105, 110),
        ("19900000605", &other, 60, 120),
    ];
    let mut ids = Vec::new();
    for (phone, code, i, o) in plan {
        let (tok, rid) = app.resident(phone).await;
        for (dir, m) in [("in", i), ("out", o)] {
            let a = app
                .scan_at(&tok, code, dir, base + Duration::minutes(m))
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
        }
        // Out of a building is back in the compound: out at its gate at once.
        if code != &gate && code != &other {
            let a = app
                .scan_at(&tok, &gate, "out", base + Duration::minutes(o))
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
        }
        ids.push(rid);
    }
    let (p, q, s, r) = (&ids[0], &ids[1], &ids[2], &ids[3]);

    let contacts = report(&app, &format!("/api/v1/trace/residents/{p}/contacts")).await;
    let compound = report(&app, "/api/v1/trace/venues/C1/exposure").await;
    let building = report(&app, "/api/v1/trace/venues/C1-B1/exposure").await;

    assert!(matches!(nested, Err((400, _))), "{nested:?}");
    assert!(matches!(orphan, Err((400, _))), "{orphan:?}");
    let row = |id: &String, venue: &str, m: i64| (id.clone(), venue.to_owned(), m);
    // The answer's order: longest first, then by id (ids are random here).
    let ordered = |mut rows: Vec<(String, String, i64)>| {
        rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        rows
    };
    assert_eq!(
        contacts,
        ordered(vec![row(q, "C1", 30), row(r, "C1", 5), row(s, "C1-B1", 5)])
    );
    assert_eq!(
        compound,
        ordered(vec![
            row(q, "C1-B2", 90),
            row(p, "C1-B1", 60),
            row(r, "C1", 5),
            row(s, "C1-B1", 5),
        ])
    );
    assert_eq!(building, vec![row(p, "C1-B1", 60), row(s, "C1-B1", 5)]);
}

/// `(venue, closed_by, start_inferred)` of each visit of `rid`, in order.
async fn trail(app: &TestApp, rid: &str) -> Vec<(String, String, bool)> {
    app.visits_of(rid)
        .await
        .iter()
        .map(|v| {
            (
                v["venue_id"].as_str().unwrap_or_default().to_owned(),
                v["closed_by"].as_str().unwrap_or("open").to_owned(),
                v["start_inferred"].as_bool().unwrap_or(true),
            )
        })
        .collect()
}

/// In at the compound's gate, into a building and out of it, out at the gate: the building
/// visit sits between two compound visits, none of unknown start, and nobody is left inside;
/// the same with the directions left to the service, and straight out of the gate from the
/// building.
async fn walking_through_a_compound_and_one_of_its_buildings_leaves_a_plain_trail(app: TestApp) {
    let gate = app.venue("C1", "residential_compound").await;
    let b1 = sub_location(&app, "C1-B1", "C1").await.unwrap_or_default();
    let (told, a) = app.resident("19900000611").await;
    let (guessed, b) = app.resident("19900000612").await;
    let (straight, c) = app.resident("19900000613").await;
    for (m, code, dir) in [
        (120, &gate, "in"),
        (115, &b1, "in"),
        (60, &b1, "out"),
        (55, &gate, "out"),
    ] {
        let at = ago(m);
        assert_eq!(app.scan_at(&told, code, dir, at).await.status, 200);
        let auto = app
            .post(
                "/api/v1/scans",
                &guessed,
                &json!({"code": code, "client_time": at.to_rfc3339()}),
            )
            .await;
        assert_eq!(auto.body["direction"], dir, "{}", auto.body);
    }
    for (m, code, dir) in [(120, &gate, "in"), (115, &b1, "in"), (55, &gate, "out")] {
        assert_eq!(app.scan_at(&straight, code, dir, ago(m)).await.status, 200);
    }

    let walk = |v: &str, by: &str| (v.to_owned(), by.to_owned(), false);
    let expected = vec![
        walk("C1", "next_check_in"),
        walk("C1-B1", "check_out"),
        walk("C1", "check_out"),
    ];
    assert_eq!(trail(&app, &a).await, expected);
    assert_eq!(trail(&app, &b).await, expected);
    assert_eq!(
        trail(&app, &c).await,
        vec![walk("C1", "next_check_in"), walk("C1-B1", "check_out")]
    );
    assert_eq!(app.presence("C1").await["count"], 0);
    assert_eq!(app.presence("C1-B1").await["count"], 0);
}

async fn a_venues_csv_sets_parents_and_a_file_without_them_leaves_them(app: TestApp) {
    let head = "code,name,kind,community,address,gates,households";
    let first = app
        .import_csv(
            "/api/v1/venues/import",
            format!(
                "{head},parent\nC9,瑞祥小区,residential_compound,东门社区,翠屏路1号,北门,40,\n\
                 C9-B1,一栋,residential_compound,东门社区,翠屏路1号,单元门,,C9\n\
                 C9-B2,二栋,residential_compound,东门社区,翠屏路1号,单元门,,C9-B1\n\
                 C9-B3,三栋,residential_compound,东门社区,翠屏路1号,单元门,,bad id\n"
            ),
        )
        .await;
    let again = app
        .import_csv(
            "/api/v1/venues/import",
            format!(
                "{head}\nC9,瑞祥小区,residential_compound,东门社区,翠屏路1号,北门,41\n\
                 C9-B1,一栋,residential_compound,东门社区,翠屏路1号,单元门,\n"
            ),
        )
        .await;
    let admin = app.admin().await;
    let b1 = app.get("/api/v1/venues/C9-B1", &admin).await;

    assert_eq!(first.body["created"], 2, "{}", first.body);
    let messages: Vec<&str> = first.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages.iter().all(|m| m.starts_with("parent")),
        "{messages:?}"
    );
    assert_eq!(again.body["updated"], 2, "{}", again.body);
    assert_eq!(again.body["errors"], json!([]));
    assert_eq!(b1.body["parent"], "C9");
    let building_home = app
        .import_csv(
            "/api/v1/residents/import",
            "resident_id,name,phone,home,building,room,household,tags\n\
             RB,付秀,19900000991,C9-B1,1栋,402,H1,\n",
        )
        .await;
    assert_eq!(building_home.body["created"], 0, "{}", building_home.body);
    assert!(
        building_home.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("home")),
        "{}",
        building_home.body
    );
}

crate::on_both_backends!(
    a_venues_csv_sets_parents_and_a_file_without_them_leaves_them,
    visits_to_buildings_meet_at_their_compound_and_exposure_covers_the_buildings,
    walking_through_a_compound_and_one_of_its_buildings_leaves_a_plain_trail,
);
