//! A customer's details or marketing consent changed (by staff, or by the customer on /pi):
//! every changed field recorded as was/now in one `customer.amended` event, and the key contacts
//! told with a Was/Changed table, in one transaction.

use chrono::NaiveDateTime;

use crate::db::customers::{self, CustomerChanges, CustomerRow};
use crate::db::{self, blacklists, DbConnection};
use crate::domain::events::{Actor, EventKind, FieldChange, NewEvent, Origin};
use crate::domain::{DealerId, Email, Identifier, Mobile, PersonName};
use crate::error::ApiError;
use crate::notify::templates::{AlteredRow, DetailsAltered};
use crate::notify::{emails, Branding};

/// The new values; absent fields stay as they are.
#[derive(Debug, Default)]
pub struct Amendment {
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub email: Option<Email>,
    pub mobile: Option<Mobile>,
    /// Only `true` is an amendment; turning consent to process off is a withdrawal.
    pub consent_process: Option<bool>,
    pub consent_market: Option<bool>,
}

/// Who asks, and on what condition.
pub struct AmendRequest {
    pub customer_id: i64,
    pub amendment: Amendment,
    /// The `If-Match` header: the ETag the caller last read.
    pub if_match: Option<String>,
    /// A data subject may amend only records held under the identifier they verified.
    pub scope: Option<Identifier>,
    pub actor: Actor,
    pub origin: Origin,
}

/// The customer's ETag: changes whenever the record does.
pub fn etag(customer: &CustomerRow) -> String {
    format!(
        "\"c{}-{}\"",
        customer.id,
        customer.updated_at.and_utc().timestamp_micros()
    )
}

fn matches_scope(customer: &CustomerRow, scope: &Identifier) -> bool {
    match scope {
        Identifier::Email(email) => customer.email.as_deref() == Some(email.as_str()),
        Identifier::Mobile(mobile) => customer.mobile.as_deref() == Some(mobile.as_str()),
    }
}

fn yes_no(value: bool) -> String {
    if value { "Yes" } else { "No" }.to_owned()
}

/// Amends a record in one transaction, in steps: find the record the caller may amend, compute
/// the changes, refuse a blacklisted email or mobile, write, record the event, mail the key
/// contacts. An amendment that changes nothing does nothing.
pub fn amend(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerId,
    request: AmendRequest,
) -> Result<CustomerRow, ApiError> {
    let AmendRequest {
        customer_id,
        amendment,
        if_match,
        scope,
        actor,
        origin,
    } = request;
    if amendment.consent_process == Some(false) {
        return Err(ApiError::field(
            "consent_process",
            "turning consent to process off is a withdrawal: use withdraw-consent",
        ));
    }
    let values = NewValues::from(amendment);
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        let target = Target {
            customer_id,
            scope: scope.as_ref(),
            if_match: if_match.as_deref(),
        };
        let customer = amendable_record(conn, dealer, target)?;
        let changes = compute_changes(&customer, &values);
        if changes.is_empty() {
            return Ok(customer);
        }
        refuse_blacklisted(conn, dealer, &changes, &values)?;
        let now = db::now();
        let updated = write(conn, &customer, values, now)?;
        let event = NewEvent {
            customer_id: Some(customer.id),
            kind: EventKind::CustomerAmended,
            actor,
            origin,
            changes,
            lead_ids: None,
        };
        super::change_feed::record(conn, dealer.as_str(), &event, now)?;
        mail(conn, branding, dealer, &customer, &updated)?;
        Ok(updated)
    })
}

/// The new values as stored; absent fields stay as they are.
struct NewValues {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    mobile: Option<String>,
    consent_process: Option<bool>,
    consent_market: Option<bool>,
}

impl From<Amendment> for NewValues {
    fn from(amendment: Amendment) -> Self {
        NewValues {
            first_name: amendment.first_name.map(PersonName::into_inner),
            last_name: amendment.last_name.map(PersonName::into_inner),
            email: amendment.email.map(Email::into_inner),
            mobile: amendment.mobile.map(Mobile::into_inner),
            consent_process: amendment.consent_process,
            consent_market: amendment.consent_market,
        }
    }
}

/// Which record, seen through which identifier, on what condition.
struct Target<'a> {
    customer_id: i64,
    scope: Option<&'a Identifier>,
    if_match: Option<&'a str>,
}

