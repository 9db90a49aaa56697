//! The applications people sign in to through Gatehouse (OpenID Connect clients): an
//! organisation's admins register, list, change and remove them, and rotate a confidential
//! client's secret. The secret is shown once, when made; only its hash is kept.

use crate::error::{Rejection, RejectionClass};
use crate::oidc::{Client, ClientKind, RedirectUri};
use crate::permissions::Action;
use crate::ports::{StoreError, WriteError};
use crate::secret::{SecretToken, SessionToken};
use crate::services::Services;
use crate::types::{ClientId, ClientName, OrgDomain};
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, OrgLookupError};

#[derive(Debug, thiserror::Error)]
pub enum ClientsError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins manage the applications people sign in to")]
    Forbidden,
    #[error("no such application")]
    NotFound,
    #[error("an application needs at least one redirect URI")]
    NoRedirectUri,
    #[error("at most {} redirect URIs of each kind", Client::MAX_URIS)]
    TooManyUris,
    #[error("the initiate-login URI must be an https URL")]
    InitiateLoginNotHttps,
    #[error(
        "an organisation has at most {} applications; remove one first",
        Client::MAX_PER_ORG
    )]
    TooManyClients,
    #[error("a public application has no secret to rotate")]
    NoSecret,
    #[error("the application changed meanwhile; read it again")]
    Changed,
    #[error("storage failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for ClientsError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<WriteError> for ClientsError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Stale => Self::Changed,
            e => Self::Internal(e.into()),
        }
    }
}

impl Rejection for ClientsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NotFound => "client_not_found",
            Self::NoRedirectUri => "redirect_uri_required",
            Self::TooManyUris => "too_many_redirect_uris",
            Self::InitiateLoginNotHttps => "invalid_initiate_login_uri",
            Self::TooManyClients => "too_many_clients",
            Self::NoSecret => "client_has_no_secret",
            Self::Changed => "client_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::NotFound => RejectionClass::NotFound,
            Self::NoRedirectUri
            | Self::TooManyUris
            | Self::InitiateLoginNotHttps
            | Self::NoSecret => RejectionClass::Invalid,
            Self::TooManyClients | Self::Changed => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// What an admin registers.
#[derive(Debug, Clone)]
pub struct ClientRegistration {
    pub name: ClientName,
    pub kind: ClientKind,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub initiate_login_uri: Option<RedirectUri>,
}

/// What an admin changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientChange {
    pub name: Option<ClientName>,
    pub redirect_uris: Option<Vec<RedirectUri>>,
    pub post_logout_redirect_uris: Option<Vec<RedirectUri>>,
    /// `Some(None)` removes it.
    pub initiate_login_uri: Option<Option<RedirectUri>>,
}

/// A client as registered, with its secret when one was just made (shown this once).
#[derive(Debug, Clone)]
pub struct WithSecret {
    pub client: Client,
    pub secret: Option<SecretToken>,
}

fn check_uris(client: &Client) -> Result<(), ClientsError> {
    if client.redirect_uris.is_empty() {
        return Err(ClientsError::NoRedirectUri);
    }
    if client.redirect_uris.len() > Client::MAX_URIS
        || client.post_logout_redirect_uris.len() > Client::MAX_URIS
    {
        return Err(ClientsError::TooManyUris);
    }
    if client
        .initiate_login_uri
        .as_ref()
        .is_some_and(|u| !u.is_https())
    {
        return Err(ClientsError::InitiateLoginNotHttps);
    }
    Ok(())
}

/// Duplicates say nothing more than the first: kept once, in the order given.
fn distinct(uris: Vec<RedirectUri>) -> Vec<RedirectUri> {
    let mut seen = Vec::with_capacity(uris.len());
    for uri in uris {
        if !seen.contains(&uri) {
            seen.push(uri);
        }
    }
    seen
}

pub async fn register_client(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    registration: ClientRegistration,
) -> Result<WithSecret, ClientsError> {
    admin_of(
        services,
        org,
        token,
        Action::ManageClients,
        ClientsError::Forbidden,
    )
    .await?;
    let secret = (registration.kind == ClientKind::Confidential)
        .then(|| SecretToken::generate(services.random.as_ref()));
    let client = Client {
        id: services.random.client_id(),
        org: org.clone(),
        name: registration.name,
        kind: registration.kind,
        redirect_uris: distinct(registration.redirect_uris),
        post_logout_redirect_uris: distinct(registration.post_logout_redirect_uris),
        initiate_login_uri: registration.initiate_login_uri,
        secret_hash: secret.as_ref().map(SecretToken::hash),
        created_at: services.clock.now(),
        version: 0,
    };
    check_uris(&client)?;
    // A soft cap: two registrations racing at the limit may both pass.
    if services.store.clients(org).await?.len() >= Client::MAX_PER_ORG {
        return Err(ClientsError::TooManyClients);
    }
    services.store.create_client(&client).await?;
    Ok(WithSecret { client, secret })
}

pub async fn list_clients(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<Vec<Client>, ClientsError> {
    admin_of(
        services,
        org,
        token,
        Action::ManageClients,
        ClientsError::Forbidden,
    )
    .await?;
    Ok(services.store.clients(org).await?)
}

pub async fn get_client(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &ClientId,
) -> Result<Client, ClientsError> {
    admin_of(
        services,
        org,
        token,
        Action::ManageClients,
        ClientsError::Forbidden,
    )
    .await?;
    services
        .store
        .client(org, id)
        .await?
        .ok_or(ClientsError::NotFound)
}

pub async fn change_client(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &ClientId,
    change: ClientChange,
) -> Result<Client, ClientsError> {
    let mut client = get_client(services, org, token, id).await?;
    if let Some(name) = change.name {
        client.name = name;
    }
    if let Some(uris) = change.redirect_uris {
        client.redirect_uris = distinct(uris);
    }
    if let Some(uris) = change.post_logout_redirect_uris {
        client.post_logout_redirect_uris = distinct(uris);
    }
    if let Some(uri) = change.initiate_login_uri {
        client.initiate_login_uri = uri;
    }
    check_uris(&client)?;
    services.store.update_client(&client).await?;
    client.version += 1;
    Ok(client)
}

/// Makes a new secret for a confidential client; the old one stops working at once.
pub async fn rotate_client_secret(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &ClientId,
) -> Result<WithSecret, ClientsError> {
    let mut client = get_client(services, org, token, id).await?;
    if client.kind != ClientKind::Confidential {
        return Err(ClientsError::NoSecret);
    }
    let secret = SecretToken::generate(services.random.as_ref());
    client.secret_hash = Some(secret.hash());
    services.store.update_client(&client).await?;
    client.version += 1;
    Ok(WithSecret {
        client,
        secret: Some(secret),
    })
}

/// Removes the application: its codes and tokens are refused from then on (every use reads it).
pub async fn remove_client(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &ClientId,
) -> Result<(), ClientsError> {
    let client = get_client(services, org, token, id).await?;
    services.store.delete_client(&client).await?;
    Ok(())
}
