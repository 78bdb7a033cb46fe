//! Checks that only make sense for Redis: failing fast when Redis is gone, the prefix, the
//! key layout of `keys.rs` as actually written, expiries, and reporting foreign data.

use std::time::{Duration, Instant};

use checkin::domain::{Direction, VenueKind};
use checkin::storage::redis::keys::Keys;
use checkin::storage::redis::{RedisStore, Timeouts};
use checkin::storage::{ScanCommit, Store, StoreError, IDEMPOTENCY_TTL_SECONDS};

use crate::fixtures::{decided, idempotency_record, phone, resident, rid, scan, t, venue};
use crate::helpers::{catch, keys_under, raw_redis, Backend};

/// A key's time to live, ms (`-1`: none, `-2`: no such key).
async fn pttl_ms(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query_async(conn)
        .await
        .expect("PTTL")
}

/// A second store on the test Redis under `prefix`, with idle expiries after `idle` (none
/// when `None`).
async fn store_expiring_after(prefix: &str, idle: Option<chrono::Duration>) -> RedisStore {
    let store = RedisStore::connect(&crate::helpers::redis_url(), prefix)
        .await
        .expect("connects");
    match idle {
        Some(after) => store.expire_idle_after(after),
        None => store,
    }
}

#[tokio::test]
async fn connecting_to_a_dead_redis_fails_fast_as_unavailable() {
    let started = Instant::now();

    // Port 1 on the loopback: nothing listens there, the connection is refused.
    let result = RedisStore::connect("redis://127.0.0.1:1", "checkin-test-dead").await;

    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "expected unavailable, got {:?}",
        result.map(|_| ())
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_key_prefix_with_braces_or_globs_is_refused() {
    for bad in ["", "a{b}", "checkin*", "with space"] {
        let result = RedisStore::connect("redis://127.0.0.1:6379", bad).await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "prefix {bad:?} was accepted"
        );
    }
}

/// Runs the block with `$backend` on a fresh Redis prefix (named by `$prefix`), cleaning up
/// afterwards even when the block panics.
macro_rules! with_redis {
    ($backend:ident, $prefix:ident, $body:block) => {{
        let prefix_holder = crate::helpers::unique_prefix();
        let $backend = Backend::redis_with_prefix(&prefix_holder).await;
        let $prefix: &str = &prefix_holder;
        let outcome = catch(async { $body }).await;
        $backend.finish(outcome).await;
    }};
}

#[tokio::test]
async fn every_key_a_scan_writes_is_under_the_prefix_and_a_hash_tag() {
    let _ = now_clear_of_midnight();
    with_redis!(backend, prefix, {
        let person = resident("R00001", "19900000001");
        let home = venue("GC-C001", VenueKind::ResidentialCompound);
        let market = venue("GC-M001", VenueKind::Market);
        backend.put_venue(&home).await.expect("put venue");
        backend.put_resident(&person).await.expect("put resident");
        scan(
            &*backend,
            &person.id,
            &home,
            None,
            t("2020-03-10T08:00:00Z"),
        )
        .await;
        scan(
            &*backend,
            &person.id,
            &market,
            None,
            t("2020-03-10T09:00:00Z"),
        )
        .await;

        let mut conn = raw_redis().await;
        let mut keys = keys_under(&mut conn, prefix).await;
        keys.sort();

        let p = |rest: &str| format!("{prefix}:{rest}");
        let expected = vec![
            p("phone:19900000001"),
            p("retention"),
            p("venues"),
            p("{p:R00001}:events"),
            p("{p:R00001}:resident"),
            p("{p:R00001}:state"),
            p("{p:R00001}:visits"),
            // 2020-03-10 is day 18,331 since 1970-01-01.
            p("{v:GC-C001}:day:18331"),
            p("{v:GC-C001}:days"),
            p("{v:GC-C001}:eday:18331"),
            p("{v:GC-C001}:edays"),
            p("{v:GC-C001}:recent"),
            p("{v:GC-C001}:residents"),
            p("{v:GC-C001}:venue"),
            p("{v:GC-M001}:eday:18331"),
            p("{v:GC-M001}:edays"),
            p("{v:GC-M001}:open"),
            p("{v:GC-M001}:recent"),
        ];
        assert_eq!(keys, expected);
    });
}

/// The record a retry under `key` by `person` finds.
async fn kept_under(
    store: &dyn Store,
    person: &checkin::domain::ResidentId,
    key: &str,
) -> Option<checkin::storage::IdempotencyRecord> {
    store
        .person_state(person, Some(key))
        .await
        .expect("reads")
        .idempotent
}

/// This test binary's "now" for naming days, taken once, clear of the end of a UTC day: in
/// a day's last two minutes it first sleeps into the next day. The tests that name keys by
/// "today" compare them with what the store wrote by its own clock, so a run across midnight
/// would mix two days: each calls this before it writes anything, and the binary runs for
/// seconds, well within the two minutes.
fn now_clear_of_midnight() -> chrono::DateTime<chrono::Utc> {
    static START: std::sync::OnceLock<chrono::DateTime<chrono::Utc>> = std::sync::OnceLock::new();
    *START.get_or_init(|| {
        let now = chrono::Utc::now();
        let left_ms = 86_400_000 - now.timestamp_millis().rem_euclid(86_400_000);
        if left_ms > 120_000 {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(
            u64::try_from(left_ms).unwrap_or(0) + 1_000,
        ));
        chrono::Utc::now()
    })
}

