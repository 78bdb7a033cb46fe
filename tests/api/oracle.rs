//! An independent oracle for contacts, run on the sample day (`samples/gucheng`), on both
//! backends.
//!
//! The scenario imports the sample town, replays its day of scans through `POST /scans` as the
//! residents' phones would (each person's scans in file order, `client_time` moved so the day's
//! last scan is a minute ago), reads back every visit venue by venue, then asks for the contacts
//! of every resident who has a visit and compares each answer with a brute-force oracle written
//! here from `CONTRACT.md`, "Contacts", and nothing else (buffer 0, minimum overlap 0):
//!
//! - a visit covers `[start, end]`: `start` is `check_in`, or for a `start_inferred` visit
//!   `check_out - max_stay`; `end` is `check_out`, or for an open visit
//!   `min(now, check_in + max_stay)`. `max_stay` is the contract's default for the venue's kind
//!   (the sample venues have no overrides; the test checks the venue list agrees);
//! - for the index case P, every visit `[s, e]` of P clipped to the query window, and every visit
//!   `[s', e']` of another person Q at the same venue, the pair counts when
//!   `max(s, s') <= min(e, e')` and adds `min(e, e') - max(s, s')` to Q's overlap;
//! - the contacts are the people with at least one such pair, longest total overlap first.
//!
//! "now" is the query's time, which the service takes itself. The test reads the clock just
//! before sending each contact query and just after its answer and evaluates the oracle at both
//! instants. Every interval end is non-decreasing in `now`, so every pair's overlap is too, and a
//! pair that overlaps at one instant overlaps at every later one. The service's answer must
//! therefore lie between the two evaluations: the contacts at the earlier instant ⊆ the
//! service's ⊆ the contacts at the later one, and each overlap within [earlier, later] give or
//! take the millisecond the API rounds to. That bracket is the only tolerance; contacts that
//! appear only at the later instant (a pair starting to touch during the query) are accepted and
//! counted in the summary line (none on the sample day).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use futures::{stream, StreamExt};
use serde_json::{json, Value};

use crate::helpers::{time, TestApp};
use crate::sample::{self, admin_post_csv, max_stay, rows, ResidentRow, ScanLine};

/// Residents replayed at once, and queries in flight at once.
const WORKERS: usize = 16;
/// Mismatches printed in full before the test fails.
const SHOWN: usize = 5;

/// How a visit ends as the tracer's endpoint showed it.
#[derive(Debug, Clone, Copy)]
enum End {
    At(DateTime<Utc>),
    /// Open: it ends at the query's time or at this auto close, whichever is first.
    OpenUntil(DateTime<Utc>),
}

/// A visit as the oracle sees it.
#[derive(Debug, Clone)]
struct Visit {
    id: String,
    resident: String,
    venue: String,
    start: DateTime<Utc>,
    end: End,
}

impl Visit {
    /// The contract's interval of this visit at `now`.
    fn interval(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let end = match self.end {
            End::At(t) => t,
            End::OpenUntil(auto) => now.min(auto),
        };
        (self.start, end)
    }

    /// Reads a visit of the API with the venue's maximum stay.
    fn of(v: &Value, max_stay: Duration) -> Visit {
        let check_in = time(&v["check_in"]);
        let check_out = time(&v["check_out"]);
        let inferred = v["start_inferred"].as_bool() == Some(true);
        let start = match (check_in, check_out, inferred) {
            (Some(t), _, false) => t,
            (None, Some(out), true) => out - max_stay,
            _ => panic!("check_in null exactly when the start is inferred: {v}"),
        };
        let end = match (check_out, check_in) {
            (Some(out), _) => End::At(out),
            (None, Some(t)) => End::OpenUntil(t + max_stay),
            (None, None) => panic!("a visit with neither check-in nor check-out: {v}"),
        };
        assert_eq!(
            v["closed_by"].is_null(),
            check_out.is_none(),
            "open exactly when check_out is null: {v}"
        );
        Visit {
            id: v["visit_id"].as_str().unwrap_or_default().to_owned(),
            resident: v["resident_id"].as_str().unwrap_or_default().to_owned(),
            venue: v["venue_id"].as_str().unwrap_or_default().to_owned(),
            start,
            end,
        }
    }
}

/// Every visit of the day, indexed for the oracle (by venue only to keep a debug build quick:
/// pairs at different venues never count).
struct Town {
    by_resident: BTreeMap<String, Vec<Visit>>,
    by_venue: HashMap<String, Vec<Visit>>,
}

