//! Events on their way to the endpoints that want them: made into deliveries once each (however
//! often the same change's events come: a stream delivers at least once), each sent signed, at
//! once and then on the retry schedule, until it is delivered or every retry is spent. The
//! store's due index is what is left to do, so a worker that dies loses nothing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::events::{ChangeEvents, Event, EventType};
use crate::ports::{StoreError, WriteError};
use crate::services::Services;
use crate::views::WebhookView;
use crate::webhooks::{
    is_to_be_disabled, next_attempt, signature_header, Attempt, Delivery, DeliveryState,
    OutgoingDelivery, SendOutcome, Webhook, WebhookSecret, WebhookSender, KEPT_ATTEMPTS,
};

/// How long an attempt holds its delivery: another worker finding it due meanwhile leaves it
/// (the sender gives up after 10 s).
pub const LEASE: Duration = Duration::from_secs(60);

/// Makes the deliveries of `events` (of any organisations) to the endpoints that want them, once
/// each; answers those made now, due at once.
pub async fn fan_out(services: &Services, events: &[Event]) -> Result<Vec<Delivery>, StoreError> {
    let now = services.clock.now();
    let mut endpoints: HashMap<&crate::types::OrgDomain, Vec<Webhook>> = HashMap::new();
    let mut wanted = Vec::new();
    for event in events {
        if !endpoints.contains_key(&event.org) {
            endpoints.insert(&event.org, services.store.webhooks(&event.org).await?);
        }
        for webhook in &endpoints[&event.org] {
            if webhook.wants(event.kind) {
                wanted.push(Delivery::new(webhook, event, now));
            }
        }
    }
    let made = services.store.create_deliveries(&wanted).await?;
    Ok(wanted
        .into_iter()
        .zip(made)
        .filter_map(|(d, new)| new.then_some(d))
        .collect())
}

/// The body of a delivery (Standard Webhooks: `type`, `timestamp`, `data`).
pub fn payload(event: &Event) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": event.kind.as_str(),
        "timestamp": event.occurred_at.to_rfc3339(),
        "data": event.data,
    }))
    .unwrap_or_default()
}

/// The secrets that sign now: the current one, and a rotated-out one for its last day.
fn signing_secrets(services: &Services, webhook: &Webhook) -> Vec<WebhookSecret> {
    let now = services.clock.now();
    let keys = &services.access_codes;
    let mut secrets: Vec<WebhookSecret> = keys
        .open_webhook_secret(&webhook.secret)
        .into_iter()
        .collect();
    if let Some(previous) = webhook.previous_secret.as_ref().filter(|p| p.until > now) {
        secrets.extend(keys.open_webhook_secret(&previous.sealed));
    }
    secrets
}

