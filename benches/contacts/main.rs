//! Benchmark: a contact query for one index case over the 28 days of a generated district, on
//! both storage backends, next to a brute-force answer computed from every visit in memory.
//!
//! `scripts/bench-contacts` runs it (release build, a throwaway Redis). Options, as flags after
//! `--` or as environment variables:
//!
//! | flag | environment | default | meaning |
//! | --- | --- | --- | --- |
//! | `--residents N` | `CHECKIN_BENCH_RESIDENTS` | 100000 | district size (visits: N × 4 × 28) |
//! | `--seed S` | `CHECKIN_BENCH_SEED` | 2020 | the generator's and the index cases' seed |
//! | `--index-cases K` | `CHECKIN_BENCH_INDEX_CASES` | 50 | index cases, drawn by seed |
//! | `--rounds R` | `CHECKIN_BENCH_ROUNDS` | 5 | timed rounds over all index cases (after one untimed) |
//! | `--buffer-minutes B` | `CHECKIN_BENCH_BUFFER_MINUTES` | 0 | the query's buffer |
//! | `--min-overlap-minutes M` | `CHECKIN_BENCH_MIN_OVERLAP_MINUTES` | 0 | the query's minimum overlap |
//! | `--redis-url URL` | `CHECKIN_BENCH_REDIS_URL` | none: Redis skipped | an empty Redis to fill |
//! | `--data-dir DIR` | `CHECKIN_BENCH_DATA_DIR` | the system's temp dir | where the SQLite file goes |
//!
//! Every answer of the service (`checkin::service::trace::contacts`, no venue filter) is
//! checked against the brute force (`brute.rs`): the same contacts, the same pairs of visits
//! and the same overlaps, or the benchmark fails.

mod brute;
mod district;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration as StdDuration, Instant};

use anyhow::{bail, Context, Result};
use checkin::domain::contacts::{find_contacts, Contact, ContactQuery};
use checkin::domain::{ResidentId, TimeWindow};
use checkin::service::trace::{self, VenueFilter};
use checkin::storage::embedded::{EmbeddedStore, DB_FILE};
use checkin::storage::redis::{RedisStore, Timeouts};
use checkin::storage::Store;
use chrono::Duration;
use futures::{StreamExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;

use crate::district::{at, day0_ms, District, DAYS};

/// Visits per `import_visits` call.
const BATCH: usize = 20_000;
/// Residents written at once.
const RESIDENT_WRITES: usize = 32;

struct Options {
    residents: usize,
    seed: u64,
    index_cases: usize,
    rounds: usize,
    buffer_minutes: i64,
    min_overlap_minutes: i64,
    redis_url: Option<String>,
    data_dir: Option<PathBuf>,
}

fn option(args: &[String], flag: &str, env: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
        .filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(args: &[String], flag: &str, env: &str, default: T) -> Result<T> {
    match option(args, flag, env) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| anyhow::anyhow!("{flag} ({env}): not a number: {raw:?}")),
    }
}

impl Options {
    fn parse() -> Result<Self> {
        let args: Vec<String> = std::env::args().collect();
        // `cargo bench` passes `--bench`. `cargo test --all-targets` runs this target too,
        // without it: then a small district on the embedded store only, as a check that the
        // service and the brute force agree, whatever the environment asks of a benchmark.
        if !args.iter().any(|a| a == "--bench") {
            return Ok(Self {
                residents: 600,
                seed: 2020,
                index_cases: 5,
                rounds: 1,
                buffer_minutes: 30,
                min_overlap_minutes: 0,
                redis_url: None,
                data_dir: None,
            });
        }
        Ok(Self {
            residents: number(&args, "--residents", "CHECKIN_BENCH_RESIDENTS", 100_000)?,
            seed: number(&args, "--seed", "CHECKIN_BENCH_SEED", 2020)?,
            index_cases: number(&args, "--index-cases", "CHECKIN_BENCH_INDEX_CASES", 50)?,
            rounds: number(&args, "--rounds", "CHECKIN_BENCH_ROUNDS", 5)?,
            buffer_minutes: number(&args, "--buffer-minutes", "CHECKIN_BENCH_BUFFER_MINUTES", 0)?,
            min_overlap_minutes: number(
                &args,
                "--min-overlap-minutes",
                "CHECKIN_BENCH_MIN_OVERLAP_MINUTES",
                0,
            )?,
            redis_url: option(&args, "--redis-url", "CHECKIN_BENCH_REDIS_URL"),
            data_dir: option(&args, "--data-dir", "CHECKIN_BENCH_DATA_DIR").map(PathBuf::from),
        })
    }
}