/// Today's UTC day, days since 1970-01-01: the day of the idempotency records written now.
fn today() -> i64 {
    now_clear_of_midnight().timestamp().div_euclid(86_400)
}

/// The start of today (UTC).
fn midnight_today() -> chrono::DateTime<chrono::Utc> {
    now_clear_of_midnight()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}

/// Commits a scan of `person` at `shop` at `at` under idempotency key `key` (a check-in, or
/// the check-out of the person's open visit).
async fn check_in_under_key(
    store: &dyn Store,
    person: &checkin::domain::ResidentId,
    shop: &checkin::domain::Venue,
    at: chrono::DateTime<chrono::Utc>,
    key: &str,
) {
    let state = store.person_state(person, None).await.expect("reads");
    let o = decided(state.open.as_ref(), person, shop, None, None, at);
    store
        .commit_scan(&ScanCommit {
            resident_id: person.clone(),
            expected_version: state.version,
            removed: Vec::new(),
            event: o.event,
            changed: o.changed,
            open_after: o.open_after,
            idempotency: Some((key.into(), idempotency_record(key))),
            alerts: Vec::new(),
        })
        .await
        .expect("the commit runs");
}

#[tokio::test]
async fn an_idempotency_record_is_kept_48_hours_in_the_persons_hash() {
    let _ = now_clear_of_midnight();
    with_redis!(backend, prefix, {
        let person = rid("R00001");
        let shop = venue("GC-S001", VenueKind::Shop);
        let before = chrono::Utc::now().timestamp_millis();
        check_in_under_key(&*backend, &person, &shop, t("2020-03-10T08:00:00Z"), "k").await;

        let keys = Keys::new(prefix).expect("a valid prefix");
        let mut conn = raw_redis().await;
        let full_ms = i64::try_from(IDEMPOTENCY_TTL_SECONDS).expect("fits") * 1000;
        // The hash outlives every record of the day: 48 hours and a day.
        let day_ms = 86_400_000;
        let ttl = pttl_ms(&mut conn, &keys.person_idempotency(&person, today())).await;
        assert!(
            (full_ms + day_ms - 60_000..=full_ms + day_ms).contains(&ttl),
            "pttl {ttl}"
        );
        let value: String = redis::cmd("HGET")
            .arg(keys.person_idempotency(&person, today()))
            .arg("k")
            .query_async(&mut conn)
            .await
            .expect("HGET");
        let (expires, json) = value.split_once(':').expect("EXPIRES:JSON");
        let expires: i64 = expires.parse().expect("ms");
        assert!(
            (before + full_ms..=before + full_ms + 60_000).contains(&expires),
            "expires {expires}, written after {before}"
        );
        let record: checkin::storage::IdempotencyRecord =
            serde_json::from_str(json).expect("the record's JSON");
        assert_eq!(record, idempotency_record("k"));
    });
}

#[tokio::test]
async fn the_idempotency_hash_gets_its_expiry_from_the_days_first_record() {
    let _ = now_clear_of_midnight();
    with_redis!(backend, prefix, {
        let person = rid("R00001");
        let shop = venue("GC-S001", VenueKind::Shop);
        let keys = Keys::new(prefix).expect("a valid prefix");
        let idem = keys.person_idempotency(&person, today());
        let mut conn = raw_redis().await;
        let at = t("2020-03-10T08:00:00Z");
        // The day's first scan has no key: the hash is made by the second one.
        scan(&*backend, &person, &shop, Some(Direction::In), at).await;
        let minute = chrono::Duration::minutes(1);
        check_in_under_key(&*backend, &person, &shop, at + minute, "a").await;
        let first = pttl_ms(&mut conn, &idem).await;
        assert!(
            first > 0,
            "the hash made by a later scan has an expiry: {first}"
        );

        // Later the same day: no new expiry.
        let _: i64 = redis::cmd("PEXPIRE")
            .arg(&idem)
            .arg(600_000)
            .query_async(&mut conn)
            .await
            .expect("PEXPIRE");
        check_in_under_key(&*backend, &person, &shop, at + minute * 2, "b").await;
        let same_day = pttl_ms(&mut conn, &idem).await;
        assert!(same_day <= 600_000, "{same_day}");

        // As if the last record had been yesterday: the day's first record sets it again.
        let _: () = redis::cmd("HSET")
            .arg(keys.person_state(&person))
            .arg("iday")
            .arg("1")
            .query_async(&mut conn)
            .await
            .expect("HSET");
        check_in_under_key(&*backend, &person, &shop, at + minute * 3, "c").await;
        let next_day = pttl_ms(&mut conn, &idem).await;
        assert!(next_day > first - 60_000, "{next_day} against {first}");
    });
}

