//! Sessions: made at sign-in and sign-up, checked on every authenticated request.

use crate::clock::Timestamp;
use crate::error::{Rejection, RejectionClass};
use crate::model::{Session, User};
use crate::ports::StoreError;
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{OrgDomain, Role, UserId};

/// Who is calling, as established from their bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub org: OrgDomain,
    pub user_id: UserId,
    pub role: Role,
    /// When the session this caller came with ends.
    pub session_expires_at: Timestamp,
    /// When they entered their password for it (OpenID Connect's `auth_time`).
    pub authenticated_at: Timestamp,
    /// How they proved who they are for it (RFC 8176 method names; `pwd` for older sessions).
    pub amr: Vec<String>,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What sign-in and sign-up hand back: the bearer token (shown once) and the account.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: SessionToken,
    pub expires_at: Timestamp,
    pub user: User,
    /// How they proved who they are (RFC 8176 method names).
    pub amr: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("sign in first: the bearer token is missing, unknown or expired")]
    Unauthenticated,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Rejection for AuthError {
    fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Store(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Unauthenticated => RejectionClass::Unauthenticated,
            Self::Store(_) => RejectionClass::Internal,
        }
    }
}

/// Finds the live session a bearer token belongs to, in this organisation only: a token of
/// another organisation is unknown here. The session and its account are read together.
pub async fn authenticate(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<Actor, AuthError> {
    let token = token.ok_or(AuthError::Unauthenticated)?;
    let found = services
        .store
        .look_up(
            org,
            &crate::ports::Lookup {
                session: Some((token.user_id.clone(), token.secret.hash())),
                user: Some(token.user_id.clone()),
                ..Default::default()
            },
        )
        .await?;
    actor_of(services, token, found.session, found.user.as_ref())
}

/// Who is calling, from the session found for their token (if any) and their account as it is
/// now: expired or foreign sessions are no session, and neither is the session of an account
/// that is gone or deactivated. The role is the account's, so a change of role holds at once.
pub(crate) fn actor_of(
    services: &Services,
    token: &SessionToken,
    session: Option<Session>,
    account: Option<&User>,
) -> Result<Actor, AuthError> {
    let session = session.ok_or(AuthError::Unauthenticated)?;
    if services.clock.now() >= session.expires_at || session.user_id != token.user_id {
        return Err(AuthError::Unauthenticated);
    }
    let account = account
        .filter(|a| a.id == session.user_id && a.is_active())
        .ok_or(AuthError::Unauthenticated)?;
    Ok(Actor {
        org: session.org,
        user_id: session.user_id,
        role: account.role,
        session_expires_at: session.expires_at,
        authenticated_at: session.created_at,
        amr: if session.amr.is_empty() {
            vec!["pwd".into()]
        } else {
            session.amr
        },
    })
}

/// The bearer's session, as a client asks "who am I?".
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub user: User,
    pub expires_at: Timestamp,
}

/// Who the bearer is and until when, read with their organisation and account in one round trip.
pub async fn current_session(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<CurrentSession, SessionError> {
    let caller =
        crate::usecase::caller_in::<SessionError>(services, org, token, Default::default()).await?;
    Ok(CurrentSession {
        // A session whose account is gone is no session.
        user: caller.user.ok_or(AuthError::Unauthenticated)?,
        expires_at: caller.actor.session_expires_at,
    })
}

/// Signs the bearer out: their token is refused from then on.
pub async fn end_current_session(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<(), SessionError> {
    crate::usecase::caller_in::<SessionError>(services, org, token, Default::default()).await?;
    let token = token.ok_or(AuthError::Unauthenticated)?;
    services
        .store
        .end_session(org, &token.user_id, &token.secret.hash())
        .await
        .map_err(AuthError::from)?;
    Ok(())
}

/// Why "who am I?" or "sign me out" was refused.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Org(#[from] crate::usecase::OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl Rejection for SessionError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
        }
    }
}

/// A new session for `user`, and the token that opens it.
/// A new session of `user`, who proved who they are by `amr` (RFC 8176 method names).
pub(crate) fn new_session(
    services: &Services,
    user: &User,
    amr: &[&str],
) -> (SessionToken, Session) {
    let now = services.clock.now();
    let token = SessionToken::generate(user.id.clone(), services.random.as_ref());
    let session = Session {
        org: user.org.clone(),
        user_id: user.id.clone(),
        role: user.role,
        token_hash: token.secret.hash(),
        created_at: now,
        expires_at: now.plus(services.config.session_ttl),
        amr: amr.iter().map(|m| m.to_string()).collect(),
    };
    (token, session)
}