/// The record to amend: held by the dealer (under the subject's identifier, for a data
/// subject), not de-identified (410), and unchanged since the caller read it (412).
fn amendable_record(
    conn: &mut DbConnection,
    dealer: &DealerId,
    target: Target<'_>,
) -> Result<CustomerRow, ApiError> {
    let customer = customers::find(conn, dealer.as_str(), target.customer_id)?
        .filter(|c| target.scope.is_none_or(|s| matches_scope(c, s)))
        .ok_or_else(|| ApiError::not_found("customer"))?;
    if customer.deidentified_at.is_some() {
        return Err(ApiError::Gone(
            "this customer withdrew consent and was de-identified".into(),
        ));
    }
    if let Some(tag) = target.if_match {
        if tag.trim() != "*" && tag.trim() != etag(&customer) {
            return Err(ApiError::PreconditionFailed(
                "the customer changed since you read it; read it again".into(),
            ));
        }
    }
    Ok(customer)
}

/// Every field the amendment really changes, as was/now.
fn compute_changes(customer: &CustomerRow, values: &NewValues) -> Vec<FieldChange> {
    let new = |now: &Option<String>, was: &Option<String>| now.clone().or_else(|| was.clone());
    [
        FieldChange::between(
            "first_name",
            customer.first_name.clone(),
            new(&values.first_name, &customer.first_name),
        ),
        FieldChange::between(
            "last_name",
            customer.last_name.clone(),
            new(&values.last_name, &customer.last_name),
        ),
        FieldChange::between(
            "email",
            customer.email.clone(),
            new(&values.email, &customer.email),
        ),
        FieldChange::between(
            "mobile",
            customer.mobile.clone(),
            new(&values.mobile, &customer.mobile),
        ),
        FieldChange::between(
            "consent_process",
            Some(customer.consent_process.to_string()),
            Some(
                values
                    .consent_process
                    .unwrap_or(customer.consent_process)
                    .to_string(),
            ),
        ),
        FieldChange::between(
            "consent_market",
            Some(customer.consent_market.to_string()),
            Some(
                values
                    .consent_market
                    .unwrap_or(customer.consent_market)
                    .to_string(),
            ),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A changed email or mobile that is on the dealer's blacklist is refused (409).
fn refuse_blacklisted(
    conn: &mut DbConnection,
    dealer: &DealerId,
    changes: &[FieldChange],
    values: &NewValues,
) -> Result<(), ApiError> {
    let changed = |field: &str| changes.iter().any(|c| c.field == field);
    if changed("email") {
        let email = values.email.as_deref().unwrap_or_default();
        if blacklists::emails::contains(conn, dealer.as_str(), email)? {
            return Err(ApiError::Conflict(
                "this email is on the dealer's consent blacklist".into(),
            ));
        }
    }
    if changed("mobile") {
        let mobile = values.mobile.as_deref().unwrap_or_default();
        if blacklists::mobiles::contains(conn, dealer.as_str(), mobile)? {
            return Err(ApiError::Conflict(
                "this mobile is on the dealer's consent blacklist".into(),
            ));
        }
    }
    Ok(())
}

/// Writes the new values; returns the record as it now is.
fn write(
    conn: &mut DbConnection,
    customer: &CustomerRow,
    values: NewValues,
    now: NaiveDateTime,
) -> Result<CustomerRow, ApiError> {
    let changes = CustomerChanges {
        first_name: values.first_name,
        last_name: values.last_name,
        email: values.email,
        mobile: values.mobile,
        consent_process: values.consent_process,
        consent_market: values.consent_market,
        updated_at: Some(now),
    };
    Ok(customers::update(conn, customer.id, &changes)?)
}

/// The "details altered" email to the key contacts, queued in this transaction.
fn mail(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerId,
    was: &CustomerRow,
    now: &CustomerRow,
) -> Result<(), ApiError> {
    let dealer_row = super::dealers::get(conn, dealer)?;
    emails::details_altered(conn, branding, &dealer_row, was.id, &altered(was, now))?;
    Ok(())
}

/// The Was/Changed table of the "details altered" email.
fn altered(was: &CustomerRow, now: &CustomerRow) -> DetailsAltered {
    let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "—".into());
    let mobile = |value: &Option<String>| {
        value
            .as_deref()
            .map_or_else(|| "—".into(), emails::for_people)
    };
    let row = |label, was: String, now: String| AlteredRow {
        label,
        changed: was != now,
        was,
        now,
    };
    // Named as the dealer knows them: by the name before the change.
    DetailsAltered {
        first_name: text(&was.first_name),
        last_name: text(&was.last_name),
        rows: vec![
            row("Name", text(&was.first_name), text(&now.first_name)),
            row("Surname", text(&was.last_name), text(&now.last_name)),
            row("Email", text(&was.email), text(&now.email)),
            row("Mobile", mobile(&was.mobile), mobile(&now.mobile)),
            row(
                "Consent to process",
                yes_no(was.consent_process),
                yes_no(now.consent_process),
            ),
            row(
                "Consent to market",
                yes_no(was.consent_market),
                yes_no(now.consent_market),
            ),
        ],
    }
}
