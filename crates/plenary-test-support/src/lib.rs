//! placeholder

mod redis;
pub use redis::RedisServer;
