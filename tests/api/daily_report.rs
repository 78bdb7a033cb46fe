//! The daily report on the sample day (compound policy issue, must-show 2 and 3).
//!
//! The sample town is imported (its compounds are `residents_only` by default), the day's
//! 23,736 scans are replayed with a few outsiders added here (people from nowhere at a
//! compound's gate, fevers, a registered visitor), and the report of 16 February is compared,
//! venue by venue, community by community and in total, with a count the test makes itself
//! from its input: each scan's decision worked out from the contract's rules, every figure
//! counted from those. The service's answer to every scan must match the expected decision
//! too. Then a compound's policy and a resident's tags change, and the report and the visits
//! of that day must stay as they were.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, FixedOffset, Utc};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with_clock, Backend, TestApp};
use crate::sample::{admin_post_csv, max_stay, rows, scans, ResidentRow, VenueRow};

const DAY: &str = "2020-02-16";
/// Replayed people at once.
const WORKERS: usize = 16;
/// The contract's fever threshold (visit rule 5).
const FEVER_C: f64 = 37.3;
/// The visitor's host (home GC-C086) and the visitor's phone.
const HOST: &str = "R00001";
const VISITOR: &str = "19900099003";

fn at(local: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(&format!("{DAY}T{local}+08:00"))
        .unwrap_or_else(|e| panic!("{local}: {e}"))
}

/// A scan of the replay: the sample's and the outsiders'.
#[derive(Debug, Clone)]
struct Scan {
    phone: String,
    venue: String,
    gate: String,
    direction: &'static str,
    at: DateTime<FixedOffset>,
    temperature_c: Option<f64>,
}

/// What the test expects of one scan.
#[derive(Debug, Clone)]
struct Expected {
    decision: &'static str,
    reason: Option<&'static str>,
    visitor: bool,
}

/// The day's figures of one row, as the test counts them.
#[derive(Debug, Default)]
struct Count {
    check_ins: u64,
    check_outs: u64,
    people: BTreeSet<String>,
    visitors: BTreeSet<String>,
    denials: BTreeMap<&'static str, u64>,
    fevers: BTreeSet<String>,
    alerts_fever: u64,
    alerts_left_home: u64,
    watched: BTreeMap<String, BTreeSet<String>>,
    inside_at_22: u64,
}

impl Count {
    fn as_json(&self) -> Value {
        let denied = |r: &str| self.denials.get(r).copied().unwrap_or(0);
        let watched: BTreeMap<&String, usize> =
            self.watched.iter().map(|(t, p)| (t, p.len())).collect();
        json!({
            "check_ins": self.check_ins,
            "check_outs": self.check_outs,
            "people": self.people.len(),
            "visitors": self.visitors.len(),
            "denials": {
                "fever": denied("fever"),
                "not_a_resident": denied("not_a_resident"),
                "temperature_required": denied("temperature_required"),
            },
            "fevers": self.fevers.len(),
            "alerts": {"fever": self.alerts_fever, "left_home_under_observation": self.alerts_left_home},
            "watched": watched,
            "occupancy_at_22": self.inside_at_22,
            "checkpoint": {"vehicles": 0, "people": 0, "out_of_province": 0, "turned_back": 0},
        })
    }
}

/// The scans added to the sample's: outsiders (nobody's residents, one of them a registered
/// visitor), and a resident under home observation who goes out and comes back.
fn added(gate_of: &HashMap<String, String>, shop: &str, watched: &ResidentRow) -> Vec<Scan> {
    let scan = |phone: &str, venue: &str, direction, time: &str, t: Option<f64>| Scan {
        phone: phone.to_owned(),
        venue: venue.to_owned(),
        gate: gate_of[venue].clone(),
        direction,
        at: at(time),
        temperature_c: t,
    };
    vec![
        scan("19900099001", "GC-C001", "in", "10:00:00", None),
        scan("19900099002", "GC-C002", "in", "10:05:00", Some(38.0)),
        scan(VISITOR, "GC-C086", "in", "15:00:00", Some(36.5)),
        scan(VISITOR, "GC-C086", "out", "16:30:00", None),
        scan(VISITOR, "GC-C086", "in", "21:00:00", Some(36.6)),
        scan("19900099004", shop, "in", "11:00:00", Some(38.1)),
        scan("19900099004", shop, "in", "11:10:00", None),
        scan("19900099004", shop, "out", "11:20:00", None),
        scan("19900099005", "GC-C001", "in", "12:00:00", None),
        scan("19900099005", "GC-C001", "out", "12:01:00", None),
        scan(&watched.phone, &watched.home, "out", "09:00:00", None),
        scan(&watched.phone, &watched.home, "in", "09:40:00", Some(36.4)),
        // Out again without scanning out: the check-in at the shop closes the home visit.
        scan(&watched.phone, shop, "in", "10:30:00", None),
        scan(&watched.phone, shop, "out", "10:50:00", None),
    ]
}