/// One contact pair as compared: contact, index visit id, contact visit id, from and to (ms).
type PairKey = (String, String, String, i64, i64);

/// An answer reduced to what is compared: every pair, and each contact's total overlap (ms).
#[derive(Debug, PartialEq)]
struct Answer {
    pairs: BTreeSet<PairKey>,
    totals: BTreeMap<String, i64>,
}

impl Answer {
    fn of_brute(d: &District, pairs: &[brute::Pair]) -> Self {
        let mut totals = BTreeMap::new();
        let pairs = pairs
            .iter()
            .map(|p| {
                let who = d.residents[p.contact as usize].id.to_string();
                *totals.entry(who.clone()).or_insert(0) += p.to_ms - p.from_ms;
                (
                    who,
                    d.visit_id(p.index_visit as usize),
                    d.visit_id(p.contact_visit as usize),
                    p.from_ms,
                    p.to_ms,
                )
            })
            .collect();
        Self { pairs, totals }
    }

    fn of_service(contacts: &[Contact]) -> Self {
        let mut pairs = BTreeSet::new();
        let mut totals = BTreeMap::new();
        for c in contacts {
            let who = c.resident_id.to_string();
            totals.insert(who.clone(), c.overlap.num_milliseconds());
            for s in &c.shared {
                pairs.insert((
                    who.clone(),
                    s.index_visit_id.clone().unwrap_or_default(),
                    s.contact_visit_id.clone(),
                    s.from.timestamp_millis(),
                    s.to.timestamp_millis(),
                ));
            }
        }
        Self { pairs, totals }
    }

    fn differences(&self, service: &Answer) -> String {
        let missing: Vec<_> = self.pairs.difference(&service.pairs).take(3).collect();
        let extra: Vec<_> = service.pairs.difference(&self.pairs).take(3).collect();
        format!(
            "brute force {} pairs / {} contacts, service {} pairs / {} contacts; \
             missing from the service {missing:?}; extra in the service {extra:?}",
            self.pairs.len(),
            self.totals.len(),
            service.pairs.len(),
            service.totals.len()
        )
    }
}

