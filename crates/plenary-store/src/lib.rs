//! Plenary's persistence: for every document, an append-only log of accepted updates (with who,
//! for which delegation, when, and which paragraphs they touched), snapshots of the encoded state
//! at log positions, and named versions.
//!
//! It deals in bytes and log entries only; what the bytes mean (yrs updates and state) is the
//! caller's business, so the store can be tested, benchmarked and replaced on its own.
//!
//! Two implementations keep the same contract, checked by one conformance suite
//! (`tests/conformance.rs`):
//! - [`RedisStore`]: production, and the bus between server nodes: a stream per document, all of
//!   a document's keys under one hash tag (`plenary:{<doc>}:…`) so Redis Cluster can place them.
//! - [`EmbeddedStore`]: a single node with no Redis, on a `redb` file in a data directory.
//!
//! Besides snapshots, a store keeps [`Checkpoint`]s: derived data of a given kind at a log
//! position (`put_checkpoint`, `checkpoint_at_or_before`), so history can start near any point.
//!
//! Both hand out [`LogWatch`]es (every entry appended after a position, in order, without gaps or
//! duplicates, whoever appended it) and [`AwarenessFeed`]s (ephemeral presence between nodes).

mod embedded;
mod entry;
mod error;
mod redis_store;
mod store;

pub use embedded::EmbeddedStore;
pub use entry::{Checkpoint, LogEntry, Snapshot, Version};
pub use error::StoreError;
pub use redis_store::RedisStore;
pub use store::{AwarenessFeed, LogWatch, Store};