/// The contract's rules and the compound policy, for one scan.
fn expect(s: &Scan, kind: &str, home: Option<&str>) -> Expected {
    let entering = s.direction == "in" || kind == "checkpoint";
    let visitor = s.phone == VISITOR && s.venue == "GC-C086";
    if entering && s.temperature_c.is_some_and(|t| t >= FEVER_C) {
        return Expected {
            decision: "denied",
            reason: Some("fever"),
            visitor,
        };
    }
    if s.direction == "in"
        && kind == "residential_compound"
        && home != Some(s.venue.as_str())
        && !visitor
    {
        return Expected {
            decision: "denied",
            reason: Some("not_a_resident"),
            visitor,
        };
    }
    Expected {
        decision: "admitted",
        reason: None,
        visitor,
    }
}

/// Sends each person's scans in time order; returns the service's answers by scan index.
async fn replay(
    app: &TestApp,
    people: &[(&String, Vec<usize>)],
    all: &[Scan],
    codes: &HashMap<(String, String), String>,
) -> Vec<(usize, Value)> {
    let mut answers = Vec::new();
    for (phone, idx) in people {
        let (token, _) = app.resident(phone).await;
        for &i in idx {
            let s = &all[i];
            let mut body = json!({
                "code": codes[&(s.venue.clone(), s.gate.clone())],
                "direction": s.direction,
                "client_time": s.at.to_rfc3339(),
            });
            if let Some(t) = s.temperature_c {
                body["temperature_c"] = json!(t);
            }
            let a = app.post("/api/v1/scans", &token, &body).await;
            assert_eq!(a.status, 200, "scan {s:?}: {}", a.body);
            answers.push((i, a.body));
        }
    }
    answers
}

