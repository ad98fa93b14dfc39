//! Dealers over HTTP: an admin creates and updates them; a dealer may read its own.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::blocking;
use super::extract::ValidJson;
use super::problem::ApiError;
use crate::auth::{Capability, Principal};
use crate::db::dealers::DealerRow;
use crate::db::Pool;
use crate::domain::{rule, website, DealerId, Email, PersonName};
use crate::service::dealers::{self as service, DealerUpdate, KeyContact, NewDealer};

/// A dealership using the gateway.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Dealer {
    #[schema(example = "abc-motors")]
    pub id: String,
    #[schema(example = "ABC Motors")]
    pub name: String,
    #[schema(example = "https://abcmotors.co.za")]
    pub website: String,
    /// Staff who receive the POPIA emails.
    pub key_contacts: Vec<KeyContactBody>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A staff member who receives the dealer's POPIA emails.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyContactBody {
    #[validate(custom(function = "valid_person_name"))]
    #[schema(min_length = 1, max_length = 100, example = "Thandi Nkosi")]
    pub name: String,
    #[validate(custom(function = "valid_email"))]
    #[schema(format = "email", example = "thandi@abcmotors.co.za")]
    pub email: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDealer {
    /// The dealer's slug, chosen now and fixed: `[a-z0-9-]{2,63}`.
    #[validate(custom(function = "valid_dealer_id"))]
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$", example = "abc-motors")]
    pub id: String,
    #[validate(custom(function = "valid_dealer_name"))]
    #[schema(min_length = 1, max_length = 200, example = "ABC Motors")]
    pub name: String,
    #[validate(custom(function = "valid_website"))]
    /// The dealer's website; `abcmotors.co.za` is stored as `https://abcmotors.co.za`.
    #[schema(max_length = 500, example = "abcmotors.co.za")]
    pub website: String,
    #[validate(length(min = 1, max = 20), nested)]
    #[schema(min_items = 1, max_items = 20)]
    pub key_contacts: Vec<KeyContactBody>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDealer {
    #[validate(custom(function = "valid_dealer_name"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[validate(custom(function = "valid_website"))]
    #[schema(max_length = 500)]
    pub website: Option<String>,
    #[validate(length(min = 1, max = 20), nested)]
    #[schema(min_items = 1, max_items = 20)]
    pub key_contacts: Option<Vec<KeyContactBody>>,
}

fn valid_dealer_id(raw: &str) -> Result<(), validator::ValidationError> {
    rule(DealerId::parse, raw)
}

fn valid_person_name(raw: &str) -> Result<(), validator::ValidationError> {
    rule(PersonName::parse, raw)
}

fn valid_email(raw: &str) -> Result<(), validator::ValidationError> {
    rule(Email::parse, raw)
}

fn valid_dealer_name(raw: &str) -> Result<(), validator::ValidationError> {
    rule(|s| crate::domain::text::bounded(s, 1, 200), raw)
}

fn valid_website(raw: &str) -> Result<(), validator::ValidationError> {
    rule(website::parse, raw)
}

/// The website as stored: `abcmotors.co.za` becomes `https://abcmotors.co.za`.
fn stored_website(raw: &str) -> Result<String, ApiError> {
    website::parse(raw).map_err(|e| ApiError::field("website", e.0))
}

fn contacts(body: Vec<KeyContactBody>) -> Result<Vec<KeyContact>, ApiError> {
    body.into_iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(KeyContact {
                name: PersonName::parse(&c.name)
                    .map_err(|e| ApiError::field(format!("key_contacts[{i}].name"), e.0))?,
                email: Email::parse(&c.email)
                    .map_err(|e| ApiError::field(format!("key_contacts[{i}].email"), e.0))?,
            })
        })
        .collect()
}

impl From<DealerRow> for Dealer {
    fn from(row: DealerRow) -> Self {
        Dealer {
            key_contacts: row
                .key_contacts()
                .into_iter()
                .map(|(name, email)| KeyContactBody { name, email })
                .collect(),
            id: row.id,
            name: row.name,
            website: row.website,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

/// Create a dealer.
#[utoipa::path(
    operation_id = "create_dealer",
    tag = "dealers",
    request_body = CreateDealer,
    responses((status = 201, description = "The dealer was created", body = Dealer),
              (status = 409, description = "A dealer with this id exists", body = super::problem::Problem, content_type = "application/problem+json")),
)]
#[post("/v1/dealers")]
pub async fn create_dealer(
    principal: Principal,
    pool: web::Data<Pool>,
    body: ValidJson<CreateDealer>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Capability::ManageDealers)?;
    let body = body.0;
    let new = NewDealer {
        id: DealerId::parse(&body.id).map_err(|e| ApiError::field("id", e.0))?,
        name: body.name.trim().to_owned(),
        website: stored_website(&body.website)?,
        key_contacts: contacts(body.key_contacts)?,
    };
    let row = blocking::run(&pool, move |conn| service::create(conn, new)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/dealers/{}", row.id)))
        .json(Dealer::from(row)))
}

/// Read a dealer.
#[utoipa::path(
    operation_id = "get_dealer",
    tag = "dealers",
    params(("dealer" = String, Path, description = "The dealer's id")),
    responses((status = 200, description = "The dealer", body = Dealer)),
)]
#[get("/v1/dealers/{dealer}")]
pub async fn get_dealer(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
) -> Result<web::Json<Dealer>, ApiError> {
    let dealer = principal.authorize(Capability::ReadDealer, &path)?;
    let row = blocking::run(&pool, move |conn| service::get(conn, &dealer)).await?;
    Ok(web::Json(row.into()))
}

/// Change a dealer's name, website or key contacts.
#[utoipa::path(
    operation_id = "update_dealer",
    tag = "dealers",
    params(("dealer" = String, Path, description = "The dealer's id")),
    request_body = UpdateDealer,
    responses((status = 200, description = "The dealer as changed", body = Dealer)),
)]
#[patch("/v1/dealers/{dealer}")]
pub async fn update_dealer(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    body: ValidJson<UpdateDealer>,
) -> Result<web::Json<Dealer>, ApiError> {
    let dealer = principal.authorize(Capability::ManageDealers, &path)?;
    let body = body.0;
    let update = DealerUpdate {
        name: body.name.map(|n| n.trim().to_owned()),
        website: body.website.as_deref().map(stored_website).transpose()?,
        key_contacts: body.key_contacts.map(contacts).transpose()?,
    };
    let row = blocking::run(&pool, move |conn| service::update(conn, &dealer, update)).await?;
    Ok(web::Json(row.into()))
}
