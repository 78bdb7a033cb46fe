//! The connection to Redis: one node, or a Redis Cluster.
//!
//! A URL names one node (`redis://[:password@]host:port[/db]`, reconnecting by itself through a
//! [`ConnectionManager`]), or a cluster: `redis+cluster://[:password@]host:port[,host:port…]`,
//! or several `redis://` URLs separated by commas. A cluster connection learns the slot map
//! from any node it is given and routes each command to the master of its key's slot; a
//! script goes to the slot of its first key, and every script of this store keeps its keys in
//! one slot (see [`super::keys`]).

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::TcpSettings;
use redis::{Cmd, IntoConnectionInfo, Pipeline, RedisFuture, Value};

use super::Timeouts;
use crate::storage::StoreError;

/// The scheme that names a cluster.
const CLUSTER_SCHEME: &str = "redis+cluster://";

/// A shared connection to one Redis node or to a cluster. Cheap to clone: clones share it.
#[derive(Clone)]
pub enum Conn {
    /// One node, through a reconnecting multiplexed connection.
    Node(ConnectionManager),
    /// A Redis Cluster, each command routed to its slot's master.
    Cluster(ClusterConnection),
}

impl Conn {
    /// Connects to what `url` names (see the module's documentation).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is invalid or no node answers in time.
    pub async fn open(url: &str, timeouts: Timeouts) -> Result<Self, StoreError> {
        match cluster_nodes(url)? {
            Some(nodes) => {
                let client = ClusterClientBuilder::new(nodes)
                    .tcp_settings(tcp_settings())
                    .connection_timeout(timeouts.connection)
                    .response_timeout(timeouts.response)
                    .retries(1)
                    .min_retry_wait(100)
                    .max_retry_wait(500)
                    .build()
                    .map_err(|e| invalid(&e))?;
                Ok(Self::Cluster(client.get_async_connection().await?))
            }
            None => {
                let info = url
                    .into_connection_info()
                    .map_err(|e| invalid(&e))?
                    .set_tcp_settings(tcp_settings());
                let client = redis::Client::open(info).map_err(|e| invalid(&e))?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeouts.connection))
                    .set_response_timeout(Some(timeouts.response))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(100))
                    .set_max_delay(Duration::from_millis(500));
                Ok(Self::Node(
                    client.get_connection_manager_with_config(config).await?,
                ))
            }
        }
    }

    /// Whether this is a cluster, whose atomic steps each stay within one slot.
    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }
}

/// `TCP_NODELAY` on: a command is sent at once rather than held back (Nagle's algorithm)
/// while an earlier one on the same connection waits for its acknowledgement; each service
/// worker multiplexes its scans' commands over one connection, and Redis sets it on its side.
fn tcp_settings() -> TcpSettings {
    TcpSettings::default().set_nodelay(true)
}

fn invalid(e: &redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("invalid Redis URL: {e}"))
}

/// The node URLs of a cluster URL, or `None` for a single node's URL.
///
/// `redis+cluster://[:password@]h1:p1,h2:p2` gives `redis://[:password@]h1:p1` and
/// `redis://[:password@]h2:p2`; `redis://h1:p1,redis://h2:p2` gives the two URLs.
///
/// # Errors
/// [`StoreError::Unavailable`] for a cluster URL without a node.
pub fn cluster_nodes(url: &str) -> Result<Option<Vec<String>>, StoreError> {
    if let Some(rest) = url.strip_prefix(CLUSTER_SCHEME) {
        let (auth, hosts) = match rest.rsplit_once('@') {
            Some((auth, hosts)) => (format!("{auth}@"), hosts),
            None => (String::new(), rest),
        };
        let nodes: Vec<String> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| format!("redis://{auth}{h}"))
            .collect();
        if nodes.is_empty() {
            return Err(StoreError::Unavailable(
                "invalid Redis URL: a cluster URL names no node".into(),
            ));
        }
        return Ok(Some(nodes));
    }
    if url.contains(',') {
        return Ok(Some(url.split(',').map(|u| u.trim().to_owned()).collect()));
    }
    Ok(None)
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_url_names_each_node_with_the_password() {
        let nodes = cluster_nodes("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001")
            .expect("valid")
            .expect("a cluster");
        assert_eq!(
            nodes,
            ["redis://:pw@10.0.0.1:7000", "redis://:pw@10.0.0.2:7001"]
        );
    }

    #[test]
    fn a_list_of_urls_is_a_cluster_and_one_url_is_a_node() {
        let nodes = cluster_nodes("redis://a:1, redis://b:2")
            .expect("valid")
            .expect("a cluster");
        assert_eq!(nodes, ["redis://a:1", "redis://b:2"]);
        assert_eq!(cluster_nodes("redis://a:1/0").expect("valid"), None);
        assert!(cluster_nodes("redis+cluster://").is_err());
    }
}
