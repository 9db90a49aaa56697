//! `deliveries`: webhook deliveries in AWS. The deliveries queue invokes it with the messages
//! whose time has come; it attempts each due delivery and queues its retry. It takes its input
//! as Lambda hands it over (JSON), so tests drive the same code.

use gatehouse_domain::usecase::deliveries::{handle_queued, QueuedOutcome, RouteError};
use gatehouse_domain::webhooks::{DeliveryQueue, QueuedDelivery, WebhookSender};
use gatehouse_domain::Services;
use serde_json::{json, Value};

/// A queue batch (`Records[].body`): each message handled; answers the SQS partial-batch
/// response naming the messages to hand over again (those whose handling failed).
pub async fn handle_queue(
    services: &Services,
    sender: &dyn WebhookSender,
    queue: &dyn DeliveryQueue,
    batch: &Value,
) -> Value {
    let mut failures = Vec::new();
    for record in batch["Records"].as_array().into_iter().flatten() {
        let id = record["messageId"].as_str().unwrap_or_default();
        let message: QueuedDelivery = match record["body"].as_str().map(serde_json::from_str) {
            Some(Ok(message)) => message,
            _ => {
                // Not ours to read: dropped, and said so (the dead-letter queue is for retries).
                tracing::error!(
                    message = id,
                    "a deliveries message that is no delivery was dropped"
                );
                continue;
            }
        };
        match handle_queued(services, sender, queue, &message).await {
            Ok(outcome) => tracing::info!(
                message = id,
                org = %message.org,
                webhook = %message.webhook,
                event = %message.event,
                outcome = outcome_name(outcome),
                "delivery handled"
            ),
            Err(e) => {
                log_failure(&e, id);
                failures.push(json!({ "itemIdentifier": id }));
            }
        }
    }
    json!({ "batchItemFailures": failures })
}

fn outcome_name(outcome: QueuedOutcome) -> &'static str {
    match outcome {
        QueuedOutcome::Delivered => "delivered",
        QueuedOutcome::Retrying => "retrying",
        QueuedOutcome::Failed => "failed",
        QueuedOutcome::Later => "later",
        QueuedOutcome::Stale => "stale",
    }
}

fn log_failure(e: &RouteError, message: &str) {
    tracing::warn!(message, cause = %gatehouse_domain::Chain(e), "a delivery message is handed over again");
}
