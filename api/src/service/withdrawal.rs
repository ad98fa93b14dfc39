//! Withdrawal of consent to process (POPIA s11(2)(b)): one transaction, all or nothing. Exactly
//! the matching records are de-identified (the verified identifier's, or the one record staff
//! name; never a record that merely shares another identifier with them), their active leads
//! are lost and their leads' free text cleared, their emails and mobiles go onto the two
//! blacklists as rows that share nothing, earlier events' values (masked forms too) are
//! redacted, messages the withdrawal makes moot are cancelled, and the key contacts and the
//! salespeople working their leads are told. Nothing that names the person is left behind but
//! the two blacklist values.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::auth::KeyedHasher;
use crate::db::customers::{self, CustomerRow};
use crate::db::dealers::DealerRow;
use crate::db::events::StoredChanges;
use crate::db::idempotency::reference;
use crate::db::leads::ClosedLead;
use crate::db::{
    self, blacklists, customer_reads, events, follow_ups, idempotency, leads, outbox,
    verifications, DbConnection,
};
use crate::domain::events::{Actor, EventKind, FieldChange, NewEvent, Origin};
use crate::domain::{DealerId, Email, Identifier, Mobile};
use crate::error::ApiError;
use crate::notify::templates::{ConsentWithdrawn, DeidentifyAlert};
use crate::notify::{emails, Branding};
use crate::service::pi::{self, Subject};

/// Whose consent is withdrawn.
pub enum Scope {
    /// A customer who phoned in (staff): that one record.
    Customer(i64),
    /// A verified data subject: every record whose email or mobile is the verified identifier.
    /// Their token is spent by it.
    Subject(Subject),
}

#[derive(Debug, Clone)]
pub struct Withdrawal {
    pub customer_ids: Vec<i64>,
    pub lead_ids_lost: Vec<i64>,
    pub deidentified_at: Option<NaiveDateTime>,
}

/// A verified data subject withdraws: every record held under their identifier, recorded as
/// theirs on the /pi channel. The JSON API and the hosted page both come here.
pub fn by_subject(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    dealer: &DealerId,
    subject: Subject,
) -> Result<Withdrawal, ApiError> {
    let actor = pi::subject_actor(&subject);
    withdraw(
        conn,
        hasher,
        branding,
        dealer,
        Scope::Subject(subject),
        actor,
        Origin::Pi,
    )
}

pub fn withdraw(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    dealer: &DealerId,
    scope: Scope,
    actor: Actor,
    origin: Origin,
) -> Result<Withdrawal, ApiError> {
    // Beside the dealer's other withdrawals, each holding the rows of the records it changes:
    // a record matched, then locked, is read again, as another withdrawal may have just
    // de-identified it. Every other action on the dealer waits for them all, and they for it.
    db::dealer_shared_transaction(conn, dealer.as_str(), |conn| {
        let dealer_row = super::dealers::get(conn, dealer)?;
        let records = match &scope {
            Scope::Customer(id) => {
                let customer = customers::lock(conn, dealer.as_str(), &[*id])?
                    .pop()
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
            Scope::Subject(subject) => {
                pi::ensure_unspent(conn, hasher, subject)?;
                spend(conn, hasher, dealer, subject)?;
                let matched =
                    customers::matching_identifier(conn, dealer.as_str(), &subject.identifier)?;
                if matched.is_empty() {
                    matched
                } else {
                    // As they are once locked: still theirs, and not withdrawn meanwhile.
                    let ids: Vec<i64> = matched.iter().map(|c| c.id).collect();
                    let mut locked = customers::lock(conn, dealer.as_str(), &ids)?;
                    locked.retain(|c| c.deidentified_at.is_none() && holds(c, &subject.identifier));
                    locked
                }
            }
        };
        if records.is_empty() {
            return Ok(Withdrawal {
                customer_ids: vec![],
                lead_ids_lost: vec![],
                deidentified_at: None,
            });
        }
        let now = db::now();
        let context = Context {
            hasher,
            branding,
            dealer: &dealer_row,
            actor: &actor,
            origin,
            now,
        };
        let mut lead_ids_lost = Vec::new();
        for customer in &records {
            lead_ids_lost.extend(withdraw_one(conn, &context, customer)?);
        }
        Ok(Withdrawal {
            customer_ids: records.iter().map(|c| c.id).collect(),
            lead_ids_lost,
            deidentified_at: Some(now),
        })
    })
}

/// Spends the subject's token (any later use answers 401) and forgets its verification and the
/// stored responses of the requests made with it, even when nothing was held.
fn spend(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    dealer: &DealerId,
    subject: &Subject,
) -> Result<(), ApiError> {
    verifications::spend_subject(conn, &hasher.subject(&subject.sub), subject.expires_at)?;
    if let Some(verification) = subject.sub.strip_prefix("pi:") {
        verifications::delete(conn, &[verification.to_owned()])?;
        idempotency::forget_references(
            conn,
            dealer.as_str(),
            &[reference("verification", verification)],
        )?;
    }
    Ok(())
}

/// The record's email and mobile now and before (an email changed since is still theirs to
/// forget), from the record and its events.
fn identifiers_over_time(customer: &CustomerRow, history: &StoredChanges) -> Vec<Identifier> {
    let [mut emails, mut mobiles] = events::values_of(history, ["email", "mobile"]);
    emails.extend(customer.email.clone());
    mobiles.extend(customer.mobile.clone());
    let mut identifiers: Vec<Identifier> = emails
        .iter()
        .filter_map(|e| Email::parse(e).ok().map(Identifier::Email))
        .chain(
            mobiles
                .iter()
                .filter_map(|m| Mobile::parse(m).ok().map(Identifier::Mobile)),
        )
        .collect();
    identifiers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    identifiers.dedup_by(|a, b| a.as_str() == b.as_str());
    identifiers
}

/// Whether the record is held under the identifier (as `customers::matching_identifier` asks).
fn holds(customer: &CustomerRow, identifier: &Identifier) -> bool {
    let value = Some(identifier.as_str());
    match identifier {
        Identifier::Email(_) => customer.email.as_deref() == value,
        Identifier::Mobile(_) => customer.mobile.as_deref() == value,
    }
}

/// What each step of one record's withdrawal needs besides the connection: the same for every
/// record of one withdrawal.
struct Context<'a> {
    hasher: &'a KeyedHasher,
    branding: &'a Branding,
    dealer: &'a DealerRow,
    actor: &'a Actor,
    origin: Origin,
    now: NaiveDateTime,
}

