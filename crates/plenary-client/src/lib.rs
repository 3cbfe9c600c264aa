//! A Rust Yjs client that speaks y-protocols over WebSocket, as a stock
//! `y-websocket` provider does.
//!
//! One crate serves the integration tests, the load generator (`plenary
//! bench`) and the CLI, so that all three exercise the server exactly as an
//! outside Yjs client would: the client keeps its own `yrs::Doc`, sends every
//! local transaction as an update, answers sync step 1, applies what the
//! server sends, and keeps an `Awareness` for presence.
//!
//! The client is deliberately unprivileged: it has no knowledge of Plenary's
//! schema or policy, so tests built on it see only what the wire shows.

mod client;
mod error;
mod frames;

pub use client::{Client, ClientOptions, CloseInfo, Event};
pub use error::ClientError;
pub use frames::{MessageKind, classify, encode_awareness, encode_sync_step1, encode_update};