#[tokio::test]
async fn records_from_the_day_before_yesterday_to_tomorrow_are_read_and_expired_ones_not() {
    let _ = now_clear_of_midnight();
    with_redis!(backend, prefix, {
        let person = rid("R00001");
        let keys = Keys::new(prefix).expect("a valid prefix");
        let mut conn = raw_redis().await;
        let json = serde_json::to_string(&idempotency_record("old")).expect("JSON");
        // Expired at 1970-01-01T00:00:01Z; the other one a minute from now.
        let soon = chrono::Utc::now().timestamp_millis() + 60_000;
        let _: () = redis::cmd("HSET")
            .arg(keys.person_idempotency(&person, today() - 2))
            .arg("old")
            .arg(format!("1000:{json}"))
            .arg("soon")
            .arg(format!("{soon}:{json}"))
            .query_async(&mut conn)
            .await
            .expect("HSET");

        assert_eq!(
            kept_under(&*backend, &person, "old").await,
            None,
            "an expired record is not an answer"
        );
        assert_eq!(
            kept_under(&*backend, &person, "soon").await,
            Some(idempotency_record("old"))
        );

        // Written just after midnight by an instance whose clock is ahead of this one's.
        let _: () = redis::cmd("HSET")
            .arg(keys.person_idempotency(&person, today() + 1))
            .arg("ahead")
            .arg(format!("{soon}:{json}"))
            .query_async(&mut conn)
            .await
            .expect("HSET");
        assert_eq!(
            kept_under(&*backend, &person, "ahead").await,
            Some(idempotency_record("old"))
        );
    });
}

#[tokio::test]
async fn a_persons_many_records_are_all_kept_through_the_days_first_scan() {
    let _ = now_clear_of_midnight();
    with_redis!(backend, prefix, {
        let person = rid("R00001");
        let shop = venue("GC-S001", VenueKind::Shop);
        let keys = Keys::new(prefix).expect("a valid prefix");
        let mut conn = raw_redis().await;
        let json = serde_json::to_string(&idempotency_record("x")).expect("JSON");
        let later = chrono::Utc::now().timestamp_millis() + 3_600_000;
        let mut fill = redis::cmd("HSET");
        fill.arg(keys.person_idempotency(&person, today()));
        for i in 0..2_000 {
            fill.arg(format!("k{i}")).arg(format!("{later}:{json}"));
        }
        let _: () = fill.query_async(&mut conn).await.expect("HSET");

        // The person's first scan of the day (no marks yet) reads and removes nothing.
        check_in_under_key(&*backend, &person, &shop, t("2020-03-10T08:00:00Z"), "new").await;

        for key in ["k0", "k1999", "new"] {
            assert!(
                kept_under(&*backend, &person, key).await.is_some(),
                "{key} is still answered"
            );
        }
    });
}

#[tokio::test]
async fn an_idempotency_record_written_by_an_earlier_build_is_still_answered() {
    with_redis!(backend, prefix, {
        let person = rid("R00001");
        let keys = Keys::new(prefix).expect("a valid prefix");
        let json = serde_json::to_string(&idempotency_record("k")).expect("JSON");
        let _: () = redis::cmd("SET")
            .arg(keys.legacy_person_idempotency(&person, "k"))
            .arg(json)
            .arg("EX")
            .arg(IDEMPOTENCY_TTL_SECONDS)
            .query_async(&mut raw_redis().await)
            .await
            .expect("SET");

        assert_eq!(
            kept_under(&*backend, &person, "k").await,
            Some(idempotency_record("k"))
        );
    });
}

#[tokio::test]
async fn stored_json_that_cannot_be_read_is_reported_as_corrupt() {
    with_redis!(backend, prefix, {
        let keys = Keys::new(prefix).expect("a valid prefix");
        let shop = venue("GC-S001", VenueKind::Shop);
        let _: () = redis::cmd("SET")
            .arg(keys.venue(&shop.id))
            .arg("{not json")
            .query_async(&mut raw_redis().await)
            .await
            .expect("SET works");

        let read = backend.venue(&shop.id).await;

        assert!(matches!(read, Err(StoreError::Corrupt(_))), "got {read:?}");
    });
}

#[tokio::test]
async fn a_person_stored_before_the_latest_scan_time_was_kept_gets_it_from_their_events() {
    with_redis!(backend, prefix, {
        let keys = Keys::new(prefix).expect("a valid prefix");
        let person = rid("R00001");
        let shop = venue("GC-S001", VenueKind::Shop);
        let at = t("2020-03-10T08:00:00Z");
        scan(&*backend, &person, &shop, Some(Direction::In), at).await;
        scan(
            &*backend,
            &person,
            &shop,
            Some(Direction::Out),
            at + chrono::Duration::hours(1),
        )
        .await;
        // As an earlier build left it: no `last`.
        let _: i64 = redis::cmd("HDEL")
            .arg(keys.person_state(&person))
            .arg("last")
            .query_async(&mut raw_redis().await)
            .await
            .expect("HDEL works");

        let first = backend.person_state(&person, None).await.expect("reads");
        let kept: Option<i64> = redis::cmd("HGET")
            .arg(keys.person_state(&person))
            .arg("last")
            .query_async(&mut raw_redis().await)
            .await
            .expect("HGET works");

        let newest = at + chrono::Duration::hours(1);
        assert_eq!(first.latest_scan_time, Some(newest));
        assert_eq!(kept, Some(newest.timestamp_millis()), "written back once");
    });
}

