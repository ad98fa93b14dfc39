//! The dealer id value type: a slug that can only be valid.

use std::fmt;

use super::Invalid;

/// A dealer's slug, chosen at creation: `[a-z0-9-]{2,63}`, not starting or ending with `-`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DealerId(String);

impl DealerId {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let valid_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(2..=63).contains(&raw.len()) || !valid_chars {
            return Err(Invalid::new(
                "must be 2 to 63 characters of a-z, 0-9 and `-`",
            ));
        }
        if raw.starts_with('-') || raw.ends_with('-') {
            return Err(Invalid::new("must not start or end with `-`"));
        }
        Ok(DealerId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DealerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DealerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DealerId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs_and_refuses_the_rest() {
        assert!(DealerId::parse("abc-motors").is_ok());
        assert!(DealerId::parse("a1").is_ok());
        for bad in [
            "a",
            "ABC",
            "abc_motors",
            "-abc",
            "abc-",
            "",
            &"a".repeat(64),
            "ab c",
        ] {
            assert!(DealerId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
