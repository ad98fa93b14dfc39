//! The access decision, made here and nowhere else: which roles may use a capability, and
//! whether the token's dealer scope covers the dealer asked for. A wrong role is 403; a dealer
//! outside the scope is 404, so a token never learns that another dealer's data exists.

use super::claims::Role;
use super::principal::Principal;
use crate::domain::{DealerId, Identifier};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Create and change dealers.
    ManageDealers,
    /// Read a dealer's own settings.
    ReadDealer,
    /// Customers, leads, history and notifications.
    DealerData,
    /// Blacklist export, changes and check.
    Blacklists,
    /// The log of blacklist pulls.
    BlacklistPulls,
    /// The /pi endpoints of a verified data subject.
    Pi,
}

impl Capability {
    fn roles(self) -> &'static [Role] {
        match self {
            Capability::ManageDealers => &[Role::Admin],
            Capability::ReadDealer | Capability::DealerData | Capability::BlacklistPulls => {
                &[Role::Admin, Role::Dealer]
            }
            Capability::Blacklists => &[Role::Admin, Role::Dealer, Role::Operator],
            Capability::Pi => &[Role::Subject],
        }
    }
}

impl Principal {
    /// May this caller use `capability` at all (routes that name no dealer)?
    pub fn require(&self, capability: Capability) -> Result<(), ApiError> {
        if capability.roles().contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The verified identifier of a `subject` on `dealer`: the /pi endpoints' access check.
    pub fn authorize_subject(&self, dealer: &str) -> Result<(DealerId, Identifier), ApiError> {
        let dealer = self.authorize(Capability::Pi, dealer)?;
        let identifier = self.identifier.clone().ok_or(ApiError::Forbidden)?;
        Ok((dealer, identifier))
    }

    /// May this caller use `capability` on `dealer` (the raw path segment)? Returns the parsed
    /// dealer id. A malformed id is simply a dealer that does not exist.
    pub fn authorize(&self, capability: Capability, dealer: &str) -> Result<DealerId, ApiError> {
        self.require(capability)?;
        let in_scope = self.role == Role::Admin || self.dealers.iter().any(|d| d == dealer);
        match DealerId::parse(dealer) {
            Ok(id) if in_scope => Ok(id),
            _ => Err(ApiError::not_found("dealer")),
        }
    }
}
