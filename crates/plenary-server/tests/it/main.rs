//! Plenary's integration tests: one binary, real processes and sockets.
//!
//! Each module starts its own `plenary serve` on port 0 (and its own
//! `redis-server` where it needs one) through `plenary-test-support`.

// A test that cannot set up or observe what it needs has nothing better to
// do than fail loudly: unwrap is the point here.
#![allow(clippy::unwrap_used)]

mod attacks;
mod budget;
mod cli;
mod comments;
mod edges;
mod exports;
mod history;
mod hygiene;
mod interop;
mod keys;
mod limits;
mod metrics;
mod persistence;
mod policy;
mod proposals;
mod refusals;
mod revision;
mod sessions;
mod support;
mod sync;
