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
    OutgoingDelivery, QueuedDelivery, SendOutcome, Webhook, WebhookSecret, WebhookSender,
    KEPT_ATTEMPTS,
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

/// Why a batch of events or a queued delivery is to be tried again (by the stream or queue
/// that handed it over).
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Send(#[from] crate::webhooks::SendError),
}

/// What the table's stream hands over (in AWS): publishes every event to the bus, makes the
/// deliveries of those that endpoints want, and queues each pending one for its attempt. A
/// batch handed over again (the stream delivers at least once) publishes again (the bus's rules
/// see each event's id to tell) but makes no second delivery, and queues again only what is
/// still pending: each event reaches each endpoint once.
pub async fn route(
    services: &Services,
    bus: &dyn crate::webhooks::EventBus,
    queue: &dyn crate::webhooks::DeliveryQueue,
    events: &[Event],
) -> Result<usize, RouteError> {
    if events.is_empty() {
        return Ok(0);
    }
    bus.publish(events).await?;
    let made = fan_out(services, events).await?;
    // Made before (this batch came again): queued again if still pending. Their queue messages
    // may be lost with the first try; a stale one is dropped when it comes back.
    let mut messages: Vec<QueuedDelivery> = made.iter().filter_map(QueuedDelivery::of).collect();
    messages.extend(still_pending_of_earlier(services, events, &made).await?);
    queue.enqueue(&messages, services.clock.now()).await?;
    Ok(messages.len())
}

/// The pending deliveries of `events` that were made before this fan-out.
async fn still_pending_of_earlier(
    services: &Services,
    events: &[Event],
    made: &[Delivery],
) -> Result<Vec<QueuedDelivery>, StoreError> {
    let mut pending = Vec::new();
    let mut endpoints: HashMap<&crate::types::OrgDomain, Vec<Webhook>> = HashMap::new();
    for event in events {
        if !endpoints.contains_key(&event.org) {
            endpoints.insert(&event.org, services.store.webhooks(&event.org).await?);
        }
        for webhook in &endpoints[&event.org] {
            let new = made
                .iter()
                .any(|d| d.webhook == webhook.id && d.event.id == event.id);
            if new || !webhook.wants(event.kind) {
                continue;
            }
            if let Some(earlier) = services
                .store
                .delivery(&event.org, &webhook.id, &event.id)
                .await?
            {
                pending.extend(QueuedDelivery::of(&earlier));
            }
        }
    }
    Ok(pending)
}

/// A queue message come back: attempts its delivery when it is due and still the one the
/// message was queued for, and queues its next attempt; queues it again for later when it is
/// not due yet; drops a stale message. Answers what became of it.
pub async fn handle_queued(
    services: &Services,
    sender: &dyn WebhookSender,
    queue: &dyn crate::webhooks::DeliveryQueue,
    message: &QueuedDelivery,
) -> Result<QueuedOutcome, RouteError> {
    let Some(delivery) = services
        .store
        .delivery(&message.org, &message.webhook, &message.event)
        .await?
    else {
        return Ok(QueuedOutcome::Stale);
    };
    if !message.carries(&delivery) {
        return Ok(QueuedOutcome::Stale);
    }
    let now = services.clock.now();
    // Not due (or another worker's lease holds it): back in the queue for then.
    if let Some(later) = QueuedDelivery::of(&delivery).filter(|m| m.due_at > now) {
        queue.enqueue(&[later], now).await?;
        return Ok(QueuedOutcome::Later);
    }
    let Some(attempted) = attempt_queued(services, sender, delivery, Some(queue)).await? else {
        return Ok(QueuedOutcome::Stale);
    };
    Ok(match attempted.state {
        DeliveryState::Pending => QueuedOutcome::Retrying,
        DeliveryState::Delivered => QueuedOutcome::Delivered,
        DeliveryState::Failed => QueuedOutcome::Failed,
    })
}

/// What became of a queue message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuedOutcome {
    Delivered,
    /// Refused; queued again for its next attempt.
    Retrying,
    /// Every retry spent (or its endpoint gone or disabled).
    Failed,
    /// Not due yet: queued again.
    Later,
    /// Another message carries the delivery now (or it is gone).
    Stale,
}

/// How late a due delivery must be before the sweep queues it again: longer than a queue
/// message can be delayed, so that a message still on its way is not doubled.
pub const OVERDUE: Duration = Duration::from_secs(20 * 60);

