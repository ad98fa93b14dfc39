//! Types that can only hold valid values. Raw input exists only at the HTTP boundary; past it,
//! an `Email` is trimmed, lower-case and valid, a `Mobile` is E.164, and so on.

pub mod colour;
pub mod dealer_id;
pub mod email;
pub mod events;
pub mod identifier;
pub mod mobile;
pub mod person_name;
pub mod text;
pub mod webhook_url;
pub mod website;

pub use dealer_id::DealerId;
pub use email::Email;
pub use identifier::Identifier;
pub use mobile::Mobile;
pub use person_name::PersonName;

/// Why a raw value was refused; the caller knows which field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Invalid(message.into())
    }
}

/// Bridges a domain parser into a `validator` custom rule, so the rule and the type agree.
pub(crate) fn rule<T>(
    parse: impl FnOnce(&str) -> Result<T, Invalid>,
    raw: &str,
) -> Result<(), validator::ValidationError> {
    parse(raw).map(|_| ()).map_err(|Invalid(message)| {
        validator::ValidationError::new("invalid").with_message(message.into())
    })
}
