//! A dealer's button colour for the hosted /pi page: `#rrggbb`, stored lower-case. Buttons carry
//! white text on it, so a colour is taken only when white text on it is readable: a WCAG 2.x
//! contrast ratio of at least 4.5:1 (level AA for normal text).

use super::Invalid;

/// The least contrast with white text taken (WCAG 2.x AA, normal text).
pub const MIN_CONTRAST_WITH_WHITE: f64 = 4.5;

/// An sRGB colour written `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour {
    rgb: [u8; 3],
}

impl Colour {
    /// Parses `#rrggbb` (hex, either case, surrounding spaces ignored); any contrast.
    pub fn parse(raw: &str) -> Result<Colour, Invalid> {
        let bad = || Invalid::new("must be a colour written #rrggbb, such as #1d4ed8");
        let hex = raw.trim().strip_prefix('#').ok_or_else(bad)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        Ok(Colour {
            rgb: [channel(0)?, channel(2)?, channel(4)?],
        })
    }

    /// Parses a colour buttons with white text may have: `#rrggbb` with a contrast ratio
    /// against white of at least 4.5:1.
    pub fn parse_button(raw: &str) -> Result<Colour, Invalid> {
        let colour = Colour::parse(raw)?;
        let ratio = colour.contrast_with_white();
        if ratio < MIN_CONTRAST_WITH_WHITE {
            return Err(Invalid::new(format!(
                "contrast with white text is {}:1; WCAG AA needs {MIN_CONTRAST_WITH_WHITE}:1",
                shown_ratio(ratio)
            )));
        }
        Ok(colour)
    }

    /// `#rrggbb`, lower-case.
    pub fn to_hex(self) -> String {
        let [r, g, b] = self.rgb;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// Relative luminance (WCAG 2.x): 0 for black, 1 for white.
    pub fn relative_luminance(self) -> f64 {
        let linear = |channel: u8| {
            let c = f64::from(channel) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.rgb;
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }

    /// The WCAG 2.x contrast ratio of white (luminance 1) against this colour: 1 to 21.
    pub fn contrast_with_white(self) -> f64 {
        1.05 / (self.relative_luminance() + 0.05)
    }
}

/// A ratio as people read it: two decimals at most, without trailing zeros (`2.1`, `4.48`,
/// `1`), and never rounded up to the 4.5 it misses (4.499 is `4.49`).
fn shown_ratio(ratio: f64) -> String {
    let mut shown = (ratio * 100.0).round() / 100.0;
    if shown >= MIN_CONTRAST_WITH_WHITE && ratio < MIN_CONTRAST_WITH_WHITE {
        shown = (ratio * 100.0).floor() / 100.0;
    }
    let text = format!("{shown:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_is_refused_with_its_ratio() {
        let refused = Colour::parse_button("#ffffff").unwrap_err();
        assert_eq!(
            refused.0,
            "contrast with white text is 1:1; WCAG AA needs 4.5:1"
        );
    }

    #[test]
    fn a_dark_blue_is_accepted_and_stored_lower_case() {
        let colour = Colour::parse_button(" #1D4ED8 ").unwrap();
        assert_eq!(colour.to_hex(), "#1d4ed8");
        assert!(colour.contrast_with_white() > 6.0);
    }

    #[test]
    fn grey_777777_falls_just_short() {
        let grey = Colour::parse("#777777").unwrap();
        assert!((grey.contrast_with_white() - 4.48).abs() < 0.01);
        let refused = Colour::parse_button("#777777").unwrap_err();
        assert!(refused.0.contains("is 4.48:1"), "{}", refused.0);
        // One step darker passes.
        assert!(Colour::parse_button("#767676").is_ok());
    }

    #[test]
    fn the_extremes_are_1_and_21() {
        assert!((Colour::parse("#ffffff").unwrap().contrast_with_white() - 1.0).abs() < 1e-9);
        assert!((Colour::parse("#000000").unwrap().contrast_with_white() - 21.0).abs() < 1e-9);
        assert_eq!(shown_ratio(2.1), "2.1");
        assert_eq!(shown_ratio(4.499), "4.49");
    }

    #[test]
    fn bad_formats_are_refused() {
        for bad in [
            "",
            "#",
            "1d4ed8",
            "#1d4ed",
            "#1d4ed88",
            "#1d4eg8",
            "#fff",
            "rgb(0,0,0)",
            "blue",
            "#+1d4ed",
            "##1d4ed8",
            "# 1d4ed8",
        ] {
            assert!(Colour::parse(bad).is_err(), "{bad}");
            assert!(Colour::parse_button(bad).is_err(), "{bad}");
        }
    }
}