/// The safety net (run with the cleanup): queues again every delivery overdue by [`OVERDUE`],
/// whose message was lost (a queue that took it and failed, a function that died between
/// writing and queueing). Answers how many.
pub async fn requeue_overdue(
    services: &Services,
    queue: &dyn crate::webhooks::DeliveryQueue,
    limit: usize,
) -> Result<usize, RouteError> {
    let now = services.clock.now();
    let overdue = services
        .store
        .due_deliveries(now.minus(OVERDUE), limit)
        .await?;
    let messages: Vec<QueuedDelivery> = overdue.iter().filter_map(QueuedDelivery::of).collect();
    queue.enqueue(&messages, now).await?;
    Ok(messages.len())
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
    match attempt_queued(services, sender, delivery, None).await {
        Ok(done) => Ok(done),
        Err(RouteError::Store(e)) => Err(e),
        Err(RouteError::Send(e)) => Err(StoreError::Unavailable(e.into())),
    }
}

/// [`attempt`], queueing the next attempt's message (when there is one) before the outcome is
/// recorded: should the queue refuse, nothing is recorded and the message that brought the
/// delivery comes back to it (its attempts unchanged), so no pending delivery is left without
/// a message.
async fn attempt_queued(
    services: &Services,
    sender: &dyn WebhookSender,
    delivery: Delivery,
    queue: Option<&dyn crate::webhooks::DeliveryQueue>,
) -> Result<Option<Delivery>, RouteError> {
    let now = services.clock.now();
    let mut leased = delivery.clone();
    leased.next_attempt_at = Some(now.plus(LEASE));
    match services.store.update_delivery(&leased, &delivery).await {
        Ok(()) => leased.version = delivery.version + 1,
        Err(WriteError::Stale) => return Ok(None),
        Err(WriteError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(StoreError::Unavailable(e.into()).into()),
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
    // An endpoint this failure disables gets no more attempts (its deliveries fail, for recover).
    let disabling = !delivered
        && webhook
            .as_ref()
            .and_then(|w| w.failing_since)
            .is_some_and(|since| is_to_be_disabled(since, services.clock.now()));
    let usable = webhook.as_ref().is_some_and(|w| w.disabled_at.is_none()) && !disabling;
    (next.state, next.next_attempt_at) = if delivered {
        (DeliveryState::Delivered, None)
    } else {
        match next_attempt(next.tries, services.clock.now(), &*services.random).filter(|_| usable) {
            Some(at) => (DeliveryState::Pending, Some(at)),
            None => (DeliveryState::Failed, None),
        }
    };
    if let (Some(queue), Some(message)) = (queue, QueuedDelivery::of(&next)) {
        queue.enqueue(&[message], services.clock.now()).await?;
    }
    match services.store.update_delivery(&next, &leased).await {
        Ok(()) => next.version = leased.version + 1,
        Err(WriteError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(StoreError::Unavailable(e.into()).into()),
    }
    if let Some(webhook) = webhook.filter(|w| w.disabled_at.is_none()) {
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
                if let (Some(_), Some(since)) = (next.disabled_at, next.failing_since) {
                    tracing::warn!(org = %next.org, webhook = %next.id, "a webhook failing for five days was disabled");
                    tell_admins(services, &next, since).await;
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

/// Mails the organisation's admins (those with an address) that `webhook` was disabled. Best
/// effort: the endpoint is disabled whether or not they are told.
async fn tell_admins(services: &Services, webhook: &Webhook, since: crate::clock::Timestamp) {
    let Ok(Some(org)) = services.store.org(&webhook.org).await else {
        return;
    };
    let admins = match services.store.active_admins(&webhook.org).await {
        Ok(admins) => admins,
        Err(e) => {
            tracing::warn!(cause = %crate::Chain(&e), "the admins were not told of a disabled webhook");
            return;
        }
    };
    {
        for admin in &admins {
            let Some(to) = &admin.email else { continue };
            let mail = crate::mail::WebhookDisabledMail {
                to,
                org: org.name(),
                first_name: &admin.first_name,
                url: webhook.url.as_str(),
                failing_since: since,
                language: org.settings.language,
            }
            .render();
            let sent = match mail {
                Ok(mail) => services
                    .mailer
                    .send(&mail)
                    .await
                    .map_err(crate::Cause::from),
                Err(e) => Err(e.into()),
            };
            if let Err(cause) = sent {
                tracing::warn!(user = %admin.id, cause = %crate::Chain(&*cause), "an admin was not told of a disabled webhook");
            }
        }
    }
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
