//! The change-event model: what happened to a customer or lead, who did it and where it came
//! from, with each changed field as was/now. Later capabilities (amendment, withdrawal,
//! the /pi lookup) add kinds; the shape stays.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a change event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EventKind {
    #[serde(rename = "customer.created")]
    CustomerCreated,
    #[serde(rename = "customer.amended")]
    CustomerAmended,
    #[serde(rename = "consent.withdrawn")]
    ConsentWithdrawn,
    #[serde(rename = "customer.deidentified")]
    CustomerDeidentified,
    #[serde(rename = "lead.created")]
    LeadCreated,
    #[serde(rename = "lead.status_changed")]
    LeadStatusChanged,
    #[serde(rename = "lead.reassigned")]
    LeadReassigned,
    #[serde(rename = "lookup.not_found")]
    LookupNotFound,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::CustomerCreated,
        EventKind::CustomerAmended,
        EventKind::ConsentWithdrawn,
        EventKind::CustomerDeidentified,
        EventKind::LeadCreated,
        EventKind::LeadStatusChanged,
        EventKind::LeadReassigned,
        EventKind::LookupNotFound,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CustomerCreated => "customer.created",
            EventKind::CustomerAmended => "customer.amended",
            EventKind::ConsentWithdrawn => "consent.withdrawn",
            EventKind::CustomerDeidentified => "customer.deidentified",
            EventKind::LeadCreated => "lead.created",
            EventKind::LeadStatusChanged => "lead.status_changed",
            EventKind::LeadReassigned => "lead.reassigned",
            EventKind::LookupNotFound => "lookup.not_found",
        }
    }

    pub fn from_stored(value: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// How the change reached the service: the customer's own /pi page, the API (staff), or a
/// reconcile after a database restore (the service itself).
// Published as the schema `Channel` and the change feed's `channel` field: names that stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Channel)]
pub enum Origin {
    Pi,
    Api,
    /// `popia-api reconcile`, or serve's start-up pass: a withdrawn person's record found live.
    Reconcile,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Pi => "pi",
            Origin::Api => "api",
            Origin::Reconcile => "reconcile",
        }
    }

    pub fn from_stored(value: &str) -> Origin {
        match value {
            "pi" => Origin::Pi,
            "reconcile" => Origin::Reconcile,
            _ => Origin::Api,
        }
    }
}

/// Who made the change: the token's role and subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    /// `admin`, `dealer`, `operator` or `subject`.
    pub role: String,
    /// The token's `sub` claim.
    pub sub: String,
}

/// One field's value before and after. Values are strings (booleans as `true`/`false`), or
/// `"[de-identified]"` once the customer has withdrawn consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub was: Option<String>,
    pub now: Option<String>,
}

impl FieldChange {
    /// A field set for the first time.
    pub fn set(field: &str, now: Option<impl ToString>) -> Option<FieldChange> {
        now.map(|value| FieldChange {
            field: field.to_owned(),
            was: None,
            now: Some(value.to_string()),
        })
    }

    /// A field that changed from `was` to `now`; `None` when it did not change.
    pub fn between(field: &str, was: Option<String>, now: Option<String>) -> Option<FieldChange> {
        (was != now).then(|| FieldChange {
            field: field.to_owned(),
            was,
            now,
        })
    }
}

/// What the service writes: an event before it has an id and a time.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub customer_id: Option<i64>,
    pub kind: EventKind,
    pub actor: Actor,
    pub origin: Origin,
    pub changes: Vec<FieldChange>,
    pub lead_ids: Option<Vec<i64>>,
}
