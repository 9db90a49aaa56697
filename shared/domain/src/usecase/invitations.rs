//! Admins look at invitations: a filtered, paged list, and one by id.

use crate::error::{Rejection, RejectionClass};
use crate::model::{Invitation, InvitationKind, InvitationStatus};
use crate::ports::{Page, PageRequest, StoreError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{InvitationId, OrgDomain};
use crate::usecase::session::AuthError;
use crate::usecase::{authenticate, load_org, OrgLookupError};

#[derive(Debug, Clone, Default)]
pub struct InvitationFilter {
    pub status: Option<InvitationStatus>,
    pub kind: Option<InvitationKind>,
}

#[derive(Debug, thiserror::Error)]
pub enum InvitationsError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can see invitations")]
    Forbidden,
    #[error("no such invitation")]
    NotFound,
    #[error("the cursor is not one this list handed out")]
    BadCursor,
    #[error("listing failed: {0}")]
    Internal(String),
}

impl From<StoreError> for InvitationsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => Self::BadCursor,
            e => Self::Internal(e.to_string()),
        }
    }
}

impl Rejection for InvitationsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NotFound => "invitation_not_found",
            Self::BadCursor => "invalid_cursor",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::NotFound => RejectionClass::NotFound,
            Self::BadCursor => RejectionClass::Invalid,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

pub const MAX_PAGE: usize = 100;

async fn admin(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<(), InvitationsError> {
    load_org(services, org).await?;
    if !authenticate(services, org, token).await?.is_admin() {
        return Err(InvitationsError::Forbidden);
    }
    Ok(())
}

pub async fn list_invitations(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    filter: InvitationFilter,
    page: PageRequest,
) -> Result<Page<Invitation>, InvitationsError> {
    admin(services, org, token).await?;
    let now = services.clock.now();
    let page = PageRequest {
        cursor: page.cursor,
        limit: page.limit.clamp(1, MAX_PAGE),
    };
    let keep = move |i: &Invitation| {
        filter.status.is_none_or(|s| i.status_at(now) == s)
            && filter.kind.is_none_or(|k| i.invitee.kind() == k)
    };
    Ok(services.store.invitations(org, &page, &keep).await?)
}

pub async fn get_invitation(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &InvitationId,
) -> Result<Invitation, InvitationsError> {
    admin(services, org, token).await?;
    services
        .store
        .invitation(org, id)
        .await?
        .ok_or(InvitationsError::NotFound)
}
