//! Late scans (contract, visit rule 7; reliability issue): a person's visits are what their
//! scans give in scan-time order, whatever order the scans arrive in.
//!
//! Residents of the sample day are replayed twice, on two apps of one backend: in time order
//! through `POST /scans`, and shuffled, in batches of random sizes, through
//! `POST /scans/batch`. Their visits and the venues' presence must be the same.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with_clock, Backend, TestApp};
use crate::sample::{admin_post_csv, rows, scans, ResidentRow, ScanLine};

/// How many residents are replayed (those with the most scans, ties by id).
const PEOPLE: usize = 60;

/// The sample day's evening, the apps' clock: after every scan.
fn evening() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2020-02-16T23:59:00+08:00")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// An app with the sample town imported, and its codes by (venue, gate).
async fn town(backend: Backend) -> (TestApp, HashMap<(String, String), String>) {
    let clock = std::sync::Arc::new(checkin::clock::ManualClock::starting_at(evening()));
    let app = spawn_app_with_clock(backend, clock, |_| {}).await;
    admin_post_csv(&app, "/api/v1/venues/import", "venues.csv").await;
    admin_post_csv(&app, "/api/v1/residents/import", "residents.csv").await;
    let admin = app.admin().await;
    let listed = app.get("/api/v1/venues", &admin).await;
    let mut codes = HashMap::new();
    for v in listed.body["venues"].as_array().into_iter().flatten() {
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        for c in v["codes"].as_array().into_iter().flatten() {
            let gate = c["gate"].as_str().unwrap_or_default().to_owned();
            codes.insert(
                (id.clone(), gate),
                c["code"].as_str().unwrap_or_default().to_owned(),
            );
        }
    }
    (app, codes)
}

/// A scan's body. Every third scan leaves the direction to the person's state, so that
/// re-deriving chooses it again (and judges the scan again when it turns: a fever or an
/// outsider's check-in is refused, the same scan as a check-out is not).
fn body(s: &ScanLine, i: usize, code: &str) -> Value {
    let mut b = json!({
        "code": code,
        "client_time": s.ts.to_rfc3339(),
        "idempotency_key": format!("{}-{i}", s.resident_id),
    });
    if !i.is_multiple_of(3) {
        b["direction"] = json!(s.direction);
    }
    if let Some(t) = s.temperature_c {
        b["temperature_c"] = json!(t);
    }
    b
}

/// A visit without its id (ids are made afresh by each app).
fn shape(v: &Value) -> String {
    format!(
        "{} in={} out={} by={} inferred={} gates={}/{}",
        v["venue_id"],
        v["check_in"],
        v["check_out"],
        v["closed_by"],
        v["start_inferred"],
        v["gate_in"],
        v["gate_out"]
    )
}

