use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a token's holder is (claim `role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages dealers; everything a dealer may, for every dealer.
    Admin,
    /// Customers, leads, history, notifications and blacklists of the dealers in `dealers`.
    Dealer,
    /// Blacklist export, changes and check of the dealers in `dealers`; nothing else.
    Operator,
    /// A data subject who proved control of an email or mobile on a dealer's /pi page.
    Subject,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dealer => "dealer",
            Role::Operator => "operator",
            Role::Subject => "subject",
        }
    }
}

/// The claims the service signs into its own tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub role: Role,
    #[serde(default)]
    pub dealers: Vec<String>,
    /// For a `subject` token: the email or mobile the holder proved control of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pi: Option<PiClaim>,
}

/// The verified identifier of a `subject` token: exactly one of the two.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PiClaim {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

/// The claims read from a verified token. `iss`, `aud` and `exp` are checked by the verifier
/// (an outside identity provider may send `aud` as a list, so it is not read here).
#[derive(Debug, Clone, Deserialize)]
pub struct VerifiedClaims {
    pub iss: String,
    pub sub: String,
    /// Checked by the validator; kept so a spent subject token is remembered only as long as
    /// it could still be used.
    pub exp: i64,
    pub role: Role,
    #[serde(default)]
    pub dealers: Vec<String>,
    #[serde(default)]
    pub pi: Option<PiClaim>,
}
