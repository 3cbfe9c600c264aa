//! Where the store's commands go: one Redis, or a Redis Cluster.
//!
//! `--redis` names either one server (`redis://host:port/db`) or a cluster, by its seed nodes:
//! `redis+cluster://host:port,host:port` or several `redis://` URLs joined by commas. A cluster
//! client learns the rest of the cluster from any seed that answers and follows slots as they
//! move (MOVED, ASK, a replica promoted). The store sends every command through [`Conn`], which
//! is either kind, so its commands and scripts are written once: every key of a document shares
//! one hash slot, and the only command touching a key outside it (`plenary:docs`) is sent alone.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
use redis::{Client, Cmd, FromRedisValue, Pipeline, RedisError, RedisFuture, Value};

use super::{CONNECT_TIMEOUT, OP_TIMEOUT, with_timeout};
use crate::StoreError;

/// The scheme that names a cluster by its seed nodes.
const CLUSTER_SCHEME: &str = "redis+cluster://";

/// The query parameter that asks for appends to be acknowledged only once that many replicas
/// hold them (`WAIT`), so a replica promoted after a crash has everything acknowledged.
const REPLICAS_PARAM: &str = "replicas";
/// How long an append waits for its replicas before it counts as failed.
pub(super) const REPLICA_WAIT_MS: u64 = 2_000;

/// What `--redis` named.
pub(super) struct Target {
    /// Replicas that must hold an append before it is acknowledged (0: the master alone).
    pub(super) replicas: u32,
    /// A client per node to reach directly: the one server, or each cluster seed (pub/sub
    /// subscribes on one node; a cluster forwards every `PUBLISH` to every node).
    pub(super) nodes: Vec<Client>,
    cluster: Option<ClusterClient>,
}

impl Target {
    /// Parses `spec`. [`StoreError::InvalidInput`] if it names no usable Redis.
    pub(super) fn parse(spec: &str) -> Result<Target, StoreError> {
        let invalid = || StoreError::InvalidInput("not a usable Redis URL".to_owned());
        let (spec, replicas) = take_replicas(spec.trim())?;
        let spec = spec.as_str();
        let (seeds, cluster): (Vec<String>, bool) =
            if let Some(rest) = spec.strip_prefix(CLUSTER_SCHEME) {
                let seeds = rest
                    .split(',')
                    .map(|seed| format!("redis://{}", seed.trim()))
                    .collect();
                (seeds, true)
            } else {
                let seeds: Vec<String> = spec.split(',').map(|s| s.trim().to_owned()).collect();
                let cluster = seeds.len() > 1;
                (seeds, cluster)
            };
        if seeds
            .iter()
            .any(|seed| seed.is_empty() || seed == "redis://")
        {
            return Err(invalid());
        }
        let nodes = seeds
            .iter()
            .map(|seed| Client::open(seed.as_str()).map_err(|_| invalid()))
            .collect::<Result<Vec<_>, _>>()?;
        let cluster = if cluster {
            let client = ClusterClientBuilder::new(seeds)
                .connection_timeout(CONNECT_TIMEOUT)
                .response_timeout(OP_TIMEOUT)
                // A failover takes the cluster some seconds: retry within the operation deadline.
                .retries(6)
                .min_retry_wait(50)
                .max_retry_wait(1_000)
                .build()
                .map_err(|_| invalid())?;
            Some(client)
        } else {
            None
        };
        Ok(Target {
            replicas,
            nodes,
            cluster,
        })
    }

    /// Whether this is a cluster.
    #[cfg(test)]
    fn is_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// Opens the shared command connection. [`StoreError::Unavailable`] if nothing answers.
    pub(super) async fn connect(&self) -> Result<Conn, StoreError> {
        if let Some(cluster) = &self.cluster {
            let conn = with_timeout(cluster.get_async_connection()).await?;
            return Ok(Conn::Cluster(conn));
        }
        let client = self
            .nodes
            .first()
            .ok_or_else(|| StoreError::InvalidInput("no Redis named".to_owned()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = with_timeout(ConnectionManager::new_with_config(client.clone(), config)).await?;
        Ok(Conn::Single(conn))
    }
}

/// Splits `replicas=N` off the query string of `spec` (the rest of the query stays for the
/// `redis` crate).
fn take_replicas(spec: &str) -> Result<(String, u32), StoreError> {
    let Some((base, query)) = spec.split_once('?') else {
        return Ok((spec.to_owned(), 0));
    };
    let mut replicas = 0;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some((REPLICAS_PARAM, n)) => {
                replicas = n.parse().map_err(|_| {
                    StoreError::InvalidInput(format!("{REPLICAS_PARAM}= takes a whole number"))
                })?;
            }
            _ => rest.push(pair),
        }
    }
    if rest.is_empty() {
        Ok((base.to_owned(), replicas))
    } else {
        Ok((format!("{base}?{}", rest.join("&")), replicas))
    }
}

/// The shared, multiplexed command connection: cheap to clone, reconnects by itself.
#[derive(Clone)]
pub(super) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Conn {
    /// Runs `pipeline` on one connection to the master that holds `key` (on one Redis, the
    /// connection): what `WAIT` needs, since it counts the writes made on its own connection.
    pub(super) async fn on_master_of<T: FromRedisValue>(
        &mut self,
        key: &str,
        pipeline: Pipeline,
    ) -> Result<T, RedisError> {
        match self {
            Conn::Single(conn) => pipeline.query_async(conn).await,
            Conn::Cluster(conn) => {
                let count = pipeline.len();
                let route = Route::with_key(key, SlotAddr::Master);
                let values = conn
                    .route_pipeline(
                        pipeline,
                        0,
                        count,
                        SingleNodeRoutingInfo::SpecificNode(route),
                    )
                    .await?;
                Ok(redis::from_redis_value(Value::Array(values))?)
            }
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(conn) => conn.req_packed_command(cmd),
            Conn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(conn) => conn.get_db(),
            Conn::Cluster(conn) => conn.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_is_one_server_and_seeds_are_a_cluster() -> Result<(), StoreError> {
        let one = Target::parse("redis://127.0.0.1:6379/")?;
        assert!(!one.is_cluster());
        assert_eq!(one.nodes.len(), 1);
        let seeds = Target::parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001")?;
        assert!(seeds.is_cluster());
        assert_eq!(seeds.nodes.len(), 2);
        let single_seed = Target::parse("redis+cluster://127.0.0.1:7000")?;
        assert!(single_seed.is_cluster());
        let urls = Target::parse("redis://127.0.0.1:7000, redis://127.0.0.1:7001")?;
        assert!(urls.is_cluster());
        assert_eq!(urls.replicas, 0);
        Ok(())
    }

    #[test]
    fn replicas_to_wait_for_ride_on_the_query() -> Result<(), StoreError> {
        let waiting = Target::parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001?replicas=1")?;
        assert_eq!((waiting.replicas, waiting.nodes.len()), (1, 2));
        let single = Target::parse("redis://127.0.0.1:6379/0?replicas=2")?;
        assert_eq!(single.replicas, 2);
        assert!(matches!(
            Target::parse("redis://127.0.0.1:6379/?replicas=many"),
            Err(StoreError::InvalidInput(_))
        ));
        Ok(())
    }

    #[test]
    fn nonsense_is_refused() {
        for spec in [
            "",
            "http://x",
            "redis+cluster://",
            "redis+cluster://a:1,,b:2",
            "redis://a:1,",
        ] {
            assert!(
                matches!(Target::parse(spec), Err(StoreError::InvalidInput(_))),
                "{spec:?}"
            );
        }
    }
}
