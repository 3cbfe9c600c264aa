//! The server's configuration, as the library sees it (the binary builds it
//! from flags, environment and a config file).

use std::time::Duration;

use plenary_auth::AuthConfig;

/// Everything [`crate::run`] needs besides a listener, a store and a shutdown signal.
#[derive(Clone)]
pub struct ServerConfig {
    pub auth: AuthConfig,
    /// Largest WebSocket message accepted; over it the connection is closed (1009).
    pub max_message_bytes: usize,
    /// Most structs one update may hold; over it the connection is closed
    /// (1009) before the update is decoded. Yjs squashes typing into runs,
    /// so real updates hold far fewer; a crafted frame of a million
    /// one-character structs would hold a room for a second.
    pub max_update_structs: usize,
    /// Frames that may wait for one client before it is dropped as a slow consumer.
    pub outgoing_queue: usize,
    /// How long an empty room stays loaded.
    pub room_idle: Duration,
    /// Snapshot after this many log entries …
    pub snapshot_every: u64,
    /// … or after this long with unsnapshotted entries.
    pub snapshot_interval: Duration,
    /// Identifies this process in the shared log (several nodes on one Redis).
    pub node_id: String,
    /// Whether other nodes share the store (presence then crosses the bus).
    pub multi_node: bool,
    /// How long shutdown waits for rooms to write their final snapshots.
    pub shutdown_grace: Duration,
    /// Directory of the web editor's built files, served at `/`.
    pub web_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_update_structs", &self.max_update_structs)
            .field("outgoing_queue", &self.outgoing_queue)
            .field("room_idle", &self.room_idle)
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Defaults suited to a negotiation room of a few hundred participants.
    pub fn new(auth: AuthConfig) -> Self {
        ServerConfig {
            auth,
            max_message_bytes: 4 * 1024 * 1024,
            max_update_structs: 20_000,
            outgoing_queue: 1024,
            room_idle: Duration::from_secs(30),
            snapshot_every: 500,
            snapshot_interval: Duration::from_secs(60),
            node_id: format!("node-{:08x}", rand::random::<u32>()),
            multi_node: false,
            shutdown_grace: Duration::from_secs(10),
            web_dir: None,
        }
    }
}