/// A resident's visits of the day, as shapes, in the trace's order.
async fn visits(app: &TestApp, admin: &str, resident: &str) -> Vec<String> {
    let from: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2020-02-15T00:00:00+08:00").unwrap_or_else(|e| panic!("{e}"));
    let to = evening().to_rfc3339();
    let a = app
        .send(
            app.client
                .get(app.url(&format!("/api/v1/trace/residents/{resident}/visits")))
                .query(&[("from", from.to_rfc3339().as_str()), ("to", to.as_str())])
                .bearer_auth(admin),
        )
        .await;
    assert_eq!(a.status, 200, "visits: {}", a.body);
    a.body["visits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(shape)
        .collect()
}

/// Who is inside a venue now, by resident id.
async fn present(app: &TestApp, admin: &str, venue: &str) -> Vec<String> {
    let a = app
        .get(&format!("/api/v1/venues/{venue}/presence"), admin)
        .await;
    assert_eq!(a.status, 200, "presence: {}", a.body);
    let mut ids: Vec<String> = a.body["people"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| format!("{} since {}", p["resident_id"], p["since"]))
        .collect();
    ids.sort();
    ids
}

async fn shuffled_scans_sent_in_random_batches_give_the_visits_of_the_in_order_replay(
    backend: Backend,
) {
    let seed: u64 = rand::thread_rng().gen();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let residents: Vec<ResidentRow> = rows("residents.csv");
    let phone_of: HashMap<&str, &str> = residents
        .iter()
        .map(|r| (r.resident_id.as_str(), r.phone.as_str()))
        .collect();
    let mut by_person: BTreeMap<String, Vec<ScanLine>> = BTreeMap::new();
    for s in scans() {
        by_person.entry(s.resident_id.clone()).or_default().push(s);
    }
    // People whose scans all have distinct times: with two at one second, "in time order"
    // would not say which came first.
    let mut people: Vec<(String, Vec<ScanLine>)> = by_person
        .into_iter()
        .filter(|(_, s)| {
            let mut times: Vec<_> = s.iter().map(|x| x.ts).collect();
            times.sort();
            times.dedup();
            times.len() == s.len()
        })
        .collect();
    people.sort_by_key(|(id, s)| (std::cmp::Reverse(s.len()), id.clone()));
    people.truncate(PEOPLE);
    assert!(people.iter().all(|(_, s)| s.len() >= 4), "busy people");

    let ((ordered, codes), (shuffled, codes_2)) = futures::join!(town(backend), town(backend));
    // Each app signs its own codes.
    let code = |s: &ScanLine| codes[&(s.venue.clone(), s.gate.clone())].clone();
    let code_2 = |s: &ScanLine| codes_2[&(s.venue.clone(), s.gate.clone())].clone();
    let mut late = 0;
    for (resident, scans) in &people {
        let phone = phone_of[resident.as_str()];
        // In time order, one at a time.
        let (token, _) = ordered.resident(phone).await;
        let mut in_order: Vec<(usize, &ScanLine)> = scans.iter().enumerate().collect();
        in_order.sort_by_key(|(_, s)| s.ts);
        for (i, s) in &in_order {
            let a = ordered
                .post("/api/v1/scans", &token, &body(s, *i, &code(s)))
                .await;
            assert_eq!(a.status, 200, "{s:?}: {}", a.body);
        }
        // Shuffled, in batches of 1 to 6.
        let (token, _) = shuffled.resident(phone).await;
        let mut order: Vec<(usize, &ScanLine)> = scans.iter().enumerate().collect();
        order.shuffle(&mut rng);
        let mut newest: Option<DateTime<FixedOffset>> = None;
        for (_, s) in &order {
            late += usize::from(newest.is_some_and(|n| s.ts < n));
            newest = newest.max(Some(s.ts));
        }
        let mut rest = &order[..];
        while !rest.is_empty() {
            let n = rng.gen_range(1..=6).min(rest.len());
            let (batch, more) = rest.split_at(n);
            rest = more;
            let bodies: Vec<Value> = batch.iter().map(|(i, s)| body(s, *i, &code_2(s))).collect();
            let a = shuffled
                .post("/api/v1/scans/batch", &token, &json!({"scans": bodies}))
                .await;
            assert_eq!(a.status, 200, "batch: {}", a.body);
            for r in a.body["results"].as_array().into_iter().flatten() {
                assert!(r["decision"].is_string(), "seed {seed}: {r}");
            }
        }
    }
    assert!(late > PEOPLE, "the shuffle sends many scans late ({late})");

    let (a1, a2) = (ordered.admin().await, shuffled.admin().await);
    let mut venues: Vec<&str> = Vec::new();
    let mut compared = 0;
    for (resident, scans) in &people {
        let want = visits(&ordered, &a1, resident).await;
        let got = visits(&shuffled, &a2, resident).await;
        assert_eq!(got, want, "seed {seed}: {resident}'s visits");
        compared += want.len();
        venues.extend(scans.iter().map(|s| s.venue.as_str()));
    }
    assert!(compared >= 2 * PEOPLE, "{compared} visits compared");
    venues.sort_unstable();
    venues.dedup();
    for v in venues {
        assert_eq!(
            present(&shuffled, &a2, v).await,
            present(&ordered, &a1, v).await,
            "seed {seed}: presence at {v}"
        );
    }
}

/// A visit's venue and ends, for short scenarios.
fn brief(v: &Value) -> String {
    format!("{} {}", v["venue_id"], v["closed_by"])
}

async fn a_member_brought_along_keeps_the_scanners_way_when_their_own_late_scan_arrives(
    backend: Backend,
) {
    let app = crate::helpers::spawn_app(backend).await;
    let shop = app.venue("S1", "shop").await;
    app.venue("C1", "residential_compound").await;
    app.import_residents(
        "RA,付秀,19900000911,C1,1栋,402,H1,\n\
         RK,付小宝,19900000912,C1,1栋,402,H1,\n",
    )
    .await;
    let (scanner, _) = app.resident("19900000911").await;
    let (member, _) = app.resident("19900000912").await;
    let at = |minutes: i64| crate::helpers::ago(minutes).to_rfc3339();
    let send = |token: &str, body: Value| {
        let (app, token) = (&app, token.to_owned());
        async move { app.post("/api/v1/scans", &token, &body).await }
    };
    // The member checks in alone; later the scanner checks in (no direction: in) and brings
    // the member along, who goes the scanner's way: in, the same visit. Then the member's own
    // check-in from between the two arrives late.
    let alone = send(
        &member,
        json!({"code": shop, "direction": "in", "client_time": at(50)}),
    )
    .await;
    let together = send(
        &scanner,
        json!({"code": shop, "client_time": at(30),
                                          "members": [{"resident_id": "RK"}]}),
    )
    .await;
    let late = send(
        &member,
        json!({"code": shop, "direction": "in", "client_time": at(45)}),
    )
    .await;

    for a in [&alone, &together, &late] {
        assert_eq!(a.status, 200, "{}", a.body);
    }
    assert_eq!(together.body["members"][0]["direction"], "in");
    let member_visits: Vec<String> = app.visits_of("RK").await.iter().map(brief).collect();
    assert_eq!(
        member_visits,
        vec![r#""S1" null"#.to_owned()],
        "still in, one visit"
    );
    assert_eq!(app.presence("S1").await["count"], 2);
}

async fn a_late_scan_raises_the_alert_a_later_scan_raises_once_put_after_it(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let home = app.venue("C1", "residential_compound").await;
    app.import_residents("RW,付观察,19900000921,C1,1栋,402,H1,key_monitoring\n")
        .await;
    let (token, _) = app.resident("19900000921").await;
    let admin = app.admin().await;
    let at = |minutes: i64| crate::helpers::ago(minutes).to_rfc3339();
    let alerts = || async {
        let a = app.get("/api/v1/alerts", &admin).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["alerts"].as_array().cloned().unwrap_or_default()
    };
    // At home, a scan with no direction 30 minutes ago: not checked in, so in. No alert.
    let first = app
        .post(
            "/api/v1/scans",
            &token,
            &json!({"code": home, "client_time": at(30)}),
        )
        .await;
    assert_eq!(first.body["direction"], "in", "{}", first.body);
    assert!(alerts().await.is_empty());

    // A check-in 40 minutes ago arrives late: the scan at 30 was leaving home.
    let late = app
        .post(
            "/api/v1/scans",
            &token,
            &json!({"code": home, "direction": "in",
            "client_time": at(40)}),
        )
        .await;

    assert_eq!(late.status, 200, "{}", late.body);
    let raised = alerts().await;
    let kinds: Vec<&str> = raised.iter().filter_map(|a| a["kind"].as_str()).collect();
    assert_eq!(kinds, vec!["left_home_under_observation"], "{raised:?}");
    let visits: Vec<String> = app.visits_of("RW").await.iter().map(brief).collect();
    assert_eq!(visits, vec![r#""C1" "check_out""#.to_owned()]);
}

async fn a_scan_judged_again_keeps_its_first_alert_on_every_store(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let home = app.venue("C1", "residential_compound").await;
    app.import_residents("RW,付观察,19900000922,C1,1栋,402,H1,key_monitoring\n")
        .await;
    let (token, _) = app.resident("19900000922").await;
    let admin = app.admin().await;
    let at = |minutes: i64| crate::helpers::ago(minutes).to_rfc3339();
    // At home with a fever and no direction: taken as in, denied, a fever alert.
    let fever = app
        .post(
            "/api/v1/scans",
            &token,
            &json!({"code": home, "client_time": at(30),
            "temperature_c": 38.6}),
        )
        .await;
    assert_eq!(fever.body["reason"], "fever", "{}", fever.body);
    // A check-in 40 minutes ago arrives late: the scan at 30 becomes leaving home, which
    // would be another alert of the same scan.
    let late = app
        .post(
            "/api/v1/scans",
            &token,
            &json!({"code": home, "direction": "in",
            "client_time": at(40)}),
        )
        .await;
    assert_eq!(late.status, 200, "{}", late.body);

    let listed = app.get("/api/v1/alerts", &admin).await;
    let kinds: Vec<&str> = listed.body["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["fever"], "{}", listed.body);
}

async fn late_scans_of_one_person_sent_all_at_once_are_all_answered(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let shop = app.venue("S1", "shop").await;
    let (token, _) = app.resident("19900000931").await;
    let scan = |round: i64, i: i64| {
        // Times spread over the last 20 hours, in no order.
        let minutes = 1_200 - 120 * round - 2 * ((i * 17) % 40);
        json!({"code": shop, "client_time": crate::helpers::ago(minutes).to_rfc3339(),
               "idempotency_key": format!("r{round}-{i}")})
    };
    // Rounds of forty scans at once, in six batches of four and sixteen singles: each
    // conflicts with the others and is decided again.
    for round in 0..4_i64 {
        let batches = (0..6_i64).map(|b| {
            let body = json!({"scans": (0..4).map(|i| scan(round, b * 4 + i)).collect::<Vec<_>>()});
            let (app, token) = (&app, &token);
            async move { app.post("/api/v1/scans/batch", token, &body).await }
        });
        let singles = (24..40_i64).map(|i| {
            let body = scan(round, i);
            let (app, token) = (&app, &token);
            async move { app.post("/api/v1/scans", token, &body).await }
        });
        let (batches, singles) = futures::join!(
            futures::future::join_all(batches),
            futures::future::join_all(singles)
        );
        for answer in singles {
            assert_eq!(answer.status, 200, "round {round}: {}", answer.body);
        }
        for answer in batches {
            assert_eq!(answer.status, 200, "round {round}: {}", answer.body);
            for result in answer.body["results"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                assert!(result.get("error").is_none(), "round {round}: {result}");
            }
        }
    }
}

crate::for_each_backend!(
    shuffled_scans_sent_in_random_batches_give_the_visits_of_the_in_order_replay,
    a_member_brought_along_keeps_the_scanners_way_when_their_own_late_scan_arrives,
    a_late_scan_raises_the_alert_a_later_scan_raises_once_put_after_it,
    a_scan_judged_again_keeps_its_first_alert_on_every_store,
    late_scans_of_one_person_sent_all_at_once_are_all_answered,
);
