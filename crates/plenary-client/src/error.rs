use thiserror::Error;

/// What went wrong while connecting to or talking with a y-protocols server.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The server refused the WebSocket upgrade (e.g. 401 for a bad token).
    #[error("server refused the connection with HTTP {status}: {body}")]
    Rejected { status: u16, body: String },
    #[error("websocket error: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("invalid url: {0}")]
    Url(String),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("connection closed{}", .0.as_ref().map(|c| format!(" ({} {})", c.code, c.reason)).unwrap_or_default())]
    Closed(Option<crate::CloseInfo>),
    #[error("could not decode a message from the server: {0}")]
    Decode(String),
}
