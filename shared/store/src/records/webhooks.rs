//! Webhook endpoints, and their deliveries with the due index the delivery workers walk.

#[allow(unused_imports)]
use super::*;

use gatehouse_domain::webhooks::{Delivery, DeliveryState, DeliveryStore, Webhook, WebhookStore};

/// A delivery is forgotten this long after its event (with the log it came from).
const DELIVERY_KEPT: Duration = gatehouse_domain::events::KEPT;

fn delivery_put(delivery: &Delivery, attrs: Attrs, condition: Condition) -> Write {
    let mut attrs = attrs;
    let forget = delivery
        .event
        .occurred_at
        .plus(DELIVERY_KEPT)
        .unix_seconds();
    attrs.insert(TTL_ATTRIBUTE.into(), json!(forget));
    put(
        keys::delivery(&delivery.org, &delivery.webhook, &delivery.event.id),
        attrs,
        Some(condition),
    )
}

/// The due pointer of a pending delivery (none otherwise).
fn due_pointer(delivery: &Delivery) -> Option<Write> {
    let due = delivery
        .next_attempt_at
        .filter(|_| delivery.state == DeliveryState::Pending)?;
    let mut attrs = Attrs::new();
    attrs.insert("org".into(), json!(delivery.org));
    attrs.insert("webhook".into(), json!(delivery.webhook));
    attrs.insert("event".into(), json!(delivery.event.id));
    Some(put(keys::delivery_due(delivery, due), attrs, None))
}

#[async_trait]
impl WebhookStore for Records {
    async fn create_webhook(
        &self,
        webhook: &Webhook,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let mut attrs = encode(webhook);
        attrs.insert(VERSION.into(), json!(0));
        let writes = vec![put(
            keys::webhook(&webhook.org, &webhook.id),
            attrs,
            Some(Condition::NotExists),
        )];
        match self.write(with_events(writes, events)).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }

    async fn webhooks(&self, org: &OrgDomain) -> Result<Vec<Webhook>, StoreError> {
        let page = self
            .items
            .query(&Query {
                index: None,
                pk: keys::webhooks_pk(org),
                sk_prefix: String::new(),
                after: None,
                // The most an organisation may have, and then some.
                limit: 100,
                descending: false,
            })
            .await
            .map_err(unavailable)?;
        page.items.into_iter().map(|i| decode(i.attrs)).collect()
    }

    async fn webhook(
        &self,
        org: &OrgDomain,
        id: &WebhookId,
    ) -> Result<Option<Webhook>, StoreError> {
        self.get(&keys::webhook(org, id)).await
    }

    async fn update_webhook(
        &self,
        webhook: &Webhook,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(webhook, webhook.version);
        let writes = vec![put(
            keys::webhook(&webhook.org, &webhook.id),
            attrs,
            Some(unchanged),
        )];
        self.write(with_events(writes, events))
            .await
            .map_err(write_error)
    }

    async fn delete_webhook(
        &self,
        webhook: &Webhook,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let writes = vec![Write::Delete {
            key: keys::webhook(&webhook.org, &webhook.id),
            condition: Some(Condition::Equals(VERSION.into(), json!(webhook.version))),
        }];
        self.write(with_events(writes, events))
            .await
            .map_err(write_error)
    }
}

#[async_trait]
impl DeliveryStore for Records {
    async fn create_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, StoreError> {
        let mut made = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let mut attrs = encode(delivery);
            attrs.insert(VERSION.into(), json!(0));
            let mut writes = vec![delivery_put(delivery, attrs, Condition::NotExists)];
            writes.extend(due_pointer(delivery));
            match self.write(writes).await {
                Ok(()) => made.push(true),
                // The same event to the same endpoint: made already.
                Err(ItemError::ConditionFailed { index: 0 }) => made.push(false),
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(made)
    }

    async fn delivery(
        &self,
        org: &OrgDomain,
        webhook: &WebhookId,
        event: &EventId,
    ) -> Result<Option<Delivery>, StoreError> {
        self.get(&keys::delivery(org, webhook, event)).await
    }

    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let limit = limit.max(1);
        let shards = (0..gatehouse_domain::events::SHARDS).map(|shard| async move {
            self.items
                .query(&Query {
                    index: None,
                    pk: keys::deliveries_due_pk(shard),
                    sk_prefix: String::new(),
                    after: None,
                    limit,
                    descending: false,
                })
                .await
                .map_err(unavailable)
        });
        let mut pointers = Vec::new();
        for page in futures_util::future::join_all(shards).await {
            for item in page?.items {
                let due = item
                    .key
                    .sk
                    .split_once('#')
                    .and_then(|(t, _)| t.parse::<i64>().ok());
                if due.is_none_or(|t| t > now.unix_seconds()) {
                    break;
                }
                let field = |name: &str| item.attrs.get(name).cloned().unwrap_or(Value::Null);
                let org: OrgDomain =
                    serde_json::from_value(field("org")).map_err(corrupt("due delivery"))?;
                let webhook: WebhookId =
                    serde_json::from_value(field("webhook")).map_err(corrupt("due delivery"))?;
                let event: EventId =
                    serde_json::from_value(field("event")).map_err(corrupt("due delivery"))?;
                pointers.push((item.key.sk.clone(), keys::delivery(&org, &webhook, &event)));
            }
        }
        pointers.sort();
        pointers.truncate(limit);
        let keys: Vec<Key> = pointers.into_iter().map(|(_, k)| k).collect();
        let mut due = Vec::with_capacity(keys.len());
        for part in keys.chunks(100) {
            for item in self.items.get_many(part).await.map_err(unavailable)? {
                let Some(item) = item else { continue };
                let delivery: Delivery = decode(item.attrs)?;
                if delivery.state == DeliveryState::Pending {
                    due.push(delivery);
                }
            }
        }
        Ok(due)
    }

    async fn update_delivery(
        &self,
        next: &Delivery,
        previous: &Delivery,
    ) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(next, previous.version);
        let mut writes = vec![delivery_put(next, attrs, unchanged)];
        let (old, new) = (due_pointer(previous), due_pointer(next));
        let old_key = old.as_ref().map(|w| w.key().clone());
        let new_key = new.as_ref().map(|w| w.key().clone());
        if let Some(key) = old_key.filter(|k| Some(k) != new_key.as_ref()) {
            writes.push(Write::Delete {
                key,
                condition: None,
            });
        }
        writes.extend(new);
        self.write(writes).await.map_err(write_error)
    }

    async fn deliveries(
        &self,
        org: &OrgDomain,
        webhook: &WebhookId,
        page: &PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        self.page_of(keys::deliveries_pk(org, webhook), page, true, |sk| {
            EventId::parse(sk).is_ok()
        })
        .await
    }
}
