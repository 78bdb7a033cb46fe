//! The alert webhook: every alert reaches the responsible staff's endpoint once, however
//! often the endpoint fails first, and however many instances deliver.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use checkin::config::Settings;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, spawn_beside, Backend, TestApp};

/// One post the receiver got: its `Idempotency-Key`, body and the status it answered.
#[derive(Debug, Clone)]
struct Post {
    key: String,
    body: Value,
    status: u16,
}

/// A webhook endpoint that fails its first `failures` posts with 500, and takes `delay` to
/// answer each.
struct Receiver {
    url: String,
    posts: Arc<Mutex<Vec<Post>>>,
    server: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start(failures: usize, delay: Duration) -> Self {
        Self::failing_with(failures, delay, 500).await
    }

    /// As [`Receiver::start`], failing with `status` (a redirect, say) instead of 500.
    async fn failing_with(failures: usize, delay: Duration, status: u16) -> Self {
        let failure = status;
        let posts: Arc<Mutex<Vec<Post>>> = Arc::default();
        let seen = Arc::clone(&posts);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let port = listener.local_addr().expect("has an address").port();
        let server = HttpServer::new(move || {
            let seen = Arc::clone(&seen);
            App::new()
                // Where a redirect points: a 200 for anything, as a landing page would give.
                .route("/elsewhere", web::to(HttpResponse::Ok))
                .route(
                    "/hook",
                    web::post().to(move |req: HttpRequest, body: web::Json<Value>| {
                        let seen = Arc::clone(&seen);
                        async move {
                            tokio::time::sleep(delay).await;
                            let mut posts = seen.lock().expect("not poisoned");
                            let status = if posts.len() < failures { failure } else { 200 };
                            posts.push(Post {
                                key: req
                                    .headers()
                                    .get("idempotency-key")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_owned(),
                                body: body.into_inner(),
                                status,
                            });
                            HttpResponse::build(
                                actix_web::http::StatusCode::from_u16(status).expect("a status"),
                            )
                            .insert_header(("location", "/elsewhere"))
                            .finish()
                        }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .expect("listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            posts,
            server: handle,
        }
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().expect("not poisoned").clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

/// Fast retries, so that a test takes well under a second of waiting.
fn deliver_to(url: &str, max_attempts: u32) -> impl FnOnce(&mut Settings) + '_ {
    move |s: &mut Settings| {
        s.alerts.webhook_url = Some(url.to_owned());
        s.alerts.retry_first_ms = 50;
        s.alerts.retry_longest_ms = 200;
        s.alerts.poll_interval_ms = 20;
        s.alerts.max_attempts = max_attempts;
    }
}

/// Scans `phone` into a new shop with a fever; returns the alert's id (the scan's event id
/// is not on the wire, so it is read from `GET /alerts`).
async fn fever(app: &TestApp, shop: &str, phone: &str) -> String {
    let (token, _) = app.resident(phone).await;
    let code = app.venue(shop, "shop").await;
    let hot = app
        .post(
            "/api/v1/scans",
            &token,
            &json!({"code": code, "direction": "in", "temperature_c": 38.5}),
        )
        .await;
    assert_eq!(hot.body["reason"], "fever", "{}", hot.body);
    let admin = app.admin().await;
    let listed = app.get("/api/v1/alerts", &admin).await;
    listed.body["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["venue_id"] == shop)
        .and_then(|a| a["id"].as_str())
        .unwrap_or_else(|| panic!("no alert at {shop}: {}", listed.body))
        .to_owned()
}

/// Waits (up to 15 s) until no alert's delivery is pending; returns the alerts.
async fn settled(app: &TestApp) -> Vec<Value> {
    let admin = app.admin().await;
    for _ in 0..300 {
        let listed = app.get("/api/v1/alerts", &admin).await;
        let alerts = listed.body["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !alerts.is_empty() && alerts.iter().all(|a| a["delivery"]["status"] != "pending") {
            return alerts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("alert deliveries still pending after 15 s");
}

async fn a_webhook_that_fails_twice_gets_the_alert_on_the_third_post_and_only_once(
    backend: Backend,
) {
    let hook = Receiver::start(2, Duration::ZERO).await;
    let app = spawn_app_with(backend, deliver_to(&hook.url, 10)).await;
    app.import_residents("RF,雷婷,19900000961,,,,H1,hubei_return\n")
        .await;
    let id = fever(&app, "S1", "19900000961").await;

    let alerts = settled(&app).await;
    // Several more rounds: a delivered alert is not posted again.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let posts = hook.posts();
    let statuses: Vec<u16> = posts.iter().map(|p| p.status).collect();
    assert_eq!(statuses, vec![500, 500, 200]);
    assert!(posts.iter().all(|p| p.key == id), "{posts:?}");
    let body = &posts[2].body;
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["kind"], "fever");
    assert_eq!(body["temperature_c"], 38.5);
    assert_eq!(body["venue"]["id"], "S1");
    assert_eq!(body["resident"]["id"], "RF");
    assert_eq!(body["resident"]["phone"], "19900000961");
    assert_eq!(body["resident"]["tags"], json!(["hubei_return"]));
    assert!(
        body["at"].as_str().is_some_and(|t| t.ends_with("+08:00")),
        "local time: {body}"
    );
    assert_eq!(alerts[0]["delivery"]["status"], "delivered");
    assert_eq!(alerts[0]["delivery"]["attempts"], 3);
    assert!(alerts[0]["delivery"]["last_error"]
        .as_str()
        .is_some_and(|e| e.contains("500")));
}

async fn a_webhook_that_never_answers_2xx_is_given_up_after_the_allowed_posts(backend: Backend) {
    let hook = Receiver::start(usize::MAX, Duration::ZERO).await;
    let app = spawn_app_with(backend, deliver_to(&hook.url, 3)).await;
    fever(&app, "S1", "19900000962").await;

    let alerts = settled(&app).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(hook.posts().len(), 3);
    assert_eq!(alerts[0]["delivery"]["status"], "failed");
    assert_eq!(alerts[0]["delivery"]["attempts"], 3);
}

async fn two_instances_on_one_store_post_each_alert_once(backend: Backend) {
    // A slow endpoint: each post is still in flight when the other instance looks.
    let hook = Receiver::start(0, Duration::from_millis(150)).await;
    let first = spawn_app_with(backend, |_| {}).await;
    let mut ids = Vec::new();
    for (i, phone) in ["19900000971", "19900000972", "19900000973", "19900000974"]
        .iter()
        .enumerate()
    {
        ids.push(fever(&first, &format!("S{i}"), phone).await);
    }
    // Both instances deliver from the same store.
    let a = spawn_beside(&first, deliver_to(&hook.url, 10)).await;
    let b = spawn_beside(&first, deliver_to(&hook.url, 10)).await;

    settled(&a).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop((a, b));

    let mut posted: Vec<String> = hook.posts().into_iter().map(|p| p.key).collect();
    posted.sort();
    ids.sort();
    assert_eq!(posted, ids);
}

async fn a_webhook_that_redirects_is_not_counted_as_delivered(backend: Backend) {
    let hook = Receiver::failing_with(usize::MAX, Duration::ZERO, 302).await;
    let app = spawn_app_with(backend, deliver_to(&hook.url, 2)).await;
    fever(&app, "S1", "19900000963").await;

    let alerts = settled(&app).await;

    assert_eq!(alerts[0]["delivery"]["status"], "failed");
    assert!(alerts[0]["delivery"]["last_error"]
        .as_str()
        .is_some_and(|e| e.contains("302")));
    assert_eq!(hook.posts().len(), 2, "posts only, no redirected GET");
}

crate::for_each_backend!(
    a_webhook_that_redirects_is_not_counted_as_delivered,
    a_webhook_that_fails_twice_gets_the_alert_on_the_third_post_and_only_once,
    a_webhook_that_never_answers_2xx_is_given_up_after_the_allowed_posts,
    two_instances_on_one_store_post_each_alert_once,
);
