//! The organisation's event log: each event in one of its shards, by id; read by merging the
//! shards in id order (see `gatehouse_domain::events` for why that order holds).

#[allow(unused_imports)]
use super::*;

/// The put that records `event` with the change it belongs to (in the same write). Writing an
/// event again changes nothing: the same id is the same event.
pub(crate) fn event_put(event: &Event) -> Write {
    let mut attrs = encode(event);
    let forget = event
        .occurred_at
        .plus(gatehouse_domain::events::KEPT)
        .unix_seconds();
    attrs.insert(TTL_ATTRIBUTE.into(), json!(forget));
    put(keys::event(&event.org, &event.id), attrs, None)
}

#[async_trait]
impl EventLog for Records {
    async fn append_events(&self, events: &[Event]) -> Result<(), StoreError> {
        for batch in events.chunks(25) {
            self.write(batch.iter().map(event_put).collect())
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn events(
        &self,
        org: &OrgDomain,
        after: Option<&EventId>,
        before: &EventId,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        // Each shard's first `limit` events after the cursor: the merge needs no more.
        let shards = (0..gatehouse_domain::events::SHARDS).map(|shard| async move {
            let page = self
                .items
                .query(&Query {
                    index: None,
                    pk: keys::events_pk(org, shard),
                    sk_prefix: String::new(),
                    after: after.map(|a| a.as_str().to_string()),
                    limit,
                    descending: false,
                })
                .await
                .map_err(unavailable)?;
            // A shard that may hold more than it answered (a page cut short by size, say): the
            // merge must stop at its last event, or a cursor past it would skip the rest.
            let stop = page
                .last_sk
                .as_ref()
                .and(page.items.last())
                .map(|i| i.key.sk.clone());
            let events = page
                .items
                .into_iter()
                .take_while(|item| item.key.sk.as_str() < before.as_str())
                .map(|item| decode::<Event>(item.attrs))
                .collect::<Result<Vec<Event>, StoreError>>()?;
            Ok::<_, StoreError>((events, stop))
        });
        let mut merged = Vec::new();
        let mut stop: Option<String> = None;
        for found in futures_util::future::join_all(shards).await {
            let (events, shard_stop) = found?;
            merged.extend(events);
            stop = match (stop, shard_stop) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        merged.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(stop) = stop {
            merged.retain(|e| e.id.as_str() <= stop.as_str());
        }
        merged.truncate(limit);
        Ok(merged)
    }
}
