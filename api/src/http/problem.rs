//! The service's error answered as `application/problem+json` (RFC 9457): the status, the
//! body and its headers. Anything unexpected becomes an opaque 500 whose cause is logged, never
//! returned.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, stable for programs to match on.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// For validation failures: each field that was refused and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For a wrong one-time code: how many attempts remain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
}

pub use crate::error::{ApiError, FieldError};

impl ApiError {
    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::Gone(_) => "gone",
            ApiError::PreconditionFailed(_) => "precondition-failed",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::WrongCode { .. } => "wrong-code",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Validation(_) => "validation",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            ApiError::BadRequest(d)
            | ApiError::NotFound(d)
            | ApiError::Conflict(d)
            | ApiError::Gone(d)
            | ApiError::PreconditionFailed(d)
            | ApiError::TooManyRequests { detail: d, .. }
            | ApiError::UnsupportedMediaType(d) => d.clone(),
            ApiError::WrongCode { attempts_left } => {
                format!("the code is wrong; {attempts_left} attempts left")
            }
            ApiError::Unauthorized(d) => d.clone(),
            ApiError::Forbidden => "this token's role may not use this operation".into(),
            ApiError::MethodNotAllowed { allow } => {
                format!("this path answers only {allow}")
            }
            ApiError::PayloadTooLarge { detail } => detail.clone(),
            ApiError::Validation(errors) => match errors.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                _ => format!("{} fields were refused", errors.len()),
            },
            ApiError::Unavailable => "the database is unavailable; try again shortly".into(),
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".into(),
        };
        Problem {
            problem_type: format!("urn:popia-gateway:problem:{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: match self {
                ApiError::Validation(errors) => Some(errors.clone()),
                ApiError::WrongCode { .. } => Some(vec![FieldError::new("code", "is wrong")]),
                _ => None,
            },
            attempts_left: match self {
                ApiError::WrongCode { attempts_left } => Some(*attempts_left),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::WrongCode { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            // The cause goes to the log only. Database errors are logged by their message,
            // never their details, which can quote the values of a row.
            tracing::error!(error = %crate::observability::redact_error(cause), "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            ApiError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            _ => {}
        }
        response.json(self.to_problem())
    }
}
