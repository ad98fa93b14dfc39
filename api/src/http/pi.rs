//! The /pi page's API: a data subject proves control of an email or mobile, then looks up,
//! corrects or withdraws what the dealer holds under it.

use actix_web::http::header;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::blocking;
use super::client_address::client_address;
use super::customers::{amended, amendment_request, AmendCustomer, WithdrawConsent, Withdrawal};
use super::extract::{valid_email, valid_mobile, valid_person_name, ValidJson};
use super::idempotency::refer;
use super::problem::{ApiError, Problem};
use crate::auth::{KeyedHasher, Keys, Principal};
use crate::db::customers::CustomerRow;
use crate::db::idempotency::reference;
use crate::db::leads::LeadRow;
use crate::db::Pool;
use crate::domain::events::Origin;
use crate::domain::{DealerId, Identifier};
use crate::notify::Branding;
use crate::service::leads::LeadStatus;
use crate::service::pi::{Purpose, Sender, Subject};
use crate::service::third_parties::{self, Access};
use crate::service::{amendment, leads, pi, withdrawal};

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

impl StartVerification {
    /// The identifier the body names, normalised.
    fn identifier(&self) -> Result<Identifier, ApiError> {
        Identifier::from_parts(self.email.as_deref(), self.mobile.as_deref())
            .map_err(|(field, e)| ApiError::field(field, e.0))
    }
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
    pub customers: Vec<PiCustomer>,
    /// The identifier is on the dealer's do-not-contact list: the person withdrew consent
    /// earlier, and that entry is all that remains of them.
    pub blacklisted: bool,
    /// Who has had access to the dealer's data (POPIA s23(1)(b)): every operator and system that
    /// pulled its blacklists or followed its change feed, latest access first. Never data
    /// subjects; empty when nothing is held under the identifier (no records, not blacklisted).
    pub third_parties: Vec<ThirdParty>,
}

/// A record as its data subject sees it: their own details, and their leads with the
/// salesperson by first name only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PiCustomer {
    /// The core customer id.
    pub id: i64,
    pub dealer_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Trimmed and lower-case.
    pub email: Option<String>,
    /// E.164, e.g. `+27836567788`.
    pub mobile: Option<String>,
    pub consent_process: bool,
    pub consent_market: bool,
    /// Where the consent came from.
    pub consent_source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub leads: Vec<PiLead>,
}

impl PiCustomer {
    fn from_rows(row: CustomerRow, leads: Vec<LeadRow>) -> Self {
        PiCustomer {
            id: row.id,
            dealer_id: row.dealer_id,
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            mobile: row.mobile,
            consent_process: row.consent_process,
            consent_market: row.consent_market,
            consent_source: row.consent_source,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            leads: leads.into_iter().map(PiLead::from).collect(),
        }
    }
}

/// A lead as the customer sees it. The salesperson appears by first name only: their surname
/// and email are the dealer's staff data, not the customer's.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PiLead {
    pub id: i64,
    pub status: LeadStatus,
    #[schema(example = "VW Polo 1.0 TSI")]
    pub vehicle: Option<String>,
    #[schema(example = "website")]
    pub source: Option<String>,
    /// The customer's own message.
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The salesperson working the lead, by first name.
    #[schema(example = "Ashveer")]
    pub recipient_first_name: String,
}

impl From<LeadRow> for PiLead {
    fn from(row: LeadRow) -> Self {
        PiLead {
            id: row.id,
            status: LeadStatus::from_stored(&row.status),
            vehicle: row.vehicle,
            source: row.source,
            message: row.message,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            recipient_first_name: first_name(&row.recipient_name).to_owned(),
        }
    }
}

/// The first word of a full name ("Ashveer Singh" → "Ashveer").
pub(crate) fn first_name(full: &str) -> &str {
    full.split_whitespace().next().unwrap_or_default()
}

/// The record and its leads as the subject sees them, with the ETag that amendments match.
fn subject_record(customer: CustomerRow, leads: Vec<LeadRow>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, amendment::etag(&customer)))
        .json(PiCustomer::from_rows(customer, leads))
}

