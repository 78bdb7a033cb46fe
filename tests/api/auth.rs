//! Who may do what: staff and resident logins, roles, and bad tokens.

use chrono::Utc;
use serde_json::json;

use secrecy::SecretString;

use crate::helpers::{ago, spawn_beside, TestApp, ADMIN_PASSWORD, JWT_SECRET};

async fn a_resident_token_cannot_reach_admin_or_tracer_routes(app: TestApp) {
    app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;

    for path in [
        "/api/v1/venues".to_owned(),
        "/api/v1/venues/S1/presence".to_owned(),
        format!("/api/v1/trace/residents/{rid}/visits"),
        format!("/api/v1/trace/residents/{rid}/contacts"),
        "/api/v1/trace/venues/S1/visits".to_owned(),
    ] {
        let a = app.get(&path, &tok).await;
        assert_eq!(a.status, 403, "{path}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "forbidden");
    }
    let staff = app
        .post(
            "/api/v1/staff",
            &tok,
            &json!({"username": "evil", "password": "12345678", "role": "admin"}),
        )
        .await;
    assert_eq!(staff.status, 403);
}

async fn an_admin_creates_a_tracer_who_may_trace_but_not_administer(app: TestApp) {
    app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let created = app
        .post(
            "/api/v1/staff",
            &admin,
            &json!({"username": "tracer1", "password": "tracer-pass-1", "role": "tracer"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);

    let login = app.login("tracer1", "tracer-pass-1").await;
    assert_eq!(login.body["role"], "tracer");
    let tok = login.body["access_token"].as_str().unwrap_or("").to_owned();

    assert_eq!(
        app.get("/api/v1/trace/venues/S1/visits", &tok).await.status,
        200
    );
    assert_eq!(app.get("/api/v1/venues", &tok).await.status, 403);
    let dup = app
        .post(
            "/api/v1/staff",
            &admin,
            &json!({"username": "tracer1", "password": "another-pass", "role": "tracer"}),
        )
        .await;
    assert_eq!(dup.status, 409);
}

async fn of_staff_created_at_once_under_one_username_one_is_created_and_the_rest_refused(
    app: TestApp,
) {
    let admin = app.admin().await;
    let roles = [
        "tracer", "admin", "guard", "tracer", "admin", "guard", "tracer", "admin",
    ];
    let creations = roles.iter().enumerate().map(|(i, role)| {
        let body = json!({"username": "rush", "password": format!("rush-pass-{i}"), "role": role});
        let (app, admin) = (&app, &admin);
        async move { (i, app.post("/api/v1/staff", admin, &body).await) }
    });
    let answers = futures::future::join_all(creations).await;

    let created: Vec<usize> = answers
        .iter()
        .filter(|(_, a)| a.status == 201)
        .map(|(i, _)| *i)
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|(_, a)| a.status).collect();
    assert_eq!(created.len(), 1, "one creation wins: {statuses:?}");
    for (_, a) in answers.iter().filter(|(_, a)| a.status != 201) {
        assert_eq!(a.status, 409, "{}", a.body);
        assert_eq!(a.body["error"]["code"], "conflict");
    }
    let winner = created[0];
    let login = app.login("rush", &format!("rush-pass-{winner}")).await;
    assert_eq!(
        login.status, 200,
        "the winner's password signs in: {}",
        login.body
    );
    assert_eq!(login.body["role"], roles[winner], "with the winner's role");
}

async fn a_wrong_password_or_unknown_user_is_refused_alike(app: TestApp) {
    let wrong = app.login("admin", "not-the-password").await;
    let unknown = app.login("nobody", "whatever-pass").await;

    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.body["error"], unknown.body["error"]);
}

async fn otp_for(app: &TestApp, phone: &str) -> String {
    let otp = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/otp"))
                .json(&json!({ "phone": phone })),
        )
        .await;
    otp.body["dev_code"].as_str().unwrap_or("").to_owned()
}

