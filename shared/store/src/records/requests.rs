//! Idempotency keys: a request claimed once, its answer kept.

#[allow(unused_imports)]
use super::*;

/// The stored form of an idempotency key's record.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct RequestRecord {
    fingerprint: String,
    /// `running`, or `answered` with the answer below.
    state: String,
    running_until: Timestamp,
    forget_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_control: Option<String>,
    /// The answer's body, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
}

pub(super) const RUNNING: &str = "running";
pub(super) const ANSWERED: &str = "answered";

impl RequestRecord {
    pub(super) fn attrs(&self) -> Attrs {
        let mut attrs = encode(self);
        attrs.insert(TTL_ATTRIBUTE.into(), json!(self.forget_at));
        attrs
    }
}

#[async_trait]
impl RequestStore for Records {
    async fn claim_request(
        &self,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        running_until: Timestamp,
        forget_at: Timestamp,
    ) -> Result<RequestClaim, StoreError> {
        let record = RequestRecord {
            fingerprint: fingerprint.into(),
            state: RUNNING.into(),
            running_until,
            forget_at,
            status: None,
            content_type: None,
            cache_control: None,
            body: None,
        };
        // Free: no record, one past its keeping (TTL deletes lazily), or a running claim that
        // lapsed (its process died).
        let after_now = now.unix_seconds().saturating_add(1);
        let free = Condition::Any(vec![
            Condition::NotExists,
            Condition::Below("forget_at".into(), after_now),
            Condition::All(vec![
                Condition::Equals("state".into(), json!(RUNNING)),
                Condition::Below("running_until".into(), after_now),
            ]),
        ]);
        for _ in 0..3 {
            let claim = put(keys::request(key), record.attrs(), Some(free.clone()));
            match self.write(vec![claim]).await {
                Ok(()) => return Ok(RequestClaim::Claimed),
                Err(ItemError::ConditionFailed { .. }) => {}
                Err(e) => return Err(unavailable(e)),
            }
            // Held: by whom? (Gone again meanwhile: try to claim once more.)
            let Some(held) = self.get::<RequestRecord>(&keys::request(key)).await? else {
                continue;
            };
            if held.state != ANSWERED {
                return Ok(RequestClaim::Running {
                    fingerprint: held.fingerprint,
                });
            }
            let body = held
                .body
                .as_deref()
                .map(|b| base64::engine::general_purpose::STANDARD.decode(b))
                .transpose()
                .map_err(|_| StoreError::Unavailable("corrupt request record".into()))?
                .unwrap_or_default();
            return Ok(RequestClaim::Answered {
                fingerprint: held.fingerprint,
                answer: StoredAnswer {
                    status: held.status.unwrap_or(200),
                    content_type: held.content_type,
                    cache_control: held.cache_control,
                    body,
                },
            });
        }
        Err(StoreError::Unavailable(
            "an idempotency record kept changing".into(),
        ))
    }

    async fn save_answer(
        &self,
        key: &str,
        fingerprint: &str,
        answer: &StoredAnswer,
        forget_at: Timestamp,
    ) -> Result<(), StoreError> {
        let record = RequestRecord {
            fingerprint: fingerprint.into(),
            state: ANSWERED.into(),
            running_until: forget_at,
            forget_at,
            status: Some(answer.status),
            content_type: answer.content_type.clone(),
            cache_control: answer.cache_control.clone(),
            body: Some(base64::engine::general_purpose::STANDARD.encode(&answer.body)),
        };
        let mine = Condition::All(vec![
            Condition::Equals("state".into(), json!(RUNNING)),
            Condition::Equals("fingerprint".into(), json!(fingerprint)),
        ]);
        self.write(vec![put(keys::request(key), record.attrs(), Some(mine))])
            .await
            .map_err(|e| match e {
                ItemError::ConditionFailed { .. } => {
                    StoreError::Unavailable("the request's claim was taken over".into())
                }
                e => unavailable(e),
            })
    }

    async fn release_request(&self, key: &str) -> Result<(), StoreError> {
        let running = Condition::Equals("state".into(), json!(RUNNING));
        match self
            .write(vec![Write::Delete {
                key: keys::request(key),
                condition: Some(running),
            }])
            .await
        {
            Ok(()) | Err(ItemError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}
