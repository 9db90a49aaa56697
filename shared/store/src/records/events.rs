//! The organisation's event log: each event in one of its shards, by id; read by merging the
//! shards in id order (see `gatehouse_domain::events` for why that order holds).

#[allow(unused_imports)]
use super::*;

/// How every partition of the event log begins: the table's stream (and the embedded store's
/// change feed) follows the items put under it.
pub const EVENTS_PK_PREFIX: &str = "EVENTS#";

/// The events a change's record holds, as a stream delivers its new image (`None`: the item is
/// no record of the event log).
pub fn events_in(key: &Key, attrs: &Attrs) -> Result<Option<Vec<Event>>, StoreError> {
    // A record redacted by an erasure was told when it was written; it is not told again.
    if !key.pk.starts_with(EVENTS_PK_PREFIX) || attrs.contains_key(super::erasures::REDACTED) {
        return Ok(None);
    }
    let Some(events) = attrs.get("events") else {
        return Ok(None);
    };
    serde_json::from_value(events.clone())
        .map(Some)
        .map_err(corrupt("event record"))
}

/// The record of a change's events, written in the change's own write: one item holding them
/// all, filed under the last of their ids (their ids are a block, so no other event's id falls
/// between its first and last). `None` when there are none. Writing it again changes nothing.
pub(crate) fn events_put(events: &ChangeEvents) -> Option<Write> {
    let last = events.events().last()?;
    let forget = last
        .occurred_at
        .plus(gatehouse_domain::events::KEPT)
        .unix_seconds();
    let mut attrs = Attrs::new();
    attrs.insert("events".into(), json!(events.events()));
    attrs.insert(TTL_ATTRIBUTE.into(), json!(forget));
    Some(put(keys::event(&last.org, &last.id), attrs, None))
}

/// `writes` with the change's event record added.
pub(crate) fn with_events(mut writes: Vec<Write>, events: &ChangeEvents) -> Vec<Write> {
    writes.extend(events_put(events));
    writes
}

#[async_trait]
impl EventLog for Records {
    async fn append_events(&self, events: &ChangeEvents) -> Result<(), StoreError> {
        match events_put(events) {
            Some(put) => self.write(vec![put]).await.map_err(unavailable),
            None => Ok(()),
        }
    }

    async fn read_log(
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
            let mut events = Vec::new();
            for item in page.items {
                let Some(found) = item.attrs.get("events").cloned() else {
                    continue;
                };
                let found: Vec<Event> =
                    serde_json::from_value(found).map_err(corrupt("event record"))?;
                events.extend(found.into_iter().filter(|e| {
                    after.is_none_or(|a| e.id > *a) && e.id.as_str() < before.as_str()
                }));
            }
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