async fn try_code(app: &TestApp, phone: &str, code: &str) -> u16 {
    app.send(
        app.client
            .post(app.url("/api/v1/auth/resident"))
            .json(&json!({ "phone": phone, "code": code })),
    )
    .await
    .status
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn a_wrong_one_time_code_does_not_lock_out_the_right_one(app: TestApp) {
    let code = otp_for(&app, "19900000009").await;

    let bad = try_code(&app, "19900000009", wrong(&code)).await;
    let good = try_code(&app, "19900000009", &code).await;
    let reused = try_code(&app, "19900000009", &code).await;

    assert_eq!(bad, 401);
    assert_eq!(
        good, 200,
        "a guess by someone else must not burn the owner's code"
    );
    assert_eq!(reused, 401, "a code is used once");
}

async fn five_wrong_codes_burn_the_code_and_every_failure_says_to_check_it_or_ask_again(
    app: TestApp,
) {
    let code = otp_for(&app, "19900000009").await;
    let attempt = |code: String| {
        let app = &app;
        async move {
            let a = app
                .send(
                    app.client
                        .post(app.url("/api/v1/auth/resident"))
                        .json(&json!({ "phone": "19900000009", "code": code })),
                )
                .await;
            (
                a.status,
                a.body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    };

    let mut wrongs = Vec::new();
    for _ in 0..5 {
        wrongs.push(attempt(wrong(&code).to_owned()).await);
    }
    let late = attempt(code.clone()).await;

    let answer = "wrong one-time code, or none is waiting for this phone (it was used, expired or \
                  tried wrongly too often): check it, or request a new one";
    for (status, message) in wrongs.iter().chain([&late]) {
        assert_eq!(
            (*status, message.as_str()),
            (401, answer),
            "one answer for every failure"
        );
    }
}

async fn a_sign_in_with_a_malformed_phone_is_refused_as_the_code_request_refuses_it(app: TestApp) {
    let body = json!({"phone": "abc", "code": "000000"});
    let sign_in = app.post("/api/v1/auth/resident", "", &body).await;
    let request = app
        .post("/api/v1/auth/otp", "", &json!({"phone": "abc"}))
        .await;

    assert_eq!(sign_in.status, 400, "{}", sign_in.body);
    assert_eq!(sign_in.body["error"]["code"], "invalid_input");
    assert_eq!(sign_in.body["error"], request.body["error"]);
}

async fn an_unknown_phone_becomes_an_unregistered_person(app: TestApp) {
    let (_, rid) = app.resident("13800000000").await;
    let (_, again) = app.resident("13800000000").await;

    assert!(rid.starts_with('U'), "{rid}");
    assert_eq!(rid, again);
}

fn forge(claims: serde_json::Value, secret: &str) -> String {
    forge_with(jsonwebtoken::Algorithm::HS256, claims, secret)
}

fn forge_with(alg: jsonwebtoken::Algorithm, claims: serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes())
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A token with `alg: none` and no signature.
fn unsigned(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

async fn an_expired_forged_or_missing_token_is_refused(app: TestApp) {
    let now = Utc::now().timestamp();
    let base = json!({"sub": "admin", "role": "admin", "iat": now, "iss": "checkin", "aud": "checkin-api"});
    let mut expired = base.clone();
    expired["exp"] = json!(now - 3600);
    let mut valid = base.clone();
    valid["exp"] = json!(now + 3600);

    let cases = [
        ("expired", forge(expired, JWT_SECRET)),
        (
            "other secret",
            forge(valid.clone(), "another-secret-another-secret-0000"),
        ),
        (
            "another algorithm",
            forge_with(jsonwebtoken::Algorithm::HS384, valid.clone(), JWT_SECRET),
        ),
        ("unsigned", unsigned(&valid)),
        ("garbage", "not.a.token".to_owned()),
        ("empty", String::new()),
    ];
    for (what, tok) in cases {
        let a = app.get("/api/v1/venues", &tok).await;
        assert_eq!(a.status, 401, "{what}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "unauthorized");
    }
    let good = app.get("/api/v1/venues", &forge(valid, JWT_SECRET)).await;
    assert_eq!(
        good.status, 200,
        "a token signed with the service secret works"
    );
    let none = app.send(app.client.get(app.url("/api/v1/venues"))).await;
    assert_eq!(none.status, 401);
}

async fn the_bearer_scheme_is_case_insensitive(app: TestApp) {
    let admin = app.admin().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let a = app
            .send(
                app.client
                    .get(app.url("/api/v1/venues"))
                    .header("authorization", format!("{scheme} {admin}")),
            )
            .await;
        assert_eq!(a.status, 200, "{scheme}");
    }
}

async fn a_value_sent_with_the_wrong_type_is_not_echoed(app: TestApp) {
    let a = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/otp"))
                .header("content-type", "application/json")
                .body(r#"{"phone": 13812345678}"#),
        )
        .await;

    assert_eq!(a.status, 400);
    assert!(!a.body.to_string().contains("13812345678"), "{}", a.body);
}

async fn a_rotated_token_secret_keeps_earlier_tokens_until_the_previous_one_is_dropped(
    app: TestApp,
) {
    const NEW_SECRET: &str = "rotated-secret-fedcba9876543210fedcba9876543210";
    let code = app.venue("S1", "shop").await;
    let old_admin = app.admin().await;
    let (old_resident, _) = app.resident("19900000001").await;

    // Rotated: the new secret signs, the old one is still accepted.
    let rotated = spawn_beside(&app, |s| {
        s.auth.jwt_secret = Some(SecretString::from(NEW_SECRET));
        s.auth.previous_jwt_secret = Some(SecretString::from(JWT_SECRET));
    })
    .await;
    assert_eq!(rotated.get("/api/v1/venues", &old_admin).await.status, 200);
    let scan = rotated
        .post("/api/v1/scans", &old_resident, &json!({"code": code}))
        .await;
    assert_eq!(scan.status, 200, "{}", scan.body);
    let login = rotated.login("admin", ADMIN_PASSWORD).await;
    let new_admin = login.body["access_token"].as_str().unwrap_or("").to_owned();
    assert_eq!(rotated.get("/api/v1/venues", &new_admin).await.status, 200);
    // The old instance, which knows only the old secret, refuses the new token.
    assert_eq!(app.get("/api/v1/venues", &new_admin).await.status, 401);

    // The previous secret dropped: its tokens are refused, the new ones still work.
    let dropped = spawn_beside(&app, |s| {
        s.auth.jwt_secret = Some(SecretString::from(NEW_SECRET));
    })
    .await;
    assert_eq!(dropped.get("/api/v1/venues", &old_admin).await.status, 401);
    let refused = dropped
        .post("/api/v1/scans", &old_resident, &json!({"code": code}))
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(dropped.get("/api/v1/venues", &new_admin).await.status, 200);

    // A token naming the new secret's key id but signed with the old secret is refused.
    let kid = jsonwebtoken::decode_header(&new_admin)
        .ok()
        .and_then(|h| h.kid)
        .unwrap_or_default();
    assert!(!kid.is_empty(), "issued tokens carry a key id");
    let now = Utc::now().timestamp();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid);
    let forged = jsonwebtoken::encode(
        &header,
        &json!({"sub": "admin", "role": "admin", "iat": now, "exp": now + 600,
                "iss": "checkin", "aud": "checkin-api"}),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes())
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rotated.get("/api/v1/venues", &forged).await.status, 401);
}

crate::on_both_backends!(
    of_staff_created_at_once_under_one_username_one_is_created_and_the_rest_refused,
    a_rotated_token_secret_keeps_earlier_tokens_until_the_previous_one_is_dropped,
    signing_out_everywhere_or_an_admins_revocation_refuses_every_earlier_token,
    the_bearer_scheme_is_case_insensitive,
    a_value_sent_with_the_wrong_type_is_not_echoed,
    a_resident_token_cannot_reach_admin_or_tracer_routes,
    an_admin_creates_a_tracer_who_may_trace_but_not_administer,
    a_wrong_password_or_unknown_user_is_refused_alike,
    a_wrong_one_time_code_does_not_lock_out_the_right_one,
    five_wrong_codes_burn_the_code_and_every_failure_says_to_check_it_or_ask_again,
    a_sign_in_with_a_malformed_phone_is_refused_as_the_code_request_refuses_it,
    an_unknown_phone_becomes_an_unregistered_person,
    an_expired_forged_or_missing_token_is_refused,
);

async fn signing_out_everywhere_or_an_admins_revocation_refuses_every_earlier_token(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    app.venue("C1", "residential_compound").await;
    app.import_residents("RL,付秀,19900000881,C1,1栋,402,H1,\n")
        .await;
    let (phone_a, _) = app.resident("19900000881").await;
    let (phone_b, _) = app.resident("19900000881").await;

    let out = app
        .post("/api/v1/me/sign-out-everywhere", &phone_a, &json!({}))
        .await;
    let old_a = app.get("/api/v1/me", &phone_a).await;
    let old_b = app.scan_at(&phone_b, &code, "in", ago(5)).await;
    let (fresh, _) = app.resident("19900000881").await;
    let fresh_ok = app.get("/api/v1/me", &fresh).await;

    // A lost phone: the admin ends its sign-ins; a re-import does not bring them back.
    let admin = app.admin().await;
    let revoked = app
        .post("/api/v1/residents/RL/revoke-sign-ins", &admin, &json!({}))
        .await;
    let reimported = app
        .import_csv(
            "/api/v1/residents/import",
            "resident_id,name,phone,home,building,room,household,tags\n\
             RL,付秀,19900000881,C1,1栋,402,H1,\n",
        )
        .await;
    let after = app.get("/api/v1/me", &fresh).await;
    let unknown = app
        .post(
            "/api/v1/residents/NOBODY/revoke-sign-ins",
            &admin,
            &json!({}),
        )
        .await;

    assert_eq!(out.status, 204, "{}", out.body);
    assert_eq!(old_a.status, 401, "{}", old_a.body);
    assert_eq!(old_b.status, 401, "{}", old_b.body);
    assert_eq!(fresh_ok.status, 200, "{}", fresh_ok.body);
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    assert_eq!(reimported.body["updated"], 1, "{}", reimported.body);
    assert_eq!(after.status, 401, "{}", after.body);
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}
