use std::path::PathBuf;

use thiserror::Error;

/// What stopped a benchmark run.
#[derive(Debug, Error)]
pub enum BenchError {
    #[error("could not start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("invalid server url {0:?}: {1}")]
    Url(String, String),
    #[error("no client could connect to {url}: {reason}")]
    NoConnection { url: String, reason: String },
    #[error("the server did not sync document {0} in time")]
    SyncTimeout(String),
    #[error("could not encode the JSON report: {0}")]
    Json(serde_json::Error),
    #[error("could not write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("cannot read the memory of process {0} (is it running on this machine?)")]
    NoProcess(u32),
    #[error("could not create the documents: {0}")]
    Create(String),
    #[error("invalid arguments: {0}")]
    Args(String),
}
