//! Customers over HTTP: create, search, read with leads, read log, amend and staff withdrawal.

use actix_web::http::header;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::blocking;
use super::extract::{
    parsed, parsed_optional, valid_email, valid_mobile, valid_person_name, ValidJson, ValidQuery,
};
use super::idempotency::refer;
use super::leads::Lead;
use super::pagination::{self, named_page, Page};
use super::problem::{ApiError, FieldError, Problem};
use crate::auth::{Capability, KeyedHasher, Principal};
use crate::db::customers::{CustomerFilter, CustomerRow};
use crate::db::idempotency::reference;
use crate::db::{self, Pool};
use crate::domain::events::Origin;
use crate::domain::{rule, DealerId, Email, Identifier, Mobile, PersonName};
use crate::notify::Branding;
use crate::service::amendment::{self, AmendRequest, Amendment};
use crate::service::customers::{self as service, NewCustomer};
use crate::service::{leads, withdrawal};

named_page!(CustomerPage, Customer);

/// A core customer record. After a withdrawal of consent the personal fields are null, the
/// id stays and `deidentified_at` is set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Customer {
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
    pub deidentified_at: Option<DateTime<Utc>>,
    /// The customer's leads (on reads of one customer; absent in lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leads: Option<Vec<Lead>>,
}

impl Customer {
    pub fn from_row(row: CustomerRow, leads: Option<Vec<Lead>>) -> Self {
        Customer {
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
            deidentified_at: row.deidentified_at.map(|t| t.and_utc()),
            leads,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "email_or_mobile"))]
pub struct CreateCustomer {
    #[validate(custom(function = "valid_person_name"))]
    #[schema(min_length = 1, max_length = 100, example = "Fred")]
    pub first_name: String,
    #[validate(custom(function = "valid_person_name"))]
    #[schema(min_length = 1, max_length = 100, example = "Basset")]
    pub last_name: String,
    /// At least one of `email` and `mobile`.
    #[validate(custom(function = "valid_email"))]
    #[schema(format = "email", max_length = 254, example = "fred@sea.com")]
    pub email: Option<String>,
    /// Any common written form; stored as E.164 (South Africa the default region).
    #[validate(custom(function = "valid_mobile"))]
    #[schema(max_length = 32, example = "083 656 7788")]
    pub mobile: Option<String>,
    pub consent_process: bool,
    pub consent_market: bool,
    /// Where the consent came from (a form, a call, a signed document).
    #[validate(custom(function = "valid_consent_source"))]
    #[schema(min_length = 1, max_length = 200, example = "website enquiry form")]
    pub consent_source: Option<String>,
}

/// Staff search: every identifier given must match. Values are normalised first, so any
/// written form of a mobile finds the customer.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// An email address.
    pub email: Option<String>,
    /// A mobile number in any common written form.
    pub mobile: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

impl CustomerQuery {
    /// The search, each identifier parsed once (mobile numbers go through phonenumber's
    /// patterns, so no `validator` rule parses them first): every refused identifier is reported
    /// at once, in field order, as the rules would.
    fn filter(&self) -> Result<CustomerFilter, ApiError> {
        let email = self.email.as_deref().map(Email::parse).transpose();
        let mobile = self.mobile.as_deref().map(Mobile::parse).transpose();
        match (email, mobile) {
            (Ok(email), Ok(mobile)) => Ok(CustomerFilter {
                email: email.map(Email::into_inner),
                mobile: mobile.map(Mobile::into_inner),
            }),
            (email, mobile) => Err(ApiError::Validation(
                [("email", email.err()), ("mobile", mobile.err())]
                    .into_iter()
                    .filter_map(|(field, error)| error.map(|e| FieldError::new(field, e.0)))
                    .collect(),
            )),
        }
    }
}

fn valid_consent_source(raw: &str) -> Result<(), validator::ValidationError> {
    rule(|s| crate::domain::text::bounded(s, 1, 200), raw)
}

fn email_or_mobile(body: &CreateCustomer) -> Result<(), validator::ValidationError> {
    if body.email.is_none() && body.mobile.is_none() {
        // The code names the field the error is reported under (see `extract::flatten`).
        return Err(validator::ValidationError::new("email")
            .with_message("give an email, a mobile or both".into()));
    }
    Ok(())
}

/// Create a customer.
#[utoipa::path(
    operation_id = "create_customer",
    tag = "customers",
    params(("dealer" = String, Path, description = "The dealer's id")),
    request_body = CreateCustomer,
    responses(
        (status = 201, description = "The customer was created", body = Customer),
        (status = 409, description = "The email or mobile is on the blacklist and no fresh consent was given", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/v1/dealers/{dealer}/customers")]
pub async fn create_customer(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    body: ValidJson<CreateCustomer>,
) -> Result<HttpResponse, ApiError> {
    let dealer = principal.authorize(Capability::DealerData, &path)?;
    let body = body.0;
    let new = NewCustomer {
        first_name: parsed("first_name", PersonName::parse(&body.first_name))?,
        last_name: parsed("last_name", PersonName::parse(&body.last_name))?,
        email: parsed_optional("email", body.email.as_deref(), Email::parse)?,
        mobile: parsed_optional("mobile", body.mobile.as_deref(), Mobile::parse)?,
        consent_process: body.consent_process,
        consent_market: body.consent_market,
        consent_source: body.consent_source.map(|s| s.trim().to_owned()),
    };
    let actor = principal.actor();
    let row = blocking::run(&pool, move |conn| {
        service::create(conn, &dealer, new, actor, Origin::Api)
    })
    .await?;
    refer(&req, [reference("customer", row.id)]);
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/v1/dealers/{}/customers/{}", row.dealer_id, row.id),
        ))
        .json(Customer::from_row(row, Some(Vec::new()))))
}

