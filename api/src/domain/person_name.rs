//! The person-name value type: trimmed, bounded, no control characters.

use super::Invalid;

/// A first name, surname or contact name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        super::text::bounded(raw, 1, 100).map(PersonName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(PersonName::parse("  Fred ").unwrap().as_str(), "Fred");
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
        assert!(PersonName::parse(&"é".repeat(101)).is_err());
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse("Fred\u{0}").is_err());
        assert!(PersonName::parse("Fred\nBasset").is_err());
    }
}