#[tokio::test]
async fn an_otp_key_expires_a_grace_period_after_the_code() {
    with_redis!(backend, prefix, {
        let keys = Keys::new(prefix).expect("a valid prefix");
        let p = phone("19900000001");
        let otp = checkin::storage::OtpRecord {
            code_hash: "h".into(),
            expires_at: chrono::Utc::now() + chrono::Duration::minutes(5),
            attempts: 0,
        };
        backend.put_otp(&p, &otp).await.expect("put otp");

        let ttl: i64 = redis::cmd("TTL")
            .arg(keys.otp(&p))
            .query_async(&mut raw_redis().await)
            .await
            .expect("TTL works");

        assert!((595..=600).contains(&ttl), "ttl {ttl}");
    });
}

#[tokio::test]
async fn a_redis_that_never_answers_fails_fast_as_unavailable() {
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    let addr = listener.local_addr().expect("an address");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();

    let result = match RedisStore::connect(&format!("redis://{addr}"), "checkin-test-silent").await
    {
        Ok(store) => store.ping().await,
        Err(e) => Err(e),
    };

    silent.abort();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "expected unavailable, got {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
}

/// A private `redis-server` with no persistence, killed (by its pid) when dropped, so a failing
/// test leaves nothing running.
struct PrivateRedis(std::process::Child);

impl PrivateRedis {
    fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        Self(child)
    }
}