/// Find customers by email and/or mobile, or list them all, in id order.
#[utoipa::path(
    operation_id = "list_customers",
    tag = "customers",
    params(("dealer" = String, Path, description = "The dealer's id"), CustomerQuery),
    responses((status = 200, description = "A page of customers", body = CustomerPage)),
)]
#[get("/v1/dealers/{dealer}/customers")]
pub async fn list_customers(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    query: ValidQuery<CustomerQuery>,
) -> Result<web::Json<CustomerPage>, ApiError> {
    let query = query.0;
    // Before the dealer check, as when the identifiers were checked while reading the query.
    let filter = query.filter()?;
    let dealer = principal.authorize(Capability::DealerData, &path)?;
    let (after, limit) = pagination::bounds(query.after.as_deref(), query.limit)?;
    let reader = principal.actor();
    let page = blocking::run(&pool, move |conn| {
        service::search(conn, &dealer, &filter, after, limit, &reader)
    })
    .await?;
    Ok(web::Json(CustomerPage::from(Page::from_rows(
        page,
        |c| c.id,
        |c| Customer::from_row(c, None),
    ))))
}

/// Read one customer, with its leads.
#[utoipa::path(
    operation_id = "get_customer",
    tag = "customers",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The core customer id")),
    responses((status = 200, description = "The customer and its leads; `ETag` for `If-Match` on amendments", body = Customer)),
)]
#[get("/v1/dealers/{dealer}/customers/{id}")]
pub async fn get_customer(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let reader = principal.actor();
    let (customer, leads) = blocking::run(&pool, move |conn| {
        service::get_with_leads(conn, &dealer, id, &reader)
    })
    .await?;
    Ok(with_etag(customer, leads))
}

/// One staff read of a customer record: who and when (never what they saw).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerRead {
    pub role: String,
    pub sub: String,
    pub at: DateTime<Utc>,
}

/// A page of a record's reads.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReadsQuery {
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// A page of a record's reads, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerReadPage {
    pub items: Vec<CustomerRead>,
    pub next: Option<String>,
    /// For a withdrawn customer: how many reads the record had when consent was withdrawn
    /// (who read it, and when, is not kept after that).
    pub reads_before_withdrawal: Option<i64>,
}

/// Who read this customer record and when (POPIA s19: a safeguard the dealer can show). Every
/// staff read counts: the record, a search that showed it, its history. Kept for
/// `POPIA_RETENTION_DAYS`; a withdrawn customer's reads are kept only as a count.
#[utoipa::path(
    operation_id = "customer_reads",
    tag = "customers",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The core customer id"), ReadsQuery),
    responses((status = 200, description = "A page of reads", body = CustomerReadPage)),
)]
#[get("/v1/dealers/{dealer}/customers/{id}/reads")]
pub async fn customer_reads(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<(String, i64)>,
    query: ValidQuery<ReadsQuery>,
) -> Result<web::Json<CustomerReadPage>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let (after, limit) = pagination::bounds(query.0.after.as_deref(), query.0.limit)?;
    let (page, reads_before_withdrawal) = blocking::run(&pool, move |conn| {
        service::reads(conn, &dealer, id, after, limit)
    })
    .await?;
    let page = Page::from_rows(
        page,
        |r| r.id,
        |r| CustomerRead {
            role: r.actor_role,
            sub: r.actor_sub,
            at: r.read_at.and_utc(),
        },
    );
    Ok(web::Json(CustomerReadPage {
        items: page.items,
        next: page.next,
        reads_before_withdrawal,
    }))
}

/// New values for a customer; absent fields stay as they are. Consent to process can be given
/// here but not taken away: that is a withdrawal.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendCustomer {
    #[validate(custom(function = "valid_person_name"))]
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: Option<String>,
    #[validate(custom(function = "valid_person_name"))]
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: Option<String>,
    #[validate(custom(function = "valid_email"))]
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    #[validate(custom(function = "valid_mobile"))]
    #[schema(max_length = 32)]
    pub mobile: Option<String>,
    /// Only `true`; `false` is refused with a pointer to withdraw-consent.
    pub consent_process: Option<bool>,
    pub consent_market: Option<bool>,
}

