use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{ValidJson, ValidQuery};
use super::leads::Lead;
use super::pagination::{self, Page};
use super::problem::ApiError;
use crate::auth::{Capability, Principal};
use crate::db::customers::{CustomerFilter, CustomerRow};
use crate::db::{self, Pool};
use crate::domain::events::Channel;
use crate::domain::{rule, Email, Mobile, PersonName};
use crate::service::customers::{self as service, NewCustomer};

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
    #[validate(custom(function = "valid_email"))]
    pub email: Option<String>,
    /// A mobile number in any common written form.
    #[validate(custom(function = "valid_mobile"))]
    pub mobile: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

pub(super) fn valid_person_name(raw: &str) -> Result<(), validator::ValidationError> {
    rule(PersonName::parse, raw)
}

pub(super) fn valid_email(raw: &str) -> Result<(), validator::ValidationError> {
    rule(Email::parse, raw)
}

pub(super) fn valid_mobile(raw: &str) -> Result<(), validator::ValidationError> {
    rule(Mobile::parse, raw)
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

/// Parses a field that `validator` has already accepted, naming it if it does not parse.
pub(super) fn parsed<T>(
    field: &str,
    result: Result<T, crate::domain::Invalid>,
) -> Result<T, ApiError> {
    result.map_err(|e| ApiError::field(field, e.0))
}

pub(super) fn parsed_optional<T>(
    field: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, crate::domain::Invalid>,
) -> Result<Option<T>, ApiError> {
    raw.map(|value| parsed(field, parse(value))).transpose()
}

/// Create a customer.
#[utoipa::path(
    operation_id = "create_customer",
    tag = "customers",
    params(("dealer" = String, Path, description = "The dealer's id")),
    request_body = CreateCustomer,
    responses((status = 201, description = "The customer was created", body = Customer)),
)]
#[post("/v1/dealers/{dealer}/customers")]
pub async fn create_customer(
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
    let row = db::run(&pool, move |conn| {
        service::create(conn, &dealer, new, actor, Channel::Api)
    })
    .await?;
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
    responses((status = 200, description = "A page of customers", body = Page<Customer>)),
)]
#[get("/v1/dealers/{dealer}/customers")]
pub async fn list_customers(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    query: ValidQuery<CustomerQuery>,
) -> Result<web::Json<Page<Customer>>, ApiError> {
    let dealer = principal.authorize(Capability::DealerData, &path)?;
    let query = query.0;
    let (after, limit) = pagination::bounds(query.after.as_deref(), query.limit)?;
    let filter = CustomerFilter {
        email: parsed_optional("email", query.email.as_deref(), Email::parse)?
            .map(Email::into_inner),
        mobile: parsed_optional("mobile", query.mobile.as_deref(), Mobile::parse)?
            .map(Mobile::into_inner),
    };
    let page = db::run(&pool, move |conn| {
        service::search(conn, &dealer, &filter, after, limit)
    })
    .await?;
    Ok(web::Json(Page::from_rows(
        page,
        |c| c.id,
        |c| Customer::from_row(c, None),
    )))
}

/// Read one customer, with its leads.
#[utoipa::path(
    operation_id = "get_customer",
    tag = "customers",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The core customer id")),
    responses((status = 200, description = "The customer and its leads", body = Customer)),
)]
#[get("/v1/dealers/{dealer}/customers/{id}")]
pub async fn get_customer(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<(String, i64)>,
) -> Result<web::Json<Customer>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let (customer, leads) = db::run(&pool, move |conn| {
        service::get_with_leads(conn, &dealer, id)
    })
    .await?;
    let leads = leads.into_iter().map(Lead::from).collect();
    Ok(web::Json(Customer::from_row(customer, Some(leads))))
}
