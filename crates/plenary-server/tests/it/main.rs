//! Plenary's integration tests: one binary, real processes and sockets.
//!
//! Each module starts its own `plenary serve` on port 0 (and its own
//! `redis-server` where it needs one) through `plenary-test-support`.

mod comments;
mod history;
mod interop;
mod persistence;
mod policy;
mod support;
mod sync;
