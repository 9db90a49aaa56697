//! What is kept of webhooks: the endpoints an organisation registered, and each delivery of an
//! event to one of them with its attempts; and the ports that keep them.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::access_code::SealedCode;
use crate::clock::Timestamp;
use crate::events::{ChangeEvents, Event, EventId, EventType};
use crate::ports::{Page, PageRequest, StoreError, WriteError};
use crate::types::{OrgDomain, UserId, WebhookId};

use super::WebhookUrl;

/// How many endpoints an organisation may register.
pub const MAX_WEBHOOKS: usize = 20;
/// The attempts of one round: the first and its retries ([`super::RETRY_DELAYS`] + 1).
pub const MAX_ATTEMPTS: usize = super::RETRY_DELAYS.len() + 1;
/// The attempts a delivery's record keeps (the latest), across rounds sent again.
pub const KEPT_ATTEMPTS: usize = 2 * MAX_ATTEMPTS;

/// A secret replaced by a rotation, still signing until `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviousSecret {
    pub sealed: SealedCode,
    pub until: Timestamp,
}

/// An endpoint an organisation registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub org: OrgDomain,
    pub url: WebhookUrl,
    /// The types it receives; empty: every type.
    pub types: Vec<EventType>,
    pub description: Option<String>,
    /// Its signing secret, sealed (only the key's holders open it).
    pub secret: SealedCode,
    pub previous_secret: Option<PreviousSecret>,
    /// Set when it was turned off (by an admin, or after failing for [`super::DISABLE_AFTER`]).
    pub disabled_at: Option<Timestamp>,
    /// Since when every delivery to it has failed; `None` after a success.
    pub failing_since: Option<Timestamp>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

impl Webhook {
    /// Whether events of `kind` are for it (while it is disabled too: they are kept as failed
    /// deliveries, which `recover` sends once it is enabled again).
    pub fn wants(&self, kind: EventType) -> bool {
        self.types.is_empty() || self.types.contains(&kind)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed (or the endpoint was disabled); `recover` sends it again.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: Timestamp,
    /// The endpoint's HTTP status; `None` when none came (refused address, timeout, TLS…).
    pub status: Option<u16>,
    pub duration_ms: u64,
    /// Why it failed, in a few words (never the response body).
    pub error: Option<String>,
}

/// One event on its way to one endpoint. Its id is the event's (`webhook-id`): a retry and a
/// repeated fan-out are the same delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub org: OrgDomain,
    pub webhook: WebhookId,
    pub event: Event,
    pub state: DeliveryState,
    /// The latest attempts, oldest first (at most [`KEPT_ATTEMPTS`]).
    pub attempts: Vec<Attempt>,
    /// Attempts made since it was last made pending (the retry schedule counts these).
    #[serde(default)]
    pub tries: u32,
    /// When it is due (while pending).
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default)]
    pub version: u64,
}

impl Delivery {
    /// The delivery of `event` to `webhook`: due now, or failed at once while the endpoint is
    /// disabled (kept for `recover`).
    pub fn new(webhook: &Webhook, event: &Event, now: Timestamp) -> Self {
        let enabled = webhook.disabled_at.is_none();
        Self {
            org: webhook.org.clone(),
            webhook: webhook.id.clone(),
            event: event.clone(),
            state: if enabled {
                DeliveryState::Pending
            } else {
                DeliveryState::Failed
            },
            attempts: Vec::new(),
            tries: 0,
            next_attempt_at: enabled.then_some(now),
            version: 0,
        }
    }