/// The `p`-th percentile (nearest rank) of `samples`.
fn percentile(samples: &[StdDuration], p: f64) -> StdDuration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: StdDuration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn secs(d: StdDuration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The peak resident memory of this process (`VmHWM`), bytes.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// How long loading took.
struct Loaded {
    records: StdDuration,
    visits: StdDuration,
    building: StdDuration,
}

/// Writes the district into `store`: venues, residents, then every visit by `import_visits`.
async fn load(store: &dyn Store, d: &District, name: &str) -> Result<Loaded> {
    let started = Instant::now();
    for v in &d.venues {
        store.put_venue(v).await.context("put_venue")?;
    }
    futures::stream::iter(&d.residents)
        .map(|r| store.put_resident(r))
        .buffer_unordered(RESIDENT_WRITES)
        .try_collect::<Vec<_>>()
        .await
        .context("put_resident")?;
    let records = started.elapsed();

    let started = Instant::now();
    let mut building = StdDuration::ZERO;
    let total = d.rows.len();
    let mut next_report = total / 10;
    for lo in (0..total).step_by(BATCH) {
        let t = Instant::now();
        let batch: Vec<_> = (lo..(lo + BATCH).min(total)).map(|i| d.visit(i)).collect();
        building += t.elapsed();
        store.import_visits(&batch).await.context("import_visits")?;
        if lo + batch.len() >= next_report {
            eprintln!(
                "  [{name}] {} of {} visits, {}",
                thousands(lo + batch.len()),
                thousands(total),
                secs(started.elapsed())
            );
            next_report += total / 10;
        }
    }
    Ok(Loaded {
        records,
        visits: started.elapsed(),
        building,
    })
}

/// What the timed queries of one backend gave.
struct Measured {
    samples: Vec<StdDuration>,
    /// Per index case: visits the service's reads returned, time in reads, time in matching.
    profile: Vec<(usize, StdDuration, StdDuration)>,
}

/// Runs the service's contact query for every index case: one untimed round, then `rounds`
/// timed ones, each answer checked against `expected`.
async fn measure(
    store: &dyn Store,
    cases: &[ResidentId],
    q: &ContactQuery,
    rounds: usize,
    expected: &[Answer],
    name: &str,
) -> Result<Measured> {
    let filter = VenueFilter::default();
    let mut samples = Vec::with_capacity(cases.len() * rounds);
    for round in 0..=rounds {
        for (case, want) in cases.iter().zip(expected) {
            let started = Instant::now();
            let got = trace::contacts(store, case, q, &filter)
                .await
                .with_context(|| format!("[{name}] contacts of {case}"))?;
            let took = started.elapsed();
            if round > 0 {
                samples.push(took);
            }
            let got = Answer::of_service(&got);
            if &got != want {
                bail!(
                    "[{name}] contacts of {case} differ from the brute force: {}",
                    want.differences(&got)
                );
            }
        }
        eprintln!("  [{name}] round {round} done (round 0 untimed), all answers agree");
    }
    let mut profile = Vec::with_capacity(cases.len());
    for case in cases {
        profile.push(profile_one(store, case, q).await?);
    }
    Ok(Measured { samples, profile })
}

/// The reads the service makes for one query, made again one by one and timed, then the
/// in-memory matching on what they returned: where a query's time goes.
async fn profile_one(
    store: &dyn Store,
    case: &ResidentId,
    q: &ContactQuery,
) -> Result<(usize, StdDuration, StdDuration)> {
    let started = Instant::now();
    let c = trace::candidates(store, case, q, &VenueFilter::default()).await?;
    let reading = started.elapsed();
    let started = Instant::now();
    let found = find_contacts(case, &c.own, &c.others, &c.places, q);
    let matching = started.elapsed();
    std::hint::black_box(found);
    Ok((c.own.len() + c.others.len(), reading, matching))
}

/// A plain connection's `INFO memory` field, bytes.
async fn redis_memory(url: &str) -> Result<BTreeMap<String, u64>> {
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await?;
    Ok(info
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect())
}

async fn redis_keys(url: &str) -> Result<u64> {
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    Ok(redis::cmd("DBSIZE").query_async(&mut conn).await?)
}

/// One backend's figures for the tables.
struct Backend {
    name: &'static str,
    loaded: Loaded,
    size: String,
    measured: Measured,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("bench contacts: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let o = Options::parse()?;
    println!(
        "district: {} residents, seed {}; {} index cases × {} timed rounds",
        thousands(o.residents),
        o.seed,
        o.index_cases,
        o.rounds
    );

    let started = Instant::now();
    let d = District::generate(o.residents, o.seed);
    let generated = started.elapsed();
    let busiest = d.busiest();
    let compounds = d
        .venues
        .iter()
        .filter(|v| v.kind == checkin::domain::VenueKind::ResidentialCompound)
        .count();
    println!(
        "generated in {}: {} households in {} buildings of {} compounds ({} communities), \
         {} other venues (shops, restaurants, markets), {} visits; busiest venues: {}",
        secs(generated),
        thousands(d.households),
        thousands(d.buildings),
        thousands(compounds),
        d.communities,
        thousands(d.venues.len() - compounds),
        thousands(d.rows.len()),
        busiest
            .iter()
            .take(3)
            .map(|(v, n)| format!("{} {} visits", d.venues[*v].id, thousands(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let day0 = day0_ms();
    let to_ms = day0 + DAYS * 24 * 3_600_000;
    let now = at(to_ms + 12 * 3_600_000);
    let q = ContactQuery {
        window: TimeWindow::new(Some(at(day0)), Some(at(to_ms)), now)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        buffer: Duration::minutes(o.buffer_minutes),
        min_overlap: Duration::minutes(o.min_overlap_minutes),
        now,
    };
    let bq = brute::Query {
        from_ms: day0,
        to_ms,
        buffer_ms: o.buffer_minutes * 60_000,
        min_overlap_ms: o.min_overlap_minutes * 60_000,
    };
    let mut rng = StdRng::seed_from_u64(o.seed ^ 0x1dec_a5e5);
    let picked: Vec<u32> = sample(
        &mut rng,
        d.residents.len(),
        o.index_cases.min(d.residents.len()),
    )
    .into_iter()
    .map(|i| i as u32)
    .collect();
    let cases: Vec<ResidentId> = picked
        .iter()
        .map(|&i| d.residents[i as usize].id.clone())
        .collect();

    // Brute force: one untimed round, then the timed ones.
    let mut brute_samples = Vec::new();
    let mut expected = Vec::new();
    for round in 0..=o.rounds {
        for &i in &picked {
            let started = Instant::now();
            let pairs = brute::contacts(&d.rows, d.venues.len(), i, &bq);
            let took = started.elapsed();
            if round > 0 {
                brute_samples.push(took);
            } else {
                expected.push(Answer::of_brute(&d, &pairs));
            }
        }
    }
    let mut contacts: Vec<usize> = expected.iter().map(|a| a.totals.len()).collect();
    contacts.sort_unstable();
    let mut pairs: Vec<usize> = expected.iter().map(|a| a.pairs.len()).collect();
    pairs.sort_unstable();
    println!(
        "brute force: contacts per index case median {} (min {}, max {}), pairs of visits \
         median {}",
        thousands(contacts[contacts.len() / 2]),
        thousands(contacts[0]),
        thousands(contacts[contacts.len() - 1]),
        thousands(pairs[pairs.len() / 2])
    );

    let mut rows = Vec::new();

    // Embedded store, in a temporary directory.
    {
        let dir = match &o.data_dir {
            Some(p) => tempfile::tempdir_in(p)?,
            None => tempfile::tempdir()?,
        };
        let store = EmbeddedStore::open(dir.path())?;
        eprintln!("loading the embedded store in {}", dir.path().display());
        let loaded = load(&store, &d, "embedded").await?;
        let mut bytes = 0;
        for suffix in ["", "-wal", "-shm"] {
            bytes += std::fs::metadata(dir.path().join(format!("{DB_FILE}{suffix}")))
                .map_or(0, |m| m.len());
        }
        let measured = measure(&store, &cases, &q, o.rounds, &expected, "embedded").await?;
        rows.push(Backend {
            name: "embedded (SQLite)",
            loaded,
            size: format!("database file {}", gib(bytes)),
            measured,
        });
    }

    // Redis, which must be empty: the benchmark fills it with gigabytes.
    match &o.redis_url {
        None => eprintln!("Redis skipped: give --redis-url (scripts/bench-contacts starts one)"),
        Some(url) => {
            let keys = redis_keys(url).await?;
            if keys != 0 {
                bail!("the Redis at --redis-url holds {keys} keys: the benchmark wants an empty, throwaway Redis");
            }
            let prefix = "bench";
            // Loading sends large pipelines: give answers more time than the service's 2 s.
            let loader = RedisStore::connect_with(
                url,
                prefix,
                Timeouts {
                    connection: StdDuration::from_secs(2),
                    response: StdDuration::from_secs(60),
                },
            )
            .await?;
            eprintln!("loading Redis");
            let loaded = load(&loader, &d, "redis").await?;
            let mem = redis_memory(url).await?;
            let used = mem.get("used_memory").copied().unwrap_or(0);
            let rss = mem.get("used_memory_rss").copied().unwrap_or(0);
            let peak = mem.get("used_memory_peak").copied().unwrap_or(0);
            println!(
                "Redis memory after loading: used_memory {}, used_memory_rss {}, \
                 used_memory_peak {} ({} keys)",
                gib(used),
                gib(rss),
                gib(peak),
                thousands(redis_keys(url).await? as usize)
            );
            // Queries as the service makes them: its default timeouts.
            let store = RedisStore::connect(url, prefix).await?;
            let measured = measure(&store, &cases, &q, o.rounds, &expected, "redis").await?;
            rows.push(Backend {
                name: "Redis",
                loaded,
                size: format!("used_memory {} (RSS {})", gib(used), gib(rss)),
                measured,
            });
        }
    }

    let brute_median = percentile(&brute_samples, 50.0);
    println!();
    println!(
        "contacts of one index case over {DAYS} days (buffer {} min, minimum overlap {} min), \
         {} residents, {} visits; {} index cases × {} rounds = {} queries per line; \
         every answer equal to the brute force's",
        o.buffer_minutes,
        o.min_overlap_minutes,
        thousands(o.residents),
        thousands(d.rows.len()),
        cases.len(),
        o.rounds,
        brute_samples.len()
    );
    println!();
    println!("| | median | p95 | median ÷ brute-force median |");
    println!("| --- | --- | --- | --- |");
    for r in &rows {
        let median = percentile(&r.measured.samples, 50.0);
        println!(
            "| service (`trace::contacts`), {} | {} | {} | {:.1} × |",
            r.name,
            ms(median),
            ms(percentile(&r.measured.samples, 95.0)),
            median.as_secs_f64() / brute_median.as_secs_f64()
        );
    }
    println!(
        "| brute force: two passes over all {} visits in memory | {} | {} | 1 |",
        thousands(d.rows.len()),
        ms(brute_median),
        ms(percentile(&brute_samples, 95.0))
    );
    println!();
    println!("| load | venues and residents | visits (`import_visits`) | size |");
    println!("| --- | --- | --- | --- |");
    for r in &rows {
        println!(
            "| {} | {} | {} ({} visits/s; {} of it building the visits) | {} |",
            r.name,
            secs(r.loaded.records),
            secs(r.loaded.visits),
            thousands((d.rows.len() as f64 / r.loaded.visits.as_secs_f64()) as usize),
            secs(r.loaded.building),
            r.size
        );
    }
    println!();
    println!("where a service query's time goes (the same reads made again one by one; medians):");
    println!();
    println!("| | visits read | reading and parsing | matching (`find_contacts`) |");
    println!("| --- | --- | --- | --- |");
    for r in &rows {
        let mut read: Vec<usize> = r.measured.profile.iter().map(|p| p.0).collect();
        read.sort_unstable();
        let reading: Vec<StdDuration> = r.measured.profile.iter().map(|p| p.1).collect();
        let matching: Vec<StdDuration> = r.measured.profile.iter().map(|p| p.2).collect();
        println!(
            "| {} | {} | {} | {} |",
            r.name,
            thousands(read[read.len() / 2]),
            ms(percentile(&reading, 50.0)),
            ms(percentile(&matching, 50.0))
        );
    }
    println!();
    println!(
        "generation {}; this process's peak RSS {}",
        secs(generated),
        gib(peak_rss())
    );
    Ok(())
}
