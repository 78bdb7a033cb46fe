//! Staff sign-ins can be ended: an admin signs an account out everywhere, a staff member signs
//! themself out everywhere, and a restart with another admin password signs `admin` out.

use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{spawn_beside, Answer, TestApp, ADMIN_PASSWORD};

const TRACER_PASSWORD: &str = "a-long-password-1";

/// A fresh token for `username` (its password is `password`).
async fn token(app: &TestApp, username: &str, password: &str) -> String {
    let login = app.login(username, password).await;
    assert_eq!(login.status, 200, "login {username}: {}", login.body);
    login.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn assert_refused_as_signed_out(a: &Answer, what: &str) {
    assert_eq!(a.status, 401, "{what}: {}", a.body);
    assert_eq!(
        a.body["error"]["code"], "unauthorized",
        "{what}: {}",
        a.body
    );
    assert!(
        a.body["error"]["message"].is_string(),
        "{what}: the one error shape: {}",
        a.body
    );
}

async fn an_admin_signing_a_tracer_out_everywhere_refuses_only_the_tracers_earlier_tokens(
    app: TestApp,
) {
    app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let earlier = app.staff("tracer1", "tracer").await;
    let also_earlier = token(&app, "tracer1", TRACER_PASSWORD).await;
    // Used once, so the service has verified it before (and may remember it).
    let used = app.get("/api/v1/trace/venues/S1/visits", &earlier).await;
    assert_eq!(used.status, 200, "{}", used.body);

    let out = app
        .post(
            "/api/v1/staff/tracer1/sign-out-everywhere",
            &admin,
            &json!({}),
        )
        .await;
    let old = app.get("/api/v1/trace/venues/S1/visits", &earlier).await;
    let other_old = app
        .get("/api/v1/trace/venues/S1/visits", &also_earlier)
        .await;
    let fresh = token(&app, "tracer1", TRACER_PASSWORD).await;
    let new = app.get("/api/v1/trace/venues/S1/visits", &fresh).await;
    let admin_still = app.get("/api/v1/venues", &admin).await;
    let old_elsewhere = app.get("/api/v1/venues", &earlier).await;
    let old_at_residents = app.get("/api/v1/me", &earlier).await;
    let old_scanning = app
        .post("/api/v1/scans", &earlier, &json!({"code": "not a code"}))
        .await;
    let fresh_elsewhere = app.get("/api/v1/venues", &fresh).await;

    assert_eq!(out.status, 204, "{}", out.body);
    assert_refused_as_signed_out(&old, "the token used before");
    assert_refused_as_signed_out(&old_elsewhere, "on a route a tracer may not use either");
    assert_refused_as_signed_out(&old_at_residents, "on a resident's route");
    assert_refused_as_signed_out(&old_scanning, "scanning, whatever the body");
    assert_eq!(
        fresh_elsewhere.status, 403,
        "a live tracer's: {}",
        fresh_elsewhere.body
    );
    assert_refused_as_signed_out(&other_old, "another token from before");
    assert_eq!(new.status, 200, "a token issued after: {}", new.body);
    assert_eq!(
        admin_still.status, 200,
        "the admin's own: {}",
        admin_still.body
    );
}

async fn a_staff_member_signing_out_everywhere_refuses_their_own_earlier_tokens(app: TestApp) {
    app.venue("S1", "shop").await;
    let guard = app.staff("guard1", "guard").await;
    let other_guard = app.staff("guard2", "guard").await;
    let admin = app.admin().await;
    let other_admin_session = token(&app, "admin", ADMIN_PASSWORD).await;
    let recent = "/api/v1/venues/S1/recent-scans";
    assert_eq!(app.get(recent, &guard).await.status, 200);

    let out = app
        .post("/api/v1/me/sign-out-everywhere", &guard, &json!({}))
        .await;
    let old = app.get(recent, &guard).await;
    let again = app
        .post("/api/v1/me/sign-out-everywhere", &guard, &json!({}))
        .await;
    let fresh = token(&app, "guard1", TRACER_PASSWORD).await;
    let new = app.get(recent, &fresh).await;
    let colleague = app.get(recent, &other_guard).await;

    assert_eq!(out.status, 204, "{}", out.body);
    assert_refused_as_signed_out(&old, "the guard's token");
    assert_refused_as_signed_out(&again, "signing out with a signed-out token");
    assert_eq!(new.status, 200, "{}", new.body);
    assert_eq!(
        colleague.status, 200,
        "another account's: {}",
        colleague.body
    );

    // An admin too: every admin route refuses the earlier tokens, the visitor-pass revocation
    // (which residents share) included.
    let out = app
        .post("/api/v1/me/sign-out-everywhere", &admin, &json!({}))
        .await;
    assert_eq!(out.status, 204, "{}", out.body);
    for token in [&admin, &other_admin_session] {
        assert_refused_as_signed_out(&app.get("/api/v1/venues", token).await, "GET /venues");
        let revoke = app
            .send(
                app.client
                    .delete(app.url("/api/v1/visitors/no-such-pass"))
                    .bearer_auth(token),
            )
            .await;
        assert_refused_as_signed_out(&revoke, "DELETE /visitors/{id}");
    }
    let fresh_admin = token(&app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(app.get("/api/v1/venues", &fresh_admin).await.status, 200);
}

async fn only_an_admin_signs_a_staff_account_out_and_an_unknown_one_is_a_404(app: TestApp) {
    let admin = app.admin().await;
    let tracer = app.staff("tracer1", "tracer").await;

    let unknown = app
        .post(
            "/api/v1/staff/nobody/sign-out-everywhere",
            &admin,
            &json!({}),
        )
        .await;
    let by_tracer = app
        .post(
            "/api/v1/staff/admin/sign-out-everywhere",
            &tracer,
            &json!({}),
        )
        .await;

    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.body["error"]["code"], "not_found");
    assert!(unknown.body["error"]["message"].is_string());
    assert_eq!(by_tracer.status, 403, "{}", by_tracer.body);
    assert_eq!(app.get("/api/v1/venues", &admin).await.status, 200);
}

async fn a_restart_with_another_admin_password_signs_admin_out_and_the_same_password_does_not(
    app: TestApp,
) {
    app.venue("S1", "shop").await;
    let before = app.admin().await;
    let tracer = app.staff("tracer1", "tracer").await;
    assert_eq!(app.get("/api/v1/venues", &before).await.status, 200);

    let same = spawn_beside(&app, |_| {}).await;
    let after_same = same.get("/api/v1/venues", &before).await;
    assert_eq!(after_same.status, 200, "same password: {}", after_same.body);

    let changed = spawn_beside(&app, |s| {
        s.admin_password = Some(SecretString::from("another-admin-password"));
    })
    .await;
    let on_new = changed.get("/api/v1/venues", &before).await;
    // The first instance has verified this token before; it reads the account all the same.
    let on_old = app.get("/api/v1/venues", &before).await;
    let old_password = app.login("admin", ADMIN_PASSWORD).await;
    let fresh = token(&changed, "admin", "another-admin-password").await;
    let tracer_still = changed.get("/api/v1/trace/venues/S1/visits", &tracer).await;

    assert_refused_as_signed_out(&on_new, "the restarted instance");
    assert_refused_as_signed_out(&on_old, "an instance that verified it before");
    assert_eq!(old_password.status, 401);
    assert_eq!(app.get("/api/v1/venues", &fresh).await.status, 200);
    assert_eq!(
        tracer_still.status, 200,
        "other accounts stay signed in: {}",
        tracer_still.body
    );
}

crate::on_both_backends!(
    an_admin_signing_a_tracer_out_everywhere_refuses_only_the_tracers_earlier_tokens,
    a_staff_member_signing_out_everywhere_refuses_their_own_earlier_tokens,
    only_an_admin_signs_a_staff_account_out_and_an_unknown_one_is_a_404,
    a_restart_with_another_admin_password_signs_admin_out_and_the_same_password_does_not,
);
