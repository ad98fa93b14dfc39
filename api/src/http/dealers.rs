//! Dealers over HTTP: an admin creates and updates them; a dealer may read its own.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationErrors};

use super::blocking;
use super::extract::{parsed, ValidJson};
use super::problem::ApiError;
use super::webhooks::WebhookAddresses;
use crate::auth::{Capability, Principal};
use crate::db::dealers::DealerRow;
use crate::db::Pool;
use crate::domain::colour::Colour;
use crate::domain::{rule, text, website, DealerId, Email, PersonName};
use crate::service::dealers::{
    self as service, BrandingChange, DealerUpdate, KeyContact, NewDealer,
};
use crate::service::logo;

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
    /// How the dealer's hosted /pi page looks; each field null when unset.
    pub branding: Branding,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How the dealer's hosted /pi page looks. A field is null when unset: the page then shows the
/// dealer's `name`, no logo and the gateway's own colour.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Branding {
    /// The name the page shows, in place of the dealer's `name`.
    #[schema(example = "ABC Motors Sandton")]
    pub display_name: Option<String>,
    /// Where the logo was fetched from when it was set. The gateway keeps its own copy and
    /// serves that (at `/pi/{dealer}/logo`); it is not fetched again.
    #[schema(example = "https://abcmotors.co.za/logo.png")]
    pub logo_url: Option<String>,
    /// The colour of the page's buttons (with white text), `#rrggbb` lower-case.
    #[schema(pattern = "^#[0-9a-fA-F]{6}$", example = "#1d4ed8")]
    pub primary_colour: Option<String>,
}

/// Sets the branding of the dealer's hosted /pi page. On a change, only the fields given are
/// changed, and `null` clears one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandingBody {
    /// The name the page shows in place of the dealer's `name`: 1 to 100 characters, trimmed,
    /// no control characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, example = "ABC Motors Sandton")]
    pub display_name: Option<Option<String>>,
    /// The dealer's logo, fetched once now (within 10 s, no redirects followed) and kept by
    /// the gateway: an https URL of a PNG, JPEG, WebP or GIF of at most 512 KiB, on a public
    /// address. A logo that cannot be fetched or is refused fails the whole request. `null`
    /// removes the stored logo.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000, example = "https://abcmotors.co.za/logo.png")]
    pub logo_url: Option<Option<String>>,
    /// The colour of the page's buttons, which carry white text: `#rrggbb`, with a WCAG 2.x
    /// contrast ratio against white of at least 4.5:1 (`#1d4ed8` is 6.7:1; `#777777`, at
    /// 4.48:1, is refused). Stored lower-case.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = "^#[0-9a-fA-F]{6}$", example = "#1d4ed8")]
    pub primary_colour: Option<Option<String>>,
}

/// A field that is present: `null` is `Some(None)`, absent is `None` (through `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The field rules that need no network; the logo's own are checked when it is fetched.
impl Validate for BrandingBody {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut check =
            |field: &'static str, value: &Option<Option<String>>, valid: fn(&str) -> _| {
                if let Some(Some(raw)) = value {
                    if let Err(error) = valid(raw) {
                        errors.add(field, error);
                    }
                }
            };
        check("display_name", &self.display_name, valid_display_name);
        check("primary_colour", &self.primary_colour, valid_colour);
        check("logo_url", &self.logo_url, valid_logo_url);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
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
    /// How the dealer's hosted /pi page looks; unset when left out.
    #[validate(nested)]
    pub branding: Option<BrandingBody>,
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
    /// Changes the fields of the branding given (`null` clears one); the rest stay.
    #[validate(nested)]
    pub branding: Option<BrandingBody>,
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

fn display_name(raw: &str) -> Result<String, crate::domain::Invalid> {
    text::bounded(raw, 1, 100)
}

fn valid_display_name(raw: &str) -> Result<(), validator::ValidationError> {
    rule(display_name, raw)
}

fn valid_colour(raw: &str) -> Result<(), validator::ValidationError> {
    rule(Colour::parse_button, raw)
}

/// The shape of the URL; whether http is allowed, and the logo itself, are checked later.
fn valid_logo_url(raw: &str) -> Result<(), validator::ValidationError> {
    rule(|s| logo::parse_url(s, true), raw)
}

/// The branding change a body asks for: checked, and the logo fetched (outside any
/// transaction) when one is given. Every failure names its `branding.` field.
async fn branding_change(
    body: Option<BrandingBody>,
    addresses: &WebhookAddresses,
) -> Result<BrandingChange, ApiError> {
    let Some(body) = body else {
        return Ok(BrandingChange::default());
    };
    let display_name = body
        .display_name
        .map(|value| {
            value
                .map(|raw| parsed("branding.display_name", display_name(&raw)))
                .transpose()
        })
        .transpose()?;
    let primary_colour = body
        .primary_colour
        .map(|value| {
            value
                .map(|raw| {
                    parsed("branding.primary_colour", Colour::parse_button(&raw))
                        .map(Colour::to_hex)
                })
                .transpose()
        })
        .transpose()?;
    let logo = match body.logo_url {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => {
            let allow_private = addresses.allow_private;
            let url = parsed("branding.logo_url", logo::parse_url(&raw, allow_private))?;
            let fetched = parsed("branding.logo_url", logo::fetch(&url, allow_private).await)?;
            Some(Some(fetched))
        }
    };
    Ok(BrandingChange {
        display_name,
        primary_colour,
        logo,
    })
}

/// Whether the body would fetch a logo (worth checking that the dealer exists first).
fn fetches_logo(body: &Option<BrandingBody>) -> bool {
    body.as_ref()
        .is_some_and(|b| matches!(b.logo_url, Some(Some(_))))
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
            branding: Branding {
                display_name: row.display_name,
                logo_url: row.logo_url,
                primary_colour: row.primary_colour,
            },
            id: row.id,
            name: row.name,
            website: row.website,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

/// Create a dealer.
///
/// With `branding.logo_url`, the logo is fetched once now; a logo that cannot be fetched or is
/// refused fails the request (422 naming `branding.logo_url`) and nothing is created.
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
    addresses: web::Data<WebhookAddresses>,
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
    let branding = branding_change(body.branding, &addresses).await?;
    let row = blocking::run(&pool, move |conn| {
        service::create_branded(conn, new, branding)
    })
    .await?;
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

/// Change a dealer's name, website, key contacts or branding.
///
/// The fields given are changed, all or none: with `branding.logo_url`, the logo is fetched
/// once now, and a logo that cannot be fetched or is refused fails the whole request (422
/// naming `branding.logo_url`) with nothing changed.
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
    addresses: web::Data<WebhookAddresses>,
    path: web::Path<String>,
    body: ValidJson<UpdateDealer>,
) -> Result<web::Json<Dealer>, ApiError> {
    let dealer = principal.authorize(Capability::ManageDealers, &path)?;
    let body = body.0;
    let mut update = DealerUpdate {
        name: body.name.map(|n| n.trim().to_owned()),
        website: body.website.as_deref().map(stored_website).transpose()?,
        key_contacts: body.key_contacts.map(contacts).transpose()?,
        branding: BrandingChange::default(),
    };
    if fetches_logo(&body.branding) {
        // No fetch on behalf of a dealer that does not exist.
        let id = dealer.clone();
        blocking::run(&pool, move |conn| service::require(conn, &id)).await?;
    }
    update.branding = branding_change(body.branding, &addresses).await?;
    let row = blocking::run(&pool, move |conn| service::update(conn, &dealer, update)).await?;
    Ok(web::Json(row.into()))
}
