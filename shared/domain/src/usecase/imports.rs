//! Bulk invitations from a spreadsheet. So far: what goes into the template an admin downloads.

use crate::error::{Rejection, RejectionClass};
use crate::ports::StoreError;
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::OrgDomain;
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, OrgLookupError};

#[derive(Debug, thiserror::Error)]
pub enum ImportsError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins import invitations")]
    Forbidden,
    #[error("storage failed: {0}")]
    Internal(String),
}

impl From<StoreError> for ImportsError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl Rejection for ImportsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// What the template names: the organisation as people read it, and its groups by name (rows
/// name groups as the admin knows them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateContent {
    pub org_name: String,
    pub group_names: Vec<String>,
}

/// The template's content, for an admin of the organisation.
pub async fn import_template(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<TemplateContent, ImportsError> {
    let (found, _) = admin_of(services, org, token, ImportsError::Forbidden).await?;
    let mut group_names: Vec<String> = services
        .store
        .groups(org)
        .await?
        .into_iter()
        .map(|g| g.name.to_string())
        .collect();
    group_names.sort_by_key(|n| n.to_lowercase());
    Ok(TemplateContent {
        org_name: found.name().to_string(),
        group_names,
    })
}
