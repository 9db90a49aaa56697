//! Admins look after invitations: a filtered, paged list, one by id (with its access code),
//! and revoking.

use crate::access_code::AccessCode;
use crate::error::{Rejection, RejectionClass};
use crate::events::of_invitation;
use crate::model::{Invitation, InvitationKind, InvitationState, InvitationStatus, Invitee};
use crate::permissions::{decide, Action, Refusal, Standing};
use crate::ports::{InvitationQuery, Page, PageRequest, StoreError, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{InvitationId, InviteeRole, OrgDomain, UserId};
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, administered_groups, caller_in, Along, OrgLookupError};

#[derive(Debug, Clone, Default)]
pub struct InvitationFilter {
    pub status: Option<InvitationStatus>,
    pub kind: Option<InvitationKind>,
    pub role: Option<InviteeRole>,
    pub invited_by: Option<UserId>,
}

#[derive(Debug, thiserror::Error)]
pub enum InvitationsError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can do this")]
    Forbidden,
    #[error("{0}")]
    Refused(Refusal),
    #[error("no such invitation")]
    NotFound,
    #[error("the cursor is not one this list handed out")]
    BadCursor,
    #[error("the invitation was accepted; it can no longer be revoked")]
    AlreadyAccepted,
    #[error("the invitation changed meanwhile; try again")]
    Changed,
    #[error("listing failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for InvitationsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => Self::BadCursor,
            e => Self::Internal(e.into()),
        }
    }
}

impl Rejection for InvitationsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::Refused(r) => r.code(),
            Self::NotFound => "invitation_not_found",
            Self::BadCursor => "invalid_cursor",
            Self::AlreadyAccepted => "invitation_accepted",
            Self::Changed => "invitation_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden | Self::Refused(_) => RejectionClass::Forbidden,
            Self::NotFound => RejectionClass::NotFound,
            Self::BadCursor => RejectionClass::Invalid,
            Self::AlreadyAccepted | Self::Changed => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

pub const MAX_PAGE: usize = 100;

pub async fn list_invitations(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    filter: InvitationFilter,
    page: PageRequest,
) -> Result<Page<Invitation>, InvitationsError> {
    admin_of(
        services,
        org,
        token,
        Action::SeeInvitations,
        InvitationsError::Forbidden,
    )
    .await?;
    let now = services.clock.now();
    let page = PageRequest {
        cursor: page.cursor,
        limit: page.limit.clamp(1, MAX_PAGE),
    };
    let query = InvitationQuery {
        status: filter.status,
        kind: filter.kind,
        role: filter.role,
        invited_by: filter.invited_by,
        now,
    };
    Ok(services.store.invitations(org, &query, &page).await?)
}

/// One invitation as an admin sees it: with its access code, while it can still be used.
#[derive(Debug, Clone)]
pub struct InvitationDetails {
    pub invitation: Invitation,
    pub access_code: Option<AccessCode>,
}

pub async fn get_invitation(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &InvitationId,
) -> Result<InvitationDetails, InvitationsError> {
    admin_of(
        services,
        org,
        token,
        Action::SeeInvitations,
        InvitationsError::Forbidden,
    )
    .await?;
    let invitation = services
        .store
        .invitation(org, id)
        .await?
        .ok_or(InvitationsError::NotFound)?;
    let access_code = match (
        &invitation.invitee,
        invitation.status_at(services.clock.now()),
    ) {
        (Invitee::Uid { access_code, .. }, InvitationStatus::Pending) => {
            services.access_codes.open(access_code)
        }
        _ => None,
    };
    Ok(InvitationDetails {
        invitation,
        access_code,
    })
}

/// Revokes a pending (or expired) invitation (admins, or the delegated inviter who sent it): its link or access code stops working at once
/// and its email or uid may be invited again. Revoking a revoked invitation changes nothing.
pub async fn revoke_invitation(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &InvitationId,
) -> Result<Invitation, InvitationsError> {
    let caller = caller_in::<InvitationsError>(services, org, token, Along::default()).await?;
    for attempt in 0..3 {
        let current = services
            .store
            .invitation(org, id)
            .await?
            .ok_or(InvitationsError::NotFound)?;
        if attempt == 0 && !caller.actor.is_admin() {
            let own = current.invited_by.as_ref() == Some(&caller.actor.user_id);
            let administers =
                administered_groups(services, &caller.org, &caller.actor.user_id).await?;
            let who = Standing {
                role: caller.actor.role,
                administers: &administers,
            };
            match decide(who, &caller.org.settings, Action::Revoke { own }) {
                Ok(()) => {}
                Err(Refusal::AdminsOnly) => return Err(InvitationsError::Forbidden),
                Err(refusal) => return Err(InvitationsError::Refused(refusal)),
            }
        }
        match current.state {
            InvitationState::Accepted { .. } => return Err(InvitationsError::AlreadyAccepted),
            InvitationState::Revoked { .. } => return Ok(current),
            InvitationState::Pending => {}
        }
        let mut revoked = current.clone();
        let now = services.clock.now();
        revoked.state = InvitationState::Revoked { at: now };
        revoked.record(
            crate::lifecycle::EventKind::Revoked,
            now,
            Some(caller.actor.user_id.clone()),
        );
        let events = of_invitation(services, Some(&current), &revoked);
        match services
            .store
            .update_invitation(&revoked, &current, &events)
            .await
        {
            Ok(()) => {
                revoked.version += 1;
                return Ok(revoked);
            }
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(InvitationsError::Internal(e.into())),
        }
    }
    Err(InvitationsError::Changed)
}
