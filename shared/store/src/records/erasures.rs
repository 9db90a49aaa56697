//! Erasures under way (one partition: they are rare), and the log's records and webhook
//! deliveries as an erasure redacts them.

#[allow(unused_imports)]
use super::*;

use gatehouse_domain::model::ErasureJob;
use gatehouse_domain::ports::ErasureStore;
use gatehouse_domain::types::WebhookId;

/// The attribute that marks a log record redacted: the stream and the local feed pass it by.
pub const REDACTED: &str = "redacted";

/// The first record of an erasure, put with the account's erasure (new).
pub(super) fn erasure_put(job: &ErasureJob) -> Write {
    let attrs = encode(job);
    put(
        keys::erasure(&job.org, &job.user_id),
        attrs,
        Some(Condition::NotExists),
    )
}

#[async_trait]
impl ErasureStore for Records {
    async fn save_erasure(&self, job: &ErasureJob) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(job, job.version);
        let key = keys::erasure(&job.org, &job.user_id);
        self.write(vec![put(key, attrs, Some(unchanged))])
            .await
            .map_err(write_error)
    }

    async fn erasures(&self, limit: usize) -> Result<Vec<ErasureJob>, StoreError> {
        let page = self
            .items
            .query(&Query {
                index: None,
                pk: keys::ERASURES_PK.into(),
                sk_prefix: String::new(),
                after: None,
                limit: limit.max(1),
                descending: false,
            })
            .await
            .map_err(unavailable)?;
        let mut jobs: Vec<ErasureJob> = page
            .items
            .into_iter()
            .map(|i| decode(i.attrs))
            .collect::<Result<_, _>>()?;
        jobs.sort_by_key(|j| j.started_at);
        Ok(jobs)
    }

    async fn finish_erasure(&self, job: &ErasureJob) -> Result<(), StoreError> {
        self.items
            .write(vec![Write::Delete {
                key: keys::erasure(&job.org, &job.user_id),
                condition: None,
            }])
            .await
            .map_err(unavailable)
    }

    async fn log_records(
        &self,
        org: &OrgDomain,
        shard: u8,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, Vec<Event>)>, bool), StoreError> {
        let page = self
            .items
            .query(&Query {
                index: None,
                pk: keys::events_pk(org, shard),
                sk_prefix: String::new(),
                after: after.map(str::to_string),
                limit: limit.max(1),
                descending: false,
            })
            .await
            .map_err(unavailable)?;
        let mut records = Vec::with_capacity(page.items.len());
        for item in page.items {
            let events = match item.attrs.get("events") {
                Some(found) => {
                    serde_json::from_value(found.clone()).map_err(corrupt("event record"))?
                }
                None => Vec::new(),
            };
            records.push((item.key.sk, events));
        }
        Ok((records, page.last_sk.is_some()))
    }

    async fn redact_log_record(
        &self,
        org: &OrgDomain,
        shard: u8,
        sk: &str,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let mut set = Attrs::new();
        set.insert("events".into(), json!(events));
        set.insert(REDACTED.into(), json!(true));
        self.items
            .write(vec![Write::Update {
                key: Key::new(keys::events_pk(org, shard), sk),
                add: Vec::new(),
                set,
                condition: Some(Condition::Exists),
            }])
            .await
            .or_else(|e| match e {
                // Gone meanwhile (its time was up): nothing left to redact.
                ItemError::ConditionFailed { .. } => Ok(()),
                e => Err(e),
            })
            .map_err(unavailable)
    }

    async fn redact_deliveries(
        &self,
        org: &OrgDomain,
        webhooks: &[WebhookId],
        events: &[Event],
    ) -> Result<usize, StoreError> {
        let pairs: Vec<(Key, &Event)> = webhooks
            .iter()
            .flat_map(|w| {
                events
                    .iter()
                    .map(move |e| (keys::delivery(org, w, &e.id), e))
            })
            .collect();
        let mut redacted = 0;
        for chunk in pairs.chunks(100) {
            let keys: Vec<Key> = chunk.iter().map(|(k, _)| k.clone()).collect();
            let found = self.items.get_many(&keys).await.map_err(unavailable)?;
            for ((key, event), item) in chunk.iter().zip(found) {
                if item.is_none() {
                    continue;
                }
                // In place, its version as it is: an attempt under way still records its outcome.
                let mut set = Attrs::new();
                set.insert("event".into(), json!(event));
                let written = self
                    .items
                    .write(vec![Write::Update {
                        key: key.clone(),
                        add: Vec::new(),
                        set,
                        condition: Some(Condition::Exists),
                    }])
                    .await;
                match written {
                    Ok(()) => redacted += 1,
                    Err(ItemError::ConditionFailed { .. }) => {}
                    Err(e) => return Err(unavailable(e)),
                }
            }
        }
        Ok(redacted)
    }
}
