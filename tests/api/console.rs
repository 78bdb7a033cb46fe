//! The admin console (`GET /admin`), its assets, and the console driven in headless Chromium
//! (`tests/browser/admin.mjs`).

use crate::browser::{app_on_known_port, browser_ready, run_script};
use crate::helpers::TestApp;
use crate::pages::context_of;

async fn the_console_is_served_under_the_pages_policy_with_its_own_assets(app: TestApp) {
    let page = app
        .client
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = page.status().as_u16();
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (policy, content_type) = (header("content-security-policy"), header("content-type"));
    let html = page.text().await.unwrap_or_default();
    let script = app.get("/assets/admin.js", "").await;
    let style = app.get("/assets/admin.css", "").await;

    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(
        policy.contains("default-src 'self'")
            && policy.contains("script-src 'self'")
            && policy.contains("connect-src 'self'")
            && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    assert!(html.contains(r#"<script src="/assets/admin.js?v="#));
    assert!(!html.contains("<script>"), "no inline script");
    assert!(context_of(&html)["poll_seconds"]
        .as_u64()
        .is_some_and(|s| s > 0));
    // Answers that are not JSON come back as Null, with their status.
    assert_eq!(script.status, 200);
    assert_eq!(style.status, 200);
}

crate::on_both_backends!(the_console_is_served_under_the_pages_policy_with_its_own_assets);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_signs_in_imports_venues_downloads_a_poster_and_sees_occupancy_change_after_a_scan_in_a_real_browser(
) {
    if !browser_ready() {
        return;
    }
    let app = app_on_known_port().await;
    let phone = "19900000888";

    run_script(
        "admin.mjs",
        vec![
            ("BASE", app.address.clone()),
            ("ADMIN_PASSWORD", crate::helpers::ADMIN_PASSWORD.to_owned()),
            ("PHONE", phone.to_owned()),
        ],
    )
    .await;

    // What the page did, as the API sees it: the file's two good venues, the scan inside one.
    let admin = app.admin().await;
    let venues = app.get("/api/v1/venues", &admin).await;
    let ids: Vec<&str> = venues.body["venues"]
        .as_array()
        .map(|vs| vs.iter().filter_map(|v| v["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec!["GC-M01", "GC-S01"], "{}", venues.body);
    assert_eq!(app.presence("GC-S01").await["count"], 1);
}
