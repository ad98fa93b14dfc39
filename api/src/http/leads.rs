//! Leads over HTTP: create, read, and change a lead's status or salesperson.

use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::blocking;
use super::extract::{parsed, valid_email, valid_free_text, valid_person_name, ValidJson};
use super::idempotency::refer;
use super::problem::ApiError;
use crate::auth::{Capability, Principal};
use crate::db::idempotency::reference;
use crate::db::leads::LeadRow;
use crate::db::Pool;
use crate::domain::{rule, Email, PersonName};
use crate::service::leads::{self as service, LeadStatus, LeadUpdate, NewLead, Recipient};

/// The salesperson working a lead.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientBody {
    #[validate(custom(function = "valid_person_name"))]
    #[schema(min_length = 1, max_length = 100, example = "Ashveer Singh")]
    pub name: String,
    #[validate(custom(function = "valid_email"))]
    #[schema(format = "email", example = "ashveer@abcmotors.co.za")]
    pub email: String,
}

/// An enquiry by a customer, worked by a salesperson.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Lead {
    pub id: i64,
    pub dealer_id: String,
    /// The core customer id.
    pub customer_id: i64,
    pub status: LeadStatus,
    pub recipient: RecipientBody,
    pub source: Option<String>,
    pub vehicle: Option<String>,
    /// The customer's message; cleared when the customer is de-identified.
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<LeadRow> for Lead {
    fn from(row: LeadRow) -> Self {
        Lead {
            id: row.id,
            dealer_id: row.dealer_id,
            customer_id: row.customer_id,
            status: LeadStatus::from_stored(&row.status),
            recipient: RecipientBody {
                name: row.recipient_name,
                email: row.recipient_email,
            },
            source: row.source,
            vehicle: row.vehicle,
            message: row.message,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLead {
    /// The core customer id; the customer must belong to this dealer.
    #[validate(range(min = 1))]
    #[schema(minimum = 1)]
    pub customer_id: i64,
    #[validate(nested)]
    pub recipient: RecipientBody,
    #[validate(custom(function = "valid_short_text"))]
    #[schema(min_length = 1, max_length = 100, example = "website")]
    pub source: Option<String>,
    #[validate(custom(function = "valid_short_text"))]
    #[schema(min_length = 1, max_length = 100, example = "VW Polo 1.0 TSI")]
    pub vehicle: Option<String>,
    #[validate(custom(function = "valid_free_text"))]
    #[schema(max_length = 2000)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLead {
    pub status: Option<LeadStatus>,
    #[validate(nested)]
    pub recipient: Option<RecipientBody>,
}

fn valid_short_text(raw: &str) -> Result<(), validator::ValidationError> {
    rule(|s| crate::domain::text::bounded(s, 1, 100), raw)
}

fn recipient(body: RecipientBody) -> Result<Recipient, ApiError> {
    Ok(Recipient {
        name: parsed("recipient.name", PersonName::parse(&body.name))?,
        email: parsed("recipient.email", Email::parse(&body.email))?,
    })
}

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Create an active lead for a customer.
#[utoipa::path(
    operation_id = "create_lead",
    tag = "leads",
    params(("dealer" = String, Path, description = "The dealer's id")),
    request_body = CreateLead,
    responses(
        (status = 201, description = "The lead was created", body = Lead),
        (status = 409, description = "The customer withdrew consent and was de-identified", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/v1/dealers/{dealer}/leads")]
pub async fn create_lead(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    body: ValidJson<CreateLead>,
) -> Result<HttpResponse, ApiError> {
    let dealer = principal.authorize(Capability::DealerData, &path)?;
    let body = body.0;
    let new = NewLead {
        customer_id: body.customer_id,
        recipient: recipient(body.recipient)?,
        source: trimmed(body.source),
        vehicle: trimmed(body.vehicle),
        message: trimmed(body.message),
    };
    let actor = principal.actor();
    let row = blocking::run(&pool, move |conn| {
        service::create(conn, &dealer, new, actor)
    })
    .await?;
    refer(&req, [reference("customer", row.customer_id)]);
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/v1/dealers/{}/leads/{}", row.dealer_id, row.id),
        ))
        .json(Lead::from(row)))
}

/// Read a lead.
#[utoipa::path(
    operation_id = "get_lead",
    tag = "leads",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The lead id")),
    responses((status = 200, description = "The lead", body = Lead)),
)]
#[get("/v1/dealers/{dealer}/leads/{id}")]
pub async fn get_lead(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<(String, i64)>,
) -> Result<web::Json<Lead>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let row = blocking::run(&pool, move |conn| service::get(conn, &dealer, id)).await?;
    Ok(web::Json(row.into()))
}

/// Change a lead's status or recipient.
#[utoipa::path(
    operation_id = "update_lead",
    tag = "leads",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The lead id")),
    request_body = UpdateLead,
    responses((status = 200, description = "The lead as changed", body = Lead)),
)]
#[patch("/v1/dealers/{dealer}/leads/{id}")]
pub async fn update_lead(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<(String, i64)>,
    body: ValidJson<UpdateLead>,
) -> Result<web::Json<Lead>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let body = body.0;
    let update = LeadUpdate {
        status: body.status,
        recipient: body.recipient.map(recipient).transpose()?,
    };
    let actor = principal.actor();
    let row = blocking::run(&pool, move |conn| {
        service::update(conn, &dealer, id, update, actor)
    })
    .await?;
    Ok(web::Json(row.into()))
}
