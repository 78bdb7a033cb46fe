//! Bad input gets a 4xx with the contract's error body, never a 500, and changes nothing.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::helpers::{ago, TestApp};

async fn scan_raw(app: &TestApp, tok: &str, body: &str) -> crate::helpers::Answer {
    app.send(
        app.client
            .post(app.url("/api/v1/scans"))
            .bearer_auth(tok)
            .header("content-type", "application/json")
            .body(body.to_owned()),
    )
    .await
}

async fn malformed_json_and_wrong_types_get_400_and_change_nothing(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    app.scan_at(&tok, &code, "in", ago(10)).await;

    let cases = [
        ("{not json", "invalid_json"),
        (r#"{"code": 12}"#, "invalid_json"),
        (
            &format!(r#"{{"code": "{code}", "direction": "sideways"}}"#),
            "invalid_json",
        ),
        (
            &format!(r#"{{"code": "{code}", "temperature_c": "hot"}}"#),
            "invalid_json",
        ),
        (
            &format!(r#"{{"code": "{code}", "temperature_c": 52.0}}"#),
            "invalid_input",
        ),
        (
            &format!(r#"{{"code": "{code}", "client_time": "yesterday"}}"#),
            "invalid_input",
        ),
        (
            &format!(r#"{{"code": "{code}", "idempotency_key": ""}}"#),
            "invalid_input",
        ),
        ("[]", "invalid_json"),
        // The scan's six fields in order, as serde would read a struct from an array.
        (
            &format!(r#"["{code}", "out", null, null, "k1", []]"#),
            "invalid_json",
        ),
    ];
    for (body, expected) in cases {
        let a = scan_raw(&app, &tok, body).await;
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert_eq!(a.body["error"]["code"], expected, "{body}");
        assert!(a.body["error"]["message"].is_string());
    }
    let batch = app
        .send(
            app.client
                .post(app.url("/api/v1/scans/batch"))
                .bearer_auth(&tok)
                .json(&json!([[{"code": code, "direction": "out"}]])),
        )
        .await;
    assert_eq!(batch.status, 400, "{}", batch.body);
    let message = batch.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("invalid type: array, expected a JSON object"),
        "{message}"
    );
    // Each scan of a batch too.
    let items = app
        .send(
            app.client
                .post(app.url("/api/v1/scans/batch"))
                .bearer_auth(&tok)
                .json(&json!({"scans": [[code, "out", null, null, "k2", []]]})),
        )
        .await;
    assert_eq!(items.status, 200, "{}", items.body);
    assert_eq!(
        items.body["results"][0]["error"]["code"], "invalid_json",
        "{}",
        items.body
    );
    let v = app.visits_of(&rid).await;
    assert_eq!(v.len(), 1);
    assert!(v[0]["check_out"].is_null());
}

async fn an_unknown_or_tampered_code_is_refused_with_its_own_error(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    let mut tampered = code.clone().into_bytes();
    let n = tampered.len();
    tampered[n - 5] = if tampered[n - 5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap_or_default();

    let cases = [
        (
            "UKC19TRACING:1:eyJhbGciOiJFUzI1NiJ9",
            400,
            "unknown_code_format",
        ),
        (
            "https://elsewhere.example/s/abc",
            400,
            "unknown_code_format",
        ),
        (tampered.as_str(), 422, "invalid_code"),
        (
            &format!("{}/s/not-a-token", app.settings.public_base_url),
            422,
            "invalid_code",
        ),
    ];
    for (c, status, expected) in cases {
        let a = app
            .post(
                "/api/v1/scans",
                &tok,
                &json!({"code": c, "direction": "in"}),
            )
            .await;
        assert_eq!(a.status, status, "{c}: {}", a.body);
        assert_eq!(a.body["error"]["code"], expected);
    }
    assert!(app.visits_of(&rid).await.is_empty());
}

async fn a_client_time_outside_the_skew_is_refused_and_changes_nothing(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;

    let future = app
        .scan_at(&tok, &code, "in", Utc::now() + Duration::minutes(10))
        .await;
    let past = app
        .scan_at(&tok, &code, "in", Utc::now() - Duration::hours(25))
        .await;
    let ok = app
        .scan_at(&tok, &code, "in", Utc::now() + Duration::seconds(60))
        .await;

    assert_eq!(future.status, 422);
    assert_eq!(future.body["error"]["code"], "client_time_out_of_range");
    assert_eq!(past.status, 422);
    assert_eq!(ok.status, 200, "a minute ahead is within the skew");
    assert_eq!(app.visits_of(&rid).await.len(), 1);
}

/// The lines of an import report's errors, in its order.
fn error_lines(report: &serde_json::Value) -> Vec<u64> {
    report["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["line"].as_u64())
        .collect()
}

async fn a_csv_with_broken_rows_reports_them_by_line_and_imports_the_rest(app: TestApp) {
    let admin = app.admin().await;
    let csv = "code,name,kind,community,address,gates,households\n\
               GC-X001,好邻居超市,shop,东门社区,翠屏路1号,正门,\n\
               GC-X002,坏行,spaceship,东门社区,翠屏路2号,正门,\n\
               GC-X003,无门小区,residential_compound,东门社区,翠屏路3号,,12\n\
               GC X004,空格编号,shop,东门社区,翠屏路4号,正门,\n\
               GC-X005,瑞祥小区,residential_compound,东门社区,翠屏路5号,北门;南门,seven\n\
               GC-X006,和平小区,residential_compound,东门社区,翠屏路6号,北门;南门,40\n\
               GC-X007,😀店,shop,东门社区,翠屏路7号,正门,\n\
               GC-X008,双门店,shop,东门社区,翠屏路8号,正门;正门,\n";

    let a = app.import_csv("/api/v1/venues/import", csv).await;

    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["created"], 2);
    let lines = error_lines(&a.body);
    assert_eq!(lines, vec![3, 4, 5, 6, 8, 9]);
    assert_eq!(
        app.get("/api/v1/venues/GC-X006", &admin).await.body["households"],
        40
    );
    assert_eq!(app.get("/api/v1/venues/GC-X002", &admin).await.status, 404);
}

async fn a_file_saved_by_excel_with_crlf_and_a_bom_reports_the_same_lines(app: TestApp) {
    let csv = "\u{feff}code,name,kind,community,address,gates,households\r\n\
               GC-X001,好邻居超市,shop,东门社区,翠屏路1号,正门,\r\n\
               GC-X002,坏行,Shop,东门社区,翠屏路2号,正门,\r\n\
               GC-X003,\"两行\r\n名字\",shop,东门社区,翠屏路3号,正门,\r\n\
               GC-X004,坏行,spaceship,东门社区,翠屏路4号,正门,\r\n";

    let a = app.import_csv("/api/v1/venues/import", csv).await;

    assert_eq!(a.status, 200, "{}", a.body);
    let lines = error_lines(&a.body);
    assert_eq!(lines, vec![3, 4, 6], "{}", a.body);
}

async fn an_unclosed_quote_is_reported_with_the_lines_it_took_in(app: TestApp) {
    let admin = app.admin().await;
    let csv = "code,name,kind,community,address,gates,households\n\
               GC-X001,好邻居超市,shop,东门社区,翠屏路1号,正门,\n\
               GC-X002,\"坏引号,shop,东门社区,翠屏路2号,正门,\n\
               GC-X003,和平店,shop,东门社区,翠屏路3号,正门,\n\
               GC-X004,瑞祥店,shop,东门社区,翠屏路4号,正门,\n";

    let a = app.import_csv("/api/v1/venues/import", csv).await;

    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["created"], 1, "{}", a.body);
    assert_eq!(error_lines(&a.body), vec![3], "{}", a.body);
    let message = a.body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("to line 5") && message.contains("lines 4 to 5"),
        "{message}"
    );
    assert_eq!(app.get("/api/v1/venues/GC-X003", &admin).await.status, 404);

    // Open in a column the import does not read (one the header leaves unnamed): the row is
    // good, the lines it took in are named.
    let remark = "code,name,kind,community,address,gates,households,\n\
                  GC-X011,好邻居超市,shop,东门社区,翠屏路1号,正门,,\"未关\n\
                  GC-X012,和平店,shop,东门社区,翠屏路3号,正门,,\n";
    let a = app.import_csv("/api/v1/venues/import", remark).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["created"], 1, "{}", a.body);
    assert_eq!(a.body["warnings"][0]["line"], 2, "{}", a.body);
    let message = a.body["warnings"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("line 3 was read"), "{message}");
}

async fn a_second_row_with_the_same_id_is_imported_over_the_first_and_warned(app: TestApp) {
    let admin = app.admin().await;
    let csv = "code,name,kind,community,address,gates,households\n\
               GC-X001,好邻居超市,shop,东门社区,翠屏路1号,正门,\n\
               GC-X002,和平店,shop,东门社区,翠屏路2号,正门,\n\
               GC-X001,瑞祥店,shop,东门社区,翠屏路3号,正门,\n";

    let a = app.import_csv("/api/v1/venues/import", csv).await;

    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["errors"], json!([]), "{}", a.body);
    assert_eq!(
        a.body["warnings"].as_array().map(Vec::len),
        Some(1),
        "{}",
        a.body
    );
    assert_eq!(a.body["warnings"][0]["line"], 4);
    let message = a.body["warnings"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("GC-X001 is also on line 2"), "{message}");
    assert_eq!(
        app.get("/api/v1/venues/GC-X001", &admin).await.body["name"],
        "瑞祥店"
    );
    let again = app
        .import_csv(
            "/api/v1/venues/import",
            "code,name,kind,community,address,gates,households\n\
             GC-X001,好邻居超市,shop,东门社区,翠屏路1号,正门,\n",
        )
        .await;
    assert!(again.body.get("warnings").is_none(), "{}", again.body);
}

async fn a_file_saved_in_gbk_is_one_error_and_imports_nothing(app: TestApp) {
    let admin = app.admin().await;
    // "好邻居" in GBK on line 3; line 2 is ASCII only.
    let mut csv = b"code,name,kind,community,address,gates,households\n\
                    GC-X001,Shop,shop,,,Gate,\n\
                    GC-X002,"
        .to_vec();
    csv.extend([0xBA, 0xC3, 0xC1, 0xDA, 0xBE, 0xD3]);
    csv.extend(b",shop,,,Gate,\n");
    let a = app.import_csv("/api/v1/venues/import", csv).await;

    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["created"], 0, "{}", a.body);
    let errors = a.body["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{}", a.body);
    assert_eq!(errors[0]["line"], 3);
    assert!(errors[0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("UTF-8"));
    assert_eq!(app.get("/api/v1/venues/GC-X001", &admin).await.status, 404);
}

async fn a_file_that_is_not_a_csv_of_the_import_is_reported_on_its_header_line(app: TestApp) {
    for path in ["/api/v1/venues/import", "/api/v1/residents/import"] {
        for body in ["", "{\"a\":1}", "garbage\n\u{0}\u{fffd}\n"] {
            let a = app.import_csv(path, body).await;

            assert_eq!(a.status, 200, "{path} {body:?}: {}", a.body);
            assert_eq!(a.body["created"], 0);
            let errors = a.body["errors"].as_array().cloned().unwrap_or_default();
            assert_eq!(errors.len(), 1, "{path} {body:?}: {}", a.body);
            assert_eq!(errors[0]["line"], 1);
            let message = errors[0]["message"].as_str().unwrap_or_default();
            assert!(message.starts_with("header: no column"), "{message}");
        }
    }
}

async fn a_row_with_values_past_the_headers_columns_is_refused_not_cut(app: TestApp) {
    app.venue("GC-C084", "residential_compound").await;
    // Tags split by a comma instead of ';': the second would have been dropped unread.
    let csv = "resident_id,name,phone,home,building,room,household,tags\n\
               R1,付秀,19900000001,GC-C084,1栋,402,H0001,hubei_return,key_monitoring\n\
               R2,向强梅,19900000002,GC-C084,1栋,402,H0001,hubei_return,,\n";

    let a = app.import_csv("/api/v1/residents/import", csv).await;

    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(error_lines(&a.body), vec![2], "{}", a.body);
    assert_eq!(
        a.body["created"], 1,
        "trailing empty fields are fine: {}",
        a.body
    );
}

async fn an_import_with_a_misspelt_dry_run_is_refused_and_writes_nothing(app: TestApp) {
    let admin = app.admin().await;
    let csv = "code,name,kind,community,address,gates,households\nS1,东门药店,shop,,,正门,\n";

    let a = app
        .import_csv("/api/v1/venues/import?dryrun=true", csv)
        .await;

    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(app.get("/api/v1/venues/S1", &admin).await.status, 404);
}

async fn a_residents_csv_with_broken_rows_keeps_the_good_ones(app: TestApp) {
    for home in ["GC-C084", "GC-C086", "GC-C121"] {
        app.venue(home, "residential_compound").await;
    }
    let csv = "resident_id,name,phone,home,building,room,household,tags\n\
               R1,付秀,19900000001,GC-C086,1栋,402,H0001,\n\
               R2,向强梅,12345,GC-C086,1栋,402,H0001,\n\
               R3,陆鹏华,19900000001,GC-C121,1栋,303,H0002,\n\
               R4,雷婷飞,19900000004,GC-C084,2栋,604,H0003,hubei_return;key_monitoring\n";

    let a = app.import_csv("/api/v1/residents/import", csv).await;

    assert_eq!(a.body["created"], 2, "{}", a.body);
    let lines = error_lines(&a.body);
    assert_eq!(lines, vec![3, 4], "bad phone, then a phone already taken");
    let (_, rid) = app.resident("19900000001").await;
    assert_eq!(rid, "R1", "the imported resident logs in by phone");
}

async fn a_venue_with_bad_fields_is_refused_with_400(app: TestApp) {
    let admin = app.admin().await;
    for body in [
        json!({"name": "", "kind": "shop", "gates": ["正门"]}),
        json!({"name": "店", "kind": "shop", "gates": []}),
        json!({"name": "店", "kind": "castle", "gates": ["正门"]}),
        json!({"name": "店", "kind": "shop", "gates": ["正门"], "max_stay_minutes": 0}),
        json!({"id": "a/b", "name": "店", "kind": "shop", "gates": ["正门"]}),
        json!({"name": "㐀㐁店", "kind": "shop", "gates": ["正门"]}),
        json!({"name": "店", "kind": "shop", "gates": ["北门", " 北门 "]}),
        json!({"name": "店", "kind": "shop", "gates": ["北\u{200B}门"]}),
        json!({"name": "店", "kind": "shop", "gates": ["😀门"]}),
        json!({"name": "店", "kind": "shop", "gates": ["正门"], "address": "\u{1b}[31m路"}),
        json!({"id": "..", "name": "店", "kind": "shop", "gates": ["正门"]}),
    ] {
        let a = app.post("/api/v1/venues", &admin, &body).await;
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert!(a.body["error"]["code"].is_string());
    }
    assert_eq!(
        app.get("/api/v1/venues", &admin).await.body["venues"],
        json!([])
    );
}

async fn bad_query_parameters_get_400(app: TestApp) {
    let admin = app.admin().await;
    for path in [
        "/api/v1/trace/residents/R1/visits?from=last-week",
        "/api/v1/trace/residents/R1/visits?from=2020-02-17T00:00:00Z&to=2020-02-16T00:00:00Z",
        "/api/v1/trace/residents/R1/contacts?buffer_minutes=-5",
        "/api/v1/trace/residents/R1/contacts?min_overlap_minutes=lots",
        "/api/v1/trace/residents/R%2F1/visits",
    ] {
        let a = app.get(path, &admin).await;
        assert_eq!(a.status, 400, "{path}: {}", a.body);
    }
    let unknown = app
        .get("/api/v1/trace/residents/NOPE/contacts", &admin)
        .await;
    assert_eq!(
        unknown.status, 404,
        "an unknown index case is not an empty answer"
    );
    let (_, rid) = app.resident("19900000001").await;
    for (query, what) in [
        (
            "from=2020-02-16T08:00:00+08:00",
            "an unencoded + in an offset is forgiven",
        ),
        (
            "from=2020-02-16%2008:00:00Z",
            "RFC 3339 allows a space for the T",
        ),
    ] {
        let path = format!("/api/v1/trace/residents/{rid}/visits?{query}");
        assert_eq!(app.get(&path, &admin).await.status, 200, "{what}");
    }
}

async fn a_scan_sent_as_another_content_type_is_told_to_send_json(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, _) = app.resident("19900000951").await;
    let body = json!({"code": code}).to_string();
    for content_type in [Some("text/plain"), None] {
        let mut req = app
            .client
            .post(app.url("/api/v1/scans"))
            .bearer_auth(&tok)
            .body(body.clone());
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        let answer = app.send(req).await;

        assert_eq!(answer.status, 400, "{content_type:?}");
        assert_eq!(answer.body["error"]["code"], "invalid_json");
        let message = answer.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("application/json"), "{message}");
    }
}

async fn an_import_without_some_columns_leaves_those_fields_and_a_home_stays_a_compound(
    app: TestApp,
) {
    let admin = app.admin().await;
    let compound = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "C1", "name": "瑞祥小区", "kind": "residential_compound",
                    "community": "古城社区", "address": "古城路1号", "gates": ["北门"]}),
        )
        .await;
    assert_eq!(compound.status, 201, "{}", compound.body);
    let home = compound.body["codes"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.import_residents("RK,雷婷,19900000957,C1,1栋,402,H1,key_monitoring\n")
        .await;
    let fewer = app
        .import_csv(
            "/api/v1/residents/import",
            "resident_id,name,phone\nRK,雷婷婷,19900000957\n",
        )
        .await;
    assert_eq!(fewer.body["updated"], 1, "{}", fewer.body);
    // A row that stops short of its header's last columns leaves those as they are too.
    let short = app
        .import_csv(
            "/api/v1/residents/import",
            "resident_id,name,phone,home,building,room,household,tags\nRK,雷婷婷,19900000957,C1\n",
        )
        .await;
    assert_eq!(short.body["updated"], 1, "{}", short.body);
    let venues = app
        .import_csv(
            "/api/v1/venues/import",
            "code,name,kind,gates\nC1,瑞祥新村,residential_compound,北门\n",
        )
        .await;
    assert_eq!(venues.body["updated"], 1, "{}", venues.body);

    // A home stays a compound while anyone lives there.
    for kind in ["checkpoint", "shop"] {
        let change = app.patch_venue("C1", &json!({ "kind": kind })).await;
        assert_eq!(change.status, 409, "{kind}: {}", change.body);
        assert_eq!(change.body["error"]["code"], "conflict");
    }
    // Still at home in C1 (a residents-only compound) and still watched.
    let (tok, _) = app.resident("19900000957").await;
    let scan = app.scan_at(&tok, &home, "in", ago(5)).await;
    assert_eq!(scan.body["decision"], "admitted", "{}", scan.body);
    assert_eq!(
        scan.body["watch"],
        json!(["key_monitoring"]),
        "{}",
        scan.body
    );
    let venue = app.get("/api/v1/venues/C1", &admin).await;
    assert_eq!(venue.body["name"], "瑞祥新村", "{}", venue.body);
    assert_eq!(venue.body["community"], "古城社区", "{}", venue.body);
    assert_eq!(venue.body["address"], "古城路1号", "{}", venue.body);
}

