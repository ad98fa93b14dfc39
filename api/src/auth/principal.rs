use std::future::{ready, Ready};

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use super::claims::Role;
use super::keys::Keys;
use crate::domain::events::Actor;
use crate::domain::Identifier;
use crate::error::ApiError;

/// The verified caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub role: Role,
    pub sub: String,
    /// The dealers this token is scoped to (every dealer for an admin).
    pub dealers: Vec<String>,
    /// For a `subject`: the email or mobile they proved control of.
    pub identifier: Option<Identifier>,
    /// When the token expires (seconds since the epoch).
    pub expires_at: i64,
}

impl Principal {
    /// Who to record as having made a change.
    pub fn actor(&self) -> Actor {
        Actor {
            role: self.role.as_str().to_owned(),
            sub: self.sub.clone(),
        }
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Principal, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let keys = req
        .app_data::<web::Data<Keys>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("keys are not configured")))?;
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("an `Authorization: Bearer` token is required".into())
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })?;
    Principal::from_token(keys, token)
}

impl Principal {
    /// The caller a token stands for, checked: the API reads it from `Authorization`, the
    /// hosted /pi page from its session cookie.
    pub fn from_token(keys: &Keys, token: &str) -> Result<Principal, ApiError> {
        let claims = keys.verify(token).map_err(|reason| {
            tracing::info!(%reason, "token refused");
            ApiError::Unauthorized("the bearer token is invalid or expired".into())
        })?;
        let identifier = match (&claims.role, &claims.pi) {
            (Role::Subject, Some(pi)) => Some(
                Identifier::from_parts(pi.email.as_deref(), pi.mobile.as_deref()).map_err(
                    |_| ApiError::Unauthorized("the subject token names no identifier".into()),
                )?,
            ),
            (Role::Subject, None) => {
                return Err(ApiError::Unauthorized(
                    "the subject token names no identifier".into(),
                ))
            }
            _ => None,
        };
        Ok(Principal {
            role: claims.role,
            sub: claims.sub,
            dealers: claims.dealers,
            identifier,
            expires_at: claims.exp,
        })
    }
}