impl PrivateRedis {
    /// One started on a free port, once it answers; and the port.
    async fn on_a_free_port() -> (Self, u16) {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("an address").port()
        };
        let server = Self::start(port);
        wait_for_port(port).await;
        (server, port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something answers on `port`.
async fn wait_for_port(port: u16) {
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing listens on {port}");
}

/// On a redis-server of its own, as `SCRIPT FLUSH` empties the script cache of every client.
#[tokio::test]
async fn a_scan_commits_after_redis_forgot_the_commit_script() {
    let (_server, port) = PrivateRedis::on_a_free_port().await;
    let url = format!("redis://127.0.0.1:{port}");
    let store = RedisStore::connect(&url, "checkin-test-noscript")
        .await
        .expect("connects");
    let person = rid("R00001");
    let shop = venue("GC-S001", VenueKind::Shop);
    check_in_under_key(&store, &person, &shop, t("2020-03-10T08:00:00Z"), "a").await;

    // As after a restart of Redis: every script is gone, and the next `EVALSHA` fails.
    let mut raw = redis::Client::open(url.as_str())
        .expect("a valid URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut raw)
        .await
        .expect("SCRIPT FLUSH");
    check_in_under_key(&store, &person, &shop, t("2020-03-10T09:00:00Z"), "b").await;

    let state = store.person_state(&person, None).await.expect("reads");
    assert_eq!(state.version, 2);
    assert!(state.open.is_none(), "the second scan closed the visit");
}

#[tokio::test]
#[ignore = "starts and kills its own redis-server; run with --ignored"]
async fn the_store_reconnects_after_redis_restarts() {
    let (server, port) = PrivateRedis::on_a_free_port().await;
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{port}"), "checkin-test-restart")
        .await
        .expect("connects");
    store.ping().await.expect("ping before the restart");

    drop(server);
    let started = Instant::now();
    let down = store.ping().await;
    assert!(
        matches!(down, Err(StoreError::Unavailable(_))),
        "got {down:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );

    let _server = PrivateRedis::start(port);
    wait_for_port(port).await;
    let mut answered = false;
    for _ in 0..20 {
        if store.ping().await.is_ok() {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(answered, "the store did not reconnect");
}

#[tokio::test]
async fn shorter_timeouts_are_honoured() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    let addr = listener.local_addr().expect("an address");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let timeouts = Timeouts {
        connection: Duration::from_millis(300),
        response: Duration::from_millis(300),
    };
    let started = Instant::now();

    let result = match RedisStore::connect_with(
        &format!("redis://{addr}"),
        "checkin-test-x",
        timeouts,
    )
    .await
    {
        Ok(store) => store.ping().await,
        Err(e) => Err(e),
    };

    silent.abort();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "got {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_persons_and_a_venues_visit_keys_expire_when_idle_and_registrations_do_not() {
    with_redis!(backend, prefix, {
        let store = store_expiring_after(prefix, Some(chrono::Duration::hours(1))).await;
        let person = resident("R00001", "19900000001");
        let shop = venue("GC-S001", VenueKind::Shop);
        store.put_venue(&shop).await.expect("put venue");
        store.put_resident(&person).await.expect("put resident");
        scan(&store, &person.id, &shop, None, t("2020-03-10T08:00:00Z")).await;
        scan(
            &store,
            &person.id,
            &shop,
            Some(Direction::Out),
            t("2020-03-10T08:30:00Z"),
        )
        .await;

        let keys = Keys::new(prefix).expect("a valid prefix");
        let conn = raw_redis().await;
        let ttl = |key: String| {
            let mut conn = conn.clone();
            async move {
                let ms: i64 = redis::cmd("PTTL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .expect("PTTL works");
                (key, ms)
            }
        };
        // Keys refreshed once a day, and a day's visits and events (written that day, and
        // later only by late scans and visits closed later, which refresh them): one day more.
        for key in [
            keys.person_visits(&person.id),
            keys.venue_day(&shop.id, 18_331),
            keys.person_state(&person.id),
            keys.person_events(&person.id),
            keys.venue_days(&shop.id),
            keys.venue_recent(&shop.id),
            keys.venue_event_days(&shop.id),
            keys.venue_event_day(&shop.id, 18_331),
            keys.venue_expiry_day(&shop.id),
        ] {
            let (key, ms) = ttl(key).await;
            assert!((89_900_000..=90_000_000).contains(&ms), "{key}: {ms} ms");
        }
        for key in [keys.resident(&person.id), keys.venue(&shop.id)] {
            let (key, ms) = ttl(key).await;
            assert_eq!(ms, -1, "{key} must not expire");
        }
    });
}

#[tokio::test]
async fn imported_visits_get_the_idle_expiry_a_days_refresh_sets() {
    with_redis!(backend, prefix, {
        let store = store_expiring_after(prefix, Some(chrono::Duration::hours(1))).await;
        let old = crate::fixtures::visit(
            "v-imported",
            "R00001",
            "GC-S001",
            Some(t("2020-03-10T08:00:00Z")),
            Some(t("2020-03-10T09:00:00Z")),
        );
        store.import_visits(&[old]).await.expect("imports");

        let keys = Keys::new(prefix).expect("a valid prefix");
        let mut conn = raw_redis().await;
        // The idle expiry (an hour) and a day.
        for key in [
            keys.person_visits(&rid("R00001")),
            keys.venue_day(
                &checkin::domain::VenueId::parse("GC-S001").expect("an id"),
                18_331,
            ),
        ] {
            let ms = pttl_ms(&mut conn, &key).await;
            assert!((89_900_000..=90_000_000).contains(&ms), "{key}: {ms} ms");
        }
    });
}

#[tokio::test]
async fn a_venues_recent_list_stays_bounded() {
    with_redis!(backend, prefix, {
        let person = resident("R00001", "19900000001");
        let market = venue("GC-M001", VenueKind::Market);
        let start = t("2020-03-10T08:00:00Z");
        for i in 0..300 {
            scan(
                &*backend,
                &person.id,
                &market,
                None,
                start + chrono::Duration::minutes(i),
            )
            .await;
        }
        let mut conn = raw_redis().await;
        let len: usize = redis::cmd("LLEN")
            .arg(format!("{prefix}:{{v:GC-M001}}:recent"))
            .query_async(&mut conn)
            .await
            .expect("LLEN");
        // RECENT_SCANS_KEPT (100) kept, trimmed back once RECENT_SLACK (32) more arrived.
        assert!((100..=132).contains(&len), "recent holds {len} events");
        assert_eq!(
            backend
                .recent_scans(&market.id, 100)
                .await
                .expect("reads")
                .len(),
            100
        );
    });
}

#[tokio::test]
async fn a_persons_visits_string_is_kept_at_its_exact_size() {
    with_redis!(backend, prefix, {
        let person = resident("R00001", "19900000001");
        let shop = venue("GC-S001", VenueKind::Shop);
        let key = Keys::new(prefix)
            .expect("a valid prefix")
            .person_visits(&person.id);
        let mut conn = raw_redis().await;
        let start = t("2020-03-10T08:00:00Z");
        let mut worst = None;
        for i in 0..40 {
            let at = start + chrono::Duration::minutes(10 * i);
            scan(&*backend, &person.id, &shop, Some(Direction::In), at).await;
            let out = at + chrono::Duration::minutes(5);
            scan(&*backend, &person.id, &shop, Some(Direction::Out), out).await;
            let len: i64 = redis::cmd("STRLEN")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .expect("STRLEN");
            // The key, its entry and the string's allocation: a string grown by APPEND alone
            // would hold up to as much again in reserve.
            let usage: i64 = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .expect("MEMORY USAGE");
            // The allocator rounds up to its size class (at most a quarter more); the key and
            // its entry take under 160 bytes.
            if usage - len > len / 4 + 160 {
                worst = Some((len, usage));
            }
        }
        assert_eq!(worst, None, "(records, memory) beyond an exact string");
    });
}

#[tokio::test]
async fn idle_expiries_are_refreshed_on_a_new_day_and_set_on_keys_a_write_creates() {
    with_redis!(backend, prefix, {
        let store = store_expiring_after(prefix, Some(chrono::Duration::hours(1))).await;
        let person = resident("R00001", "19900000001");
        let shop = venue("GC-S001", VenueKind::Shop);
        store.put_venue(&shop).await.expect("put venue");
        let keys = Keys::new(prefix).expect("a valid prefix");
        let mut conn = raw_redis().await;
        let at = t("2020-03-10T08:00:00Z");
        scan(&store, &person.id, &shop, Some(Direction::In), at).await;
        let out = at + chrono::Duration::minutes(30);
        scan(&store, &person.id, &shop, Some(Direction::Out), out).await;

        // As if the day's refresh had been yesterday, and the expiries had run down since.
        let daily = [
            keys.person_state(&person.id),
            keys.person_events(&person.id),
            keys.person_visits(&person.id),
            keys.venue_days(&shop.id),
            keys.venue_recent(&shop.id),
            keys.venue_event_days(&shop.id),
        ];
        let _: () = redis::pipe()
            .cmd("HSET")
            .arg(keys.person_state(&person.id))
            .arg("xday")
            .arg("1")
            .cmd("SET")
            .arg(keys.venue_expiry_day(&shop.id))
            .arg("1")
            .query_async(&mut conn)
            .await
            .expect("marks set back");
        for key in &daily {
            let _: i64 = redis::cmd("PEXPIRE")
                .arg(key)
                .arg(60_000)
                .query_async(&mut conn)
                .await
                .expect("PEXPIRE");
        }
        // The next day's scan, through an instance that has not written here "today" (an
        // instance remembers the venues it wrote to on its own day, and skips their marks).
        let next_day = store_expiring_after(prefix, Some(chrono::Duration::hours(1))).await;
        let again = out + chrono::Duration::minutes(30);
        scan(&next_day, &person.id, &shop, Some(Direction::In), again).await;
        for key in &daily {
            let ms = pttl_ms(&mut conn, key).await;
            assert!(ms > 89_000_000, "{key} not refreshed on a new day: {ms} ms");
        }

        // The same day: presence emptied by a check-out comes back with an expiry, and so do
        // a person's events and a venue's guard view and events deleted meanwhile (a day's
        // events and their index go together, as the purge takes them).
        let later = again + chrono::Duration::minutes(30);
        scan(&store, &person.id, &shop, Some(Direction::Out), later).await;
        let exists: i64 = redis::cmd("EXISTS")
            .arg(keys.venue_open(&shop.id))
            .query_async(&mut conn)
            .await
            .expect("EXISTS");
        assert_eq!(exists, 0, "presence is empty after the check-out");
        let _: i64 = redis::cmd("DEL")
            .arg(keys.person_events(&person.id))
            .arg(keys.venue_recent(&shop.id))
            .arg(keys.venue_event_days(&shop.id))
            .arg(keys.venue_event_day(&shop.id, 18_331))
            .query_async(&mut conn)
            .await
            .expect("DEL");
        let last = later + chrono::Duration::minutes(30);
        scan(&store, &person.id, &shop, Some(Direction::In), last).await;
        for key in [
            keys.venue_open(&shop.id),
            keys.person_events(&person.id),
            keys.venue_recent(&shop.id),
            keys.venue_event_days(&shop.id),
            keys.venue_event_day(&shop.id, 18_331),
        ] {
            let ms = pttl_ms(&mut conn, &key).await;
            assert!(ms > 89_000_000, "{key} created without an expiry: {ms} ms");
        }
    });
}

#[tokio::test]
async fn a_store_with_another_idle_expiry_refreshes_again_the_same_day() {
    with_redis!(backend, prefix, {
        let (short, none, long) = (
            store_expiring_after(prefix, Some(chrono::Duration::hours(1))).await,
            store_expiring_after(prefix, None).await,
            store_expiring_after(prefix, Some(chrono::Duration::hours(48))).await,
        );
        let person = resident("R00001", "19900000001");
        let shop = venue("GC-S001", VenueKind::Shop);
        short.put_venue(&shop).await.expect("put venue");
        let keys = Keys::new(prefix).expect("a valid prefix");
        let at = t("2020-03-10T08:00:00Z");
        let minutes = |m| at + chrono::Duration::minutes(m);
        scan(&short, &person.id, &shop, Some(Direction::In), at).await;
        // A store without idle expiries creates the venue's days; then, the same day, one with
        // a longer idle expiry (retention raised, instances restarted one by one).
        scan(&none, &person.id, &shop, Some(Direction::Out), minutes(10)).await;
        scan(&long, &person.id, &shop, Some(Direction::In), minutes(20)).await;
        scan(&long, &person.id, &shop, Some(Direction::Out), minutes(30)).await;

        let mut conn = raw_redis().await;
        for key in [
            keys.person_state(&person.id),
            keys.person_events(&person.id),
            keys.venue_days(&shop.id),
            keys.venue_recent(&shop.id),
            keys.venue_event_days(&shop.id),
            keys.venue_event_day(&shop.id, 18_331),
        ] {
            let ms = pttl_ms(&mut conn, &key).await;
            assert!(ms > 48 * 3_600_000, "{key}: {ms} ms");
        }
    });
}

#[tokio::test]
async fn a_venue_key_of_another_type_is_corrupt_and_leaves_the_person_readable() {
    with_redis!(backend, prefix, {
        let person = resident("R00001", "19900000001");
        let shop = venue("GC-S001", VenueKind::Shop);
        backend.put_venue(&shop).await.expect("put venue");
        let key = Keys::new(prefix).expect("a valid prefix").venue(&shop.id);
        let mut conn = raw_redis().await;
        let _: () = redis::pipe()
            .cmd("DEL")
            .arg(&key)
            .ignore()
            .cmd("RPUSH")
            .arg(&key)
            .arg("not a venue")
            .ignore()
            .query_async(&mut conn)
            .await
            .expect("replaces the venue with a list");

        let (state, venue) = backend
            .person_state_and_venue(&person.id, Some("k"), &shop.id)
            .await
            .expect("the person's state reads");

        assert_eq!(state.version, 0);
        assert!(matches!(venue, Err(StoreError::Corrupt(_))), "{venue:?}");
    });
}

/// `MEMORY USAGE` of a key, and its string's length.
async fn usage_and_length(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> (i64, i64) {
    let (usage, len): (i64, i64) = redis::pipe()
        .cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .cmd("STRLEN")
        .arg(key)
        .query_async(conn)
        .await
        .expect("MEMORY USAGE and STRLEN");
    (usage, len)
}

#[tokio::test]
async fn a_venues_events_go_once_into_day_strings_left_at_their_exact_size_when_the_day_is_over() {
    let _ = now_clear_of_midnight();
    with_redis!(backend, prefix, {
        let shop = venue("GC-S001", VenueKind::Shop);
        let keys = Keys::new(prefix).expect("a valid prefix");
        let mut conn = raw_redis().await;
        let today = midnight_today();
        let day_key = |at: chrono::DateTime<chrono::Utc>| {
            keys.venue_event_day(&shop.id, at.timestamp().div_euclid(86_400))
        };
        let people: Vec<_> = (1..=90).map(|n| rid(&format!("R{n:05}"))).collect();
        // Scans of the two days before today, sent late (offline phones): appended, with the
        // reserve APPEND keeps.
        let mut days = Vec::new();
        for (back, count) in [(2, 40), (1, 90)] {
            let day = today - chrono::Duration::days(back);
            for (i, person) in people.iter().take(count).enumerate() {
                let at = day + chrono::Duration::seconds(i64::try_from(i).expect("small") * 30);
                scan(&*backend, person, &shop, Some(Direction::In), at).await;
            }
            let (usage, len) = usage_and_length(&mut conn, &day_key(day)).await;
            assert!(
                len > i64::try_from(count).expect("small") * 60,
                "{count} events in {len} bytes"
            );
            days.push((day, len, usage));
        }
        // Today's first event makes today's string: the two days before are over.
        let now = chrono::Utc::now();
        scan(&*backend, &people[0], &shop, Some(Direction::Out), now).await;
        for (day, len, usage) in days {
            let (usage_after, len_after) = usage_and_length(&mut conn, &day_key(day)).await;
            assert_eq!(len_after, len, "the day's events are unchanged");
            // The allocator rounds up to its size class (at most a quarter more); the key and
            // its entry take under 160 bytes. Grown by APPEND alone it could hold as much again.
            assert!(
                usage_after - len <= len / 4 + 160,
                "{day}: {len} bytes of events take {usage_after} (took {usage} before)"
            );
        }
        // Every event once, in time order, across the days.
        let events = backend
            .venue_events(
                std::slice::from_ref(&shop.id),
                today - chrono::Duration::days(2),
                now,
            )
            .await
            .expect("reads");
        assert_eq!(events.len(), 131);
        assert!(events.windows(2).all(|w| w[0].scan_time <= w[1].scan_time));
        let kinds: i64 = redis::cmd("EXISTS")
            .arg(keys.venue_events(&shop.id))
            .query_async(&mut conn)
            .await
            .expect("EXISTS");
        assert_eq!(kinds, 0, "no sorted set of events is written any more");
    });
}

#[tokio::test]
async fn events_an_earlier_build_kept_in_a_sorted_set_are_still_read_and_purged() {
    with_redis!(backend, prefix, {
        let person = resident("R00001", "19900000001");
        let shop = venue("GC-S001", VenueKind::Shop);
        let keys = Keys::new(prefix).expect("a valid prefix");
        let mut conn = raw_redis().await;
        let at = t("2020-03-10T08:00:00Z");
        scan(&*backend, &person.id, &shop, Some(Direction::In), at).await;
        // Move the event from this build's day string to a sorted set, as earlier builds kept
        // it: the record without its one-byte length, scored by its time.
        let day_key = keys.venue_event_day(&shop.id, 18_331);
        let framed: Vec<u8> = redis::cmd("GET")
            .arg(&day_key)
            .query_async(&mut conn)
            .await
            .expect("GET");
        assert_eq!(
            usize::from(framed[0]) + 1,
            framed.len(),
            "one framed record"
        );
        let _: () = redis::pipe()
            .cmd("DEL")
            .arg(&day_key)
            .arg(keys.venue_event_days(&shop.id))
            .ignore()
            .cmd("ZADD")
            .arg(keys.venue_events(&shop.id))
            .arg(at.timestamp_millis())
            .arg(&framed[1..])
            .ignore()
            .query_async(&mut conn)
            .await
            .expect("moved");
        let (from, to) = (
            at - chrono::Duration::hours(1),
            at + chrono::Duration::hours(1),
        );
        let found = backend
            .venue_events(std::slice::from_ref(&shop.id), from, to)
            .await
            .expect("reads");
        assert_eq!(found.len(), 1, "the sorted set's event is read");
        assert_eq!(found[0].scan_time, at);

        backend
            .purge(at + chrono::Duration::minutes(1), t("2020-01-01T00:00:00Z"))
            .await
            .expect("purges");
        let left = backend
            .venue_events(std::slice::from_ref(&shop.id), from, to)
            .await
            .expect("reads");
        assert!(left.is_empty(), "and purged: {left:?}");
    });
}

/// `person` checks in at `venue` at `at`, and out at `out` when given.
async fn stay(
    store: &dyn Store,
    person: &checkin::domain::ResidentId,
    venue: &checkin::domain::Venue,
    at: chrono::DateTime<chrono::Utc>,
    out: Option<chrono::DateTime<chrono::Utc>>,
) {
    scan(store, person, venue, Some(Direction::In), at).await;
    if let Some(out) = out {
        scan(store, person, venue, Some(Direction::Out), out).await;
    }
}

#[tokio::test]
async fn a_venues_day_of_visits_is_left_at_its_exact_size_after_its_overnight_visits_close() {
    let _ = now_clear_of_midnight();
    with_redis!(backend, prefix, {
        let compound = venue("GC-C001", VenueKind::ResidentialCompound);
        let keys = Keys::new(prefix).expect("a valid prefix");
        let mut conn = raw_redis().await;
        let today = midnight_today();
        let (first, second) = (
            today - chrono::Duration::days(2),
            today - chrono::Duration::days(1),
        );
        let minutes = |at: chrono::DateTime<chrono::Utc>, m: usize| {
            at + chrono::Duration::minutes(i64::try_from(m).expect("small"))
        };
        let key = keys.venue_day(&compound.id, first.timestamp().div_euclid(86_400));
        let day_people: Vec<_> = (1..=60).map(|n| rid(&format!("R{n:05}"))).collect();
        // Few enough that the string, grown again by APPEND, ends far from full.
        let overnight: Vec<_> = (61..=70).map(|n| rid(&format!("R{n:05}"))).collect();
        for (i, person) in day_people.iter().enumerate() {
            let (at, out) = (minutes(first, 480 + i), minutes(first, 600 + i));
            stay(&*backend, person, &compound, at, Some(out)).await;
        }
        for (i, person) in overnight.iter().enumerate() {
            stay(&*backend, person, &compound, minutes(first, 1200 + i), None).await;
        }
        // The first visit of the next day closes: the first day is over, and left exact.
        let (at, out) = (minutes(second, 300), minutes(second, 310));
        stay(&*backend, &rid("R00200"), &compound, at, Some(out)).await;
        // The overnight visits close the next morning: appended to the first day again.
        for (i, person) in overnight.iter().enumerate() {
            scan(
                &*backend,
                person,
                &compound,
                Some(Direction::Out),
                minutes(second, 420 + i),
            )
            .await;
        }
        // The first visit of today closes: the two days before are left at their exact size.
        let (at, out) = (minutes(today, 1), minutes(today, 2));
        stay(&*backend, &rid("R00201"), &compound, at, Some(out)).await;
        let (usage, len) = usage_and_length(&mut conn, &key).await;
        assert!(len > 70 * 40, "70 visits in {len} bytes");
        // As in the events' test: a size class and under 160 bytes of key and entry.
        assert!(
            usage - len <= len / 4 + 160,
            "{len} bytes of visits take {usage}"
        );
    });
}

#[tokio::test]
async fn a_day_made_by_a_scan_dated_a_little_ahead_still_leaves_the_days_before_exact() {
    let _ = now_clear_of_midnight();
    with_redis!(backend, prefix, {
        let shop = venue("GC-S002", VenueKind::Shop);
        let keys = Keys::new(prefix).expect("a valid prefix");
        let mut conn = raw_redis().await;
        let yesterday = midnight_today() - chrono::Duration::days(1);
        let key = keys.venue_event_day(&shop.id, yesterday.timestamp().div_euclid(86_400));
        let people: Vec<_> = (1..=40).map(|n| rid(&format!("R{n:05}"))).collect();
        for (i, person) in people.iter().enumerate() {
            let at = yesterday + chrono::Duration::seconds(i64::try_from(i).expect("small") * 30);
            scan(&*backend, person, &shop, Some(Direction::In), at).await;
        }
        // A phone whose clock runs ahead sends the first scan dated tomorrow (at UTC midnight
        // that is a matter of seconds): it makes tomorrow's string, and the two days before
        // that (today, not begun here, and yesterday) are over.
        let ahead = midnight_today() + chrono::Duration::days(1) + chrono::Duration::seconds(30);
        scan(&*backend, &people[0], &shop, Some(Direction::Out), ahead).await;
        let (usage, len) = usage_and_length(&mut conn, &key).await;
        assert!(len > 40 * 60, "40 events in {len} bytes");
        assert!(
            usage - len <= len / 4 + 160,
            "{len} bytes of events take {usage}"
        );
    });
}