/// Withdraws one record, step by step, in the caller's transaction; returns the leads it lost.
fn withdraw_one(
    conn: &mut DbConnection,
    cx: &Context<'_>,
    customer: &CustomerRow,
) -> Result<Vec<i64>, ApiError> {
    let leads = close_leads(conn, cx, customer)?;
    blacklist_identifiers(conn, cx, customer)?;
    // Its events, read once: the identifiers it had over time, then redacted.
    let history = events::of_customer(conn, customer.id)?;
    forget_what_identifies_them(conn, cx, customer, &history)?;
    redact_history(conn, &history)?;
    deidentify_record(conn, cx, customer)?;
    record_events(conn, cx, customer, &leads.lost)?;
    queue_emails(conn, cx, customer, &leads)?;
    Ok(leads.lost)
}

/// The record's leads as they were, and the ids of those the withdrawal lost.
struct ClosedLeads {
    before: Vec<ClosedLead>,
    lost: Vec<i64>,
}

/// Active leads become lost and every lead's free text is cleared.
fn close_leads(
    conn: &mut DbConnection,
    cx: &Context<'_>,
    customer: &CustomerRow,
) -> Result<ClosedLeads, ApiError> {
    let before = leads::lose_and_clear(conn, customer.id, cx.now)?;
    let lost: Vec<i64> = before
        .iter()
        .filter(|lead| lead.status_before == "active")
        .map(|lead| lead.id)
        .collect();
    Ok(ClosedLeads { before, lost })
}

/// The blacklists: two rows in two tables, sharing nothing but the dealer and the day.
fn blacklist_identifiers(
    conn: &mut DbConnection,
    cx: &Context<'_>,
    customer: &CustomerRow,
) -> Result<(), ApiError> {
    blacklists::add_to_both(
        conn,
        cx.dealer.id.as_str(),
        customer.email.as_deref(),
        customer.mobile.as_deref(),
        cx.now.date(),
    )?;
    Ok(())
}

/// Forgets what identifies them elsewhere, under every email and mobile the record has had:
/// verifications and alerts, stored responses, messages, masked NOT FOUND values, who read
/// the record (only the count stays), and the notes staff wrote closing its follow-ups.
fn forget_what_identifies_them(
    conn: &mut DbConnection,
    cx: &Context<'_>,
    customer: &CustomerRow,
    history: &StoredChanges,
) -> Result<(), ApiError> {
    let identifiers = identifiers_over_time(customer, history);
    forget_verifications(conn, cx, customer, &identifiers)?;
    silence_messages(conn, cx, customer, &identifiers)?;
    let masked: Vec<String> = identifiers.iter().map(Identifier::masked).collect();
    events::redact_masked_lookups(conn, cx.dealer.id.as_str(), &masked)?;
    customer_reads::keep_count_only(conn, customer.id)?;
    follow_ups::clear_notes_of(conn, customer.id)?;
    Ok(())
}