/// One attempt of `delivery` (as read, due): leased first so that no other worker sends it at
/// the same time, sent signed, and its outcome recorded: delivered; or due again on the retry
/// schedule; or failed once every retry is spent, or when its endpoint is gone or disabled.
/// The endpoint's run of failures is kept: one failing for five days is disabled. Answers the
/// delivery as recorded (`None`: another worker had it).
pub async fn attempt(
    services: &Services,
    sender: &dyn WebhookSender,
    delivery: Delivery,
) -> Result<Option<Delivery>, StoreError> {
    let now = services.clock.now();
    let mut leased = delivery.clone();
    leased.next_attempt_at = Some(now.plus(LEASE));
    match services.store.update_delivery(&leased, &delivery).await {
        Ok(()) => leased.version = delivery.version + 1,
        Err(WriteError::Stale) => return Ok(None),
        Err(WriteError::Store(e)) => return Err(e),
        Err(e) => return Err(StoreError::Unavailable(e.into())),
    }
    let webhook = services
        .store
        .webhook(&delivery.org, &delivery.webhook)
        .await?;
    let (outcome, duration) = match webhook.as_ref().filter(|w| w.disabled_at.is_none()) {
        None => (
            SendOutcome::Failed("the endpoint is disabled or removed".into()),
            Duration::ZERO,
        ),
        Some(webhook) => {
            let body = payload(&delivery.event);
            let id = delivery.event.id.as_str();
            let timestamp = services.clock.now().unix_seconds();
            let secrets = signing_secrets(services, webhook);
            let signing: Vec<&WebhookSecret> = secrets.iter().collect();
            let outgoing = OutgoingDelivery {
                url: webhook.url.clone(),
                headers: vec![
                    ("webhook-id", id.to_string()),
                    ("webhook-timestamp", timestamp.to_string()),
                    (
                        "webhook-signature",
                        signature_header(&signing, id, timestamp, &body),
                    ),
                ],
                body,
            };
            let started = Instant::now();
            let outcome = sender
                .send(&outgoing, services.config.webhooks_to_loopback)
                .await;
            (outcome, started.elapsed())
        }
    };
    let delivered = matches!(outcome, SendOutcome::Answered(s) if (200..300).contains(&s));
    let mut next = leased.clone();
    next.tries += 1;
    next.attempts.push(Attempt {
        at: now,
        status: match outcome {
            SendOutcome::Answered(status) => Some(status),
            SendOutcome::Failed(_) => None,
        },
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        error: match &outcome {
            SendOutcome::Answered(status) if !delivered => Some(format!("answered {status}")),
            SendOutcome::Failed(why) => Some(why.clone()),
            SendOutcome::Answered(_) => None,
        },
    });
    if next.attempts.len() > KEPT_ATTEMPTS {
        next.attempts.remove(0);
    }
    let usable = webhook.as_ref().is_some_and(|w| w.disabled_at.is_none());
    (next.state, next.next_attempt_at) = if delivered {
        (DeliveryState::Delivered, None)
    } else {
        match next_attempt(next.tries, services.clock.now(), &*services.random).filter(|_| usable) {
            Some(at) => (DeliveryState::Pending, Some(at)),
            None => (DeliveryState::Failed, None),
        }
    };
    match services.store.update_delivery(&next, &leased).await {
        Ok(()) => next.version = leased.version + 1,
        Err(WriteError::Store(e)) => return Err(e),
        Err(e) => return Err(StoreError::Unavailable(e.into())),
    }
    if let Some(webhook) = webhook.filter(|_| usable) {
        keep_failure_run(services, webhook, delivered).await?;
    }
    Ok(Some(next))
}

/// Starts or ends the endpoint's run of failures; disables it once the run is five days long.
async fn keep_failure_run(
    services: &Services,
    mut webhook: Webhook,
    delivered: bool,
) -> Result<(), StoreError> {
    for _ in 0..3 {
        let now = services.clock.now();
        let mut next = webhook.clone();
        match (delivered, next.failing_since) {
            (true, Some(_)) => next.failing_since = None,
            (false, None) => next.failing_since = Some(now),
            (false, Some(since)) if is_to_be_disabled(since, now) => next.disabled_at = Some(now),
            _ => return Ok(()),
        }
        let mut events = ChangeEvents::new(&*services.random, now);
        if next.disabled_at.is_some() {
            // Gatehouse did it: no actor.
            let view = WebhookView::from(&next);
            events.resource(&next.org, EventType::WebhookUpdated, None, &view);
        }
        match services.store.update_webhook(&next, &events).await {
            Ok(()) => {
                if next.disabled_at.is_some() {
                    tracing::warn!(org = %next.org, webhook = %next.id, "a webhook failing for five days was disabled");
                }
                return Ok(());
            }
            Err(WriteError::Stale) => {
                match services.store.webhook(&webhook.org, &webhook.id).await? {
                    Some(again) => webhook = again,
                    None => return Ok(()),
                }
            }
            Err(WriteError::Store(e)) => return Err(e),
            Err(e) => return Err(StoreError::Unavailable(e.into())),
        }
    }
    Ok(())
}

/// Attempts the deliveries due now, up to `limit`, `parallel` at a time; answers how many were
/// attempted.
pub async fn deliver_due(
    services: &Services,
    sender: &dyn WebhookSender,
    limit: usize,
    parallel: usize,
) -> Result<usize, StoreError> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let due = services
        .store
        .due_deliveries(services.clock.now(), limit)
        .await?;
    let attempted: Vec<Option<Delivery>> = stream::iter(due)
        .map(|d| attempt(services, sender, d))
        .buffer_unordered(parallel.max(1))
        .try_collect()
        .await?;
    Ok(attempted.iter().flatten().count())
}
