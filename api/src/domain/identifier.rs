//! The identifier a data subject proves control of: an email or a mobile.

use super::{Email, Invalid, Mobile};

/// What a data subject proves control of on the /pi page: an email or a mobile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Email(Email),
    Mobile(Mobile),
}

impl Identifier {
    /// Exactly one of the two, parsed; the error names the field.
    pub fn from_parts(
        email: Option<&str>,
        mobile: Option<&str>,
    ) -> Result<Identifier, (&'static str, Invalid)> {
        match (email, mobile) {
            (Some(email), None) => Email::parse(email)
                .map(Identifier::Email)
                .map_err(|e| ("email", e)),
            (None, Some(mobile)) => Mobile::parse(mobile)
                .map(Identifier::Mobile)
                .map_err(|e| ("mobile", e)),
            _ => Err((
                "email",
                Invalid::new("give exactly one of email and mobile"),
            )),
        }
    }

    /// The normalised value.
    pub fn as_str(&self) -> &str {
        match self {
            Identifier::Email(email) => email.as_str(),
            Identifier::Mobile(mobile) => mobile.as_str(),
        }
    }

    /// `email` or `mobile`.
    pub fn kind(&self) -> &'static str {
        match self {
            Identifier::Email(_) => "email",
            Identifier::Mobile(_) => "mobile",
        }
    }

    pub fn masked(&self) -> String {
        match self {
            Identifier::Email(email) => email.masked(),
            Identifier::Mobile(mobile) => mobile.masked(),
        }
    }
}