/// Why the customer withdrew. Not stored: free text may identify them.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawConsent {
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// What a withdrawal did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Withdrawal {
    /// The records de-identified (the asked-for one again, if it already was).
    pub customer_ids: Vec<i64>,
    /// The leads that were active and are now lost.
    pub lead_ids_lost: Vec<i64>,
    /// When the records were de-identified; null when nothing was held.
    pub deidentified_at: Option<DateTime<Utc>>,
}

impl From<withdrawal::Withdrawal> for Withdrawal {
    fn from(done: withdrawal::Withdrawal) -> Self {
        Withdrawal {
            customer_ids: done.customer_ids,
            lead_ids_lost: done.lead_ids_lost,
            deidentified_at: done.deidentified_at.map(|t| t.and_utc()),
        }
    }
}

/// Builds the amendment both channels share, from the body and the `If-Match` header.
pub(super) fn amendment_request(
    req: &HttpRequest,
    principal: &Principal,
    customer_id: i64,
    body: AmendCustomer,
    scope: Option<Identifier>,
    origin: Origin,
) -> Result<AmendRequest, ApiError> {
    let amendment = Amendment {
        first_name: parsed_optional("first_name", body.first_name.as_deref(), PersonName::parse)?,
        last_name: parsed_optional("last_name", body.last_name.as_deref(), PersonName::parse)?,
        email: parsed_optional("email", body.email.as_deref(), Email::parse)?,
        mobile: parsed_optional("mobile", body.mobile.as_deref(), Mobile::parse)?,
        consent_process: body.consent_process,
        consent_market: body.consent_market,
    };
    let if_match = req
        .headers()
        .get(header::IF_MATCH)
        .map(|v| v.to_str().map(|v| v.trim().to_owned()))
        .transpose()
        .map_err(|_| ApiError::BadRequest("If-Match is not a valid header value".into()))?
        .filter(|v| !v.is_empty());
    Ok(AmendRequest {
        customer_id,
        amendment,
        if_match,
        scope,
        actor: principal.actor(),
        origin,
    })
}

/// Runs an amendment: the customer as amended, and its leads.
pub(super) async fn amended(
    pool: &web::Data<Pool>,
    branding: &web::Data<Branding>,
    dealer: DealerId,
    request: AmendRequest,
) -> Result<(CustomerRow, Vec<db::leads::LeadRow>), ApiError> {
    let branding = branding.clone();
    blocking::run(pool, move |conn| {
        let customer = amendment::amend(conn, &branding, &dealer, request)?;
        let leads = leads::of_customer(conn, customer.id)?;
        Ok((customer, leads))
    })
    .await
}

pub(super) fn with_etag(customer: CustomerRow, leads: Vec<db::leads::LeadRow>) -> HttpResponse {
    let tag = amendment::etag(&customer);
    let leads = leads.into_iter().map(Lead::from).collect();
    HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .json(Customer::from_row(customer, Some(leads)))
}

/// Amend a customer's details or marketing consent.
#[utoipa::path(
    operation_id = "amend_customer",
    tag = "customers",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The core customer id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if the record changed since")),
    request_body = AmendCustomer,
    responses(
        (status = 200, description = "The customer as amended (unchanged when nothing changed)", body = Customer),
        (status = 409, description = "The new email or mobile is on the blacklist", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The customer withdrew consent and was de-identified", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The customer changed since the ETag was read", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/v1/dealers/{dealer}/customers/{id}")]
pub async fn amend_customer(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    branding: web::Data<Branding>,
    path: web::Path<(String, i64)>,
    body: ValidJson<AmendCustomer>,
) -> Result<HttpResponse, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let request = amendment_request(&req, &principal, id, body.0, None, Origin::Api)?;
    let (customer, leads) = amended(&pool, &branding, dealer, request).await?;
    Ok(with_etag(customer, leads))
}

/// Withdraw a customer's consent to process (a customer who phoned in): this record is
/// de-identified (names, email, mobile and consent source cleared, both consents false, the id
/// kept), its active leads are lost and every lead's free text cleared, its email and mobile go
/// onto the dealer's two blacklists as separate rows, earlier events are redacted, and the key
/// contacts and the salespeople of its active leads are mailed. Other records, even ones that
/// share its email or mobile, are not touched.
#[utoipa::path(
    operation_id = "withdraw_consent",
    tag = "customers",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The core customer id")),
    request_body = WithdrawConsent,
    responses((status = 200, description = "Consent withdrawn (again: nothing more happens)", body = Withdrawal)),
)]
#[post("/v1/dealers/{dealer}/customers/{id}/withdraw-consent")]
pub async fn withdraw_consent(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    branding: web::Data<Branding>,
    path: web::Path<(String, i64)>,
    _body: ValidJson<WithdrawConsent>,
) -> Result<web::Json<Withdrawal>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let actor = principal.actor();
    let done = blocking::run(&pool, move |conn| {
        withdrawal::withdraw(
            conn,
            &hasher,
            &branding,
            &dealer,
            withdrawal::Scope::Customer(id),
            actor,
            Origin::Api,
        )
    })
    .await?;
    refer(&req, [reference("customer", id)]);
    Ok(web::Json(done.into()))
}
