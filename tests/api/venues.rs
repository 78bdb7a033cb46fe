//! Venues and their posters.

use serde_json::json;

use crate::helpers::{ago, TestApp};

async fn a_venue_is_created_listed_read_and_changed(app: TestApp) {
    let admin = app.admin().await;
    let created = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "GC-S900", "name": "星鑫粮油店", "kind": "shop", "community": "西门社区", "gates": ["正门"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["max_stay_minutes"], 120,
        "a shop's default stay"
    );
    assert_eq!(created.body["entry_policy"], "open");

    let again = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "GC-S900", "name": "重复", "kind": "shop", "gates": ["正门"]}),
        )
        .await;
    assert_eq!(again.status, 409);

    let generated = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"name": "无编号小区", "kind": "residential_compound", "gates": ["北门"]}),
        )
        .await;
    assert_eq!(generated.status, 201);
    assert_eq!(generated.body["entry_policy"], "residents_only");

    let list = app.get("/api/v1/venues", &admin).await;
    assert_eq!(list.body["venues"].as_array().map(Vec::len), Some(2));

    let patched = app
        .send(
            app.client
                .patch(app.url("/api/v1/venues/GC-S900"))
                .bearer_auth(&admin)
                .json(&json!({"name": "星鑫粮油店(新)", "gates": ["正门", "后门"]})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let read = app.get("/api/v1/venues/GC-S900", &admin).await;
    assert_eq!(read.body["name"], "星鑫粮油店(新)");
    assert_eq!(read.body["codes"].as_array().map(Vec::len), Some(2));
    assert_eq!(app.get("/api/v1/venues/NOPE", &admin).await.status, 404);
}

async fn a_poster_decodes_back_to_the_gates_code(app: TestApp) {
    let admin = app.admin().await;
    app.post(
        "/api/v1/venues",
        &admin,
        &json!({"id": "GC-C001", "name": "瑞祥小区", "kind": "residential_compound",
                "community": "东门社区", "address": "翠屏路156号", "gates": ["北门", "南门"]}),
    )
    .await;
    let venue = app.get("/api/v1/venues/GC-C001", &admin).await;
    let expected = venue.body["codes"][1]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned();

    let res = app
        .client
        .get(app.url("/api/v1/venues/GC-C001/poster.png"))
        .query(&[("gate", "南门")])
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    let png = res.bytes().await.unwrap_or_default();

    let img = image::load_from_memory(&png)
        .unwrap_or_else(|e| panic!("png: {e}"))
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, text) = grids[0].decode().unwrap_or_else(|e| panic!("decode: {e}"));
    assert_eq!(text, expected);
    assert!(text.starts_with(&app.settings.public_base_url));

    let (tok, _) = app.resident("19900000001").await;
    let scan = app
        .post("/api/v1/scans", &tok, &json!({"code": text}))
        .await;
    assert_eq!(
        scan.body["gate"], "南门",
        "the decoded poster works as a code"
    );
    let no_gate = app
        .get(
            "/api/v1/venues/GC-C001/poster.png?gate=%E8%A5%BF%E9%97%A8",
            &admin,
        )
        .await;
    assert_eq!(no_gate.status, 404);
}

async fn decoded_poster(app: &TestApp, query: &[(&str, &str)]) -> String {
    let admin = app.admin().await;
    let res = app
        .client
        .get(app.url("/api/v1/venues/S1/poster.png"))
        .query(query)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status().as_u16(), 200);
    let png = res.bytes().await.unwrap_or_default();
    let img = image::load_from_memory(&png)
        .unwrap_or_else(|e| panic!("png: {e}"))
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0]
        .decode()
        .map(|(_, text)| text)
        .unwrap_or_else(|e| panic!("decode: {e}"))
}

async fn an_exit_only_poster_carries_a_one_way_code(app: TestApp) {
    app.venue("S1", "shop").await;
    let (tok, _) = app.resident("19900000001").await;

    let code = decoded_poster(&app, &[("gate", "南门"), ("direction", "out")]).await;

    let wrong = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": code, "direction": "in"}),
        )
        .await;
    assert_eq!(wrong.body["error"]["code"], "direction_mismatch");
    let ok = app
        .post("/api/v1/scans", &tok, &json!({"code": code}))
        .await;
    assert_eq!(
        (ok.body["direction"].as_str(), ok.body["gate"].as_str()),
        (Some("out"), Some("南门"))
    );
}