async fn report(app: &TestApp, admin: &str, scope: &str, accept: &str) -> (u16, String) {
    let r = app
        .client
        .get(app.url("/api/v1/reports/daily"))
        .query(&[("date", DAY), ("scope", scope)])
        .bearer_auth(admin)
        .header("accept", accept)
        .send()
        .await
        .unwrap_or_else(|e| panic!("report: {e}"));
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

async fn json_report(app: &TestApp, admin: &str, scope: &str) -> Value {
    let (status, body) = report(app, admin, scope, "application/json").await;
    assert_eq!(status, 200, "{scope}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn without_time(mut v: Value) -> Value {
    v["generated_at"] = Value::Null;
    v
}

async fn the_daily_report_of_the_sample_day_matches_the_tests_own_count_and_history_stays(
    backend: Backend,
) {
    // The service's clock: the evening of the day, after every scan and after 22:00.
    let now = at("23:59:00").with_timezone(&Utc);
    let clock = std::sync::Arc::new(checkin::clock::ManualClock::starting_at(now));
    let app = spawn_app_with_clock(backend, clock, |_| {}).await;
    let admin = app.admin().await;

    // 1. The town, its posters and policies.
    admin_post_csv(&app, "/api/v1/venues/import", "venues.csv").await;
    admin_post_csv(&app, "/api/v1/residents/import", "residents.csv").await;
    let venues: Vec<VenueRow> = rows("venues.csv");
    let residents: Vec<ResidentRow> = rows("residents.csv");
    let listed = app.get("/api/v1/venues", &admin).await;
    let mut codes = HashMap::new();
    let mut gate_of = HashMap::new();
    for v in listed.body["venues"].as_array().into_iter().flatten() {
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        if v["kind"] == "residential_compound" {
            assert_eq!(v["entry_policy"], "residents_only", "{v}");
        }
        for c in v["codes"].as_array().into_iter().flatten() {
            let gate = c["gate"].as_str().unwrap_or_default().to_owned();
            gate_of.entry(id.clone()).or_insert_with(|| gate.clone());
            codes.insert(
                (id.clone(), gate),
                c["code"].as_str().unwrap_or_default().to_owned(),
            );
        }
    }
    assert_eq!(gate_of.len(), 381);
    let kind_of: HashMap<&str, &str> = venues
        .iter()
        .map(|v| (v.code.as_str(), v.kind.as_str()))
        .collect();
    let community_of: HashMap<&str, &str> = venues
        .iter()
        .map(|v| (v.code.as_str(), v.community.as_str()))
        .collect();
    let by_phone: HashMap<&str, &ResidentRow> =
        residents.iter().map(|r| (r.phone.as_str(), r)).collect();
    let phone_of: HashMap<&str, &str> = residents
        .iter()
        .map(|r| (r.resident_id.as_str(), r.phone.as_str()))
        .collect();

    // 2. The visitor's pass, registered by the host for their compound.
    let (host, _) = app.resident(phone_of[HOST]).await;
    let pass = app
        .post(
            "/api/v1/visitors",
            &host,
            &json!({"name": "王芳", "phone": VISITOR, "relation": "女儿",
                    "arrival": at("14:00:00").to_rfc3339(), "valid_hours": 12}),
        )
        .await;
    assert_eq!(pass.status, 201, "{}", pass.body);

    // 3. Every scan, with its expected decision.
    let shop = venues
        .iter()
        .find(|v| v.kind == "shop")
        .map(|v| v.code.clone())
        .unwrap_or_default();
    let mut all: Vec<Scan> = scans()
        .into_iter()
        .map(|s| Scan {
            phone: phone_of[s.resident_id.as_str()].to_owned(),
            direction: if s.direction == "in" { "in" } else { "out" },
            venue: s.venue,
            gate: s.gate,
            at: s.ts,
            temperature_c: s.temperature_c,
        })
        .collect();
    let watched = residents
        .iter()
        .find(|r| r.tags.contains("key_monitoring"))
        .unwrap_or_else(|| panic!("the sample has residents under home observation"));
    all.extend(added(&gate_of, &shop, watched));
    all.sort_by_key(|s| s.at);
    let expected: Vec<Expected> = all
        .iter()
        .map(|s| {
            let home = by_phone.get(s.phone.as_str()).map(|r| r.home.as_str());
            expect(s, kind_of[s.venue.as_str()], home)
        })
        .collect();

    let mut by_person: BTreeMap<&String, Vec<usize>> = BTreeMap::new();
    for (i, s) in all.iter().enumerate() {
        by_person.entry(&s.phone).or_default().push(i);
    }
    let people: Vec<(&String, Vec<usize>)> = by_person.into_iter().collect();
    let shares: Vec<Vec<(&String, Vec<usize>)>> = (0..WORKERS)
        .map(|w| people.iter().skip(w).step_by(WORKERS).cloned().collect())
        .collect();
    let answers: Vec<(usize, Value)> = futures::stream::iter(shares.iter())
        .map(|share| replay(&app, share, &all, &codes))
        .buffer_unordered(WORKERS)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    assert_eq!(answers.len(), all.len());
    for (i, a) in &answers {
        let e = &expected[*i];
        assert_eq!(
            (a["decision"].as_str(), a["reason"].as_str()),
            (Some(e.decision), e.reason),
            "{:?}: {a}",
            all[*i]
        );
    }

    // 4. The test's own count, per venue.
    let mut count: BTreeMap<&str, Count> = BTreeMap::new();
    let evening = at("22:00:00");
    let mut whereabouts: HashMap<&str, (&str, DateTime<FixedOffset>)> = HashMap::new();
    // Where each person's open visit is, all day (visit rules 1 to 3), for the alerts.
    let mut open_at: HashMap<&str, &str> = HashMap::new();
    for (s, e) in all.iter().zip(&expected) {
        let c = count.entry(s.venue.as_str()).or_default();
        let resident = by_phone.get(s.phone.as_str());
        let watched_here = resident.is_some_and(|r| r.tags.contains("key_monitoring"));
        let home = resident.map(|r| r.home.as_str());
        c.people.insert(s.phone.clone());
        for tag in resident
            .map(|r| r.tags.as_str())
            .unwrap_or("")
            .split(';')
            .filter(|t| !t.is_empty())
        {
            c.watched
                .entry(tag.to_owned())
                .or_default()
                .insert(s.phone.clone());
        }
        match (e.decision, s.direction) {
            ("admitted", "in") => {
                c.check_ins += 1;
                // Under home observation and gone elsewhere without scanning out.
                if watched_here
                    && home != Some(s.venue.as_str())
                    && open_at.get(s.phone.as_str()).copied() == home
                {
                    c.alerts_left_home += 1;
                }
                if e.visitor {
                    c.visitors.insert(s.phone.clone());
                }
            }
            ("admitted", _) => {
                c.check_outs += 1;
                if home == Some(s.venue.as_str()) && watched_here {
                    c.alerts_left_home += 1;
                }
            }
            _ => {
                let reason = e.reason.unwrap_or("?");
                *c.denials.entry(reason).or_default() += 1;
                if reason == "fever" {
                    c.fevers.insert(s.phone.clone());
                    c.alerts_fever += 1;
                }
            }
        }
        if e.decision == "admitted" {
            if s.direction == "in" {
                open_at.insert(&s.phone, &s.venue);
            } else if open_at.get(s.phone.as_str()) == Some(&s.venue.as_str()) {
                open_at.remove(s.phone.as_str());
            }
        }
        // Where each person is, for the count at 22:00 (visit rules 1 to 4).
        if e.decision == "admitted" && s.at <= evening {
            match s.direction {
                "in" => {
                    let same = whereabouts
                        .get(s.phone.as_str())
                        .is_some_and(|(v, _)| *v == s.venue);
                    if !same {
                        whereabouts.insert(&s.phone, (&s.venue, s.at));
                    }
                }
                _ => {
                    if whereabouts
                        .get(s.phone.as_str())
                        .is_some_and(|(v, _)| *v == s.venue)
                    {
                        whereabouts.remove(s.phone.as_str());
                    }
                }
            }
        }
    }
    for (venue, since) in whereabouts.values() {
        if *since + max_stay(kind_of[venue]) >= evening {
            count.entry(venue).or_default().inside_at_22 += 1;
        }
    }

    // 5. The report, row by row.
    let street = json_report(&app, &admin, "street").await;
    let rows_by_id: HashMap<&str, &Value> = street["venues"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["id"].as_str().unwrap_or_default(), r))
        .collect();
    assert_eq!(rows_by_id.len(), 381);
    for v in &venues {
        let own = count
            .get(v.code.as_str())
            .map_or_else(|| Count::default().as_json(), Count::as_json);
        assert_eq!(
            rows_by_id[v.code.as_str()]["figures"],
            own,
            "venue {}",
            v.code
        );
    }
    let merge = |rows: &mut dyn Iterator<Item = &Count>| {
        let mut m = Count::default();
        for c in rows {
            m.check_ins += c.check_ins;
            m.check_outs += c.check_outs;
            m.people.extend(c.people.iter().cloned());
            m.visitors.extend(c.visitors.iter().cloned());
            for (r, n) in &c.denials {
                *m.denials.entry(r).or_default() += n;
            }
            m.fevers.extend(c.fevers.iter().cloned());
            m.alerts_fever += c.alerts_fever;
            m.alerts_left_home += c.alerts_left_home;
            for (t, p) in &c.watched {
                m.watched
                    .entry(t.clone())
                    .or_default()
                    .extend(p.iter().cloned());
            }
            m.inside_at_22 += c.inside_at_22;
        }
        m
    };
    let total = merge(&mut count.values());
    assert_eq!(street["totals"], total.as_json());
    assert_eq!(street["date"], DAY);
    for row in street["communities"].as_array().into_iter().flatten() {
        let name = row["community"].as_str().unwrap_or_default();
        let own = merge(
            &mut count
                .iter()
                .filter(|(v, _)| community_of[*v] == name)
                .map(|(_, c)| c),
        );
        assert_eq!(row["figures"], own.as_json(), "community {name}");
    }
    // Figures a reader would check first, spelt out.
    assert_eq!(
        street["totals"]["check_ins"].as_u64().unwrap_or(0)
            + street["totals"]["check_outs"].as_u64().unwrap_or(0)
            + street["totals"]["denials"]["fever"].as_u64().unwrap_or(0)
            + street["totals"]["denials"]["not_a_resident"]
                .as_u64()
                .unwrap_or(0),
        all.len() as u64
    );
    assert_eq!(street["totals"]["visitors"], 1);
    assert_eq!(street["totals"]["denials"]["not_a_resident"], 2);
    assert_eq!(street["totals"]["alerts"]["left_home_under_observation"], 2);
    assert_eq!(street["totals"]["watched"]["key_monitoring"], 1);
    let dongmen = json_report(&app, &admin, "community:东门社区").await;
    assert_eq!(
        dongmen["totals"],
        street["communities"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["community"] == "东门社区")
            .map(|c| c["figures"].clone())
            .unwrap_or_default()
    );
    let one = json_report(&app, &admin, "venue:GC-C086").await;
    assert_eq!(one["totals"], rows_by_id["GC-C086"]["figures"]);
    assert_eq!(one["totals"]["visitors"], 1);

    // 6. CSV and the printable page carry the same figures.
    let (status, csv) = report(&app, &admin, "street", "text/csv").await;
    assert_eq!(status, 200);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().cloned().unwrap_or_default();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap_or_default()).collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} in {header:?}"))
    };
    assert_eq!(
        records.len(),
        1 + street["communities"].as_array().map_or(0, Vec::len) + 381
    );
    assert_eq!(&records[0][column("level")], "total");
    assert_eq!(
        records[0][column("check_ins")],
        street["totals"]["check_ins"].to_string()
    );
    assert_eq!(
        records[0][column("occupancy_at_22")],
        street["totals"]["occupancy_at_22"].to_string()
    );
    assert_eq!(
        records[0][column("watched:out_of_province")],
        street["totals"]["watched"]["out_of_province"].to_string()
    );
    let (status, page) = report(&app, &admin, "venue:GC-C001", "text/html").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<table") && page.contains("瑞祥小区"),
        "{page}"
    );

    // 7. Changing a policy and a resident's tags does not rewrite the day.
    let day_visits = format!(
        "/api/v1/trace/venues/GC-C001/visits?from={}&to={}",
        at("00:00:00").to_rfc3339().replace('+', "%2B"),
        at("23:59:00").to_rfc3339().replace('+', "%2B")
    );
    let visits_before = app.get(&day_visits, &admin).await;
    assert_eq!(visits_before.status, 200, "{}", visits_before.body);
    let patched = app
        .send(
            app.client
                .patch(app.url("/api/v1/venues/GC-C001"))
                .bearer_auth(&admin)
                .json(&json!({"entry_policy": "open"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    app.import_csv(
        "/api/v1/residents/import",
        format!("resident_id,name,phone,home,building,room,household,tags\n{HOST},付秀,{},GC-C086,1栋,402,H0001,key_monitoring\n", phone_of[HOST]),
    )
    .await;
    let again = json_report(&app, &admin, "street").await;
    assert_eq!(without_time(again), without_time(street));
    let visits_after = app.get(&day_visits, &admin).await;
    assert_eq!(visits_after.body, visits_before.body);

    // 8. The command line makes the same report from the store (embedded: the same file).
    if backend == Backend::Embedded {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_checkin"))
            .args([
                "report",
                "--date",
                DAY,
                "--scope",
                "community:东门社区",
                "--data-dir",
            ])
            .arg(app.data_dir.path())
            .env("CHECKIN_ENV", "local")
            .output()
            .unwrap_or_else(|e| panic!("running checkin: {e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(printed["totals"], dongmen["totals"]);
    }
}

async fn a_report_for_an_unknown_scope_or_a_bad_date_is_refused(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let admin = app.admin().await;
    app.venue("S1", "shop").await;
    let (status, body) = report(&app, &admin, "community:无此社区", "application/json").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = report(&app, &admin, "town", "application/json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("scope"), "{body}");
    assert!(!body.contains("scope: scope"), "{body}");
    let bad_date = app
        .get("/api/v1/reports/daily?date=2020-13-01", &admin)
        .await;
    assert_eq!(bad_date.status, 400, "{}", bad_date.body);
    let said = bad_date.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(said, "date: \"2020-13-01\" is not YYYY-MM-DD");
    let (resident, _) = app.resident("19900000001").await;
    let refused = app.get("/api/v1/reports/daily", &resident).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let made = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "C1", "name": "瑞祥小区", "kind": "residential_compound",
                    "community": "东门社区", "gates": ["北门"]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let building = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "C1-B1", "name": "一栋", "kind": "residential_compound",
                    "gates": ["单元门"], "parent": "C1"}),
        )
        .await;
    assert_eq!(building.status, 201, "{}", building.body);
    let (status, body) = report(&app, &admin, "venue:C1-B1", "application/json").await;
    assert_eq!(status, 404);
    assert!(body.contains("venue:C1"), "points to the parent: {body}");
    let csv = app
        .client
        .get(app.url("/api/v1/reports/daily"))
        .query(&[("scope", "community:东门社区")])
        .bearer_auth(&admin)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let disposition = csv
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        disposition.contains("filename*=UTF-8''daily-")
            && disposition.contains("community%3A%E4%B8%9C%E9%97%A8"),
        "{disposition}"
    );
    let today = app
        .get("/api/v1/reports/daily?scope=venue:S1", &admin)
        .await;
    assert_eq!(today.status, 200, "{}", today.body);
    assert_eq!(today.body["totals"]["check_ins"], 0);
}

crate::for_each_backend!(
    the_daily_report_of_the_sample_day_matches_the_tests_own_count_and_history_stays,
    a_report_for_an_unknown_scope_or_a_bad_date_is_refused,
);
