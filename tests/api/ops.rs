//! The operational endpoints at the root.

use crate::helpers::TestApp;

/// `GET /metrics`, as text.
async fn metrics_text(app: &TestApp) -> String {
    app.client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default()
}

async fn health_readiness_metrics_and_the_spec_answer(app: TestApp) {
    let health = app.send(app.client.get(app.url("/healthz"))).await;
    let ready = app.send(app.client.get(app.url("/readyz"))).await;
    let spec = app.send(app.client.get(app.url("/openapi.json"))).await;
    let metrics = metrics_text(&app).await;

    assert_eq!(health.status, 200);
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["status"], "ok");
    assert_eq!(spec.status, 200);
    for path in [
        "/api/v1/scans",
        "/api/v1/trace/residents/{id}/contacts",
        "/api/v1/venues/import",
    ] {
        assert!(
            spec.body["paths"].get(path).is_some(),
            "{path} missing from the spec"
        );
    }
    // Every trace read answers JSON or, asked, CSV: the spec says both.
    for path in [
        "/api/v1/trace/residents/{id}/visits",
        "/api/v1/trace/venues/{id}/visits",
        "/api/v1/trace/residents/{id}/contacts",
        "/api/v1/trace/venues/{id}/exposure",
        "/api/v1/trace/vehicles/{plate}/passes",
    ] {
        let content = &spec.body["paths"][path]["get"]["responses"]["200"]["content"];
        assert!(
            content.get("application/json").is_some() && content.get("text/csv").is_some(),
            "{path}: {content}"
        );
    }
    // A parameter in the path is one the path names: the query's are in the query.
    let paths = spec.body["paths"].as_object().cloned().unwrap_or_default();
    for (path, operations) in &paths {
        for (method, operation) in operations.as_object().into_iter().flatten() {
            for param in operation["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap_or_default();
                if param["in"] == "path" {
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: `{name}` is not in the path"
                    );
                }
            }
        }
    }
    assert!(metrics.contains("http_requests_total"), "{metrics}");
}

async fn request_latency_is_a_histogram_that_adds_up_across_instances(app: TestApp) {
    let health = app.send(app.client.get(app.url("/healthz"))).await;
    let metrics = metrics_text(&app).await;

    assert_eq!(health.status, 200);
    let buckets: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("http_request_duration_seconds_bucket{route=\"/healthz\""))
        // One series of buckets per method and status (other tests send HEAD here too).
        .filter(|l| l.contains("method=\"GET\"") && l.contains("status=\"200\""))
        .collect();
    // One per bound of `LATENCY_BUCKETS`, and `+Inf`.
    assert_eq!(
        buckets.len(),
        checkin::telemetry::LATENCY_BUCKETS.len() + 1,
        "{metrics}"
    );
    assert!(
        buckets.iter().any(|l| l.contains("le=\"+Inf\"")),
        "{metrics}"
    );
    assert!(!metrics.contains("quantile="), "{metrics}");
}

/// Writes `request` to the app's socket as it is and reads the whole answer.
async fn raw_exchange(app: &TestApp, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&answer).into_owned()
}

/// Sends `req` and returns the status, the `Allow` header (empty when absent) and the body.
async fn with_allow(req: reqwest::RequestBuilder) -> (u16, String, serde_json::Value) {
    let res = req.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = res.status().as_u16();
    let allow = res
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, allow, res.json().await.unwrap_or_default())
}

async fn a_method_a_path_does_not_take_gets_the_contract_error_body_and_allow(app: TestApp) {
    let (status, allow, body) = with_allow(app.client.get(app.url("/api/v1/scans"))).await;

    assert_eq!(status, 405);
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    assert!(allow.contains("POST"), "Allow: {allow:?}");
    assert!(!allow.contains("HEAD"), "Allow: {allow:?}");
}

async fn a_path_with_two_methods_names_both_when_asked_with_a_third(app: TestApp) {
    let admin = app.admin().await;
    app.venue("S1", "shop").await;
    let delete = app
        .client
        .delete(app.url("/api/v1/venues/S1"))
        .bearer_auth(&admin);
    let (status, allow, body) = with_allow(delete).await;

    assert_eq!(status, 405, "{body}");
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    assert!(
        allow.contains("GET") && allow.contains("HEAD") && allow.contains("PATCH"),
        "Allow: {allow:?}"
    );
    assert_eq!(app.get("/api/v1/venues/S1", &admin).await.status, 200);
}

async fn head_is_answered_wherever_get_is_and_without_a_body(app: TestApp) {
    let admin = app.admin().await;
    let code = app.venue("S1", "shop").await;
    let page = code.split("/s/").nth(1).unwrap_or_default().to_owned();
    for path in [
        "/healthz".to_owned(),
        "/readyz".to_owned(),
        "/api/v1/venues/S1".to_owned(),
        format!("/s/{page}"),
    ] {
        let res = app
            .client
            .head(app.url(&path))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status().as_u16(), 200, "HEAD {path}");
    }
    // On the wire: the status and headers, and not the body a GET gets.
    let raw = raw_exchange(
        &app,
        "HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(!raw.contains("\"status\""), "{raw}");
    let get = raw_exchange(
        &app,
        "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(get.contains("\"status\""), "{get}");
    let (status, allow, _) = with_allow(app.client.head(app.url("/api/v1/scans"))).await;
    assert_eq!(status, 405);
    assert!(allow.contains("POST"), "Allow: {allow:?}");
}

async fn an_unknown_route_gets_the_contract_error_body(app: TestApp) {
    let a = app
        .send(app.client.get(app.url("/api/v1/nothing-here")))
        .await;

    assert_eq!(a.status, 404);
    assert_eq!(a.body["error"]["code"], "not_found");
}

crate::on_both_backends!(
    health_readiness_metrics_and_the_spec_answer,
    an_unknown_route_gets_the_contract_error_body,
    request_latency_is_a_histogram_that_adds_up_across_instances,
    a_method_a_path_does_not_take_gets_the_contract_error_body_and_allow,
    a_path_with_two_methods_names_both_when_asked_with_a_third,
    head_is_answered_wherever_get_is_and_without_a_body,
);
