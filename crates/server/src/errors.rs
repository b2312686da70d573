//! One table of error kinds. Every failure the API reports is an [`ApiError`] carrying a [`Code`];
//! the code alone decides the Oz `error_code` and the HTTP status, so no handler invents a status.
//!
//! The body is always `{"error_code": N, "error_message": "...", "details": ...}` (Oz API §4.7).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

/// Every kind of failure, with its Oz `error_code` and HTTP status (see [`Code::oz`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 0 / 500: a bug or an unexpected server-side failure (database down, disk full).
    Internal,
    /// 1 / 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 2 / 501: documented by Oz but not implemented here.
    NotRealized,
    /// 3 / 400: malformed JSON, missing required field, wrong body structure.
    InvalidStructure,
    /// 3 / 408: the request's body did not arrive whole within `http_body_timeout_secs`.
    RequestTimeout,
    /// 4 / 400: a value is not acceptable (unknown tag, unknown role, bad filter, corrupt media).
    InvalidValue,
    /// 4 / 409: a unique value is already taken (user email).
    Conflict,
    /// 4 / 413: a file or the whole request is over a configured limit.
    TooLarge,
    /// 5 / 400: a parameter has the wrong type (non-UUID id, non-number offset).
    InvalidType,
    /// 5 / 415: an uploaded file is of no format the server reads.
    UnsupportedMedia,
    /// 6 / 401: no `X-Forensic-Access-Token` header.
    AuthNotProvided,
    /// 7 / 401: the token (or the credentials, or the refresh token) is unknown.
    AuthInvalid,
    /// 8 / 401: the token has expired.
    AuthExpired,
    /// 9 / 403: the caller's role does not allow this action on this object.
    Forbidden,
    /// 9 / 429: too many failed logins for this account or address.
    TooManyAttempts,
    /// 10 / 404: no such object — or an object the caller must not know exists (another company's).
    NotFound,
    /// 11 / 503: an external tool needed to validate media (ffmpeg) failed to run.
    ExternalService,
}

impl Code {
    /// The Oz `error_code` and the HTTP status of this kind.
    pub fn oz(self) -> (u16, StatusCode) {
        use Code::*;
        match self {
            Internal => (0, StatusCode::INTERNAL_SERVER_ERROR),
            MethodNotAllowed => (1, StatusCode::METHOD_NOT_ALLOWED),
            NotRealized => (2, StatusCode::NOT_IMPLEMENTED),
            InvalidStructure => (3, StatusCode::BAD_REQUEST),
            RequestTimeout => (3, StatusCode::REQUEST_TIMEOUT),
            InvalidValue => (4, StatusCode::BAD_REQUEST),
            Conflict => (4, StatusCode::CONFLICT),
            TooLarge => (4, StatusCode::PAYLOAD_TOO_LARGE),
            InvalidType => (5, StatusCode::BAD_REQUEST),
            UnsupportedMedia => (5, StatusCode::UNSUPPORTED_MEDIA_TYPE),
            AuthNotProvided => (6, StatusCode::UNAUTHORIZED),
            AuthInvalid => (7, StatusCode::UNAUTHORIZED),
            AuthExpired => (8, StatusCode::UNAUTHORIZED),
            Forbidden => (9, StatusCode::FORBIDDEN),
            TooManyAttempts => (9, StatusCode::TOO_MANY_REQUESTS),
            NotFound => (10, StatusCode::NOT_FOUND),
            ExternalService => (11, StatusCode::SERVICE_UNAVAILABLE),
        }
    }

    /// All kinds, for the documentation table.
    pub const ALL: [Code; 17] = [
        Code::Internal,
        Code::MethodNotAllowed,
        Code::NotRealized,
        Code::InvalidStructure,
        Code::RequestTimeout,
        Code::InvalidValue,
        Code::Conflict,
        Code::TooLarge,
        Code::InvalidType,
        Code::UnsupportedMedia,
        Code::AuthNotProvided,
        Code::AuthInvalid,
        Code::AuthExpired,
        Code::Forbidden,
        Code::TooManyAttempts,
        Code::NotFound,
        Code::ExternalService,
    ];
}

/// An error as the API reports it.
#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub details: Value,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: Value::Null,
        }
    }
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
    /// The answer for an object named by id that the caller may not know about: the same whether
    /// it does not exist or belongs to another company, so ids cannot be probed across tenants.
    pub fn unknown_object() -> Self {
        ApiError::new(Code::NotFound, "Object not found")
    }
    pub fn not_found(what: &str) -> Self {
        ApiError::new(Code::NotFound, format!("{what} not found"))
    }
    pub fn forbidden() -> Self {
        ApiError::new(Code::Forbidden, "You have no permission for this action")
    }
    pub fn structure(message: impl Into<String>) -> Self {
        ApiError::new(Code::InvalidStructure, message)
    }
    pub fn value(message: impl Into<String>) -> Self {
        ApiError::new(Code::InvalidValue, message)
    }
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {err}");
        ApiError::new(Code::Internal, "Unknown server side error occurred")
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error_code: u16,
    error_message: &'a str,
    details: &'a Value,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (error_code, status) = self.code.oz();
        let body = Body {
            error_code,
            error_message: &self.message,
            details: &self.details,
        };
        (status, axum::Json(body)).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return ApiError::new(Code::Conflict, "A unique value is already taken");
            }
        }
        ApiError::internal(e)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::internal(e)
    }
}

/// How the engine's media errors are reported for uploads.
impl From<faceproof_engine::EngineError> for ApiError {
    fn from(e: faceproof_engine::EngineError) -> Self {
        let code = match e.code() {
            "unsupported_format" => Code::UnsupportedMedia,
            "unreadable" => Code::InvalidValue,
            "too_large" => Code::TooLarge,
            "tool" => Code::ExternalService,
            _ => return ApiError::internal(e),
        };
        ApiError::new(code, e.to_string()).with_details(serde_json::json!({ "reason": e.code() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_oz_table() {
        assert_eq!(Code::InvalidStructure.oz().0, 3);
        assert_eq!(Code::AuthNotProvided.oz(), (6, StatusCode::UNAUTHORIZED));
        assert_eq!(Code::NotFound.oz(), (10, StatusCode::NOT_FOUND));
        for c in Code::ALL {
            assert!(c.oz().1.is_client_error() || c.oz().1.is_server_error());
        }
    }
}
