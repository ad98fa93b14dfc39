//! The /pi page's API: a data subject proves control of an email or mobile, then looks up,
//! corrects or withdraws what the dealer holds under it.

use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::customers::{
    amendment_request, respond_with_customer, valid_email, valid_mobile, AmendCustomer, Customer,
    WithdrawConsent, Withdrawal,
};
use super::extract::ValidJson;
use super::leads::Lead;
use super::problem::{ApiError, Problem};
use crate::auth::{KeyedHasher, Keys, Principal};
use crate::db::{self, Pool};
use crate::domain::events::Channel;
use crate::domain::{DealerId, Identifier};
use crate::notify::Branding;
use crate::service::{pi, withdrawal};

/// Exactly one of `email` and `mobile`: the identifier to prove control of.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "exactly_one"))]
pub struct StartVerification {
    #[validate(custom(function = "valid_email"))]
    #[schema(format = "email", example = "fred@sea.com")]
    pub email: Option<String>,
    #[validate(custom(function = "valid_mobile"))]
    #[schema(example = "083 656 7788")]
    pub mobile: Option<String>,
}

fn exactly_one(body: &StartVerification) -> Result<(), validator::ValidationError> {
    if body.email.is_some() == body.mobile.is_some() {
        return Err(validator::ValidationError::new("email")
            .with_message("give exactly one of email and mobile".into()));
    }
    Ok(())
}

/// How the code was sent.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeChannel {
    Email,
    Sms,
}

/// A code is on its way. The answer is the same whether or not the dealer holds the identifier.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerificationStarted {
    pub verification_id: String,
    pub channel: CodeChannel,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmCode {
    /// The six digits that were sent.
    #[validate(custom(function = "six_digits"))]
    #[schema(pattern = "^[0-9]{6}$", example = "493817")]
    pub code: String,
}

fn six_digits(code: &str) -> Result<(), validator::ValidationError> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("code").with_message("must be six digits".into()))
    }
}

/// A `subject` token for one dealer and the verified identifier, valid 15 minutes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubjectToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// What the dealer holds under the verified identifier.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PiRecords {
    pub found: bool,
    pub customers: Vec<Customer>,
}

/// Send a one-time code to an email or mobile.
#[utoipa::path(
    operation_id = "start_verification",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id")),
    request_body = StartVerification,
    responses(
        (status = 202, description = "A code is on its way (the same answer whether or not the dealer holds the identifier)", body = VerificationStarted),
        (status = 429, description = "Too many codes sent to this identifier or from this address; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/v1/dealers/{dealer}/pi/verifications")]
