//! The resident's check-in page behind a poster's URL (`GET /s/{token}`), its assets, and the
//! page driven in headless Chromium (`tests/browser/resident.mjs`).

use serde_json::{json, Value};

use crate::browser::{app_on_known_port, browser_ready, run_script};
use crate::helpers::TestApp;

/// Creates an open shop named `name` and returns its first gate's code (a URL).
async fn shop(app: &TestApp, id: &str, name: &str) -> String {
    let admin = app.admin().await;
    let made = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": id, "name": name, "kind": "shop", "gates": ["正门"]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    made.body["codes"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The JSON context a page embeds.
pub fn context_of(html: &str) -> Value {
    let start = html
        .find(r#"<script type="application/json" id="context">"#)
        .map(|i| i + r#"<script type="application/json" id="context">"#.len())
        .unwrap_or_else(|| panic!("no context in {html}"));
    let end = html[start..]
        .find("</script>")
        .unwrap_or_else(|| panic!("unclosed context"));
    serde_json::from_str(&html[start..start + end]).unwrap_or_else(|e| panic!("{e}"))
}

async fn the_page_behind_a_code_names_its_venue_and_gate_and_explains_a_bad_code(app: TestApp) {
    let code = shop(&app, "S1", "东门药店 <b>").await;

    // The code names the configured public origin; the test app listens elsewhere.
    let path = &code[code.find("/s/").unwrap_or_else(|| panic!("{code}"))..];
    let page = app
        .client
        .get(app.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = page.status().as_u16();
    let policy = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let html = page.text().await.unwrap_or_default();
    let tampered = app
        .client
        .get(app.url(&format!("{path}x")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tampered_status = tampered.status().as_u16();
    let tampered_html = tampered.text().await.unwrap_or_default();
    let script = app
        .client
        .get(app.url("/assets/scan.js"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let missing = app.get("/assets/nothing.js", "").await;

    assert_eq!(status, 200);
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    assert!(!html.contains("<b>"), "the venue name is data, not markup");
    let ctx = context_of(&html);
    assert_eq!(ctx["venue"]["name"], "东门药店 <b>");
    assert_eq!(ctx["gate"], "正门");
    assert_eq!(ctx["code"], code.as_str());
    assert!(ctx["error"].is_null());
    assert_eq!(tampered_status, 422, "as POST /scans answers it");
    assert_eq!(context_of(&tampered_html)["error"]["code"], "invalid_code");
    assert_eq!(script.status().as_u16(), 200);
    assert!(script
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("max-age")));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "not_found");
}

async fn a_resident_reads_their_masked_name_and_household(app: TestApp) {
    app.venue("C1", "residential_compound").await;
    app.import_residents(
        "R1,付秀英,19900000301,C1,1栋,402,H1,\n\
         R2,付小明,19900000302,C1,1栋,402,H1,\n\
         R3,陆鹏,19900000303,C1,1栋,401,H2,\n",
    )
    .await;
    let (token, _) = app.resident("19900000301").await;

    let me = app.get("/api/v1/me", &token).await;

    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["name"], "付*");
    assert_eq!(
        me.body["household"],
        json!([{"resident_id": "R2", "name": "付*"}])
    );
}

crate::on_both_backends!(
    the_page_behind_a_code_names_its_venue_and_gate_and_explains_a_bad_code,
    a_resident_reads_their_masked_name_and_household,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_checks_in_from_a_posters_url_in_a_real_browser_and_offline_scans_arrive_once() {
    if !browser_ready() {
        return;
    }
    // The codes must point at this app.
    let app = app_on_known_port().await;
    let code_a = shop(&app, "SA", "东门药店").await;
    let code_b = shop(&app, "SB", "西门超市").await;
    let phone = "19900000777";

    run_script(
        "resident.mjs",
        vec![
            ("CODE_A", code_a),
            ("CODE_B", code_b),
            ("PHONE", phone.to_owned()),
        ],
    )
    .await;

    // What the page did, as the tracer sees it: S-A closed by the check-in at S-B, then the two
    // offline scans at S-B, each once (a check-out, then a new check-in), then the double tap's
    // one check-out (a second would have made a visit with an inferred start).
    let (_, rid) = app.resident(phone).await;
    let visits = app.visits_of(&rid).await;
    let seen: Vec<(&str, &str)> = visits
        .iter()
        .map(|v| {
            (
                v["venue_id"].as_str().unwrap_or_default(),
                v["closed_by"].as_str().unwrap_or("open"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("SA", "next_check_in"),
            ("SB", "check_out"),
            ("SB", "check_out")
        ],
        "{visits:?}"
    );
}
