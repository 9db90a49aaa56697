//! Admins register the endpoints the platform is told of events at (Standard Webhooks), change,
//! remove and rotate them, and look at and re-send their deliveries.

use std::time::Duration;

use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventId, EventType};
use crate::permissions::Action;
use crate::ports::{Page, PageRequest, StoreError, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{OrgDomain, ParseError, UserId, WebhookId};
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, OrgLookupError};
use crate::views::WebhookView;
use crate::webhooks::{
    Delivery, DeliveryState, PreviousSecret, Webhook, WebhookSecret, WebhookSender, WebhookUrl,
    MAX_WEBHOOKS,
};

/// How long a rotated-out secret still signs.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// The longest description.
pub const MAX_DESCRIPTION: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum WebhooksError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins manage webhooks")]
    Forbidden,
    #[error("no such webhook")]
    NotFound,
    #[error("an organisation has at most 20 webhooks")]
    TooMany,
    #[error("the webhook changed meanwhile; try again")]
    Changed,
    #[error("the URL's host reaches an address deliveries may not: {0}")]
    AddressForbidden(String),
    #[error("the cursor is not one this list handed out")]
    BadCursor,
    #[error("webhooks failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for WebhooksError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => Self::BadCursor,
            e => Self::Internal(e.into()),
        }
    }
}

impl From<WriteError> for WebhooksError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Stale => Self::Changed,
            e => Self::Internal(e.into()),
        }
    }
}

impl Rejection for WebhooksError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NotFound => "webhook_not_found",
            Self::TooMany => "too_many_webhooks",
            Self::Changed => "webhook_changed",
            Self::AddressForbidden(_) => "webhook_address_forbidden",
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
            Self::TooMany | Self::Changed => RejectionClass::Conflict,
            Self::AddressForbidden(_) | Self::BadCursor => RejectionClass::Invalid,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// A description: at most [`MAX_DESCRIPTION`] characters, no control characters.
