//! Shared helpers for Plenary's integration tests, written once: a `plenary
//! serve` process on port 0 with its own data directory, a throw-away
//! `redis-server`, tokens signed with the test secret, and Rust Yjs clients
//! (re-exported from `plenary-client`).
//!
//! Everything here is real: real processes, real sockets, real Redis. Helpers
//! panic on setup failure, since a test without its server cannot say
//! anything useful.

mod redis;
mod server;
mod tokens;

pub use plenary_client::{Client, ClientOptions, CloseInfo, Event};
pub use redis::{RedisCluster, RedisServer};
pub use server::{ServerOptions, TestServer};
pub use tokens::{TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, Who, sign};
