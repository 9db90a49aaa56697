//! Webhooks in the local run: the embedded store's change feed of the event log plays the
//! table's stream. Each change's events become deliveries (once each, however often the feed
//! hands them over) and are sent at once; retries come due on the schedule. Both the feed and
//! the due deliveries are in the store file, so a restart picks up where the last run stopped.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::usecase::deliveries::{deliver_due, fan_out};
use gatehouse_domain::webhooks::WebhookSender;
use gatehouse_domain::Services;
use gatehouse_embedded::EmbeddedItems;

/// How often due retries are looked for when nothing new came.
const POLL: Duration = Duration::from_secs(1);
/// Deliveries attempted at once.
const PARALLEL: usize = 8;

/// Hands the change feed's events to [`fan_out`], then acknowledges them; answers how many
/// records it handled.
pub async fn drain_feed(services: &Services, items: &EmbeddedItems) -> anyhow::Result<usize> {
    let mut handled = 0;
    loop {
        let batch = items.feed(100).await?;
        let Some((last, _)) = batch.last() else {
            return Ok(handled);
        };
        let last = *last;
        let mut events = Vec::new();
        for (_, item) in &batch {
            events.extend(gatehouse_store::events_in(&item.key, &item.attrs)?.unwrap_or_default());
        }
        fan_out(services, &events).await?;
        items.acknowledge(last).await?;
        handled += batch.len();
    }
}

/// Drains the feed and sends what is due, again whenever the feed is fed or [`POLL`] passes.
/// A failure (the store is busy) is logged and tried again at the next turn.
pub fn spawn_deliveries(services: Services, items: EmbeddedItems, sender: Arc<dyn WebhookSender>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = drain_feed(&services, &items).await {
                tracing::warn!(cause = %e, "webhook fan-out failed; tried again shortly");
            }
            loop {
                match deliver_due(&services, sender.as_ref(), 100, PARALLEL).await {
                    Ok(100) => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(cause = %gatehouse_domain::Chain(&e), "webhook deliveries failed; tried again shortly");
                        break;
                    }
                }
            }
            let _ = tokio::time::timeout(POLL, items.fed()).await;
        }
    });
}
