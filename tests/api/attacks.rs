//! The attacks of issue 8, each tried with several inputs: every one must be refused with the
//! right 4xx and its error code, and none may change what is stored. The README's attack table
//! lists these classes and their input counts; each scenario prints its count.

use base64::Engine;
use chrono::Utc;
use serde_json::{json, Value};

use crate::helpers::{TestApp, JWT_SECRET};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn b64(v: &Value) -> String {
    B64.encode(v.to_string().as_bytes())
}

/// A token of `header` and `claims` signed with HMAC-SHA256 under `secret` (whatever the
/// header says the algorithm is).
fn hmac_token(header: &Value, claims: &Value, secret: &[u8]) -> String {
    use hmac::Mac;
    let signing_input = format!("{}.{}", b64(header), b64(claims));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)
        .unwrap_or_else(|e| panic!("hmac key: {e}"));
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        B64.encode(mac.finalize().into_bytes())
    )
}

/// An admin's claims, valid for an hour from now.
fn admin_claims() -> Value {
    let now = Utc::now().timestamp();
    json!({"sub": "admin", "role": "admin", "iat": now, "exp": now + 3600,
           "iss": "checkin", "aud": "checkin-api"})
}

/// Sends `GET /api/v1/venues` (admins only) with `token`; the status and error code.
async fn as_admin(app: &TestApp, token: &str) -> (u16, String) {
    let a = app.get("/api/v1/venues", token).await;
    (
        a.status,
        a.body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

/// Asserts every input got `status` and `code`; prints and returns how many were tried.
fn all_refused(class: &str, results: &[(String, (u16, String))], status: u16, code: &str) -> usize {
    for (input, got) in results {
        assert_eq!(
            (got.0, got.1.as_str()),
            (status, code),
            "{class}: {input} was not refused as expected"
        );
    }
    eprintln!(
        "attack {class}: {} inputs, all {status} {code}",
        results.len()
    );
    results.len()
}

async fn alg_none_tokens_are_refused(app: TestApp) {
    let claims = admin_claims();
    let mut results = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "typ": "JWT"});
        for sig in ["", "AAAA"] {
            let token = format!("{}.{}.{sig}", b64(&header), b64(&claims));
            results.push((
                format!("alg {alg}, signature {sig:?}"),
                as_admin(&app, &token).await,
            ));
        }
    }
    all_refused("alg none", &results, 401, "unauthorized");
}

