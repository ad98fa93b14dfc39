//! Free-text parsing shared by the value types: trimmed, bounded, no control characters.

use super::Invalid;

/// Trimmed free text of `min..=max` characters with no control characters (newlines and tabs
/// are allowed only where `multiline` text is parsed).
pub fn bounded(raw: &str, min: usize, max: usize) -> Result<String, Invalid> {
    parse(raw, min, max, false)
}

/// Like [`bounded`], but newlines and tabs are kept (a lead's message).
pub fn multiline(raw: &str, min: usize, max: usize) -> Result<String, Invalid> {
    parse(raw, min, max, true)
}

fn parse(raw: &str, min: usize, max: usize, multiline: bool) -> Result<String, Invalid> {
    let value = raw.trim();
    let length = value.chars().count();
    if length < min || length > max {
        return Err(Invalid::new(if min > 0 {
            format!("must be {min} to {max} characters")
        } else {
            format!("must be at most {max} characters")
        }));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\r' || c == '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(Invalid::new("must not contain control characters"));
    }
    Ok(value.to_owned())
}
