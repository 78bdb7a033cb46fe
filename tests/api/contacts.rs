//! The contract's contact definition, with hand-computed overlaps, on both backends.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::helpers::{ago, time, TestApp};

/// Visits at shop S1 (minutes after a base time 10 h ago):
/// - P (index case): 60 to 90
/// - A: 70 to 80, inside P's visit: 10 min
/// - B: 100 to 120, starts 10 min after P left
/// - C: 0 to 60, ends when P arrives: touching, 0 min
/// - D: 60 to 90 at another shop: never a contact
struct Town {
    base: DateTime<Utc>,
    ids: std::collections::HashMap<&'static str, String>,
}

async fn town(app: &TestApp) -> Town {
    let s1 = app.venue("S1", "shop").await;
    let s2 = app.venue("S2", "shop").await;
    let base = ago(600);
    let at = |m: i64| base + Duration::minutes(m);
    let plan: [(&str, &str, &String, i64, i64); 5] = [
        ("P", "19900000001", &s1, 60, 90),
        ("A", "19900000002", &s1, 70, 80),
        ("B", "19900000003", &s1, 100, 120),
        ("C", "19900000004", &s1, 0, 60),
        ("D", "19900000005", &s2, 60, 90),
    ];
    let mut ids = std::collections::HashMap::new();
    for (name, phone, code, i, o) in plan {
        let (tok, rid) = app.resident(phone).await;
        assert_eq!(app.scan_at(&tok, code, "in", at(i)).await.status, 200);
        assert_eq!(app.scan_at(&tok, code, "out", at(o)).await.status, 200);
        ids.insert(name, rid);
    }
    Town { base, ids }
}

async fn contacts(app: &TestApp, who: &str, buffer: i64, min: i64) -> Value {
    let admin = app.admin().await;
    let from = (Utc::now() - Duration::days(1)).to_rfc3339();
    let (b, m) = (buffer.to_string(), min.to_string());
    let a = app
        .send(
            app.client
                .get(app.url(&format!("/api/v1/trace/residents/{who}/contacts")))
                .query(&[
                    ("from", from.as_str()),
                    ("buffer_minutes", &b),
                    ("min_overlap_minutes", &m),
                ])
                .bearer_auth(&admin),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body
}

fn summary(body: &Value, town: &Town) -> Vec<(String, f64)> {
    let name_of = |rid: &str| {
        town.ids
            .iter()
            .find(|(_, v)| v.as_str() == rid)
            .map(|(k, _)| (*k).to_owned())
            .unwrap_or_else(|| rid.to_owned())
    };
    body["contacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                name_of(c["resident_id"].as_str().unwrap_or("")),
                c["overlap_minutes"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect()
}

async fn without_buffer_only_overlapping_and_touching_visits_are_contacts(app: TestApp) {
    let town = town(&app).await;

    let body = contacts(&app, &town.ids["P"], 0, 0).await;

    assert_eq!(body["index_case"], town.ids["P"].as_str());
    assert_eq!(
        summary(&body, &town),
        vec![("A".to_owned(), 10.0), ("C".to_owned(), 0.0)]
    );
    let a = &body["contacts"][0];
    assert_eq!(
        time(&a["first_contact"]),
        Some(town.base + Duration::minutes(70))
    );
    assert_eq!(
        time(&a["last_contact"]),
        Some(town.base + Duration::minutes(80))
    );
    assert_eq!(a["venues"][0]["venue_id"], "S1");
    assert_eq!(a["phone"], "19900000002", "tracers call contacts");
}

async fn a_buffer_widens_the_index_case_and_a_minimum_overlap_drops_short_contacts(app: TestApp) {
    let town = town(&app).await;

    // Buffer 15: P counts as [45, 105]. C: [45, 60] = 15; A: [70, 80] = 10; B: [100, 105] = 5.
    let wide = contacts(&app, &town.ids["P"], 15, 0).await;
    let strict = contacts(&app, &town.ids["P"], 15, 11).await;

    assert_eq!(
        summary(&wide, &town),
        vec![
            ("C".to_owned(), 15.0),
            ("A".to_owned(), 10.0),
            ("B".to_owned(), 5.0)
        ]
    );
    assert_eq!(summary(&strict, &town), vec![("C".to_owned(), 15.0)]);
}

async fn contacts_export_as_csv_with_a_byte_order_mark(app: TestApp) {
    let town = town(&app).await;
    let admin = app.admin().await;

    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/trace/residents/{}/contacts",
            town.ids["P"]
        )))
        .header("accept", "text/csv")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(res.status().as_u16(), 200);
    let ct = res.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let bytes = res.bytes().await.unwrap_or_default();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8_lossy(&bytes[3..]).to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "header and two contacts: {text}");
    assert!(
        lines[1].contains(&town.ids["A"]) && lines[1].contains("10.00"),
        "{text}"
    );
}

