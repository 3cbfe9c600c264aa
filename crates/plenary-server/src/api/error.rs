//! API errors: a status code and a JSON body that says what was wrong, never internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plenary_history::HistoryError;
use plenary_store::StoreError;
use serde::Serialize;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// A stable kind: `unauthorized`, `forbidden`, `not-found`, `bad-request`, `conflict`,
    /// `unavailable`, `internal`.
    pub error: String,
    /// A sentence for the user.
    pub detail: String,
}

#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
        }
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
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "internal",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: kind(self.status).to_owned(),
            detail: self.detail,
        };
        (self.status, Json(body)).into_response()
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
            HistoryError::Store(s) => s.into(),
        }
    }
}