/// An operator or system that has had the dealer's data, by the token it used.
// No example of the whole object: a YAML 1.1 reader of openapi.yaml would take an unquoted
// date-time example for a timestamp, not the string the served JSON has.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ThirdParty {
    /// The token's subject (`sub`).
    #[schema(example = "dms")]
    pub name: String,
    /// The token's role: `operator` (a marketing operator given the blacklists), `dealer` (the
    /// dealer's own staff and systems) or `admin` (the gateway's administrators).
    #[schema(example = "dealer")]
    pub category: String,
    /// Its latest access, of either kind.
    pub last_access_at: DateTime<Utc>,
    /// What it accessed: `blacklists`, `change feed` or both, in that order.
    #[schema(example = json!(["blacklists", "change feed"]))]
    pub accessed: Vec<Access>,
}

impl From<third_parties::ThirdParty> for ThirdParty {
    fn from(party: third_parties::ThirdParty) -> Self {
        ThirdParty {
            name: party.name,
            category: party.category,
            last_access_at: party.last_access_at.and_utc(),
            accessed: party.accessed,
        }
    }
}

/// What a data subject may correct directly: names and marketing consent. A new email or
/// mobile is proven first, through `identifier-changes`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PiAmendCustomer {
    #[validate(custom(function = "valid_person_name"))]
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: Option<String>,
    #[validate(custom(function = "valid_person_name"))]
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: Option<String>,
    pub consent_market: Option<bool>,
    /// Refused: accepted by the parser only to say how to change it.
    #[serde(default)]
    #[schema(ignore)]
    pub email: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub mobile: Option<serde_json::Value>,
}

fn started(started: pi::VerificationStarted) -> HttpResponse {
    HttpResponse::Accepted().json(VerificationStarted {
        verification_id: started.id,
        channel: match started.channel {
            pi::CodeChannel::Email => CodeChannel::Email,
            pi::CodeChannel::Sms => CodeChannel::Sms,
        },
        // Whole seconds: the answer for a held and an unknown identifier has one length.
        expires_at: started.expires_at.and_utc().trunc_subsecs(0),
    })
}

/// Send a one-time code to an email or mobile.
#[utoipa::path(
    operation_id = "start_verification",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id")),
    request_body = StartVerification,
    responses(
        (status = 202, description = "A code is on its way (the same answer whether or not the dealer holds the identifier)", body = VerificationStarted),
        (status = 429, description = "Too many codes sent to this identifier or from this address, too many wrong codes for it (10 in 24 hours lock it for 24 hours), or the dealer's hourly SMS budget is spent; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/v1/dealers/{dealer}/pi/verifications")]
pub async fn start_verification(
    req: HttpRequest,
    pool: web::Data<Pool>,
    sender: web::Data<Sender>,
    path: web::Path<String>,
    body: ValidJson<StartVerification>,
) -> Result<HttpResponse, ApiError> {
    let dealer = DealerId::parse(&path).map_err(|_| ApiError::not_found("dealer"))?;
    let identifier = body.0.identifier()?;
    let client = client_address(&req);
    let begun = blocking::run(&pool, move |conn| {
        pi::start_verification(
            conn,
            &sender,
            &dealer,
            &identifier,
            &client,
            Purpose::SignIn,
        )
    })
    .await?;
    refer(&req, [reference("verification", &begun.id)]);
    Ok(started(begun))
}