    pub fn id(&self) -> &EventId {
        &self.event.id
    }
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// `AlreadyExists` if one has its id.
    async fn create_webhook(
        &self,
        webhook: &Webhook,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// The organisation's endpoints, oldest first (one query).
    async fn webhooks(&self, org: &OrgDomain) -> Result<Vec<Webhook>, StoreError>;
    async fn webhook(&self, org: &OrgDomain, id: &WebhookId)
        -> Result<Option<Webhook>, StoreError>;
    /// Replaces one read at `webhook.version`; `Stale` if it changed since.
    async fn update_webhook(
        &self,
        webhook: &Webhook,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// Deletes one read at `webhook.version` (its deliveries stay until forgotten); `Stale` if
    /// it changed since.
    async fn delete_webhook(
        &self,
        webhook: &Webhook,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
}

#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Saves new deliveries, due at their `next_attempt_at`; one already there (the same event
    /// to the same endpoint) is left as it is. Answers those that were new.
    async fn create_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, StoreError>;
    async fn delivery(
        &self,
        org: &OrgDomain,
        webhook: &WebhookId,
        event: &EventId,
    ) -> Result<Option<Delivery>, StoreError>;
    /// Up to `limit` pending deliveries of every organisation due at `now` or before, earliest
    /// first.
    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Replaces `previous` (as read, at its `version`) with `next`, moving its place in the due
    /// index; `Stale` if it changed since (another worker took it).
    async fn update_delivery(&self, next: &Delivery, previous: &Delivery)
        -> Result<(), WriteError>;
    /// An endpoint's deliveries, newest first, a page at a time.
    async fn deliveries(
        &self,
        org: &OrgDomain,
        webhook: &WebhookId,
        page: &PageRequest,
    ) -> Result<Page<Delivery>, StoreError>;
}

/// A delivery as it goes out: the `POST` body and its Standard Webhooks headers.
#[derive(Debug, Clone)]
pub struct OutgoingDelivery {
    pub url: WebhookUrl,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// What came of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The endpoint answered with this status (2xx: delivered).
    Answered(u16),
    /// No answer: the address is refused, the connection or TLS failed, or 10 s passed.
    Failed(String),
}

/// Sends deliveries to endpoints over HTTPS: resolving the host and refusing forbidden addresses
/// ([`super::is_forbidden_address`]) at every attempt, connecting only to an address it checked,
/// following no redirect, waiting at most 10 s and reading at most 4 KiB of the answer.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Whether the URL's host resolves to addresses deliveries may reach (why not, if not).
    async fn check(&self, url: &WebhookUrl, loopback_allowed: bool) -> Result<(), String>;
    async fn send(&self, delivery: &OutgoingDelivery, loopback_allowed: bool) -> SendOutcome;
}

/// A delivery named in a queue message: where it is, how many attempts it had when queued, and
/// when it is due. A message of fewer attempts than the delivery's (it was attempted since) is
/// stale: the attempt queued the next message before it was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub org: OrgDomain,
    pub webhook: WebhookId,
    pub event: EventId,
    pub tries: u32,
    pub due_at: Timestamp,
}

impl QueuedDelivery {
    /// The message for `delivery`'s next attempt (`None` unless it is pending).
    pub fn of(delivery: &Delivery) -> Option<Self> {
        let due_at = delivery
            .next_attempt_at
            .filter(|_| delivery.state == DeliveryState::Pending)?;
        Some(Self {
            org: delivery.org.clone(),
            webhook: delivery.webhook.clone(),
            event: delivery.event.id.clone(),
            tries: delivery.tries,
            due_at,
        })
    }

    /// Whether it still carries `delivery` (pending, and not attempted since it was queued).
    pub fn carries(&self, delivery: &Delivery) -> bool {
        delivery.state == DeliveryState::Pending && delivery.tries == self.tries
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the queue or bus did not take the messages")]
pub struct SendError(#[source] pub crate::Cause);

/// Where deliveries wait for their attempt (SQS): each message comes back after its delay,
/// at least once.
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Queues each message to come back at its `due_at` (or after the queue's longest delay,
    /// when that is sooner: the message is queued again then).
    async fn enqueue(&self, messages: &[QueuedDelivery], now: Timestamp) -> Result<(), SendError>;
}

/// Where every event is published for the platform's own rules (EventBridge).
#[async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, events: &[Event]) -> Result<(), SendError>;
}
