//! Customer actions: create (leaving the blacklists with fresh consent), read with leads, search,
//! and the read log.

use crate::db::customer_reads::{self, ReadRow};
use crate::db::customers::{self as table, CustomerFilter, CustomerRow, NewCustomerRow};
use crate::db::leads::{self, LeadRow};
use crate::db::{self, blacklists, DbConnection, Page};
use crate::domain::events::{Actor, EventKind, FieldChange, NewEvent, Origin};
use crate::domain::{DealerId, Email, Mobile, PersonName};
use crate::error::ApiError;
use crate::service::dealers;

pub struct NewCustomer {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Option<Email>,
    pub mobile: Option<Mobile>,
    pub consent_process: bool,
    pub consent_market: bool,
    pub consent_source: Option<String>,
}

/// Creates a customer and records `customer.created` with every value set.
pub fn create(
    conn: &mut DbConnection,
    dealer: &DealerId,
    new: NewCustomer,
    actor: Actor,
    origin: Origin,
) -> Result<CustomerRow, ApiError> {
    let now = db::now();
    let row = NewCustomerRow {
        dealer_id: dealer.as_str().to_owned(),
        first_name: new.first_name.into_inner(),
        last_name: new.last_name.into_inner(),
        email: new.email.map(Email::into_inner),
        mobile: new.mobile.map(Mobile::into_inner),
        consent_process: new.consent_process,
        consent_market: new.consent_market,
        consent_source: new.consent_source,
        created_at: now,
        updated_at: now,
    };
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        dealers::require(conn, dealer)?;
        leave_blacklists_with_fresh_consent(conn, dealer, &row, now.date())?;
        let customer = table::insert(conn, &row)?;
        let changes = [
            FieldChange::set("first_name", customer.first_name.as_ref()),
            FieldChange::set("last_name", customer.last_name.as_ref()),
            FieldChange::set("email", customer.email.as_ref()),
            FieldChange::set("mobile", customer.mobile.as_ref()),
            FieldChange::set("consent_process", Some(customer.consent_process)),
            FieldChange::set("consent_market", Some(customer.consent_market)),
            FieldChange::set("consent_source", customer.consent_source.as_ref()),
        ];
        let event = NewEvent {
            customer_id: Some(customer.id),
            kind: EventKind::CustomerCreated,
            actor,
            origin,
            changes: changes.into_iter().flatten().collect(),
            lead_ids: None,
        };
        super::change_feed::record(conn, dealer.as_str(), &event, now)?;
        Ok(customer)
    })
}

/// One customer of the dealer, with its leads.
/// One record with its leads, read by staff: the read is recorded (who, when, which record).
pub fn get_with_leads(
    conn: &mut DbConnection,
    dealer: &DealerId,
    id: i64,
    reader: &Actor,
) -> Result<(CustomerRow, Vec<LeadRow>), ApiError> {
    let customer =
        table::find(conn, dealer.as_str(), id)?.ok_or_else(|| ApiError::not_found("customer"))?;
    let leads = leads::for_customer(conn, customer.id)?;
    customer_reads::record(conn, dealer.as_str(), &[customer.id], reader, db::now())?;
    Ok((customer, leads))
}

/// Staff search; every record it shows counts as read.
pub fn search(
    conn: &mut DbConnection,
    dealer: &DealerId,
    filter: &CustomerFilter,
    after: i64,
    limit: i64,
    reader: &Actor,
) -> Result<Page<CustomerRow>, ApiError> {
    let read = customer_reads::Read {
        dealer: dealer.as_str(),
        reader,
        at: db::now(),
    };
    Ok(table::search_recording_reads(
        conn, filter, after, limit, &read,
    )?)
}

/// Who read a record and when, oldest first; for a withdrawn record only how many reads it had
/// by then (the second value).
pub fn reads(
    conn: &mut DbConnection,
    dealer: &DealerId,
    id: i64,
    after: i64,
    limit: i64,
) -> Result<(Page<ReadRow>, Option<i64>), ApiError> {
    table::find(conn, dealer.as_str(), id)?.ok_or_else(|| ApiError::not_found("customer"))?;
    let page = customer_reads::page(conn, id, after, limit)?;
    let at_withdrawal = customer_reads::count_at_withdrawal(conn, id)?;
    Ok((page, at_withdrawal))
}

/// A blacklisted email or mobile comes back only with fresh consent to process and where it
/// came from; then it leaves the blacklist, and the change feed publishes the removal.
fn leave_blacklists_with_fresh_consent(
    conn: &mut DbConnection,
    dealer: &DealerId,
    row: &NewCustomerRow,
    today: chrono::NaiveDate,
) -> Result<(), ApiError> {
    let fresh_consent = row.consent_process && row.consent_source.is_some();
    let dealer = dealer.as_str();
    let mut blacklisted = Vec::new();
    if let Some(email) = &row.email {
        if blacklists::emails::contains(conn, dealer, email)? {
            blacklisted.push("email");
        }
    }
    if let Some(mobile) = &row.mobile {
        if blacklists::mobiles::contains(conn, dealer, mobile)? {
            blacklisted.push("mobile");
        }
    }
    if blacklisted.is_empty() {
        return Ok(());
    }
    if !fresh_consent {
        return Err(ApiError::Conflict(format!(
            "the {} withdrew consent and is on the blacklist: a new record needs consent_process \
             true and a consent_source saying where the fresh consent came from",
            blacklisted.join(" and ")
        )));
    }
    if let (Some(email), true) = (&row.email, blacklisted.contains(&"email")) {
        blacklists::emails::remove(conn, dealer, email, today)?;
    }
    if let (Some(mobile), true) = (&row.mobile, blacklisted.contains(&"mobile")) {
        blacklists::mobiles::remove(conn, dealer, mobile, today)?;
    }
    Ok(())
}