async fn visit_lists_export_as_csv_in_local_time_and_the_audit_says_csv(app: TestApp) {
    let town = town(&app).await;
    let admin = app.admin().await;
    let from = (Utc::now() - Duration::days(1)).to_rfc3339();
    let get = |path: String| {
        app.client
            .get(app.url(&path))
            .query(&[("from", from.as_str())])
            .header("accept", "text/csv")
            .bearer_auth(&admin)
            .send()
    };

    let person = get(format!("/api/v1/trace/residents/{}/visits", town.ids["P"]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = person.status().as_u16();
    let cache = person
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = person.bytes().await.unwrap_or_default();
    let venue = get("/api/v1/trace/venues/S1/visits".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let venue_rows = venue.text().await.unwrap_or_default().lines().count();
    let audit = app.get("/api/v1/audit", &admin).await.body["records"]
        .as_array()
        .cloned()
        .unwrap_or_default();

    assert_eq!(status, 200);
    assert_eq!(
        cache.as_deref(),
        Some("no-store"),
        "personal data is not cached"
    );
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8_lossy(&bytes[3..]).to_string();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let records: Vec<csv::StringRecord> = rows.records().filter_map(Result::ok).collect();
    assert_eq!(records.len(), 1, "{text}");
    // P was at S1 from 60 to 90 minutes after the base: 30 minutes, in Shanghai time.
    let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!());
    let check_in = (town.base + Duration::minutes(60))
        .with_timezone(&shanghai)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    assert_eq!(records[0].get(2), Some("S1"));
    assert_eq!(records[0].get(5), Some(check_in.as_str()));
    assert_eq!(records[0].get(9), Some("30.00"));
    assert_eq!(venue_rows, 1 + 4, "header and the four visits at S1");
    let formats: Vec<&str> = audit
        .iter()
        .filter(|r| r["action"].as_str().is_some_and(|a| a.ends_with("_visits")))
        .filter_map(|r| r["format"].as_str())
        .collect();
    assert_eq!(formats, vec!["csv", "csv"]);
}

async fn filters_keep_venue_kinds_and_can_leave_out_the_home_compound(app: TestApp) {
    let home = app.venue("C1", "residential_compound").await;
    let shop = app.venue("S1", "shop").await;
    let market = app.venue("M1", "market").await;
    let admin = app.admin().await;
    let csv = "resident_id,name,phone,home,building,room,household,tags\n\
               RP,付秀,19900000301,C1,1栋,402,H1,\n";
    app.import_csv("/api/v1/residents/import", csv).await;
    let base = ago(600);
    let at = |m: i64| base + Duration::minutes(m);
    type Stays<'a> = &'a [(&'a String, i64, i64)];
    let plan: [(&str, Stays); 4] = [
        (
            "19900000301",
            &[(&home, 0, 60), (&shop, 70, 90), (&market, 100, 120)],
        ),
        ("19900000302", &[(&home, 10, 50)]),
        ("19900000303", &[(&shop, 75, 85)]),
        ("19900000304", &[(&market, 110, 115)]),
    ];
    let mut ids = Vec::new();
    for (phone, visits) in plan {
        let (tok, rid) = app.resident(phone).await;
        for (code, i, o) in visits {
            app.scan_at(&tok, code, "in", at(*i)).await;
            app.scan_at(&tok, code, "out", at(*o)).await;
        }
        ids.push(rid);
    }
    assert_eq!(ids[0], "RP");
    let query = |extra: &'static str| {
        let from = (Utc::now() - Duration::days(1)).to_rfc3339();
        let app = &app;
        let admin = admin.clone();
        async move {
            let url = format!("/api/v1/trace/residents/RP/contacts?{extra}");
            app.send(
                app.client
                    .get(app.url(&url))
                    .query(&[("from", from)])
                    .bearer_auth(&admin),
            )
            .await
        }
    };
    let who = |body: &Value| -> Vec<String> {
        body["contacts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["resident_id"].as_str().map(str::to_owned))
            .collect()
    };

    let all = query("").await;
    let away = query("exclude_home=true").await;
    let markets = query("venue_kinds=market").await;
    let bad = query("venue_kinds=castle").await;

    assert_eq!(
        who(&all.body),
        vec![ids[1].clone(), ids[2].clone(), ids[3].clone()]
    );
    assert_eq!(who(&away.body), vec![ids[2].clone(), ids[3].clone()]);
    assert_eq!(who(&markets.body), vec![ids[3].clone()]);
    assert_eq!(bad.status, 400);
    let said = bad.body["error"]["message"].as_str().unwrap_or_default();
    assert!(said.starts_with("venue_kinds: "), "{said}");
}

async fn a_venue_exposure_report_lists_everyone_there_with_their_time_in_the_window(app: TestApp) {
    let town = town(&app).await;
    let admin = app.admin().await;
    // Window: minutes 65 to 105 of the town's day at S1. P 60-90 -> 25; A 70-80 -> 10;
    // B 100-120 -> 5; C 0-60 -> outside.
    let from = (town.base + Duration::minutes(65)).to_rfc3339();
    let to = (town.base + Duration::minutes(105)).to_rfc3339();

    let a = app
        .send(
            app.client
                .get(app.url("/api/v1/trace/venues/S1/exposure"))
                .query(&[("from", from.as_str()), ("to", to.as_str())])
                .bearer_auth(&admin),
        )
        .await;

    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["venue_id"], "S1");
    assert_eq!(
        summary(&a.body, &town),
        vec![
            ("P".to_owned(), 25.0),
            ("A".to_owned(), 10.0),
            ("B".to_owned(), 5.0)
        ]
    );
}

async fn names_a_spreadsheet_would_run_as_formulas_are_exported_as_text(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let names = ["=HYPERLINK(\"x\")", "+SUM(A1)", "-2+3", "@cmd", "正常名"];
    let mut csv = "resident_id,name,phone,home,building,room,household,tags\n".to_owned();
    for (i, name) in names.iter().enumerate() {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        csv.push_str(&format!("R{i},{quoted},1990000010{i},,,,,\n"));
    }
    csv.push_str("RP,付秀,19900000200,,,,,\n");
    let imported = app.import_csv("/api/v1/residents/import", csv).await;
    assert_eq!(imported.body["created"], 6, "{}", imported.body);
    for i in 0..names.len() {
        let (tok, _) = app.resident(&format!("1990000010{i}")).await;
        app.scan_at(&tok, &code, "in", ago(30)).await;
    }
    let (tok, index) = app.resident("19900000200").await;
    app.scan_at(&tok, &code, "in", ago(20)).await;

    let res = app
        .client
        .get(app.url(&format!("/api/v1/trace/residents/{index}/contacts")))
        .header("accept", "text/csv")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes = res.bytes().await.unwrap_or_default();

    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader.headers().cloned().unwrap_or_default();
    let col = headers
        .iter()
        .position(|h| h == "name")
        .unwrap_or(usize::MAX);
    let mut exported: Vec<String> = reader
        .records()
        .filter_map(Result::ok)
        .filter_map(|r| r.get(col).map(str::to_owned))
        .collect();
    exported.sort();
    let mut expected: Vec<String> = names
        .iter()
        .map(|n| {
            if n.starts_with(['=', '+', '-', '@']) {
                format!("'{n}")
            } else {
                (*n).to_owned()
            }
        })
        .collect();
    expected.sort();
    assert_eq!(exported, expected);
}

crate::on_both_backends!(
    a_venue_exposure_report_lists_everyone_there_with_their_time_in_the_window,
    filters_keep_venue_kinds_and_can_leave_out_the_home_compound,
    names_a_spreadsheet_would_run_as_formulas_are_exported_as_text,
    without_buffer_only_overlapping_and_touching_visits_are_contacts,
    a_buffer_widens_the_index_case_and_a_minimum_overlap_drops_short_contacts,
    contacts_export_as_csv_with_a_byte_order_mark,
    visit_lists_export_as_csv_in_local_time_and_the_audit_says_csv,
);
