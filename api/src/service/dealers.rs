//! Dealer actions: create, read, update, and the one "dealer exists, else 404" check.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::dealer_logos::{self, LogoRow};
use crate::db::dealers::{self as table, DealerChanges, DealerRow, StoredContact};
use crate::db::{self, DbConnection};
use crate::domain::{DealerId, Email, PersonName};
use crate::error::ApiError;
use crate::service::logo::FetchedLogo;

/// A staff member who receives the dealer's POPIA emails.
#[derive(Debug, Clone)]
pub struct KeyContact {
    pub name: PersonName,
    pub email: Email,
}

pub struct NewDealer {
    pub id: DealerId,
    pub name: String,
    pub website: String,
    pub key_contacts: Vec<KeyContact>,
}

#[derive(Default)]
pub struct DealerUpdate {
    pub name: Option<String>,
    pub website: Option<String>,
    pub key_contacts: Option<Vec<KeyContact>>,
    pub branding: BrandingChange,
}

/// A change to the dealer's branding, already checked (the colour's contrast, the logo
/// fetched). Each field: `None` leaves it, `Some(None)` clears it, `Some(Some(v))` sets it.
#[derive(Debug, Default)]
pub struct BrandingChange {
    /// Trimmed, 1 to 100 characters.
    pub display_name: Option<Option<String>>,
    /// `#rrggbb`, lower-case.
    pub primary_colour: Option<Option<String>>,
    /// The logo as fetched from `logo_url` (its `source_url`); cleared, the stored logo goes.
    pub logo: Option<Option<FetchedLogo>>,
}

impl BrandingChange {
    fn columns(&self) -> DealerChanges {
        DealerChanges {
            display_name: self.display_name.clone(),
            primary_colour: self.primary_colour.clone(),
            logo_url: self
                .logo
                .as_ref()
                .map(|logo| logo.as_ref().map(|l| l.source_url.clone())),
            ..DealerChanges::default()
        }
    }

    /// Stores or removes the logo, in the caller's transaction.
    fn store_logo(&self, conn: &mut DbConnection, dealer: &str) -> Result<(), ApiError> {
        match &self.logo {
            None => {}
            Some(None) => {
                dealer_logos::remove(conn, dealer)?;
            }
            Some(Some(logo)) => dealer_logos::put(
                conn,
                &LogoRow {
                    dealer_id: dealer.to_owned(),
                    content_type: logo.content_type.clone(),
                    bytes: logo.bytes.clone(),
                    source_url: logo.source_url.clone(),
                    fetched_at: db::now(),
                },
            )?,
        }
        Ok(())
    }
}

fn store_contacts(contacts: &[KeyContact]) -> String {
    let stored: Vec<StoredContact> = contacts
        .iter()
        .map(|c| StoredContact {
            name: c.name.as_str().to_owned(),
            email: c.email.as_str().to_owned(),
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into())
}

pub fn create(conn: &mut DbConnection, new: NewDealer) -> Result<DealerRow, ApiError> {
    create_branded(conn, new, BrandingChange::default())
}

/// Creates the dealer with its branding (and stored logo), in one transaction.
pub fn create_branded(
    conn: &mut DbConnection,
    new: NewDealer,
    branding: BrandingChange,
) -> Result<DealerRow, ApiError> {
    let now = db::now();
    let columns = branding.columns();
    let row = DealerRow {
        id: new.id.as_str().to_owned(),
        name: new.name,
        website: new.website,
        key_contacts: store_contacts(&new.key_contacts),
        created_at: now,
        updated_at: now,
        display_name: columns.display_name.flatten(),
        logo_url: columns.logo_url.flatten(),
        primary_colour: columns.primary_colour.flatten(),
    };
    db::write_transaction(conn, |conn| {
        match table::insert(conn, &row) {
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(ApiError::Conflict(format!(
                    "dealer `{}` already exists",
                    row.id
                )))
            }
            other => other?,
        };
        branding.store_logo(conn, &row.id)
    })?;
    Ok(row)
}

/// The dealer must exist: `Ok` if it does, 404 `dealer` if not.
pub fn require(conn: &mut DbConnection, id: &DealerId) -> Result<(), ApiError> {
    if table::exists(conn, id.as_str())? {
        Ok(())
    } else {
        Err(ApiError::not_found("dealer"))
    }
}

/// The dealer's row, or 404 `dealer`.
pub fn get(conn: &mut DbConnection, id: &DealerId) -> Result<DealerRow, ApiError> {
    table::find(conn, id.as_str())?.ok_or_else(|| ApiError::not_found("dealer"))
}

pub fn update(
    conn: &mut DbConnection,
    id: &DealerId,
    update: DealerUpdate,
) -> Result<DealerRow, ApiError> {
    let changes = DealerChanges {
        name: update.name,
        website: update.website,
        key_contacts: update.key_contacts.as_deref().map(store_contacts),
        updated_at: Some(db::now()),
        ..update.branding.columns()
    };
    db::write_transaction(conn, |conn| {
        if table::update(conn, id.as_str(), &changes)? == 0 {
            return Err(ApiError::not_found("dealer"));
        }
        update.branding.store_logo(conn, id.as_str())?;
        get(conn, id)
    })
}

/// What the hosted /pi page shows of a dealer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageBranding {
    /// display_name if set, else the dealer's name.
    pub name: String,
    /// "#rrggbb", lower-case, when set.
    pub primary_colour: Option<String>,
    /// A logo is stored (served at /pi/{dealer}/logo).
    pub has_logo: bool,
    /// The origin (scheme://host[:port]) of the dealer's `website`, for CSP frame-ancestors;
    /// None if it does not parse.
    pub website_origin: Option<String>,
}

/// The dealer's branding for the hosted /pi page, or 404 `dealer`.
pub fn page_branding(conn: &mut DbConnection, id: &DealerId) -> Result<PageBranding, ApiError> {
    let row = get(conn, id)?;
    Ok(PageBranding {
        website_origin: website_origin(&row.website),
        name: row.display_name.unwrap_or(row.name),
        primary_colour: row.primary_colour,
        // `logo_url` is set exactly when a fetched logo is stored (`BrandingChange`): no second
        // query on every page view.
        has_logo: row.logo_url.is_some(),
    })
}

/// The dealer's stored logo as `(content type, bytes)`; `None` when it has none (or no such
/// dealer).
pub fn logo(conn: &mut DbConnection, id: &DealerId) -> Result<Option<(String, Vec<u8>)>, ApiError> {
    Ok(dealer_logos::find(conn, id.as_str())?)
}

/// `scheme://host[:port]` of an http(s) URL; the port only when not the scheme's default.
fn website_origin(website: &str) -> Option<String> {
    let url = url::Url::parse(website).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}