pub async fn start_verification(
    req: HttpRequest,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    branding: web::Data<Branding>,
    path: web::Path<String>,
    body: ValidJson<StartVerification>,
) -> Result<HttpResponse, ApiError> {
    let dealer = DealerId::parse(&path).map_err(|_| ApiError::not_found("dealer"))?;
    let identifier = Identifier::from_parts(body.0.email.as_deref(), body.0.mobile.as_deref())
        .map_err(|(field, e)| ApiError::field(field, e.0))?;
    let client = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let started = db::run(&pool, move |conn| {
        pi::start_verification(conn, &hasher, &branding, &dealer, &identifier, &client)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(VerificationStarted {
        verification_id: started.id,
        channel: if started.channel == "sms" {
            CodeChannel::Sms
        } else {
            CodeChannel::Email
        },
        // Whole seconds: the answer for a held and an unknown identifier has one length.
        expires_at: started.expires_at.and_utc().trunc_subsecs(0),
    }))
}

/// Prove control with the code; returns a `subject` token.
#[utoipa::path(
    operation_id = "confirm_verification",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("verification_id" = String, Path, description = "From the start of the verification")),
    request_body = ConfirmCode,
    responses(
        (status = 200, description = "The code is right", body = SubjectToken),
        (status = 410, description = "The code expired, was used, or too many wrong codes were tried", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/v1/dealers/{dealer}/pi/verifications/{verification_id}/confirm")]
pub async fn confirm_verification(
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    keys: web::Data<Keys>,
    path: web::Path<(String, String)>,
    body: ValidJson<ConfirmCode>,
) -> Result<web::Json<SubjectToken>, ApiError> {
    let (dealer, verification_id) = path.into_inner();
    let dealer = DealerId::parse(&dealer).map_err(|_| ApiError::not_found("dealer"))?;
    let code = body.0.code;
    let (token, exp) = db::run(&pool, move |conn| {
        pi::confirm(conn, &hasher, &keys, &dealer, &verification_id, &code)
    })
    .await?;
    Ok(web::Json(SubjectToken {
        token,
        expires_at: DateTime::from_timestamp(exp, 0).unwrap_or_default(),
    }))
}

/// What the dealer holds under the verified identifier.
#[utoipa::path(
    operation_id = "pi_lookup",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id")),
    responses((status = 200, description = "The records held, if any", body = PiRecords)),
)]
#[get("/v1/dealers/{dealer}/pi/records")]
pub async fn pi_lookup(
    principal: Principal,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    branding: web::Data<Branding>,
    path: web::Path<String>,
) -> Result<web::Json<PiRecords>, ApiError> {
    let (dealer, identifier) = principal.authorize_subject(&path)?;
    let actor = principal.actor();
    let found = db::run(&pool, move |conn| {
        pi::lookup(conn, &hasher, &branding, &dealer, &identifier, actor)
    })
    .await?;
    let customers: Vec<Customer> = found
        .into_iter()
        .map(|(customer, leads)| {
            Customer::from_row(customer, Some(leads.into_iter().map(Lead::from).collect()))
        })
        .collect();
    Ok(web::Json(PiRecords {
        found: !customers.is_empty(),
        customers,
    }))
}

/// Correct a record held under the verified identifier.
#[utoipa::path(
    operation_id = "pi_amend",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("customer_id" = i64, Path, description = "The core customer id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if the record changed since")),
    request_body = AmendCustomer,
    responses(
        (status = 200, description = "The record as amended", body = Customer),
        (status = 409, description = "The new email or mobile is on the blacklist", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The record changed since the ETag was read", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/v1/dealers/{dealer}/pi/records/{customer_id}")]
pub async fn pi_amend(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    branding: web::Data<Branding>,
    path: web::Path<(String, i64)>,
    body: ValidJson<AmendCustomer>,
) -> Result<HttpResponse, ApiError> {
    let (dealer, customer_id) = path.into_inner();
    let (dealer, identifier) = principal.authorize_subject(&dealer)?;
    let request = amendment_request(
        &req,
        &principal,
        customer_id,
        body.0,
        Some(identifier),
        Channel::Pi,
    )?;
    respond_with_customer(&pool, &branding, dealer, request).await
}

/// Withdraw consent to process: every record held under the verified identifier is
/// de-identified.
#[utoipa::path(
    operation_id = "pi_withdraw_consent",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id")),
    request_body = WithdrawConsent,
    responses((status = 200, description = "Consent withdrawn (again: nothing more happens)", body = Withdrawal)),
)]
#[post("/v1/dealers/{dealer}/pi/withdraw-consent")]
pub async fn pi_withdraw_consent(
    principal: Principal,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    branding: web::Data<Branding>,
    path: web::Path<String>,
    _body: ValidJson<WithdrawConsent>,
) -> Result<web::Json<Withdrawal>, ApiError> {
    let (dealer, identifier) = principal.authorize_subject(&path)?;
    let actor = principal.actor();
    let done = db::run(&pool, move |conn| {
        withdrawal::withdraw(
            conn,
            &hasher,
            &branding,
            &dealer,
            withdrawal::Scope::Subject(identifier),
            actor,
            Channel::Pi,
        )
    })
    .await?;
    Ok(web::Json(done.into()))
}
