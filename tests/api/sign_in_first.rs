//! Authentication is decided before the request's body or query is judged: a signed-out
//! (revoked) resident or staff token is a 401 however malformed the rest of the request is.

use serde_json::json;

use crate::helpers::TestApp;

async fn a_signed_out_token_is_refused_401_whatever_is_wrong_with_the_body(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (old, _) = app.resident("19900000891").await;
    let out = app
        .post("/api/v1/me/sign-out-everywhere", &old, &json!({}))
        .await;
    assert_eq!(out.status, 204, "{}", out.body);
    let (fresh, _) = app.resident("19900000891").await;
    let hot = json!({"code": code, "temperature_c": 52.0}).to_string();
    let bodies = [
        ("application/json", "{not json"),
        ("text/plain", r#"{"code": "x"}"#),
        ("application/json", hot.as_str()),
    ];
    for path in ["/api/v1/scans", "/api/v1/scans/batch", "/api/v1/visitors"] {
        for (content_type, body) in bodies {
            let send = |token: &str| {
                app.client
                    .post(app.url(path))
                    .bearer_auth(token)
                    .header("content-type", content_type)
                    .body(body.to_owned())
            };

            let revoked = app.send(send(&old)).await;
            let signed_in = app.send(send(&fresh)).await;

            assert_eq!(revoked.status, 401, "{path} {body}: {}", revoked.body);
            assert_eq!(revoked.body["error"]["code"], "unauthorized");
            assert_eq!(signed_in.status, 400, "{path} {body}: {}", signed_in.body);
        }
    }
    // Given twice: refused by the query extractor itself.
    let query = "/api/v1/me/visits?from=last-week&from=today";
    assert_eq!(app.get(query, &old).await.status, 401);
    assert_eq!(app.get(query, &fresh).await.status, 400);
}

async fn a_signed_out_staff_token_is_refused_401_whatever_is_wrong_with_the_body_or_query(
    app: TestApp,
) {
    app.venue("S1", "shop").await;
    let old = app.admin().await;
    let out = app
        .post("/api/v1/me/sign-out-everywhere", &old, &json!({}))
        .await;
    assert_eq!(out.status, 204, "{}", out.body);
    let login = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
    let fresh = login.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Every staff route that reads a query or a body (an admin may use each): an unknown
    // query parameter, or a body that is not JSON.
    let queries = [
        "/api/v1/alerts",
        "/api/v1/audit",
        "/api/v1/flags",
        "/api/v1/reports/daily",
        "/api/v1/visitors",
        "/api/v1/venues/S1/live-code",
        "/api/v1/venues/S1/poster.png",
        "/api/v1/venues/S1/poster.svg",
        "/api/v1/venues/S1/poster.pdf",
        "/api/v1/posters.pdf",
        "/api/v1/venues/S1/recent-scans",
        "/api/v1/venues/S1/vehicle-passes",
        "/api/v1/trace/residents/R1/visits",
        "/api/v1/trace/residents/R1/contacts",
        "/api/v1/trace/venues/S1/visits",
        "/api/v1/trace/venues/S1/exposure",
        "/api/v1/trace/vehicles/云A12345/passes",
    ];
    let bodies = [
        ("POST", "/api/v1/staff", "application/json"),
        ("POST", "/api/v1/venues", "application/json"),
        ("PATCH", "/api/v1/venues/S1", "application/json"),
        ("POST", "/api/v1/venues/S1/codes", "application/json"),
        (
            "POST",
            "/api/v1/venues/S1/vehicle-passes",
            "application/json",
        ),
        ("POST", "/api/v1/residents/import?nope=1", "text/csv"),
        ("POST", "/api/v1/venues/import?nope=1", "text/csv"),
    ];
    let mut requests: Vec<(reqwest::Method, String, Option<&str>)> = queries
        .iter()
        .map(|path| (reqwest::Method::GET, format!("{path}?nope=1"), None))
        .collect();
    for (method, path, content_type) in bodies {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_default();
        requests.push((method, path.to_owned(), Some(content_type)));
    }
    for (method, path, content_type) in requests {
        let send = |token: &str| {
            let req = app
                .client
                .request(method.clone(), app.url(&path))
                .bearer_auth(token);
            match content_type {
                Some(c) => req.header("content-type", c).body("{not json"),
                None => req,
            }
        };

        let revoked = app.send(send(&old)).await;
        let signed_in = app.send(send(&fresh)).await;

        assert_eq!(revoked.status, 401, "{method} {path}: {}", revoked.body);
        assert_eq!(revoked.body["error"]["code"], "unauthorized");
        assert_eq!(signed_in.status, 400, "{method} {path}: {}", signed_in.body);
    }
}

crate::on_both_backends!(
    a_signed_out_token_is_refused_401_whatever_is_wrong_with_the_body,
    a_signed_out_staff_token_is_refused_401_whatever_is_wrong_with_the_body_or_query,
);