/// The oracle: each contact of `p` and their total overlap, for the window `[from, to]` at `now`.
fn oracle(
    town: &Town,
    p: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> BTreeMap<String, Duration> {
    let mut found = BTreeMap::new();
    for pv in town.by_resident.get(p).into_iter().flatten() {
        let (s, e) = pv.interval(now);
        let (s, e) = (s.max(from), e.min(to));
        for qv in town.by_venue.get(&pv.venue).into_iter().flatten() {
            if qv.resident == p {
                continue;
            }
            let (s2, e2) = qv.interval(now);
            let (lo, hi) = (s.max(s2), e.min(e2));
            if lo <= hi {
                *found
                    .entry(qv.resident.clone())
                    .or_insert_with(Duration::zero) += hi - lo;
            }
        }
    }
    found
}

/// A contact query's answer, reduced to what is compared, and the clock around it.
struct Asked {
    index: String,
    before: DateTime<Utc>,
    after: DateTime<Utc>,
    index_case: Value,
    /// (resident id, overlap in milliseconds), in the service's order.
    contacts: Vec<(String, i64)>,
}

/// How one answer compares with the oracle evaluated before and after the query.
struct Verdict {
    problems: Vec<String>,
    /// The people the problems are about.
    involved: BTreeSet<String>,
    /// Contacts the oracle finds only at the later instant (a pair touching during the query).
    late_only: usize,
}

fn compare(
    q: &Asked,
    early: &BTreeMap<String, Duration>,
    late: &BTreeMap<String, Duration>,
) -> Verdict {
    let mut v = Verdict {
        problems: Vec::new(),
        involved: BTreeSet::new(),
        late_only: 0,
    };
    if q.index_case != json!(q.index) {
        v.problems.push(format!("index_case is {}", q.index_case));
    }
    let mut seen = BTreeSet::new();
    for (i, (who, ms)) in q.contacts.iter().enumerate() {
        let mut problem = |text: String| {
            v.problems.push(text);
            v.involved.insert(who.clone());
        };
        if !seen.insert(who) {
            problem(format!("{who} listed twice"));
        }
        if i > 0 && q.contacts[i - 1].1 < *ms {
            let (prev, prev_ms) = &q.contacts[i - 1];
            problem(format!(
                "not longest first: {prev} ({prev_ms} ms) before {who} ({ms} ms)"
            ));
        }
        match late.get(who) {
            None => problem(format!("{who} ({ms} ms) is no contact for the oracle")),
            Some(hi) => {
                let hi = hi.num_milliseconds();
                let lo = early.get(who).map_or(0, Duration::num_milliseconds);
                // The API truncates to the millisecond; the oracle's bounds are exact.
                if *ms < lo - 1 || *ms > hi + 1 {
                    problem(format!("{who}: service {ms} ms, oracle {lo} to {hi} ms"));
                }
                if !early.contains_key(who) {
                    v.late_only += 1;
                }
            }
        }
    }
    for (who, d) in early {
        if !seen.contains(who) {
            v.problems.push(format!(
                "{who} ({} ms for the oracle) is missing",
                d.num_milliseconds()
            ));
            v.involved.insert(who.clone());
        }
    }
    v
}

/// Prints a mismatch with the visits behind it: the index case's, and those of the people
/// involved at the same venues.
fn show(backend: crate::helpers::Backend, q: &Asked, verdict: &Verdict, town: &Town) {
    eprintln!(
        "[{backend:?}] contacts of {} (asked between {} and {}):\n  {}",
        q.index,
        q.before,
        q.after,
        verdict.problems.join("\n  ")
    );
    let own = town.by_resident.get(&q.index).cloned().unwrap_or_default();
    let venues: BTreeSet<&String> = own.iter().map(|v| &v.venue).collect();
    for v in &own {
        eprintln!("    index  {v:?}");
    }
    for who in &verdict.involved {
        for v in town.by_resident.get(who).into_iter().flatten() {
            if venues.contains(&v.venue) {
                eprintln!("    other  {v:?}");
            }
        }
    }
}

/// Sends every scan of `residents` (each person's in file order), one person after another.
async fn replay(
    app: &TestApp,
    residents: &[(&String, &Vec<&ScanLine>)],
    phones: &HashMap<String, String>,
    codes: &HashMap<(String, String), String>,
    shift: Duration,
) -> BTreeMap<String, usize> {
    let mut decisions = BTreeMap::new();
    for (rid, scans) in residents {
        let (token, _) = app.resident(&phones[*rid]).await;
        for s in scans.iter() {
            let code = &codes[&(s.venue.clone(), s.gate.clone())];
            let mut body = json!({
                "code": code,
                "direction": s.direction,
                "client_time": (s.ts + shift).to_rfc3339(),
            });
            if let Some(t) = s.temperature_c {
                body["temperature_c"] = json!(t);
            }
            let a = app.post("/api/v1/scans", &token, &body).await;
            assert_eq!(a.status, 200, "scan of {rid} at {}: {}", s.ts, a.body);
            let decision = a.body["decision"].as_str().unwrap_or("?").to_owned();
            *decisions.entry(decision).or_insert(0) += 1;
        }
    }
    decisions
}

async fn the_service_agrees_with_a_brute_force_oracle_on_every_resident_of_the_sample_day(
    app: TestApp,
) {
    let started = Instant::now();
    let backend = app.backend;
    let admin = app.admin().await;

    // 1. The town and its posters.
    admin_post_csv(&app, "/api/v1/venues/import", "venues.csv").await;
    admin_post_csv(&app, "/api/v1/residents/import", "residents.csv").await;
    let listed = app.get("/api/v1/venues", &admin).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let mut codes = HashMap::new();
    let mut stays = HashMap::new();
    for v in listed.body["venues"].as_array().into_iter().flatten() {
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        let stay = max_stay(v["kind"].as_str().unwrap_or_default());
        assert_eq!(
            v["max_stay_minutes"].as_i64(),
            Some(stay.num_minutes()),
            "the oracle assumes the kind's default maximum stay: {v}"
        );
        for c in v["codes"].as_array().into_iter().flatten() {
            let gate = c["gate"].as_str().unwrap_or_default().to_owned();
            let code = c["code"].as_str().unwrap_or_default().to_owned();
            codes.insert((id.clone(), gate), code);
        }
        stays.insert(id, stay);
    }
    assert_eq!(stays.len(), 381, "the sample's venues");
    let imported = started.elapsed();

    // 2. The day's scans, moved so the last is about a minute ago, in whole seconds.
    let mut phones = HashMap::new();
    for row in rows::<ResidentRow>("residents.csv") {
        phones.insert(row.resident_id, row.phone);
    }
    let scans: Vec<ScanLine> = sample::scans();
    let first = scans
        .iter()
        .map(|s| s.ts)
        .min()
        .unwrap_or_else(|| panic!("no scans"));
    let last = scans
        .iter()
        .map(|s| s.ts)
        .max()
        .unwrap_or_else(|| panic!("no scans"));
    let shift = Duration::seconds((Utc::now() - last.with_timezone(&Utc)).num_seconds() - 60);
    let mut by_person: BTreeMap<&String, Vec<&ScanLine>> = BTreeMap::new();
    for s in &scans {
        by_person.entry(&s.resident_id).or_default().push(s);
    }
    let people: Vec<(&String, &Vec<&ScanLine>)> = by_person.iter().map(|(k, v)| (*k, v)).collect();
    let mut shares: Vec<Vec<(&String, &Vec<&ScanLine>)>> = vec![Vec::new(); WORKERS];
    for (i, p) in people.into_iter().enumerate() {
        shares[i % WORKERS].push(p);
    }
    let tallies = futures::future::join_all(
        shares
            .iter()
            .map(|share| replay(&app, share, &phones, &codes, shift)),
    )
    .await;
    let mut decisions: BTreeMap<String, usize> = BTreeMap::new();
    for t in tallies {
        for (k, n) in t {
            *decisions.entry(k).or_insert(0) += n;
        }
    }
    assert_eq!(decisions.values().sum::<usize>(), scans.len());
    let replayed = started.elapsed();

    // 3. Every visit of the day, venue by venue, over a window covering the whole moved day.
    let from = (first + shift).with_timezone(&Utc) - Duration::days(1);
    let to = Utc::now() + Duration::minutes(1);
    let window = [("from", from.to_rfc3339()), ("to", to.to_rfc3339())];
    let pages: Vec<(String, Vec<Value>)> = stream::iter(stays.keys().cloned())
        .map(|venue| {
            let (app, admin, window) = (&app, &admin, &window);
            async move {
                let a = app
                    .send(
                        app.client
                            .get(app.url(&format!("/api/v1/trace/venues/{venue}/visits")))
                            .query(window)
                            .bearer_auth(admin),
                    )
                    .await;
                assert_eq!(a.status, 200, "visits of {venue}: {}", a.body);
                let visits = a.body["visits"].as_array().cloned().unwrap_or_default();
                (venue, visits)
            }
        })
        .buffer_unordered(WORKERS)
        .collect()
        .await;
    let mut town = Town {
        by_resident: BTreeMap::new(),
        by_venue: HashMap::new(),
    };
    let mut ids = BTreeSet::new();
    for (venue, visits) in &pages {
        for v in visits {
            let visit = Visit::of(v, stays[venue]);
            assert_eq!(&visit.venue, venue, "{v}");
            assert!(ids.insert(visit.id.clone()), "a visit listed twice: {v}");
            town.by_resident
                .entry(visit.resident.clone())
                .or_default()
                .push(visit.clone());
            town.by_venue
                .entry(visit.venue.clone())
                .or_default()
                .push(visit);
        }
    }
    let open = town
        .by_venue
        .values()
        .flatten()
        .filter(|v| matches!(v.end, End::OpenUntil(_)))
        .count();
    let fetched = started.elapsed();

    // 4 and 5. The contacts of every resident with a visit, against the oracle.
    let asked: Vec<Asked> = stream::iter(town.by_resident.keys().cloned())
        .map(|index| {
            let (app, admin, window) = (&app, &admin, &window);
            async move {
                let before = Utc::now();
                let a = app
                    .send(
                        app.client
                            .get(app.url(&format!("/api/v1/trace/residents/{index}/contacts")))
                            .query(window)
                            .bearer_auth(admin),
                    )
                    .await;
                let after = Utc::now();
                assert_eq!(a.status, 200, "contacts of {index}: {}", a.body);
                let contacts = a.body["contacts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        let minutes = c["overlap_minutes"].as_f64().unwrap_or(f64::NAN);
                        (
                            c["resident_id"].as_str().unwrap_or_default().to_owned(),
                            (minutes * 60_000.0).round() as i64,
                        )
                    })
                    .collect();
                Asked {
                    index,
                    before,
                    after,
                    index_case: a.body["index_case"].clone(),
                    contacts,
                }
            }
        })
        .buffer_unordered(WORKERS)
        .collect()
        .await;
    let queried = started.elapsed();

    let mut mismatches: Vec<String> = Vec::new();
    let (mut pairs, mut late_only, mut widest) = (0usize, 0usize, Duration::zero());
    for q in &asked {
        widest = widest.max(q.after - q.before);
        let early = oracle(&town, &q.index, from, to, q.before);
        let late = oracle(&town, &q.index, from, to, q.after);
        let verdict = compare(q, &early, &late);
        pairs += q.contacts.len();
        late_only += verdict.late_only;
        if !verdict.problems.is_empty() {
            if mismatches.len() < SHOWN {
                show(backend, q, &verdict, &town);
            }
            mismatches.push(format!("{}: {}", q.index, verdict.problems.join("; ")));
        }
    }
    let compared = started.elapsed();

    eprintln!(
        "[{backend:?}] {} scans {decisions:?}; {} visits ({open} open) of {} residents; \
         {} contact queries, {pairs} contacts, {late_only} only at the later instant, \
         widest query {} ms; {} mismatches",
        scans.len(),
        ids.len(),
        town.by_resident.len(),
        asked.len(),
        widest.num_milliseconds(),
        mismatches.len()
    );
    eprintln!(
        "[{backend:?}] import {:.1} s, replay {:.1} s, visits {:.1} s, contacts {:.1} s, \
         oracle {:.1} s, total {:.1} s",
        imported.as_secs_f64(),
        (replayed - imported).as_secs_f64(),
        (fetched - replayed).as_secs_f64(),
        (queried - fetched).as_secs_f64(),
        (compared - queried).as_secs_f64(),
        compared.as_secs_f64()
    );
    assert_eq!(asked.len(), town.by_resident.len());
    assert!(
        mismatches.is_empty(),
        "{} of {} index cases disagree with the oracle, first: {:?}",
        mismatches.len(),
        asked.len(),
        mismatches.iter().take(SHOWN).collect::<Vec<_>>()
    );
}

crate::on_both_backends!(
    the_service_agrees_with_a_brute_force_oracle_on_every_resident_of_the_sample_day
);
