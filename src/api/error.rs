//! The one place where errors become HTTP responses: a JSON body `{"code", "message"}` and the
//! right status. Server errors are logged in full and hidden from the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::AuthError;
use crate::extract::ExtractError;
use crate::filing::FilingError;
use crate::intake::IntakeError;
use crate::store::StoreError;
use crate::suggest::SuggestError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// Well-formed, but more than the service will take on (too slow to read).
    #[error("{0}")]
    Unprocessable(String),
    /// One field of the request is wrong; the answer names it.
    #[error("{field}: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("the upload is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error(
        "the file holds {rows} rows; at most {limit} are imported at once (journaliser import cases takes more)"
    )]
    TooManyRows { rows: usize, limit: usize },
    /// Some rows of an import are wrong, so none is imported; `report` says what each row
    /// would have done (`views::import_report`).
    #[error("nothing was imported: rows with errors: {errors}")]
    InvalidRows { errors: usize, report: Value },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Anything the client cannot fix. The detail goes to the log only.
    #[error("{0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Auth(AuthError::Missing) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Auth(AuthError::Invalid) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::Auth(AuthError::NotAdmin) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Auth(AuthError::RateLimited(_)) => {
                (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
            }
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            ApiError::InvalidField { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::TooManyRows { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_many_rows"),
            ApiError::InvalidRows { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_rows"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                "internal error; the server log has the details".to_string()
            }
            other => other.to_string(),
        };
        let mut body = json!({"code": code, "message": message});
        if let ApiError::InvalidField { field, reason } = &self {
            body["field"] = json!(field);
            body["reason"] = json!(reason);
        }
        if let ApiError::InvalidRows { report, .. } = &self {
            for key in ["connector", "counts", "rows"] {
                body[key] = report[key].clone();
            }
        }
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::Auth(AuthError::RateLimited(seconds)) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        ApiError::Auth(self).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => ApiError::Conflict(message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<SuggestError> for ApiError {
    fn from(e: SuggestError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<crate::newcase::ProposalError> for ApiError {
    fn from(e: crate::newcase::ProposalError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<crate::newcase::create::CreateError> for ApiError {
    fn from(e: crate::newcase::create::CreateError) -> Self {
        use crate::newcase::create::CreateError;
        match e {
            CreateError::Store(e) => e.into(),
            CreateError::Index(e) => ApiError::Internal(e.to_string()),
            invalid => ApiError::BadRequest(invalid.to_string()),
        }
    }
}

impl From<crate::import::ImportError> for ApiError {
    fn from(e: crate::import::ImportError) -> Self {
        use crate::import::ImportError;
        match e {
            ImportError::Store(e) => e.into(),
            ImportError::Index(e) => ApiError::Internal(e.to_string()),
            invalid => ApiError::BadRequest(invalid.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("task failed: {e}"))
    }
}

impl From<ExtractError> for ApiError {
    fn from(e: ExtractError) -> Self {
        match e {
            ExtractError::Malformed(message) => ApiError::BadRequest(message),
            ExtractError::Protected(message) => ApiError::Unprocessable(message),
            ExtractError::Unsupported => {
                ApiError::UnsupportedMediaType("unsupported content type".into())
            }
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Extract(e) => e.into(),
            timed_out @ IntakeError::TimedOut(_) => ApiError::Unprocessable(timed_out.to_string()),
            IntakeError::Store(e) => e.into(),
            IntakeError::Task(e) => e.into(),
        }
    }
}

impl From<crate::autofile::rules::RuleError> for ApiError {
    fn from(e: crate::autofile::rules::RuleError) -> Self {
        ApiError::InvalidField {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl From<crate::autofile::AutofileError> for ApiError {
    fn from(e: crate::autofile::AutofileError) -> Self {
        match e {
            crate::autofile::AutofileError::Store(e) => e.into(),
            crate::autofile::AutofileError::Suggest(e) => e.into(),
            crate::autofile::AutofileError::Filing(e) => e.into(),
        }
    }
}

impl From<FilingError> for ApiError {
    fn from(e: FilingError) -> Self {
        match e {
            FilingError::ItemNotFound => ApiError::NotFound("item"),
            FilingError::CaseNotFound => ApiError::NotFound("case"),
            FilingError::Invalid(message) => ApiError::BadRequest(message),
            FilingError::NotADocumentOfCase(message) => ApiError::Unprocessable(message),
            FilingError::FilingNotFound => ApiError::NotFound("filing"),
            FilingError::Conflict(message) => ApiError::Conflict(message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Query strings whose rejections use our error format instead of axum's plain text.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::BadRequest(rejection.body_text())),
        }
    }
}

/// JSON bodies whose rejections use our error format instead of axum's plain text.
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::BadRequest(rejection.body_text())),
        }
    }
}
