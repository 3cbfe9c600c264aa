//! API errors: a status code and a JSON body that says what was wrong, never internals.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use plenary_history::HistoryError;
use plenary_store::StoreError;
use serde::Serialize;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// A stable kind: `unauthorized`, `forbidden`, `not-found`, `method-not-allowed`,
    /// `bad-request`, `conflict`, `too-large`, `too-many-requests`, `unavailable`, `internal`.
    pub error: String,
    /// A sentence for the user.
    pub detail: String,
}

#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    detail: String,
    /// Seconds to wait before asking again (`Retry-After`), for 429 and 503.
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }
    /// Asks the client to come back after `seconds` (`Retry-After`).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
    pub fn too_many_requests(detail: impl Into<String>, seconds: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, detail).retry_after(seconds)
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }
}

fn kind(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad-request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::CONFLICT => "conflict",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        StatusCode::TOO_MANY_REQUESTS => "too-many-requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "bad-request",
        _ => "internal",
    }
}

/// Error bodies longer than this are not read back; the status's own phrase stands in.
const MAX_PLAIN_ERROR: usize = 4 * 1024;

/// A layer for the whole router: every error response (4xx, 5xx) leaves in the JSON error shape.
/// Handlers of the API build [`ApiError`]s; what they do not build (axum's extractor rejections
/// for a bad path, query or JSON body, 405 for a method, 404 for an unknown route or file, the
/// WebSocket handshake's refusals) is plain text or empty, and is rewrapped here, its text
/// becoming `detail`.
pub(crate) async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_PLAIN_ERROR)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let detail = text.unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_lowercase()
    });
    let mut rewrapped = ApiError::new(status, detail).into_response();
    // Keep what the original said besides its body (`Allow` on a 405, `WWW-Authenticate`, …).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewrapped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewrapped
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: kind(self.status).to_owned(),
            detail: self.detail,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the document store is unavailable; try again shortly",
            ),
            StoreError::DuplicateVersion { name, .. } => {
                Self::conflict(format!("a version named {name:?} already exists"))
            }
            StoreError::InvalidInput(d) => Self::bad_request(d),
            StoreError::BeyondLog { seq, last, .. } => Self::not_found(format!(
                "position {seq} is beyond the end of the history (last is {last})"
            )),
            other => {
                tracing::error!(error = %other, "store failure in the API");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the document store failed",
                )
            }
        }
    }
}

impl From<HistoryError> for ApiError {
    fn from(e: HistoryError) -> Self {
        match e {
            HistoryError::NoDocument(_)
            | HistoryError::NoVersion(_)
            | HistoryError::BeyondLog { .. } => Self::not_found(e.to_string()),
            HistoryError::Corrupt { .. } => {
                tracing::error!(error = %e, "history replay failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the stored history of this document is damaged",
                )
            }
            HistoryError::Preparing { retry_after_s } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).retry_after(retry_after_s)
            }
            HistoryError::Store(s) => s.into(),
        }
    }
}
