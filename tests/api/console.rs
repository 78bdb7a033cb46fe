//! The admin console (`GET /admin`) and its assets.

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
    assert!(html.contains(r#"<script src="/assets/admin.js" defer></script>"#));
    assert!(!html.contains("<script>"), "no inline script");
    assert!(context_of(&html)["poll_seconds"]
        .as_u64()
        .is_some_and(|s| s > 0));
    // Answers that are not JSON come back as Null, with their status.
    assert_eq!(script.status, 200);
    assert_eq!(style.status, 200);
}

crate::on_both_backends!(the_console_is_served_under_the_pages_policy_with_its_own_assets);
