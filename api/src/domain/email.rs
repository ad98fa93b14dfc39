//! The email value type: normalised, valid, and masked in `Debug`.

use std::fmt;

use validator::ValidateEmail;

use super::Invalid;

/// An email address: trimmed, lower-cased and valid. `Debug` masks it, so a stray `{:?}` in a
/// log line never prints it in clear.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err(Invalid::new("must not be empty"));
        }
        if value.len() > 254 || !value.validate_email() {
            return Err(Invalid::new("must be a valid email address"));
        }
        Ok(Email(value))
    }

    /// Wraps a value read back from storage, where only parsed values are written.
    pub fn from_stored(value: String) -> Self {
        Email(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// `fred@sea.com` → `f***@sea.com`, for logs.
    pub fn masked(&self) -> String {
        match self.0.split_once('@') {
            Some((local, domain)) => {
                let first = local.chars().next().unwrap_or('*');
                format!("{first}***@{domain}")
            }
            None => "***".into(),
        }
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lower_cases() {
        let email = Email::parse("  Fred@Sea.COM ").unwrap();
        assert_eq!(email.as_str(), "fred@sea.com");
        assert_eq!(email.masked(), "f***@sea.com");
        assert_eq!(format!("{email:?}"), "Email(f***@sea.com)");
    }

    #[test]
    fn refuses_invalid_addresses() {
        for bad in [
            "",
            "  ",
            "fred",
            "fred@",
            "@sea.com",
            "fred@@sea.com",
            "fr ed@sea.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