/// Prove control with the code; returns a `subject` token. Not replayed under an
/// Idempotency-Key (the answer is a live credential): a retry of a confirmed code gets 410.
#[utoipa::path(
    operation_id = "confirm_verification",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("verification_id" = String, Path, description = "From the start of the verification")),
    request_body = ConfirmCode,
    responses(
        (status = 200, description = "The code is right", body = SubjectToken),
        (status = 422, description = "A wrong code; the answer says how many attempts are left", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The code expired, was used, or too many wrong codes were tried", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for this identifier (10 in 24 hours lock it for 24 hours); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
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
    let (token, exp) = blocking::run(&pool, move |conn| {
        pi::confirm(conn, &hasher, &keys, &dealer, &verification_id, &code)
    })
    .await?;
    Ok(web::Json(SubjectToken {
        token,
        expires_at: DateTime::from_timestamp(exp, 0).unwrap_or_default(),
    }))
}

/// What the dealer holds under the verified identifier. When nothing is held and the
/// identifier is not blacklisted, the dealer's key contacts get the NOT FOUND email (once per
/// identifier per day) and a `lookup.not_found` event is recorded; a blacklisted identifier
/// (the person withdrew earlier) answers `blacklisted: true`, with no email and no event.
/// Whenever something is held, `third_parties` names who has had the dealer's data (POPIA
/// s23(1)(b)); leads show the salesperson by first name only.
#[utoipa::path(
    operation_id = "pi_lookup",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id")),
    responses(
        (status = 200, description = "The records held, if any", body = PiRecords),
        (status = 401, description = "No valid subject token (a token that withdrew consent is spent)", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/v1/dealers/{dealer}/pi/records")]
pub async fn pi_lookup(
    principal: Principal,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    branding: web::Data<Branding>,
    path: web::Path<String>,
) -> Result<web::Json<PiRecords>, ApiError> {
    let (dealer, subject) = Subject::signed_in(&principal, &path)?;
    let found = blocking::run(&pool, move |conn| {
        pi::lookup(conn, &hasher, &branding, &dealer, &subject)
    })
    .await?;
    let customers: Vec<PiCustomer> = found
        .records
        .into_iter()
        .map(|(customer, leads)| PiCustomer::from_rows(customer, leads))
        .collect();
    Ok(web::Json(PiRecords {
        found: !customers.is_empty(),
        customers,
        blacklisted: found.blacklisted,
        third_parties: found.third_parties.into_iter().map(Into::into).collect(),
    }))
}

/// Correct the names or marketing consent of a record held under the verified identifier.
/// An email or mobile is changed only by proving the new one (`identifier-changes`).
#[utoipa::path(
    operation_id = "pi_amend",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("customer_id" = i64, Path, description = "The core customer id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if the record changed since")),
    request_body = PiAmendCustomer,
    responses(
        (status = 200, description = "The record as amended, its leads as the subject sees them", body = PiCustomer),
        (status = 412, description = "The record changed since the ETag was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A refused field; `email` and `mobile` are changed through identifier-changes", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/v1/dealers/{dealer}/pi/records/{customer_id}")]
pub async fn pi_amend(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    branding: web::Data<Branding>,
    path: web::Path<(String, i64)>,
    body: ValidJson<PiAmendCustomer>,
) -> Result<HttpResponse, ApiError> {
    let (dealer, customer_id) = path.into_inner();
    let (dealer, subject) = Subject::signed_in(&principal, &dealer)?;
    let body = body.0;
    for (field, given) in [("email", &body.email), ("mobile", &body.mobile)] {
        if given.is_some() {
            return Err(ApiError::field(
                field,
                format!(
                    "a new {field} is confirmed by a code sent to it: POST /v1/dealers/{}/pi/records/{customer_id}/identifier-changes",
                    dealer.as_str()
                ),
            ));
        }
    }
    let amend = AmendCustomer {
        first_name: body.first_name,
        last_name: body.last_name,
        email: None,
        mobile: None,
        consent_process: None,
        consent_market: body.consent_market,
    };
    let request = amendment_request(
        &req,
        &principal,
        customer_id,
        amend,
        Some(subject.identifier.clone()),
        Origin::Pi,
    )?;
    blocking::run(&pool, move |conn| {
        pi::ensure_unspent(conn, &hasher, &subject)
    })
    .await?;
    let (customer, leads) = amended(&pool, &branding, dealer, request).await?;
    Ok(subject_record(customer, leads))
}

/// Start changing a record's email or mobile: a code goes to the NEW value. The answer is the
/// same whether or not the new value is blacklisted (that is refused at confirmation).
#[utoipa::path(
    operation_id = "pi_start_identifier_change",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("customer_id" = i64, Path, description = "The core customer id, held under the verified identifier")),
    request_body = StartVerification,
    responses(
        (status = 202, description = "A code is on its way to the new value", body = VerificationStarted),
        (status = 429, description = "Too many codes sent to this identifier or from this address, too many wrong codes for it (10 in 24 hours lock it for 24 hours), or the dealer's hourly SMS budget is spent; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/v1/dealers/{dealer}/pi/records/{customer_id}/identifier-changes")]
pub async fn pi_start_identifier_change(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    sender: web::Data<Sender>,
    path: web::Path<(String, i64)>,
    body: ValidJson<StartVerification>,
) -> Result<HttpResponse, ApiError> {
    let (dealer, customer_id) = path.into_inner();
    let (dealer, subject) = Subject::signed_in(&principal, &dealer)?;
    let identifier = body.0.identifier()?;
    let client = client_address(&req);
    let begun = blocking::run(&pool, move |conn| {
        pi::start_verification(
            conn,
            &sender,
            &dealer,
            &identifier,
            &client,
            Purpose::IdentifierChange {
                customer_id,
                subject: &subject,
            },
        )
    })
    .await?;
    refer(
        &req,
        [
            reference("verification", &begun.id),
            reference("customer", customer_id),
        ],
    );
    Ok(started(begun))
}

/// Confirm the code sent to the new email or mobile: the change is applied as an amendment
/// (was/now event, "alters information" email). Not replayed under an Idempotency-Key.
#[utoipa::path(
    operation_id = "pi_confirm_identifier_change",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("customer_id" = i64, Path, description = "The core customer id"),
           ("verification_id" = String, Path, description = "From the start of the identifier change")),
    request_body = ConfirmCode,
    responses(
        (status = 200, description = "The record with its new email or mobile", body = PiCustomer),
        (status = 409, description = "The new email or mobile is on the dealer's blacklist", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The code expired, was used, or too many wrong codes were tried", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for this identifier (10 in 24 hours lock it for 24 hours); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A wrong code; the answer says how many attempts are left", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post(
    "/v1/dealers/{dealer}/pi/records/{customer_id}/identifier-changes/{verification_id}/confirm"
)]
pub async fn pi_confirm_identifier_change(
    principal: Principal,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    branding: web::Data<Branding>,
    path: web::Path<(String, i64, String)>,
    body: ValidJson<ConfirmCode>,
) -> Result<HttpResponse, ApiError> {
    let (dealer, customer_id, verification_id) = path.into_inner();
    let (dealer, subject) = Subject::signed_in(&principal, &dealer)?;
    let code = body.0.code;
    let (customer, leads) = blocking::run(&pool, move |conn| {
        let change = pi::CodeForChange {
            customer_id,
            verification_id: &verification_id,
            code: &code,
        };
        let customer =
            pi::confirm_identifier_change(conn, &hasher, &branding, &dealer, &subject, change)?;
        let leads = leads::of_customer(conn, customer.id)?;
        Ok((customer, leads))
    })
    .await?;
    Ok(subject_record(customer, leads))
}

/// Withdraw consent to process: every record whose email or mobile is the verified identifier
/// is de-identified (never a record that merely shares another identifier with them), their
/// active leads are lost, their emails and mobiles go onto the blacklists, and the token is
/// spent: any later use answers 401.
#[utoipa::path(
    operation_id = "pi_withdraw_consent",
    tag = "pi",
    params(("dealer" = String, Path, description = "The dealer's id")),
    request_body = WithdrawConsent,
    responses(
        (status = 200, description = "Consent withdrawn", body = Withdrawal),
        (status = 401, description = "No valid subject token (a token that withdrew consent is spent)", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/v1/dealers/{dealer}/pi/withdraw-consent")]
pub async fn pi_withdraw_consent(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    branding: web::Data<Branding>,
    path: web::Path<String>,
    _body: ValidJson<WithdrawConsent>,
) -> Result<web::Json<Withdrawal>, ApiError> {
    let (dealer, subject) = Subject::signed_in(&principal, &path)?;
    let done = blocking::run(&pool, move |conn| {
        withdrawal::by_subject(conn, &hasher, &branding, &dealer, subject)
    })
    .await?;
    refer(
        &req,
        done.customer_ids.iter().map(|id| reference("customer", id)),
    );
    Ok(web::Json(done.into()))
}

#[cfg(test)]
mod tests {
    use super::first_name;

    #[test]
    fn a_salesperson_shows_by_the_first_word_of_their_name() {
        assert_eq!(first_name("Ashveer Singh"), "Ashveer");
        assert_eq!(first_name("  Mary-Jane van der Merwe "), "Mary-Jane");
        assert_eq!(first_name("Lerato"), "Lerato");
    }
}
