//! Events to the platform in AWS: [`EventBridgeBus`] publishes every event on the stack's bus
//! (`source` `gatehouse`, `detail-type` the event's type), [`SqsDeliveryQueue`] keeps webhook
//! deliveries waiting for their attempts.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::events::Event;
use gatehouse_domain::webhooks::{DeliveryQueue, EventBus, QueuedDelivery, SendError};

/// Entries per `PutEvents` and per `SendMessageBatch` (the services' limit).
const BATCH: usize = 10;
/// SQS delays a message at most this long; a later attempt is queued again on the way.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

fn failed(what: impl std::fmt::Display) -> SendError {
    SendError(what.to_string().into())
}

/// The stack's EventBridge bus.
#[derive(Clone)]
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: String) -> Self {
        Self { client, bus }
    }
}

/// What a rule sees in `detail`: the event as the API shows it, with its organisation.
pub fn detail(event: &Event) -> serde_json::Value {
    serde_json::json!({
        "id": event.id,
        "org": event.org,
        "type": event.kind.as_str(),
        "occurred_at": event.occurred_at.to_rfc3339(),
        "actor": event.actor,
        "data": event.data,
    })
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[Event]) -> Result<(), SendError> {
        for batch in events.chunks(BATCH) {
            let entries = batch
                .iter()
                .map(|e| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source("gatehouse")
                        .detail_type(e.kind.as_str())
                        .detail(detail(e).to_string())
                        .resources(format!("gatehouse:org/{}", e.org))
                        .build()
                })
                .collect::<Vec<_>>();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| failed(aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
            if out.failed_entry_count() > 0 {
                // All again: the bus's rules may see an event twice, never miss one.
                return Err(failed(format!(
                    "EventBridge refused {} of {} events",
                    out.failed_entry_count(),
                    batch.len()
                )));
            }
        }
        Ok(())
    }
}

/// The deliveries queue.
#[derive(Clone)]
pub struct SqsDeliveryQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsDeliveryQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        Self { client, url }
    }
}

/// How long a message for `due_at` waits in the queue, queued at `now`.
pub fn delay(due_at: Timestamp, now: Timestamp) -> Duration {
    let wait = u64::try_from(due_at.unix_seconds() - now.unix_seconds()).unwrap_or(0);
    Duration::from_secs(wait).min(MAX_DELAY)
}

#[async_trait]
impl DeliveryQueue for SqsDeliveryQueue {
    async fn enqueue(&self, messages: &[QueuedDelivery], now: Timestamp) -> Result<(), SendError> {
        for batch in messages.chunks(BATCH) {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(n, m)| {
                    let body = serde_json::to_string(m).map_err(failed)?;
                    let seconds = i32::try_from(delay(m.due_at, now).as_secs()).unwrap_or(900);
                    SendMessageBatchRequestEntry::builder()
                        .id(n.to_string())
                        .message_body(body)
                        .delay_seconds(seconds)
                        .build()
                        .map_err(failed)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| failed(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            if !out.failed().is_empty() {
                return Err(failed(format!(
                    "SQS refused {} of {} messages",
                    out.failed().len(),
                    batch.len()
                )));
            }
        }
        Ok(())
    }
}

/// The deliveries queue a function is given (`GATEHOUSE_DELIVERY_QUEUE_URL`), its client built
/// once.
pub async fn delivery_queue_from_env() -> anyhow::Result<SqsDeliveryQueue> {
    use anyhow::Context;
    let config = crate::aws_sdk_config().await;
    let queue =
        std::env::var("GATEHOUSE_DELIVERY_QUEUE_URL").context("GATEHOUSE_DELIVERY_QUEUE_URL")?;
    Ok(SqsDeliveryQueue::new(
        aws_sdk_sqs::Client::new(&config),
        queue,
    ))
}

/// The bus (`GATEHOUSE_EVENT_BUS`) and the deliveries queue a function is given, their clients
/// built once.
pub async fn bus_and_queue_from_env() -> anyhow::Result<(EventBridgeBus, SqsDeliveryQueue)> {
    use anyhow::Context;
    let config = crate::aws_sdk_config().await;
    let bus = std::env::var("GATEHOUSE_EVENT_BUS").context("GATEHOUSE_EVENT_BUS")?;
    Ok((
        EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&config), bus),
        delivery_queue_from_env().await?,
    ))
}
