//! Test backends: a store plus what it takes to reopen it and to clean up after it.
//!
//! The embedded store lives in a `TempDir` (removed on drop). The Redis store gets a fresh
//! random key prefix per test, on `CHECKIN_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`), or on the Redis Cluster of `CHECKIN_TEST_REDIS_CLUSTER_URL`
//! (`scripts/test` starts a three-master one); [`Backend::finish`] deletes that prefix's keys
//! with `SCAN` and `DEL` on every master, whether the behaviour passed or panicked. Nothing else
//! in the Redis is touched.

use std::any::Any;
use std::future::Future;
use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use checkin::storage::embedded::EmbeddedStore;
use checkin::storage::redis::{Faults, RedisStore};
use checkin::storage::Store;
use futures::FutureExt;
use tempfile::TempDir;

/// The Redis URL used when `CHECKIN_TEST_REDIS_URL` is not set.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// The Redis the tests use.
pub fn redis_url() -> String {
    std::env::var("CHECKIN_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned())
}

/// The Redis Cluster the cluster tests use: `CHECKIN_TEST_REDIS_CLUSTER_URL`
/// (`redis+cluster://host:port,…`).
///
/// # Panics
/// When it is not set: `scripts/test` starts a cluster and sets it.
pub fn cluster_url() -> String {
    std::env::var("CHECKIN_TEST_REDIS_CLUSTER_URL").unwrap_or_else(|_| {
        panic!(
            "the cluster tests need a Redis Cluster: run scripts/test, which starts one, or set \
             CHECKIN_TEST_REDIS_CLUSTER_URL=redis+cluster://host:port,…"
        )
    })
}

/// A fresh key prefix, unique to one test.
pub fn unique_prefix() -> String {
    format!("checkin-test-{}", uuid::Uuid::new_v4().simple())
}

/// One backend under test. Derefs to the store; [`Backend::arg`] gives a behaviour what it
/// takes, the store or the backend itself.
pub struct Backend {
    store: Arc<dyn Store>,
    kind: Kind,
}

enum Kind {
    Embedded(TempDir),
    Redis { url: String, prefix: String },
}

impl Deref for Backend {
    type Target = dyn Store;
    fn deref(&self) -> &Self::Target {
        self.store.as_ref()
    }
}

/// What a behaviour may take: the store (`&dyn Store`) or the backend (`&Backend`, to reopen).
pub trait BehaviourArg<'a> {
    /// The argument for `backend`.
    fn from_backend(backend: &'a Backend) -> Self;
}

impl<'a> BehaviourArg<'a> for &'a dyn Store {
    fn from_backend(backend: &'a Backend) -> Self {
        backend.store.as_ref()
    }
}

impl<'a> BehaviourArg<'a> for &'a Backend {
    fn from_backend(backend: &'a Backend) -> Self {
        backend
    }
}

impl Backend {
    /// The argument a behaviour takes, by its parameter's type.
    pub fn arg<'a, T: BehaviourArg<'a>>(&'a self) -> T {
        T::from_backend(self)
    }