async fn tokens_naming_another_algorithm_or_keyed_with_the_public_key_are_refused(app: TestApp) {
    let claims = admin_claims();
    // The code-signing public key, as anyone can fetch it, used as an HMAC secret: the
    // classic confusion between an asymmetric verifier and a symmetric one.
    let jwks = app
        .send(app.client.get(app.url("/.well-known/jwks.json")))
        .await;
    let x = jwks.body["keys"][0]["x"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let kid = jwks.body["keys"][0]["kid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let public = B64.decode(&x).unwrap_or_default();
    assert_eq!(public.len(), 32, "an Ed25519 public key");
    let mut results = Vec::new();
    for alg in ["RS256", "ES256", "EdDSA", "PS256", "HS384", "HS512"] {
        let header = json!({"alg": alg, "typ": "JWT"});
        for (what, secret) in [
            ("service secret", JWT_SECRET.as_bytes()),
            ("public key", &public[..]),
        ] {
            let token = hmac_token(&header, &claims, secret);
            results.push((
                format!("staff token, alg {alg}, HMAC with the {what}"),
                as_admin(&app, &token).await,
            ));
        }
    }
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let token = hmac_token(&header, &claims, &public);
    results.push((
        "staff token, HS256 with the public key".into(),
        as_admin(&app, &token).await,
    ));
    let refused = all_refused(
        "key confusion (staff tokens)",
        &results,
        401,
        "unauthorized",
    );

    // A venue code is EdDSA: an HMAC one keyed with the public key is not a code.
    app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    let code_claims = json!({"v": "S1", "g": "北门", "n": 1});
    let mut codes = Vec::new();
    for alg in ["HS256", "EdDSA", "none"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        let token = hmac_token(&header, &code_claims, &public);
        let code = format!("{}/s/{token}", app.settings.public_base_url);
        codes.push((
            format!("code, alg {alg}, HMAC with the public key"),
            scan(&app, &tok, &code).await,
        ));
    }
    all_refused("key confusion (codes)", &codes, 422, "invalid_code");
    assert!(app.visits_of(&rid).await.is_empty());
    assert!(refused > 0);
}

async fn expired_and_not_yet_valid_tokens_are_refused(app: TestApp) {
    let now = Utc::now().timestamp();
    let mut results = Vec::new();
    for (what, exp, nbf) in [
        ("expired 31 s ago (past the 30 s leeway)", now - 31, None),
        ("expired an hour ago", now - 3600, None),
        ("expired a year ago", now - 365 * 86_400, None),
        ("not valid for another minute", now + 3600, Some(now + 60)),
        ("not valid for a day", now + 3 * 86_400, Some(now + 86_400)),
    ] {
        let mut claims = admin_claims();
        claims["exp"] = json!(exp);
        if let Some(nbf) = nbf {
            claims["nbf"] = json!(nbf);
        }
        let token = hmac_token(
            &json!({"alg": "HS256", "typ": "JWT"}),
            &claims,
            JWT_SECRET.as_bytes(),
        );
        results.push((what.to_owned(), as_admin(&app, &token).await));
    }
    for (what, drop) in [("no exp", "exp"), ("no iss", "iss"), ("no aud", "aud")] {
        let mut claims = admin_claims();
        claims.as_object_mut().map(|c| c.remove(drop));
        let token = hmac_token(
            &json!({"alg": "HS256", "typ": "JWT"}),
            &claims,
            JWT_SECRET.as_bytes(),
        );
        results.push((what.to_owned(), as_admin(&app, &token).await));
    }
    for (what, key, value) in [
        ("another issuer", "iss", "someone-else"),
        ("another audience", "aud", "other-api"),
    ] {
        let mut claims = admin_claims();
        claims[key] = json!(value);
        let token = hmac_token(
            &json!({"alg": "HS256", "typ": "JWT"}),
            &claims,
            JWT_SECRET.as_bytes(),
        );
        results.push((what.to_owned(), as_admin(&app, &token).await));
    }
    all_refused(
        "expired, not yet valid, or missing claims",
        &results,
        401,
        "unauthorized",
    );
    // Within the leeway, and a past nbf, are accepted: the refusals above are about time.
    let mut fresh = admin_claims();
    fresh["exp"] = json!(now - 5);
    fresh["nbf"] = json!(now - 60);
    let token = hmac_token(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &fresh,
        JWT_SECRET.as_bytes(),
    );
    assert_eq!(as_admin(&app, &token).await.0, 200);
}

async fn tampered_claims_are_refused(app: TestApp) {
    let (tok, rid) = app.resident("19900000001").await;
    let parts: Vec<&str> = tok.split('.').collect();
    assert_eq!(parts.len(), 3);
    let claims: Value =
        serde_json::from_slice(&B64.decode(parts[1]).unwrap_or_default()).unwrap_or(Value::Null);
    let mut results = Vec::new();
    for (what, key, value) in [
        ("role raised to admin", "role", json!("admin")),
        ("role raised to tracer", "role", json!("tracer")),
        ("another subject", "sub", json!("admin")),
        (
            "expiry pushed out",
            "exp",
            json!(claims["exp"].as_i64().unwrap_or(0) + 86_400 * 365),
        ),
        (
            "sign-in generation changed",
            "gen",
            json!(claims["gen"].as_u64().unwrap_or(0) + 1),
        ),
    ] {
        let mut forged = claims.clone();
        forged[key] = value;
        let token = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
        results.push((what.to_owned(), as_admin(&app, &token).await));
    }
    // The signature itself altered (a character in its middle, which carries no padding bits).
    let mut signature = parts[2].as_bytes().to_vec();
    signature[10] = if signature[10] == b'Q' { b'R' } else { b'Q' };
    let flipped = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        String::from_utf8_lossy(&signature)
    );
    results.push(("signature altered".into(), as_admin(&app, &flipped).await));
    all_refused("tampered claims", &results, 401, "unauthorized");
    assert!(app.visits_of(&rid).await.is_empty());
}

async fn a_role_reaches_only_its_own_routes(app: TestApp) {
    app.venue("S1", "shop").await;
    let (resident, rid) = app.resident("19900000001").await;
    let tracer = app.staff("tracer1", "tracer").await;
    let guard = app.staff("guard1", "guard").await;
    let visits = format!("/api/v1/trace/residents/{rid}/visits");
    let mut results = Vec::new();
    for (who, token) in [("resident", &resident), ("guard", &guard)] {
        for path in [
            visits.as_str(),
            "/api/v1/trace/venues/S1/visits",
            "/api/v1/audit",
            "/api/v1/venues",
        ] {
            let a = app.get(path, token).await;
            results.push((format!("{who} GET {path}"), (a.status, code_of(&a.body))));
        }
    }
    for (who, token) in [
        ("resident", &resident),
        ("tracer", &tracer),
        ("guard", &guard),
    ] {
        let a = app
            .post(
                "/api/v1/staff",
                token,
                &json!({"username": "evil", "password": "a-long-password-1", "role": "admin"}),
            )
            .await;
        results.push((
            format!("{who} creates an admin"),
            (a.status, code_of(&a.body)),
        ));
        let a = app
            .post("/api/v1/venues/S1/codes/rotate", token, &json!({}))
            .await;
        results.push((
            format!("{who} rotates a venue's codes"),
            (a.status, code_of(&a.body)),
        ));
    }
    all_refused("wrong role", &results, 403, "forbidden");
}

async fn a_code_signed_by_another_key_or_revoked_is_refused(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    let jwks = app
        .send(app.client.get(app.url("/.well-known/jwks.json")))
        .await;
    let kid = jwks.body["keys"][0]["kid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The attacker's own Ed25519 key, under the service's key id and under their own.
    let other = checkin::codes::keys::CodeKey::generate().unwrap_or_else(|e| panic!("{e}"));
    let key = jsonwebtoken::EncodingKey::from_ed_pem(other.pem.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut forged = Vec::new();
    for (what, key_id, claims) in [
        (
            "the service's key id",
            kid.as_str(),
            json!({"v": "S1", "g": "北门", "n": 1}),
        ),
        (
            "the attacker's key id",
            other.kid.as_str(),
            json!({"v": "S1", "g": "北门", "n": 1}),
        ),
        (
            "a later code version",
            kid.as_str(),
            json!({"v": "S1", "g": "北门", "n": 9}),
        ),
    ] {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(key_id.to_owned());
        let token = jsonwebtoken::encode(&header, &claims, &key).unwrap_or_else(|e| panic!("{e}"));
        let text = format!("{}/s/{token}", app.settings.public_base_url);
        forged.push((
            format!("signed by another key, {what}"),
            scan(&app, &tok, &text).await,
        ));
    }
    let n = all_refused("a code signed by another key", &forged, 422, "invalid_code");

    let admin = app.admin().await;
    let rotated = app
        .post("/api/v1/venues/S1/codes/rotate", &admin, &json!({}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let revoked = vec![
        (
            "the first poster after a rotation".to_owned(),
            scan(&app, &tok, &code).await,
        ),
        (
            "the same, with trailing spaces".to_owned(),
            scan(&app, &tok, &format!("{code}  ")).await,
        ),
    ];
    all_refused("a revoked code", &revoked, 422, "code_revoked");
    assert!(app.visits_of(&rid).await.is_empty());
    assert!(n > 0);
}

async fn a_replayed_idempotency_key_with_another_body_is_refused(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let other = app.venue("S2", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    let first = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": code, "direction": "in", "idempotency_key": "k-1"}),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let mut results = Vec::new();
    for (what, body) in [
        (
            "another direction",
            json!({"code": code, "direction": "out", "idempotency_key": "k-1"}),
        ),
        (
            "another venue",
            json!({"code": other, "direction": "in", "idempotency_key": "k-1"}),
        ),
        (
            "a temperature added",
            json!({"code": code, "direction": "in", "temperature_c": 38.5, "idempotency_key": "k-1"}),
        ),
        (
            "a client time added",
            json!({"code": code, "direction": "in", "client_time": Utc::now().to_rfc3339(), "idempotency_key": "k-1"}),
        ),
    ] {
        let a = app.post("/api/v1/scans", &tok, &body).await;
        results.push((what.to_owned(), (a.status, code_of(&a.body))));
    }
    all_refused(
        "a replayed idempotency key with another body",
        &results,
        409,
        "idempotency_key_reused",
    );
    // The same body again is the first answer, and one visit is all there is.
    let again = app
        .post(
            "/api/v1/scans",
            &tok,
            &json!({"code": code, "direction": "in", "idempotency_key": "k-1"}),
        )
        .await;
    assert_eq!(again.body, first.body);
    assert_eq!(app.visits_of(&rid).await.len(), 1);
}

async fn over_long_and_malformed_scans_are_refused_and_change_nothing(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (tok, rid) = app.resident("19900000001").await;
    let raw = |body: Vec<u8>| {
        let app = &app;
        let tok = tok.clone();
        async move {
            let a = app
                .send(
                    app.client
                        .post(app.url("/api/v1/scans"))
                        .bearer_auth(&tok)
                        .header("content-type", "application/json")
                        .body(body),
                )
                .await;
            (a.status, code_of(&a.body))
        }
    };
    let mut results = Vec::new();
    let cases: Vec<(&str, String)> = vec![
        ("a code of 2,049 characters", json!({"code": "x".repeat(2049)}).to_string()),
        ("a body over 8 KiB (413)", json!({"code": code, "idempotency_key": "k".repeat(9_000)}).to_string()),
        ("an idempotency key of 129 characters", json!({"code": code, "idempotency_key": "k".repeat(129)}).to_string()),
        ("an idempotency key with a space", json!({"code": code, "idempotency_key": "a b"}).to_string()),
        ("an idempotency key with non-ASCII", json!({"code": code, "idempotency_key": "钥匙"}).to_string()),
        ("an empty idempotency key", json!({"code": code, "idempotency_key": ""}).to_string()),
        ("a temperature of 29.9 °C", json!({"code": code, "temperature_c": 29.9}).to_string()),
        ("a temperature of 45.1 °C", json!({"code": code, "temperature_c": 45.1}).to_string()),
        ("a temperature as text", json!({"code": code, "temperature_c": "38"}).to_string()),
        ("a temperature of 1e309", format!(r#"{{"code": "{code}", "temperature_c": 1e309}}"#)),
        ("a direction that is neither", json!({"code": code, "direction": "sideways"}).to_string()),
        ("a client time that is not a time", json!({"code": code, "client_time": "yesterday"}).to_string()),
        ("a client time without an offset", json!({"code": code, "client_time": "2026-11-29T08:00:00"}).to_string()),
        ("an unknown field", json!({"code": code, "admin": true}).to_string()),
        ("no code", json!({"direction": "in"}).to_string()),
        ("a code that is a number", json!({"code": 7}).to_string()),
        ("eleven household members", json!({"code": code, "members": (0..11).map(|i| json!({"resident_id": format!("R{i:05}")})).collect::<Vec<_>>()}).to_string()),
        ("JSON nested 4,000 deep", format!("{}{}", "[".repeat(4_000), "]".repeat(4_000))),
        ("truncated JSON", format!(r#"{{"code": "{code}""#)),
        ("not JSON", "code=abc".to_owned()),
        ("an empty body", String::new()),
    ];
    for (what, body) in cases {
        results.push((what.to_owned(), raw(body.into_bytes()).await));
    }
    // Invalid UTF-8 inside a string.
    let mut bytes = br#"{"code": ""#.to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, 0x80]);
    bytes.extend_from_slice(br#""}"#);
    results.push(("invalid UTF-8".into(), raw(bytes).await));
    for (input, (status, code)) in &results {
        assert!(
            (400..500).contains(status) && !code.is_empty(),
            "{input}: got {status} {code}"
        );
        assert!(
            matches!(
                code.as_str(),
                "invalid_json" | "invalid_input" | "unknown_code_format" | "payload_too_large"
            ),
            "{input}: got {status} {code}"
        );
    }
    eprintln!(
        "attack over-long and malformed scans: {} inputs, 413 for the body over the limit, \
         400 for the others",
        results.len()
    );
    for (input, (status, code)) in &results {
        let want = if input.contains("(413)") {
            (413, "payload_too_large")
        } else {
            (400, code.as_str())
        };
        assert_eq!((*status, code.as_str()), want, "{input}");
    }
    assert!(app.visits_of(&rid).await.is_empty());
    // And the service still takes a good scan.
    assert_eq!(scan(&app, &tok, &code).await.0, 200);
}

async fn scan(app: &TestApp, tok: &str, code: &str) -> (u16, String) {
    let a = app
        .post(
            "/api/v1/scans",
            tok,
            &json!({"code": code, "direction": "in"}),
        )
        .await;
    (a.status, code_of(&a.body))
}

fn code_of(body: &Value) -> String {
    body["error"]["code"].as_str().unwrap_or("").to_owned()
}

crate::on_both_backends!(
    alg_none_tokens_are_refused,
    tokens_naming_another_algorithm_or_keyed_with_the_public_key_are_refused,
    expired_and_not_yet_valid_tokens_are_refused,
    tampered_claims_are_refused,
    a_role_reaches_only_its_own_routes,
    a_code_signed_by_another_key_or_revoked_is_refused,
    a_replayed_idempotency_key_with_another_body_is_refused,
    over_long_and_malformed_scans_are_refused_and_change_nothing,
);
