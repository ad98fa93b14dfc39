//! Withdrawal of consent to process (POPIA s11(2)(b)): one transaction, all or nothing. Every
//! matching record is de-identified, its active leads are lost and its leads' free text cleared,
//! its email and mobile go onto the two blacklists as rows that share nothing, the earlier
//! events' values are redacted, and the key contacts and the salespeople working its leads are
//! told. Nothing that names the person is left behind but the two blacklist values.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::auth::KeyedHasher;
use crate::db::customers::{self, CustomerRow};
use crate::db::{
    self, blacklists, events, idempotency, leads, lookup_alerts, outbox, verifications,
    DbConnection,
};
use crate::domain::events::{Actor, Channel, EventKind, FieldChange, NewEvent};
use crate::domain::{DealerId, Email, Identifier, Mobile};
use crate::http::problem::ApiError;
use crate::notify::templates::{ConsentWithdrawn, DeidentifyAlert};
use crate::notify::{emails, Branding};

/// Whose consent is withdrawn.
pub enum Scope {
    /// A customer who phoned in (staff); with every record sharing their email or mobile.
    Customer(i64),
    /// A verified data subject; every record held under the identifier.
    Subject(Identifier),
}

#[derive(Debug, Clone)]
pub struct Withdrawal {
    pub customer_ids: Vec<i64>,
    pub lead_ids_lost: Vec<i64>,
    pub deidentified_at: Option<NaiveDateTime>,
}

pub fn withdraw(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    dealer: &DealerId,
    scope: Scope,
    actor: Actor,
    channel: Channel,
) -> Result<Withdrawal, ApiError> {
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        let dealer_row = db::dealers::find(conn, dealer.as_str())?
            .ok_or_else(|| ApiError::not_found("dealer"))?;
        let first = match &scope {
            Scope::Customer(id) => {
                let customer = customers::find(conn, dealer.as_str(), *id)?
                    .ok_or_else(|| ApiError::not_found("customer"))?;
                if customer.deidentified_at.is_some() {
                    // Already withdrawn: harmless, nothing new happens.
                    return Ok(Withdrawal {
                        customer_ids: vec![customer.id],
                        lead_ids_lost: vec![],
                        deidentified_at: customer.deidentified_at,
                    });
                }
                vec![customer]
            }
            Scope::Subject(identifier) => {
                customers::matching_identifier(conn, dealer.as_str(), identifier)?
            }
        };
        // The person's other identifiers, from the records found, reach their other records.
        let (emails, mobiles) = values_of(&first);
        let records = customers::matching(conn, dealer.as_str(), &emails, &mobiles)?;
        if records.is_empty() {
            return Ok(Withdrawal {
                customer_ids: vec![],
                lead_ids_lost: vec![],
                deidentified_at: None,
            });
        }
        let now = db::now();
        let mut lead_ids_lost = Vec::new();
        for customer in &records {
            lead_ids_lost.extend(withdraw_one(
                conn,
                hasher,
                branding,
                &dealer_row,
                customer,
                &actor,
                channel,
                now,
            )?);
        }
        Ok(Withdrawal {
            customer_ids: records.iter().map(|c| c.id).collect(),
            lead_ids_lost,
            deidentified_at: Some(now),
        })
    })
}

fn values_of(records: &[CustomerRow]) -> (Vec<String>, Vec<String>) {
    let emails = records.iter().filter_map(|c| c.email.clone()).collect();
    let mobiles = records.iter().filter_map(|c| c.mobile.clone()).collect();
    (emails, mobiles)
}