    /// An embedded store in a new temporary directory.
    pub async fn embedded() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = EmbeddedStore::open(dir.path()).expect("the embedded store opens");
        Self {
            store: Arc::new(store),
            kind: Kind::Embedded(dir),
        }
    }

    /// A Redis store under a new random prefix.
    pub async fn redis() -> Self {
        Self::redis_with_prefix(&unique_prefix()).await
    }

    /// A Redis Cluster store under a new random prefix.
    pub async fn cluster() -> Self {
        Self::open_redis(cluster_url(), &unique_prefix()).await
    }

    /// A Redis store under `prefix`, which must come from [`unique_prefix`].
    pub async fn redis_with_prefix(prefix: &str) -> Self {
        Self::open_redis(redis_url(), prefix).await
    }

    async fn open_redis(url: String, prefix: &str) -> Self {
        let prefix = prefix.to_owned();
        let store = RedisStore::connect(&url, &prefix)
            .await
            .unwrap_or_else(|e| {
                panic!("Redis at {url} is needed (set CHECKIN_TEST_REDIS_URL): {e}")
            });
        Self {
            store: Arc::new(store),
            kind: Kind::Redis { url, prefix },
        }
    }

    /// A second, independent store over the same data: the same directory, or a new
    /// connection with the same prefix.
    pub async fn reopen(&self) -> Box<dyn Store> {
        match &self.kind {
            Kind::Embedded(dir) => {
                Box::new(EmbeddedStore::open(dir.path()).expect("the embedded store reopens"))
            }
            Kind::Redis { url, prefix } => Box::new(
                RedisStore::connect(url, prefix)
                    .await
                    .expect("the Redis store reconnects"),
            ),
        }
    }

    /// The key prefix of a Redis backend.
    ///
    /// # Panics
    /// For the embedded backend.
    pub fn prefix(&self) -> &str {
        match &self.kind {
            Kind::Redis { prefix, .. } => prefix,
            Kind::Embedded(_) => panic!("the embedded backend has no key prefix"),
        }
    }

    /// A second connection to this Redis backend's data with `faults` injected.
    ///
    /// # Panics
    /// For the embedded backend.
    pub async fn reopen_with_faults(&self, faults: Faults) -> RedisStore {
        match &self.kind {
            Kind::Redis { url, prefix } => RedisStore::connect(url, prefix)
                .await
                .expect("the Redis store reconnects")
                .with_faults(faults),
            Kind::Embedded(_) => panic!("faults are injected into Redis stores only"),
        }
    }

    /// Cleans up, then passes the behaviour's panic on, if any.
    pub async fn finish(self, outcome: Result<(), Box<dyn Any + Send>>) {
        let Self { store, kind } = self;
        drop(store);
        match kind {
            Kind::Embedded(dir) => drop(dir),
            Kind::Redis { url, prefix } => delete_prefix(&url, &prefix).await,
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Runs a behaviour, catching its panic so that cleanup still happens.
pub async fn catch(behaviour: impl Future<Output = ()>) -> Result<(), Box<dyn Any + Send>> {
    AssertUnwindSafe(behaviour).catch_unwind().await
}

/// A plain connection to the test Redis, for checks and cleanup behind the store's back.
pub async fn raw_redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .expect("a valid Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis is reachable")
}

/// Every key under `prefix`.
pub async fn keys_under(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> Vec<String> {
    let mut cursor: u64 = 0;
    let mut all = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .expect("SCAN works");
        all.extend(keys);
        if next == 0 {
            return all;
        }
        cursor = next;
    }
}

/// The URLs of the nodes to clean: the one node, or every master of a cluster (found with
/// `CLUSTER NODES` from the first node named).
pub async fn nodes_of(url: &str) -> Vec<String> {
    let Ok(Some(seeds)) = checkin::storage::redis::conn::cluster_nodes(url) else {
        return vec![url.to_owned()];
    };
    let Some(seed) = seeds.first() else {
        return Vec::new();
    };
    let Ok(mut conn) = connect(seed).await else {
        return seeds;
    };
    let Ok(listing) = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async::<String>(&mut conn)
        .await
    else {
        return seeds;
    };
    listing
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let addr = fields.get(1)?.split('@').next()?;
            fields
                .get(2)?
                .contains("master")
                .then(|| format!("redis://{addr}"))
        })
        .collect()
}

async fn connect(url: &str) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await
}

/// Deletes every key under `prefix` (and only those), one key per command so that it works
/// on a cluster's node too.
async fn delete_prefix(url: &str, prefix: &str) {
    assert!(
        prefix.starts_with("checkin-test-"),
        "refusing to delete {prefix:?}"
    );
    for node in nodes_of(url).await {
        let Ok(mut conn) = connect(&node).await else {
            eprintln!("could not clean up Redis prefix {prefix} on {node}");
            continue;
        };
        let keys = keys_under(&mut conn, prefix).await;
        for chunk in keys.chunks(500) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.cmd("DEL").arg(key).ignore();
            }
            let _: Result<(), _> = pipe.query_async(&mut conn).await;
        }
    }
}