async fn a_json_body_behind_a_byte_order_mark_is_read(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000956").await;
    let body = format!("\u{feff}{}", json!({"code": code, "direction": "in"}));
    let answer = scan_raw(&app, &tok, &body).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["decision"], "admitted");
    assert_eq!(app.visits_of(&rid).await.len(), 1);
    // Only at the start: one inside the JSON is still not JSON.
    let inside = format!("{{\u{feff}\"code\": {}}}", json!(code));
    let refused = scan_raw(&app, &tok, &inside).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "invalid_json");
}

/// A new venue `S2`'s body with `extra`'s fields added.
fn venue(extra: serde_json::Value) -> serde_json::Value {
    let mut body = json!({"id": "S2", "name": "Shop", "kind": "shop", "community": "C",
        "gates": ["main"]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

async fn objects_nested_in_a_body_sent_as_arrays_are_refused_and_change_nothing(app: TestApp) {
    let shop = app.venue("S1", "shop").await;
    app.venue("K1", "checkpoint").await;
    let (tok, rid) = app.resident("19900000952").await;
    let admin = app.admin().await;
    let guard = app.staff("guard1", "guard").await;
    let pass = |origin: serde_json::Value, passengers: serde_json::Value| {
        json!({"plate": "云D12345", "origin": origin, "passenger_count": 2,
            "passengers": passengers, "decision": "let_through"})
    };
    let cases = [
        (
            "/api/v1/scans",
            tok.as_str(),
            json!({"code": shop, "direction": "in", "members": [[rid, 36.5]]}),
        ),
        (
            "/api/v1/venues",
            admin.as_str(),
            venue(json!({"location": [25.0, 102.7]})),
        ),
        (
            "/api/v1/venues",
            admin.as_str(),
            venue(json!({"opening_hours": ["08:00", "20:00"]})),
        ),
        (
            "/api/v1/venues/K1/vehicle-passes",
            guard.as_str(),
            pass(json!(["湖北", "武汉"]), json!([])),
        ),
        (
            "/api/v1/venues/K1/vehicle-passes",
            guard.as_str(),
            pass(
                json!({"province": "湖北", "city": "武汉"}),
                json!([["付秀英", "19900000801", 36.5]]),
            ),
        ),
    ];
    for (path, token, body) in cases {
        let a = app.post(path, token, &body).await;
        assert_eq!(a.status, 400, "{path} {body}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "invalid_json", "{path} {body}");
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("expected a JSON object"), "{message}");
    }
    let patch = app
        .send(
            app.client
                .patch(app.url("/api/v1/venues/S1"))
                .bearer_auth(&admin)
                .json(&json!({"location": [25.0, 102.7]})),
        )
        .await;
    assert_eq!(patch.status, 400, "{}", patch.body);

    assert!(app.visits_of(&rid).await.is_empty());
    assert_eq!(app.get("/api/v1/venues/S2", &admin).await.status, 404);
    assert!(app.get("/api/v1/venues/S1", &admin).await.body["location"].is_null());
    let passes = app.get("/api/v1/venues/K1/vehicle-passes", &guard).await;
    assert_eq!(passes.status, 200, "{}", passes.body);
    assert_eq!(passes.body["passes"], json!([]));
}

async fn sign_in_bodies_with_unknown_fields_are_refused(app: TestApp) {
    let cases = [
        (
            "/api/v1/auth/otp",
            json!({"phone": "19900000953", "phnoe": "x"}),
        ),
        (
            "/api/v1/auth/resident",
            json!({"phone": "19900000953", "code": "123456", "remember": true}),
        ),
        (
            "/api/v1/auth/login",
            json!({"username": "admin", "password": "x", "otp": "1"}),
        ),
    ];
    for (path, body) in cases {
        let a = app.send(app.client.post(app.url(path)).json(&body)).await;
        assert_eq!(a.status, 400, "{path}: {}", a.body);
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("unknown field"), "{path}: {message}");
    }
}

async fn a_word_of_the_contract_given_anything_else_is_refused_with_the_words_listed(app: TestApp) {
    let shop = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000954").await;
    let admin = app.admin().await;
    for direction in [
        json!(5),
        json!(["in"]),
        json!({"in": null}),
        json!("sideways"),
    ] {
        let a = app
            .post(
                "/api/v1/scans",
                &tok,
                &json!({"code": shop, "direction": direction}),
            )
            .await;
        assert_eq!(a.status, 400, "{direction}: {}", a.body);
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(r#"expected one of "in", "out""#),
            "{direction}: {message}"
        );
    }
    let staff = app
        .post(
            "/api/v1/staff",
            &admin,
            &json!({"username": "someone", "password": "a-long-password-1", "role": "resident"}),
        )
        .await;
    assert_eq!(staff.status, 400, "{}", staff.body);
    let message = staff.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(r#"expected one of "admin", "tracer", "guard""#),
        "{message}"
    );
    assert!(app.visits_of(&rid).await.is_empty());
    assert_eq!(app.login("someone", "a-long-password-1").await.status, 401);
}

async fn a_body_error_names_the_field_it_is_in(app: TestApp) {
    let shop = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000955").await;
    let admin = app.admin().await;
    let cases = [
        (
            "/api/v1/venues",
            admin.as_str(),
            venue(json!({"location": [25.0, 102.7]})),
            "location: invalid type: array, expected a JSON object",
        ),
        (
            "/api/v1/venues",
            admin.as_str(),
            venue(json!({"location": {"lat": "25.0", "lon": 102.7}})),
            "location.lat: invalid type: string",
        ),
        (
            "/api/v1/scans",
            tok.as_str(),
            json!({"code": shop, "direction": "in", "members": [{"resident_id": rid}, {"resident_id": 7}]}),
            "members[1].resident_id: invalid type: integer",
        ),
        (
            "/api/v1/scans",
            tok.as_str(),
            json!({"code": shop, "direction": "sideways"}),
            "direction: ",
        ),
        (
            "/api/v1/venues",
            admin.as_str(),
            venue(json!({"location": {"lat": 25.0, "lon": 102.7, "alt": 1900}})),
            "location: unknown field `alt`",
        ),
        (
            "/api/v1/venues",
            admin.as_str(),
            venue(json!({"location": {"lat": 91.0, "lon": 102.7}})),
            "location: lat must be",
        ),
        (
            "/api/v1/scans",
            tok.as_str(),
            json!({"code": shop, "direction": "in", "phnoe": "x"}),
            "unknown field `phnoe`",
        ),
    ];
    for (path, token, body, start) in cases {
        let a = app.post(path, token, &body).await;
        assert_eq!(a.status, 400, "{path} {body}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "invalid_json", "{path} {body}");
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(start), "{path} {body}: {message}");
    }
    // Each scan of a batch is answered in its place with the path inside that scan.
    let batch =
        json!({"scans": [{"code": shop, "direction": "in", "members": [{"resident_id": 7}]}]});
    let a = app.post("/api/v1/scans/batch", &tok, &batch).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let message = a.body["results"][0]["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.starts_with("members[0].resident_id: invalid type: integer"),
        "{message}"
    );
    // Broken JSON where a key belongs has no field to name; serde_json's position stays.
    let broken = scan_raw(
        &app,
        &tok,
        &format!(r#"{{"code": "{shop}" "direction": "in"}}"#),
    )
    .await;
    assert_eq!(broken.status, 400, "{}", broken.body);
    let message = broken.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("expected `,` or `}` at line 1"),
        "{message}"
    );
    // An error outside any field (a missing field of the body itself) has no path before it.
    let missing = app
        .post("/api/v1/scans", &tok, &json!({"direction": "in"}))
        .await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    let message = missing.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.starts_with("missing field `code`"), "{message}");
    assert!(app.visits_of(&rid).await.is_empty());
    assert_eq!(app.get("/api/v1/venues/S2", &admin).await.status, 404);
}

crate::on_both_backends!(
    a_word_of_the_contract_given_anything_else_is_refused_with_the_words_listed,
    a_body_error_names_the_field_it_is_in,
    a_json_body_behind_a_byte_order_mark_is_read,
    an_import_without_some_columns_leaves_those_fields_and_a_home_stays_a_compound,
    objects_nested_in_a_body_sent_as_arrays_are_refused_and_change_nothing,
    sign_in_bodies_with_unknown_fields_are_refused,
    malformed_json_and_wrong_types_get_400_and_change_nothing,
    an_unknown_or_tampered_code_is_refused_with_its_own_error,
    a_client_time_outside_the_skew_is_refused_and_changes_nothing,
    a_csv_with_broken_rows_reports_them_by_line_and_imports_the_rest,
    a_residents_csv_with_broken_rows_keeps_the_good_ones,
    a_file_that_is_not_a_csv_of_the_import_is_reported_on_its_header_line,
    a_file_saved_by_excel_with_crlf_and_a_bom_reports_the_same_lines,
    a_file_saved_in_gbk_is_one_error_and_imports_nothing,
    an_unclosed_quote_is_reported_with_the_lines_it_took_in,
    a_second_row_with_the_same_id_is_imported_over_the_first_and_warned,
    a_venue_with_bad_fields_is_refused_with_400,
    bad_query_parameters_get_400,
    a_scan_sent_as_another_content_type_is_told_to_send_json,
    a_row_with_values_past_the_headers_columns_is_refused_not_cut,
    an_import_with_a_misspelt_dry_run_is_refused_and_writes_nothing,
);
