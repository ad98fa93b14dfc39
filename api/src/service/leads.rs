//! Lead actions: create, read, and change status or salesperson, each recording its events.

use crate::db::leads::{self as table, LeadChanges, LeadRow, NewLeadRow};
use crate::db::{self, customers, DbConnection};
use crate::domain::events::{Actor, EventKind, FieldChange, NewEvent, Origin};
use crate::domain::{DealerId, Email, PersonName};
use crate::error::ApiError;

/// Where a lead stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    Active,
    Won,
    Lost,
}

impl LeadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Active => "active",
            LeadStatus::Won => "won",
            LeadStatus::Lost => "lost",
        }
    }

    pub fn from_stored(value: &str) -> Self {
        match value {
            "won" => LeadStatus::Won,
            "lost" => LeadStatus::Lost,
            _ => LeadStatus::Active,
        }
    }
}

/// The salesperson working a lead.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub name: PersonName,
    pub email: Email,
}

pub struct NewLead {
    pub customer_id: i64,
    pub recipient: Recipient,
    pub source: Option<String>,
    pub vehicle: Option<String>,
    pub message: Option<String>,
}

#[derive(Default)]
pub struct LeadUpdate {
    pub status: Option<LeadStatus>,
    pub recipient: Option<Recipient>,
}

/// Creates an active lead for one of the dealer's customers and records `lead.created`.
pub fn create(
    conn: &mut DbConnection,
    dealer: &DealerId,
    new: NewLead,
    actor: Actor,
) -> Result<LeadRow, ApiError> {
    let now = db::now();
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        let customer = customers::find(conn, dealer.as_str(), new.customer_id)?
            .ok_or_else(|| ApiError::field("customer_id", "no such customer at this dealer"))?;
        if customer.deidentified_at.is_some() {
            return Err(ApiError::Conflict(
                "this customer withdrew consent to process and was de-identified".into(),
            ));
        }
        let lead = table::insert(
            conn,
            &NewLeadRow {
                dealer_id: dealer.as_str().to_owned(),
                customer_id: customer.id,
                status: LeadStatus::Active.as_str().to_owned(),
                recipient_name: new.recipient.name.into_inner(),
                recipient_email: new.recipient.email.into_inner(),
                source: new.source,
                vehicle: new.vehicle,
                message: new.message,
                created_at: now,
                updated_at: now,
            },
        )?;
        let changes = [
            FieldChange::set("status", Some(&lead.status)),
            FieldChange::set("recipient_name", Some(&lead.recipient_name)),
            FieldChange::set("recipient_email", Some(&lead.recipient_email)),
            FieldChange::set("source", lead.source.as_ref()),
            FieldChange::set("vehicle", lead.vehicle.as_ref()),
        ];
        let event = NewEvent {
            customer_id: Some(customer.id),
            kind: EventKind::LeadCreated,
            actor,
            origin: Origin::Api,
            changes: changes.into_iter().flatten().collect(),
            lead_ids: Some(vec![lead.id]),
        };
        super::change_feed::record(conn, dealer.as_str(), &event, now)?;
        Ok(lead)
    })
}

/// A customer's leads, oldest first.
pub fn of_customer(conn: &mut DbConnection, customer_id: i64) -> Result<Vec<LeadRow>, ApiError> {
    Ok(table::for_customer(conn, customer_id)?)
}

/// One lead of the dealer, or 404 `lead`.
pub fn get(conn: &mut DbConnection, dealer: &DealerId, id: i64) -> Result<LeadRow, ApiError> {
    table::find(conn, dealer.as_str(), id)?.ok_or_else(|| ApiError::not_found("lead"))
}

/// Changes a lead's status and/or recipient, recording `lead.status_changed` and
/// `lead.reassigned` for what actually changed. A change to nothing records nothing.
pub fn update(
    conn: &mut DbConnection,
    dealer: &DealerId,
    id: i64,
    update: LeadUpdate,
    actor: Actor,
) -> Result<LeadRow, ApiError> {
    let now = db::now();
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        let lead = get(conn, dealer, id)?;
        let status = FieldChange::between(
            "status",
            Some(lead.status.clone()),
            update
                .status
                .map(|s| s.as_str().to_owned())
                .or(Some(lead.status.clone())),
        );
        let (name, email) = match &update.recipient {
            Some(r) => (r.name.as_str().to_owned(), r.email.as_str().to_owned()),
            None => (lead.recipient_name.clone(), lead.recipient_email.clone()),
        };
        let recipient: Vec<FieldChange> = [
            FieldChange::between(
                "recipient_name",
                Some(lead.recipient_name.clone()),
                Some(name.clone()),
            ),
            FieldChange::between(
                "recipient_email",
                Some(lead.recipient_email.clone()),
                Some(email.clone()),
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if status.is_none() && recipient.is_empty() {
            return Ok(lead);
        }
        // A withdrawn customer's leads are closed for good: reopening one would work a person
        // who withdrew, and reassigning one would tell a new salesperson about them.
        let customer = customers::find(conn, dealer.as_str(), lead.customer_id)?;
        if customer.is_some_and(|c| c.deidentified_at.is_some()) {
            return Err(ApiError::Conflict(
                "this lead's customer withdrew consent: the lead cannot be reopened or reassigned"
                    .into(),
            ));
        }
        let changed = table::update(
            conn,
            lead.id,
            &LeadChanges {
                status: status.as_ref().and_then(|c| c.now.clone()),
                recipient_name: Some(name),
                recipient_email: Some(email),
                updated_at: Some(now),
            },
        )?;
        let mut record = |kind, changes| {
            let event = NewEvent {
                customer_id: Some(lead.customer_id),
                kind,
                actor: actor.clone(),
                origin: Origin::Api,
                changes,
                lead_ids: Some(vec![lead.id]),
            };
            super::change_feed::record(conn, dealer.as_str(), &event, now)
        };
        if let Some(change) = status {
            record(EventKind::LeadStatusChanged, vec![change])?;
        }
        if !recipient.is_empty() {
            record(EventKind::LeadReassigned, recipient)?;
        }
        Ok(changed)
    })
}
