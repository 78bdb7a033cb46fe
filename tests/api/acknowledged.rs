//! Residents scanning without pause while something fails (Redis, the service itself), and the
//! check afterwards that every scan answered 2xx is stored exactly once (issue 8).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::TestApp;

/// Residents scanning at two shops of an app, each without pause, until stopped.
pub struct Scanning {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Sent>>>,
    /// Each resident's token and id.
    pub residents: Vec<(String, String)>,
}

impl Scanning {
    /// Registers the shops `{tag}-S1` and `{tag}-S2`, signs in `n` residents (phones
    /// `{phones}0000`, `{phones}0001`, …) and starts each scanning at one of the shops, every
    /// request timing out after `timeout`.
    pub async fn start(
        app: &TestApp,
        tag: &str,
        phones: &str,
        n: usize,
        timeout: Duration,
    ) -> Self {
        let codes = [
            app.venue(&format!("{tag}-S1"), "shop").await,
            app.venue(&format!("{tag}-S2"), "shop").await,
        ];
        let mut residents = Vec::new();
        for i in 0..n {
            residents.push(app.resident(&format!("{phones}{i:04}")).await);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = residents
            .iter()
            .enumerate()
            .map(|(i, (token, _))| {
                tokio::spawn(keep_scanning(
                    app.address.clone(),
                    token.clone(),
                    codes[i % codes.len()].clone(),
                    Arc::clone(&stop),
                    timeout,
                ))
            })
            .collect();
        Self {
            stop,
            tasks,
            residents,
        }
    }

    /// Stops the scanners; what each resident sent, in the order of `residents`.
    pub async fn stop(self) -> (Vec<(String, String)>, Vec<Vec<Sent>>) {
        self.stop.store(true, Ordering::Relaxed);
        let mut per_resident = Vec::new();
        for task in self.tasks {
            per_resident.push(task.await.unwrap_or_else(|e| panic!("scanner: {e}")));
        }
        (self.residents, per_resident)
    }
}

/// One scan request and what came back.
pub struct Sent {
    /// The HTTP status; 0 when no answer came (connection refused or reset, or timed out).
    pub status: u16,
    pub took: Duration,
    pub body: Value,
    pub retry_after: bool,
}

/// A resident scanning again and again at one venue (in, out, in, …) every 15 ms until
/// `stop`, each scan with a fresh idempotency key; a request with no answer is recorded with
/// status 0 and the next one follows. Requests time out after `timeout`.
async fn keep_scanning(
    base: String,
    token: String,
    code: String,
    stop: Arc<AtomicBool>,
    timeout: Duration,
) -> Vec<Sent> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let mut sent = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let key = format!("ack-{}", uuid::Uuid::new_v4());
        let res = client
            .post(format!("{base}/api/v1/scans"))
            .bearer_auth(&token)
            .json(&json!({"code": code, "idempotency_key": key}))
            .send()
            .await;
        let s = match res {
            Ok(res) => {
                let status = res.status().as_u16();
                let retry_after = res.headers().contains_key("retry-after");
                let body = res.json::<Value>().await.unwrap_or(Value::Null);
                Sent {
                    status,
                    took: started.elapsed(),
                    body,
                    retry_after,
                }
            }
            Err(_) => Sent {
                status: 0,
                took: started.elapsed(),
                body: Value::Null,
                retry_after: false,
            },
        };
        sent.push(s);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    sent
}

/// Asserts that each resident's visits hold every visit an acknowledged (2xx) scan named,
/// exactly once, closed when the answer was a check-out, and that no visit is stored twice.
/// Returns how many acknowledged scans were checked.
pub async fn assert_every_acknowledged_scan_is_stored_once(
    app: &TestApp,
    residents: &[(String, String)],
    per_resident: &[Vec<Sent>],
) -> usize {
    let mut checked = 0;
    for ((_, rid), sent) in residents.iter().zip(per_resident) {
        let visits = app.visits_of(rid).await;
        let mut stored: HashMap<String, (usize, bool)> = HashMap::new();
        for v in &visits {
            let id = v["visit_id"].as_str().unwrap_or_default().to_owned();
            let entry = stored.entry(id).or_insert((0, false));
            entry.0 += 1;
            entry.1 = !v["check_out"].is_null();
        }
        assert!(
            stored.values().all(|(n, _)| *n == 1),
            "a visit stored twice: {visits:?}"
        );
        for s in sent.iter().filter(|s| (200..300).contains(&s.status)) {
            let id = s.body["visit_id"].as_str().unwrap_or_default();
            let Some((_, closed)) = stored.get(id) else {
                panic!("an acknowledged scan's visit {id} is missing: {}", s.body);
            };
            if s.body["direction"] == "out" {
                assert!(closed, "an acknowledged check-out left visit {id} open");
            }
            checked += 1;
        }
    }
    checked
}