async fn a_poster_is_also_served_as_svg(app: TestApp) {
    app.venue("S1", "shop").await;
    let admin = app.admin().await;

    let res = app
        .client
        .get(app.url("/api/v1/venues/S1/poster.svg"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let text = res.text().await.unwrap_or_default();
    assert!(text.contains("<svg"), "{}", &text[..text.len().min(200)]);
}

fn pdf_pages(pdf: &[u8]) -> usize {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("p.pdf");
    std::fs::write(&path, pdf).unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new("pdfinfo")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("pdfinfo (poppler-utils) is needed: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

async fn a_batch_pdf_has_one_page_per_gate_of_the_selected_venues(app: TestApp) {
    let admin = app.admin().await;
    let csv = "code,name,kind,community,address,gates,households\n\
               GC-C001,瑞祥小区,residential_compound,东门社区,翠屏路156号,北门;南门,129\n\
               GC-C002,烟厂小区,residential_compound,东门社区,会泽大道55号,北门,32\n\
               GC-S001,星鑫粮油店,shop,西门社区,翠屏路18号,正门,\n";
    app.send(
        app.client
            .post(app.url("/api/v1/venues/import"))
            .bearer_auth(&admin)
            .body(csv),
    )
    .await;
    let get = |query: &'static [(&'static str, &'static str)]| {
        app.client
            .get(app.url("/api/v1/posters.pdf"))
            .query(query)
            .bearer_auth(&admin)
            .send()
    };

    let east = get(&[("community", "东门社区")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(east.status().as_u16(), 200);
    assert_eq!(east.headers()["content-type"], "application/pdf");
    assert_eq!(pdf_pages(&east.bytes().await.unwrap_or_default()), 3);
    let named = get(&[("venue", "GC-S001,GC-C002")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pdf_pages(&named.bytes().await.unwrap_or_default()), 2);
    let none = get(&[("community", "无此社区")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(none.status().as_u16(), 404);
    let typo = get(&[("venue", "GC-S001,NOPE")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        typo.status().as_u16(),
        404,
        "a named venue that is missing is not left out"
    );
    let one = app
        .get(
            "/api/v1/venues/GC-C001/poster.pdf?gate=%E5%8D%97%E9%97%A8",
            &admin,
        )
        .await;
    assert_eq!(one.status, 200);
}

#[tokio::test]
async fn the_batch_of_every_compound_of_the_sample_town_has_a_page_per_gate() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Embedded).await;
    let admin = app.admin().await;
    let csv = std::fs::read_to_string("samples/gucheng/venues.csv").unwrap_or_default();
    let expected: usize = csv
        .lines()
        .filter(|l| l.contains(",residential_compound,"))
        .map(|l| l.split(',').nth(5).unwrap_or("").split(';').count())
        .sum();
    app.send(
        app.client
            .post(app.url("/api/v1/venues/import"))
            .bearer_auth(&admin)
            .body(csv),
    )
    .await;

    let res = app
        .client
        .get(app.url("/api/v1/posters.pdf?kind=residential_compound"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(res.status().as_u16(), 200);
    assert!(
        expected > 205,
        "205 compounds, some with two gates: {expected}"
    );
    assert_eq!(pdf_pages(&res.bytes().await.unwrap_or_default()), expected);
}

async fn a_re_import_updates_the_description_and_keeps_the_code_version(app: TestApp) {
    let admin = app.admin().await;
    let import = |csv: &'static str| {
        app.send(
            app.client
                .post(app.url("/api/v1/venues/import"))
                .bearer_auth(&admin)
                .body(csv),
        )
    };
    import("code,name,kind,community,address,gates,households\nGC-S001,旧名,shop,东门社区,一号,正门,\n")
        .await;
    app.post("/api/v1/venues/GC-S001/codes/rotate", &admin, &json!({}))
        .await;

    let again = import(
        "code,name,kind,community,address,gates,households\nGC-S001,新名,shop,东门社区,二号,正门;后门,\n",
    )
    .await;

    assert_eq!(
        (
            again.body["created"].as_u64(),
            again.body["updated"].as_u64()
        ),
        (Some(0), Some(1))
    );
    let venue = app.get("/api/v1/venues/GC-S001", &admin).await.body;
    assert_eq!(venue["name"], "新名");
    assert_eq!(venue["gates"], json!(["正门", "后门"]));
    assert_eq!(
        venue["code_version"], 2,
        "printed posters are not revived or revoked"
    );
}

async fn a_venue_becomes_a_checkpoint_only_when_nobody_is_inside(app: TestApp) {
    let admin = app.admin().await;
    let code = app.venue("C1", "residential_compound").await;
    let (tok, _) = app.resident("19900000001").await;
    app.scan_at(&tok, &code, "in", ago(60)).await;

    let refused = app.patch_venue("C1", &json!({"kind": "checkpoint"})).await;
    let csv =
        "code,name,kind,community,address,gates,households\nC1,测试C1,checkpoint,,,北门;南门,\n";
    let imported = app.import_csv("/api/v1/venues/import", csv).await;

    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "conflict");
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(imported.body["updated"], 0, "{}", imported.body);
    let errors = imported.body["errors"].to_string();
    assert!(errors.contains("inside"), "{errors}");
    let venue = app.get("/api/v1/venues/C1", &admin).await.body;
    assert_eq!(venue["kind"], "residential_compound");
    assert_eq!(app.presence("C1").await["count"], 1);

    // Once the last person is out, it may.
    app.scan_at(&tok, &code, "out", ago(30)).await;
    let allowed = app.patch_venue("C1", &json!({"kind": "checkpoint"})).await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert_eq!(allowed.body["kind"], "checkpoint");
}

async fn a_compound_with_buildings_or_a_building_cannot_become_a_checkpoint(app: TestApp) {
    let admin = app.admin().await;
    app.venue("C1", "residential_compound").await;
    let building = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "B1", "name": "一栋", "kind": "residential_compound",
                    "gates": ["单元门"], "parent": "C1", "entry_policy": "open"}),
        )
        .await;
    assert_eq!(building.status, 201, "{}", building.body);

    for id in ["C1", "B1"] {
        let refused = app.patch_venue(id, &json!({"kind": "checkpoint"})).await;
        assert_eq!(refused.status, 400, "{id}: {}", refused.body);
        let message = refused.body["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.starts_with("kind"), "{id}: {message}");
        let venue = app.get(&format!("/api/v1/venues/{id}"), &admin).await.body;
        assert_eq!(venue["kind"], "residential_compound");
    }
}

async fn names_and_gates_are_stored_in_nfc_with_odd_spaces_folded(app: TestApp) {
    let admin = app.admin().await;
    // A decomposed "é" (e + U+0301), an ideographic space, a no-break space and a thin space.
    let created = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "GC-S901", "name": "Cafe\u{301}\u{3000}东门\u{a0}\u{a0}药店",
                    "kind": "shop", "community": "西门\u{a0}社区", "gates": ["\u{2009}北门\u{3000}"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let read = app.get("/api/v1/venues/GC-S901", &admin).await;
    assert_eq!(read.body["name"], "Café 东门 药店");
    assert_eq!(read.body["gates"], json!(["北门"]));
    assert_eq!(read.body["community"], "西门 社区");
    // A filter typed with the odd space finds the community stored with a plain one.
    let posters = app
        .send(
            app.client
                .get(app.url("/api/v1/posters.pdf"))
                .query(&[("community", "西门\u{a0}社区")])
                .bearer_auth(&admin),
        )
        .await;
    assert_eq!(posters.status, 200, "{}", posters.body);
    // The folded name is the one a resident typing plain spaces would find.
    let (tok, _) = app.resident("19900000001").await;
    let code = created.body["codes"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let scanned = app
        .post("/api/v1/scans", &tok, &json!({"code": code}))
        .await;
    assert_eq!(scanned.status, 200, "{}", scanned.body);
    assert_eq!(scanned.body["gate"], "北门");
    assert_eq!(scanned.body["venue"]["name"], "Café 东门 药店");
    // A name of spaces alone, or with a control character, is refused.
    for name in ["\u{3000}\u{a0}", "东门\u{7}药店"] {
        let a = app
            .post(
                "/api/v1/venues",
                &admin,
                &json!({"id": "GC-S902", "name": name, "kind": "shop", "gates": ["北门"]}),
            )
            .await;
        assert_eq!(a.status, 400, "{name:?}: {}", a.body);
    }
}

crate::on_both_backends!(
    names_and_gates_are_stored_in_nfc_with_odd_spaces_folded,
    a_batch_pdf_has_one_page_per_gate_of_the_selected_venues,
    a_re_import_updates_the_description_and_keeps_the_code_version,
    a_venue_is_created_listed_read_and_changed,
    a_poster_decodes_back_to_the_gates_code,
    a_poster_is_also_served_as_svg,
    an_exit_only_poster_carries_a_one_way_code,
    a_venue_becomes_a_checkpoint_only_when_nobody_is_inside,
    a_compound_with_buildings_or_a_building_cannot_become_a_checkpoint,
);
