//! Rate limits: 429 with `Retry-After` for too many codes to one phone, password tries on one
//! account, sign-ins from one address and scans by one resident; `CHECKIN_RATE_LIMITS=off`
//! lifts them.

use serde_json::json;

use crate::helpers::{ago, spawn_app_with, Backend, TestApp};

async fn limited() -> TestApp {
    spawn_app_with(Backend::Embedded, |s| s.rate_limits = "on".into()).await
}

fn retry_after(a: &reqwest::Response) -> u64 {
    a.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn otp(app: &TestApp, phone: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/otp"))
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_fourth_code_to_one_phone_within_a_minute_is_refused_with_retry_after() {
    let app = limited().await;
    for _ in 0..3 {
        assert_eq!(otp(&app, "19900000401").await.status().as_u16(), 202);
    }

    let fourth = otp(&app, "19900000401").await;
    let other = otp(&app, "19900000402").await;

    assert_eq!(fourth.status().as_u16(), 429);
    let wait = retry_after(&fourth);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = fourth.json().await.unwrap_or_default();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(other.status().as_u16(), 202, "another phone is not held up");
}

#[tokio::test]
async fn password_guessing_on_one_account_is_slowed_even_with_the_right_password_next() {
    let app = limited().await;
    for _ in 0..5 {
        assert_eq!(app.login("admin", "wrong-password-1").await.status, 401);
    }

    let right = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;

    assert_eq!(right.status, 429, "{}", right.body);
}

#[tokio::test]
async fn one_address_gets_thirty_sign_in_requests_at_once_then_waits() {
    let app = limited().await;
    let mut statuses = Vec::new();
    for i in 0..31 {
        statuses.push(
            otp(&app, &format!("199000005{i:02}"))
                .await
                .status()
                .as_u16(),
        );
    }

    assert!(statuses[..30].iter().all(|s| *s == 202), "{statuses:?}");
    assert_eq!(statuses[30], 429);
}

#[tokio::test]
async fn a_resident_scanning_faster_than_a_person_can_is_refused() {
    let app = limited().await;
    let code = app.venue("S1", "shop").await;
    let (token, _) = app.resident("19900000601").await;
    let mut statuses = Vec::new();
    for i in 0..31 {
        let direction = if i % 2 == 0 { "in" } else { "out" };
        statuses.push(
            app.scan_at(&token, &code, direction, ago(60 - i))
                .await
                .status,
        );
    }

    assert!(statuses[..30].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses[30], 429);
}

#[tokio::test]
async fn with_limits_off_nothing_is_refused() {
    let app = spawn_app_with(Backend::Embedded, |_| {}).await;
    for _ in 0..10 {
        assert_eq!(otp(&app, "19900000701").await.status().as_u16(), 202);
    }
}