/// Verifications (their own, and identifier changes asked for this record) and alerts keyed by
/// their identifiers, and the stored responses of requests about the record or those
/// verifications.
fn forget_verifications(
    conn: &mut DbConnection,
    cx: &Context<'_>,
    customer: &CustomerRow,
    identifiers: &[Identifier],
) -> Result<(), ApiError> {
    let dealer_id = cx.dealer.id.as_str();
    let keys: Vec<String> = identifiers
        .iter()
        .map(|i| cx.hasher.identifier(i))
        .collect();
    let verification_ids =
        verifications::delete_for_with_alerts(conn, dealer_id, &keys, &[customer.id])?;
    let references: Vec<String> = verification_ids
        .iter()
        .map(|id| reference("verification", id))
        .chain([reference("customer", customer.id)])
        .collect();
    idempotency::forget_references(conn, dealer_id, &references)?;
    Ok(())
}

/// Messages about them or to them: waiting ones are cancelled, finished ones lose their content.
fn silence_messages(
    conn: &mut DbConnection,
    cx: &Context<'_>,
    customer: &CustomerRow,
    identifiers: &[Identifier],
) -> Result<(), ApiError> {
    let dealer_id = cx.dealer.id.as_str();
    outbox::silence_customer(conn, customer.id, cx.now)?;
    let addresses: Vec<&str> = identifiers.iter().map(Identifier::as_str).collect();
    outbox::silence_addresses(conn, dealer_id, &addresses, cx.now)?;
    Ok(())
}

/// History stays, de-identified: earlier events' values become `"[de-identified]"`.
fn redact_history(conn: &mut DbConnection, history: &StoredChanges) -> Result<(), ApiError> {
    events::redact_customer(conn, history)?;
    Ok(())
}

/// Names, email, mobile and consent source cleared, both consents false, the id kept.
fn deidentify_record(
    conn: &mut DbConnection,
    cx: &Context<'_>,
    customer: &CustomerRow,
) -> Result<(), ApiError> {
    customers::deidentify(conn, customer.id, cx.now)?;
    Ok(())
}

/// What happened now: `consent.withdrawn`, `customer.deidentified`, and `lead.status_changed`
/// for each lost lead. A reconcile after a restore records no `consent.withdrawn`: the person
/// withdrew once, and that event is in the feed the restore rolled back.
fn record_events(
    conn: &mut DbConnection,
    cx: &Context<'_>,
    customer: &CustomerRow,
    lost: &[i64],
) -> Result<(), ApiError> {
    let event = |kind, changes, lead_ids| NewEvent {
        customer_id: Some(customer.id),
        kind,
        actor: cx.actor.clone(),
        origin: cx.origin,
        changes,
        lead_ids,
    };
    let mut recorded = Vec::new();
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
    if cx.origin != Origin::Reconcile {
        recorded.push(event(
            EventKind::ConsentWithdrawn,
            consents.into_iter().flatten().collect(),
            None,
        ));
    }
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
    recorded.push(event(EventKind::CustomerDeidentified, cleared, None));
    for lead in lost {
        let change = FieldChange::between("status", Some("active".into()), Some("lost".into()));
        recorded.push(event(
            EventKind::LeadStatusChanged,
            change.into_iter().collect(),
            Some(vec![*lead]),
        ));
    }
    super::change_feed::record_all(conn, cx.dealer.id.as_str(), &recorded, cx.now)?;
    Ok(())
}

/// The withdrawal email to the key contacts and one de-identify alert per salesperson of a lost
/// lead, queued in this transaction. A reconcile queues none: these name the person, so it
/// sends one summary per dealer (ids and counts) instead.
fn queue_emails(
    conn: &mut DbConnection,
    cx: &Context<'_>,
    customer: &CustomerRow,
    leads: &ClosedLeads,
) -> Result<(), ApiError> {
    if cx.origin == Origin::Reconcile {
        return Ok(());
    }
    let name = |value: &Option<String>| value.clone().unwrap_or_default();
    let withdrawn = ConsentWithdrawn {
        first_name: name(&customer.first_name),
        last_name: name(&customer.last_name),
    };
    emails::consent_withdrawn(conn, cx.branding, cx.dealer, customer.id, &withdrawn)?;
    let mut by_recipient: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for lead in leads.before.iter().filter(|l| leads.lost.contains(&l.id)) {
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
            lead_ids,
        };
        emails::deidentify_alert(conn, cx.branding, cx.dealer, &email, &alert)?;
    }
    Ok(())
}
