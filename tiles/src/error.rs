//! The server's errors and how they become HTTP responses: a JSON body `{"error": "…"}` with a
//! message for 4xx; for 5xx only "internal error" — the details go to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fengqiao_analytics::AnalyticsError;

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A malformed or unacceptable request (bad tile address, unknown category, bad date, …).
    #[error("{0}")]
    BadRequest(String),
    /// No token, or one the server does not know.
    #[error("{0}")]
    Unauthorized(String),
    /// A known token without the role or scope for this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Nothing to return (an empty tile).
    #[error("no content")]
    NoContent,
    /// A request larger than the server does: a body over the upload limit, or more work than one
    /// request may ask for (the message names the limit).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Every worker busy and the queue full: try again after this many seconds.
    #[error("the server is busy: try again in {0} s")]
    Busy(u64),
    /// The request ran over its time (seconds) and its work was stopped.
    #[error("the request took longer than {0} s and was stopped: narrow it, or try again later")]
    Timeout(u64),
    /// A failure on our side; the message is logged, never sent.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NoContent => StatusCode::NO_CONTENT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Busy(_) | ApiError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::NoContent => return status.into_response(),
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
            }
            _ => {}
        }
        let message = match &self {
            ApiError::Busy(_) | ApiError::Timeout(_) => self.to_string(),
            _ if status.is_server_error() => "internal error".to_string(),
            _ => self.to_string(),
        };
        let mut response = (status, axum::Json(serde_json::json!({ "error": message }))).into_response();
        if let ApiError::Busy(seconds) = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"fengqiao\""),
            );
        }
        response
    }
}

impl From<AnalyticsError> for ApiError {
    fn from(e: AnalyticsError) -> Self {
        match e {
            AnalyticsError::Resolution(_)
            | AnalyticsError::UnknownUnit(_)
            | AnalyticsError::Level(_)
            | AnalyticsError::Period(_)
            | AnalyticsError::Population(_) => ApiError::BadRequest(e.to_string()),
            AnalyticsError::Query { .. } | AnalyticsError::Store(_) | AnalyticsError::CacheFile { .. } => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<crate::TileError> for ApiError {
    fn from(e: crate::TileError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}
