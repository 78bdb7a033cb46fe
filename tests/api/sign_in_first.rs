//! Authentication is decided before the request's body or query is judged: a signed-out
//! (revoked) resident token is a 401 however malformed the rest of the request is.

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

crate::on_both_backends!(a_signed_out_token_is_refused_401_whatever_is_wrong_with_the_body);
