//! The mobile value type: E.164, South Africa by default, masked in `Debug`.

use std::fmt;

use phonenumber::country::Id::ZA;
use phonenumber::{Mode, Type};

use super::Invalid;

/// A mobile number in E.164 (`+27836567788`), South Africa the default region. `Debug` masks it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);

impl Mobile {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::new("must not be empty"));
        }
        // Only digits and the usual separators: no extensions ("x12") or vanity letters.
        let plain = trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if trimmed.len() > 32 || !plain {
            return Err(Invalid::new("must be a valid phone number"));
        }
        // "+27 (0)83 ..." writes the trunk prefix beside the country code; it is not a digit
        // of the number.
        let cleaned = trimmed.replace("(0)", "");
        let number = phonenumber::parse(Some(ZA), &cleaned)
            .ok()
            .filter(phonenumber::is_valid)
            .or_else(|| {
                // "27836567788": the country code without the `+`.
                phonenumber::parse(None, format!("+{cleaned}"))
                    .ok()
                    .filter(phonenumber::is_valid)
            })
            .ok_or_else(|| Invalid::new("must be a valid phone number"))?;
        // One-time codes go to this number by SMS: a landline will not do.
        let mobile_capable = matches!(
            number.number_type(&phonenumber::metadata::DATABASE),
            Type::Mobile | Type::FixedLineOrMobile
        );
        // The metadata admits short legacy ranges; every South African mobile has 9 digits.
        let national_digits = number.national().value().to_string().len();
        if number.code().value() == 27 && national_digits != 9 {
            return Err(Invalid::new("must be a valid phone number"));
        }
        if !mobile_capable {
            return Err(Invalid::new("must be a mobile number, not a landline"));
        }
        Ok(Mobile(number.format().mode(Mode::E164).to_string()))
    }

    /// As people and dealers' systems write it: `073 048 9055 (+27730489055)` for a South
    /// African number, the international form alone for another.
    pub fn for_people(&self) -> String {
        match phonenumber::parse(None, &self.0) {
            Ok(number) if number.code().value() == 27 => {
                let national = number.format().mode(Mode::National).to_string();
                format!("{national} ({})", self.0)
            }
            _ => self.0.clone(),
        }
    }

    /// The ISO 3166 code of the number's country (`ZA`), when the numbering plan names one.
    pub fn country(&self) -> Option<String> {
        let number = phonenumber::parse(None, &self.0).ok()?;
        let id = number.country().id()?;
        Some(id.as_ref().to_owned())
    }

    /// Wraps a value read back from storage, where only parsed values are written.
    pub fn from_stored(value: String) -> Self {
        Mobile(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// `+27836567788` → `+2783*****88`, for logs.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 8 {
            return "***".into();
        }
        let head: String = chars[..5].iter().collect();
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
    }
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mobile({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_read_the_national_form() {
        assert_eq!(
            Mobile::parse("+27730489055").unwrap().for_people(),
            "073 048 9055 (+27730489055)"
        );
    }

    #[test]
    fn a_number_knows_its_country() {
        assert_eq!(
            Mobile::parse("083 656 7788").unwrap().country().as_deref(),
            Some("ZA")
        );
        // A UK-plan number (the metadata may name a Crown dependency): anything but ZA.
        let uk = Mobile::parse("+44 7911 123456").unwrap().country();
        assert!(uk.as_deref().is_some_and(|c| c != "ZA"), "{uk:?}");
    }

    #[test]
    fn every_written_form_is_the_same_number() {
        for raw in [
            "083 656 7788",
            "0836567788",
            "+27 83 656 7788",
            "27836567788",
            "+27 (0)83 656 7788",
            "+27836567788",
            " 083-656-7788 ",
        ] {
            assert_eq!(
                Mobile::parse(raw).unwrap().as_str(),
                "+27836567788",
                "{raw}"
            );
        }
    }

    #[test]
    fn foreign_numbers_keep_their_country() {
        assert_eq!(
            Mobile::parse("+44 7911 123456").unwrap().as_str(),
            "+447911123456"
        );
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for bad in [
            "",
            "abc",
            "123",
            "083 656",
            "+27 83 656 7788 99 99",
            "0836567788x",
            "011 555 1234",
        ] {
            assert!(Mobile::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn masks_the_middle() {
        assert_eq!(
            Mobile::parse("0836567788").unwrap().masked(),
            "+2783*****88"
        );
    }
}