#[allow(clippy::too_many_arguments)]
fn withdraw_one(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    dealer: &db::dealers::DealerRow,
    customer: &CustomerRow,
    actor: &Actor,
    channel: Channel,
    now: NaiveDateTime,
) -> Result<Vec<i64>, ApiError> {
    let dealer_id = dealer.id.as_str();
    let lead_rows = leads::for_customer(conn, customer.id)?;
    let lost = leads::lose_and_clear(conn, customer.id, now)?;

    // The blacklists: two rows in two tables, sharing nothing but the dealer and the day.
    if let Some(email) = &customer.email {
        blacklists::emails::add(conn, dealer_id, email, now.date())?;
    }
    if let Some(mobile) = &customer.mobile {
        blacklists::mobiles::add(conn, dealer_id, mobile, now.date())?;
    }

    // Forget what identifies them elsewhere: verifications and alerts keyed by their
    // identifiers, and the content of finished messages about them.
    let keys: Vec<String> = [
        customer
            .email
            .as_deref()
            .and_then(|e| Email::parse(e).ok())
            .map(Identifier::Email),
        customer
            .mobile
            .as_deref()
            .and_then(|m| Mobile::parse(m).ok())
            .map(Identifier::Mobile),
    ]
    .into_iter()
    .flatten()
    .map(|identifier| hasher.identifier(&identifier))
    .collect();
    verifications::delete_for_identifiers(conn, dealer_id, &keys)?;
    lookup_alerts::delete_for_identifiers(conn, dealer_id, &keys)?;
    outbox::purge_customer(conn, customer.id, now)?;
    for address in [&customer.email, &customer.mobile].into_iter().flatten() {
        outbox::purge_recipient(conn, dealer_id, address, now)?;
    }
    // Stored responses that could replay their details (Idempotency-Key records).
    let mentions: Vec<String> = [customer.email.clone(), customer.mobile.clone()]
        .into_iter()
        .flatten()
        .chain([
            format!("\"customer_id\":{}", customer.id),
            format!("\"id\":{}", customer.id),
        ])
        .collect();
    idempotency::forget_mentions(conn, dealer_id, &mentions)?;

    // History stays, de-identified; then what happened now.
    events::redact_customer(conn, customer.id)?;
    customers::deidentify(conn, customer.id, now)?;
    let record = |conn: &mut DbConnection, kind, changes, lead_ids| {
        let event = NewEvent {
            customer_id: Some(customer.id),
            kind,
            actor: actor.clone(),
            channel,
            changes,
            lead_ids,
        };
        events::record(conn, dealer_id, &event, now)
    };
    let consents = [
        FieldChange::between(
            "consent_process",
            Some(customer.consent_process.to_string()),
            Some("false".into()),
        ),
        FieldChange::between(
            "consent_market",
            Some(customer.consent_market.to_string()),
            Some("false".into()),
        ),
    ];
    record(
        conn,
        EventKind::ConsentWithdrawn,
        consents.into_iter().flatten().collect(),
        None,
    )?;
    let cleared = [
        "first_name",
        "last_name",
        "email",
        "mobile",
        "consent_source",
    ]
    .into_iter()
    .map(|field| FieldChange {
        field: field.to_owned(),
        was: Some(events::REDACTED.to_owned()),
        now: None,
    })
    .collect();
    record(conn, EventKind::CustomerDeidentified, cleared, None)?;
    for lead in &lost {
        let change = FieldChange::between("status", Some("active".into()), Some("lost".into()));
        record(
            conn,
            EventKind::LeadStatusChanged,
            change.into_iter().collect(),
            Some(vec![*lead]),
        )?;
    }

    // The emails, queued in this transaction.
    let name = |value: &Option<String>| value.clone().unwrap_or_default();
    let withdrawn = ConsentWithdrawn {
        first_name: name(&customer.first_name),
        last_name: name(&customer.last_name),
    };
    emails::consent_withdrawn(conn, branding, dealer, customer.id, &withdrawn)?;
    let mut by_recipient: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for lead in lead_rows.iter().filter(|l| lost.contains(&l.id)) {
        by_recipient
            .entry((lead.recipient_email.clone(), lead.recipient_name.clone()))
            .or_default()
            .push(lead.id);
    }
    for ((email, recipient_name), lead_ids) in by_recipient {
        let alert = DeidentifyAlert {
            recipient_name,
            customer_first_name: name(&customer.first_name),
            customer_id: customer.id,
            lead_ids: lead_ids
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        };
        emails::deidentify_alert(conn, branding, dealer, &email, &alert)?;
    }
    Ok(lost)
}
