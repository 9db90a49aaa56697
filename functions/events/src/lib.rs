//! `events`: the event log's way out in AWS. The table's stream (filtered to the log's items)
//! invokes it; it publishes every event on the EventBridge bus and queues each webhook delivery
//! (the `deliveries` function attempts them). It takes its input as Lambda hands it over
//! (JSON), so tests drive the same code.

use gatehouse_domain::usecase::deliveries::route;
use gatehouse_domain::webhooks::{DeliveryQueue, EventBus};
use gatehouse_domain::Services;
use serde_json::Value;

/// The events of a stream batch (`Records[].dynamodb.NewImage`), from the log's items only.
pub fn stream_events(batch: &Value) -> anyhow::Result<Vec<gatehouse_domain::events::Event>> {
    let mut events = Vec::new();
    for record in batch["Records"].as_array().into_iter().flatten() {
        let image = &record["dynamodb"]["NewImage"];
        if image.is_null() {
            // A removal (the log's TTL): nothing to tell.
            continue;
        }
        let item = gatehouse_aws::item_from_stream_image(image)?;
        events.extend(gatehouse_store::events_in(&item.key, &item.attrs)?.unwrap_or_default());
    }
    Ok(events)
}

/// A stream batch: published and routed, all or (an error, and the stream hands it over again)
/// nothing lost. Answers how many deliveries were queued.
pub async fn handle_stream(
    services: &Services,
    bus: &dyn EventBus,
    queue: &dyn DeliveryQueue,
    batch: &Value,
) -> anyhow::Result<usize> {
    let events = stream_events(batch)?;
    Ok(route(services, bus, queue, &events).await?)
}
