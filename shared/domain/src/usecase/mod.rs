//! The use cases. Each takes [`Services`] and parsed input, applies the rules and answers with a
//! result or its own error enum (a [`Rejection`]).

pub mod accounts;
pub mod authorize;
pub mod bootstrap;
pub mod bulk_import;
pub mod cleanup;
pub mod clients;
pub mod deliveries;
pub mod email_change;
pub mod erasure;
pub mod events;
pub mod export;
pub mod groups;
pub(crate) mod guard;
pub mod idempotency;
pub mod imports;
pub mod invitation_link;
pub mod invitations;
pub mod invite;
pub mod logout;
pub mod mail_feedback;
pub mod members;
pub mod openid;
pub mod pages;
pub mod passkeys;
pub mod password;
pub(crate) mod quota;
pub mod second_factor;
mod sent_record;
pub mod session;
pub mod settings;
pub mod sign_in;
pub mod sign_in_mfa;
pub mod sign_in_passkey;
pub mod sign_up;
pub mod token;
pub mod userinfo;
pub mod users;
pub mod webhooks;

use crate::error::{Rejection, RejectionClass};
use crate::model::Org;
use crate::ports::StoreError;
use crate::services::Services;
use crate::types::OrgDomain;

pub use guard::ClientAddress;
pub use session::{authenticate, Actor, SignedIn};

/// Loads the organisation a request is addressed to, or says it does not exist.
pub(crate) async fn load_org(
    services: &Services,
    domain: &OrgDomain,
) -> Result<Org, OrgLookupError> {
    services
        .store
        .org(domain)
        .await?
        .ok_or(OrgLookupError::NotFound)
}

/// Loads the organisation and checks that the caller may do `action`, one reserved for admins
/// (see [`crate::permissions`]): an unknown org is `NotFound`, no valid session
/// `Unauthenticated`, anyone else `forbidden`. One round trip.
pub(crate) async fn admin_of<E>(
    services: &Services,
    org: &OrgDomain,
    token: Option<&crate::secret::SessionToken>,
    action: crate::permissions::Action<'_>,
    forbidden: E,
) -> Result<(Org, Actor), E>
where
    E: From<OrgLookupError> + From<session::AuthError>,
{
    let caller = caller_in::<E>(services, org, token, Along::default()).await?;
    if crate::permissions::decide(caller.standing(), &caller.org.settings, action).is_err() {
        return Err(forbidden);
    }
    Ok((caller.org, caller.actor))
}

/// The groups `user` administers, when the organisation lets group admins invite (none
/// otherwise: then administering a group grants nothing). One query of the groups.
pub(crate) async fn administered_groups(
    services: &Services,
    org: &Org,
    user: &crate::types::UserId,
) -> Result<Vec<crate::types::GroupId>, StoreError> {
    if !org.settings.group_admins_can_invite {
        return Ok(Vec::new());
    }
    Ok(services
        .store
        .groups(&org.domain)
        .await?
        .into_iter()
        .filter(|g| g.admins.contains(user))
        .map(|g| g.id)
        .collect())
}

/// The account `id` as its owner (their own, read with the session) or an admin who manages users
/// reads it, and whether it is the caller's own; anyone else gets `forbidden`, an admin asking for
/// no account `not_found`. One round trip, two when an admin reads someone else's.
pub(crate) async fn own_or_managed<E>(
    services: &Services,
    org: &OrgDomain,
    token: Option<&crate::secret::SessionToken>,
    id: &crate::types::UserId,
    forbidden: E,
    not_found: E,
) -> Result<(Caller, crate::model::User, bool), E>
where
    E: From<OrgLookupError> + From<session::AuthError> + From<StoreError>,
{
    let caller = caller_in::<E>(services, org, token, Along::default()).await?;
    let own = &caller.actor.user_id == id;
    let admin = crate::permissions::decide(
        caller.standing(),
        &caller.org.settings,
        crate::permissions::Action::ManageUsers,
    )
    .is_ok();
    let user = match (own, admin, &caller.user) {
        (true, _, Some(user)) => user.clone(),
        (false, true, _) => services.store.user(org, id).await?.ok_or(not_found)?,
        _ => return Err(forbidden),
    };
    Ok((caller, user, own))
}

/// The organisation a request is addressed to and who is calling, read together.
pub(crate) struct Caller {
    pub org: Org,
    pub actor: Actor,
    /// The caller's own account (always read: it decides whether the session is live).
    pub user: Option<crate::model::User>,
    /// The groups asked for, in order; `None` for ids that are no group here.
    pub groups: Vec<Option<crate::model::Group>>,
    /// Those of the groups asked for that the caller administers.
    pub administers: Vec<crate::types::GroupId>,
}

impl Caller {
    /// The caller as [`crate::permissions::decide`] sees them: their role, and the groups read
    /// along that they administer.
    pub fn standing(&self) -> crate::permissions::Standing<'_> {
        crate::permissions::Standing {
            role: self.actor.role,
            administers: &self.administers,
        }
    }
}

/// What else to read along with the organisation, the session and the caller's account.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Along<'a> {
    pub groups: &'a [crate::types::GroupId],
}

/// Loads the organisation and the caller's session (and what `along` names) in one round trip:
/// an unknown org is `NotFound`, no valid session `Unauthenticated`.
pub(crate) async fn caller_in<E>(
    services: &Services,
    org: &OrgDomain,
    token: Option<&crate::secret::SessionToken>,
    along: Along<'_>,
) -> Result<Caller, E>
where
    E: From<OrgLookupError> + From<session::AuthError>,
{
    let lookup = crate::ports::Lookup {
        org: true,
        session: token.map(|t| (t.user_id.clone(), t.secret.hash())),
        // Always: a session is live only while its account is active, and the role is the
        // account's.
        user: token.map(|t| t.user_id.clone()),
        groups: along.groups.to_vec(),
        ..Default::default()
    };
    let found = services
        .store
        .look_up(org, &lookup)
        .await
        .map_err(OrgLookupError::from)?;
    let found_org = found.org.ok_or(OrgLookupError::NotFound)?;
    let token = token.ok_or(session::AuthError::Unauthenticated)?;
    let actor = session::actor_of(services, token, found.session, found.user.as_ref())?;
    let administers = found
        .groups
        .iter()
        .flatten()
        .filter(|g| g.admins.contains(&actor.user_id))
        .map(|g| g.id.clone())
        .collect();
    Ok(Caller {
        org: found_org,
        actor,
        user: found.user,
        groups: found.groups,
        administers,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum OrgLookupError {
    #[error("no such organisation")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Rejection for OrgLookupError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "org_not_found",
            Self::Store(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::NotFound => RejectionClass::NotFound,
            Self::Store(_) => RejectionClass::Internal,
        }
    }
}
