//! A body that cannot be read (cut short by the connection, or not in the encoding its
//! `Content-Encoding` names) is a 400 with a plain message, never Rust's debug text, and
//! changes nothing.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Answer, TestApp};

/// Signs of Rust's debug form of an error in a message.
fn debug_text(message: &str) -> bool {
    ["Some(", "None", "Custom {", "kind:", "Kind("]
        .iter()
        .any(|s| message.contains(s))
}

/// `body` posted to `path` as `who`, with its `Content-Type` and `Content-Encoding` headers.
async fn post_encoded(
    app: &TestApp,
    path: &str,
    who: &str,
    content_type: &str,
    encoding: &str,
    body: Vec<u8>,
) -> Answer {
    app.send(
        app.client
            .post(app.url(path))
            .bearer_auth(who)
            .header("content-type", content_type)
            .header("content-encoding", encoding)
            .body(body),
    )
    .await
}

async fn a_body_not_in_its_content_encoding_is_a_400_said_plainly(app: TestApp) {
    let (token, rid) = app.resident("19900000911").await;
    let admin = app.admin().await;
    let junk = b"this is not gzip at all".to_vec();
    let cases = [
        ("/api/v1/scans", &token, "application/json", "invalid_json"),
        (
            "/api/v1/residents/import",
            &admin,
            "text/csv",
            "invalid_input",
        ),
    ];
    for (path, who, content_type, error) in cases {
        let a = post_encoded(&app, path, who, content_type, "gzip", junk.clone()).await;

        assert_eq!(a.status, 400, "{path}: {}", a.body);
        assert_eq!(a.body["error"]["code"], error, "{path}");
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("Content-Encoding"), "{path}: {message}");
        assert!(!debug_text(message), "{path}: {message}");
    }
    assert!(app.visits_of(&rid).await.is_empty());
}

async fn a_body_cut_short_by_the_connection_is_a_400_said_plainly(app: TestApp) {
    let admin = app.admin().await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let part = "code,name,kind,community,address,gates,households\nS1,东门药店,shop,,,正门,\n";
    let request = format!(
        "POST /api/v1/venues/import HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: text/csv\r\nContent-Length: {}\r\n\r\n{part}",
        part.len() + 1000
    );
    stream
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The client stops sending: the rest of the body never comes.
    stream.shutdown().await.unwrap_or_else(|e| panic!("{e}"));
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .unwrap_or_else(|e| panic!("no answer: {e}"))
    .unwrap_or_else(|e| panic!("{e}"));
    let answer = String::from_utf8_lossy(&answer).into_owned();

    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let body: serde_json::Value = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or_default();
    assert_eq!(body["error"]["code"], "invalid_input", "{answer}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("before the whole body arrived"),
        "{message}"
    );
    assert!(!debug_text(message), "{message}");
    assert_eq!(app.get("/api/v1/venues/S1", &admin).await.status, 404);
}

/// actix reads a body under a coding it does not know as if it had none: the service refuses
/// it instead, as RFC 9110 says, so a client never has a body it meant otherwise taken as sent.
async fn a_content_encoding_the_service_does_not_decode_is_a_415(app: TestApp) {
    let code = app.venue("S1", "shop").await;
    let (token, rid) = app.resident("19900000912").await;
    let admin = app.admin().await;
    let scan = serde_json::json!({"code": code, "direction": "in"}).to_string();
    let csv = "code,name,kind,community,address,gates,households\nS2,东门药店,shop,,,正门,\n";
    let cases = [
        ("/api/v1/scans", &token, "application/json", scan.as_str()),
        ("/api/v1/venues/import", &admin, "text/csv", csv),
    ];
    for (path, who, content_type, body) in cases {
        let a = post_encoded(&app, path, who, content_type, "x-compress", body.into()).await;

        assert_eq!(a.status, 415, "{path}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "unsupported_content_encoding");
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("\"x-compress\""), "{path}: {message}");
    }
    assert!(app.visits_of(&rid).await.is_empty());
    assert_eq!(app.get("/api/v1/venues/S2", &admin).await.status, 404);
    let plain = post_encoded(
        &app,
        "/api/v1/scans",
        &token,
        "application/json",
        "identity",
        scan.into_bytes(),
    )
    .await;
    assert_eq!(plain.status, 200, "{}", plain.body);
}

crate::on_both_backends!(
    a_body_not_in_its_content_encoding_is_a_400_said_plainly,
    a_body_cut_short_by_the_connection_is_a_400_said_plainly,
    a_content_encoding_the_service_does_not_decode_is_a_415,
);