pub fn parse_description(raw: &str) -> Result<Option<String>, ParseError> {
    let text = raw.trim();
    if text.chars().count() > MAX_DESCRIPTION || text.chars().any(char::is_control) {
        return Err(ParseError::new(
            "invalid_description",
            "a description is at most 200 characters, without control characters",
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// What a registration or a change asks for (each part parsed).
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    pub url: Option<WebhookUrl>,
    pub types: Option<Vec<EventType>>,
    pub description: Option<Option<String>>,
    /// `Some(true)`: enable it again (after it was disabled); `Some(false)`: disable it.
    pub enabled: Option<bool>,
}

/// A new endpoint, with its secret (shown this once).
#[derive(Debug, Clone)]
pub struct Registered {
    pub webhook: Webhook,
    pub secret: WebhookSecret,
}

async fn admin(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<UserId, WebhooksError> {
    let (_, actor) = admin_of(
        services,
        org,
        token,
        Action::ManageWebhooks,
        WebhooksError::Forbidden,
    )
    .await?;
    Ok(actor.user_id)
}

async fn reachable(
    services: &Services,
    sender: &dyn WebhookSender,
    url: &WebhookUrl,
) -> Result<(), WebhooksError> {
    sender
        .check(url, services.config.webhooks_to_loopback)
        .await
        .map_err(WebhooksError::AddressForbidden)
}

fn recorded(services: &Services, kind: EventType, by: &UserId, webhook: &Webhook) -> ChangeEvents {
    let mut events = ChangeEvents::new(&*services.random, services.clock.now());
    let view = WebhookView::from(webhook);
    events.resource(&webhook.org, kind, Some(by), &view);
    events
}

/// Registers an endpoint (admins): its host must resolve to addresses deliveries may reach.
pub async fn register_webhook(
    services: &Services,
    sender: &dyn WebhookSender,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    url: WebhookUrl,
    change: WebhookChange,
) -> Result<Registered, WebhooksError> {
    let by = admin(services, org, token).await?;
    if services.store.webhooks(org).await?.len() >= MAX_WEBHOOKS {
        return Err(WebhooksError::TooMany);
    }
    reachable(services, sender, &url).await?;
    let now = services.clock.now();
    let secret = WebhookSecret::generate(&*services.random);
    let webhook = Webhook {
        id: services.random.webhook_id(now),
        org: org.clone(),
        url,
        types: change.types.unwrap_or_default(),
        description: change.description.flatten(),
        secret: services
            .access_codes
            .seal_webhook_secret(&secret, &*services.random),
        previous_secret: None,
        disabled_at: (change.enabled == Some(false)).then_some(now),
        failing_since: None,
        created_by: by.clone(),
        created_at: now,
        version: 0,
    };
    let events = recorded(services, EventType::WebhookCreated, &by, &webhook);
    services.store.create_webhook(&webhook, &events).await?;
    Ok(Registered { webhook, secret })
}

pub async fn list_webhooks(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<Vec<Webhook>, WebhooksError> {
    admin(services, org, token).await?;
    Ok(services.store.webhooks(org).await?)
}

pub async fn get_webhook(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &WebhookId,
) -> Result<Webhook, WebhooksError> {
    admin(services, org, token).await?;
    found(services, org, id).await
}

async fn found(
    services: &Services,
    org: &OrgDomain,
    id: &WebhookId,
) -> Result<Webhook, WebhooksError> {
    services
        .store
        .webhook(org, id)
        .await?
        .ok_or(WebhooksError::NotFound)
}

/// Applies `edit` to the endpoint as read, again from a fresh read if it changed meanwhile.
async fn edited(
    services: &Services,
    org: &OrgDomain,
    id: &WebhookId,
    by: &UserId,
    edit: impl Fn(&mut Webhook),
) -> Result<Webhook, WebhooksError> {
    for _ in 0..3 {
        let current = found(services, org, id).await?;
        let mut next = current.clone();
        edit(&mut next);
        if next == current {
            return Ok(current);
        }
        let events = recorded(services, EventType::WebhookUpdated, by, &next);
        match services.store.update_webhook(&next, &events).await {
            Ok(()) => {
                next.version += 1;
                return Ok(next);
            }
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(WebhooksError::Changed)
}

/// Changes an endpoint (admins): its URL (checked as at registration), types, description, or
/// whether it is enabled (enabling one that was disabled starts its failure count afresh).
pub async fn change_webhook(
    services: &Services,
    sender: &dyn WebhookSender,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &WebhookId,
    change: WebhookChange,
) -> Result<Webhook, WebhooksError> {
    let by = admin(services, org, token).await?;
    if let Some(url) = &change.url {
        reachable(services, sender, url).await?;
    }
    let now = services.clock.now();
    edited(services, org, id, &by, |webhook| {
        if let Some(url) = &change.url {
            webhook.url = url.clone();
        }
        if let Some(types) = &change.types {
            webhook.types = types.clone();
        }
        if let Some(description) = &change.description {
            webhook.description = description.clone();
        }
        match (change.enabled, webhook.disabled_at) {
            (Some(true), Some(_)) => {
                webhook.disabled_at = None;
                webhook.failing_since = None;
            }
            (Some(false), None) => webhook.disabled_at = Some(now),
            _ => {}
        }
    })
    .await
}

/// Removes an endpoint (admins); its deliveries are kept (and no longer sent).
pub async fn delete_webhook(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &WebhookId,
) -> Result<(), WebhooksError> {
    let by = admin(services, org, token).await?;
    for _ in 0..3 {
        let Some(current) = services.store.webhook(org, id).await? else {
            return Ok(());
        };
        let events = recorded(services, EventType::WebhookDeleted, &by, &current);
        match services.store.delete_webhook(&current, &events).await {
            Ok(()) => return Ok(()),
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(WebhooksError::Changed)
}

/// Gives an endpoint a new secret (admins), shown this once; the old one still signs for
/// [`ROTATION_OVERLAP`], so the receiver can switch without losing a delivery.
pub async fn rotate_secret(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &WebhookId,
) -> Result<Registered, WebhooksError> {
    let by = admin(services, org, token).await?;
    let secret = WebhookSecret::generate(&*services.random);
    let sealed = services
        .access_codes
        .seal_webhook_secret(&secret, &*services.random);
    let until = services.clock.now().plus(ROTATION_OVERLAP);
    let webhook = edited(services, org, id, &by, |webhook| {
        webhook.previous_secret = Some(PreviousSecret {
            sealed: webhook.secret.clone(),
            until,
        });
        webhook.secret = sealed.clone();
    })
    .await?;
    Ok(Registered { webhook, secret })
}

/// An endpoint's deliveries, newest first (admins).
pub async fn list_deliveries(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &WebhookId,
    page: PageRequest,
) -> Result<Page<Delivery>, WebhooksError> {
    admin(services, org, token).await?;
    found(services, org, id).await?;
    Ok(services.store.deliveries(org, id, &page).await?)
}

/// Sends again every failed delivery of the endpoint whose event happened at `since` or later
/// (admins): each becomes pending, due now, with a fresh round of retries. Answers how many.
pub async fn recover_deliveries(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &WebhookId,
    since: crate::clock::Timestamp,
) -> Result<usize, WebhooksError> {
    admin(services, org, token).await?;
    found(services, org, id).await?;
    let now = services.clock.now();
    let from = EventId::first_of(since);
    let mut recovered = 0;
    let mut cursor = None;
    loop {
        let page = services
            .store
            .deliveries(org, id, &PageRequest { cursor, limit: 100 })
            .await?;
        let mut older = false;
        for delivery in page.items {
            // Newest first: past `since`, everything older follows.
            if delivery.event.id < from {
                older = true;
                break;
            }
            if delivery.state != DeliveryState::Failed {
                continue;
            }
            let mut again = delivery.clone();
            again.state = DeliveryState::Pending;
            again.next_attempt_at = Some(now);
            again.tries = 0;
            match services.store.update_delivery(&again, &delivery).await {
                Ok(()) => recovered += 1,
                // Recovered or sent by someone else meanwhile.
                Err(WriteError::Stale) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match page.next_cursor {
            Some(next) if !older => cursor = Some(next),
            _ => return Ok(recovered),
        }
    }
}
