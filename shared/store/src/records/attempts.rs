//! Failure counters and quota counts: one conditional write each.

#[allow(unused_imports)]
use super::*;

pub(super) fn attempts_key(key: &str) -> Key {
    Key::new(format!("ATTEMPTS#{key}"), "#")
}

pub(super) const FAILURES: &str = "failures";

/// A failure counter's change as a write: a versioned replacement, or an in-place addition that
/// bumps the version too, so that a replacement read before it fails as stale.
/// One more on a counter at `at`, as an addition (racing additions all land), on condition that
/// the counter is new or `allowed` holds for it.
pub(super) fn one_more(
    key: &str,
    at: Timestamp,
    keep_until: Timestamp,
    allowed: Condition,
) -> Write {
    let mut set = Attrs::new();
    set.insert("last_failure".into(), json!(at));
    set.insert("blocked_until".into(), json!(at));
    set.insert(TTL_ATTRIBUTE.into(), json!(keep_until));
    Write::Update {
        key: attempts_key(key),
        add: vec![(FAILURES.into(), 1), (VERSION.into(), 1)],
        set,
        condition: Some(Condition::Any(vec![Condition::NotExists, allowed])),
    }
}

pub(super) fn attempts_write(change: &AttemptsChange) -> Write {
    match change {
        AttemptsChange::Replace {
            key,
            read,
            next,
            keep_until,
        } => {
            let mut attrs = encode(next);
            let version = read.map_or(0, |v| v + 1);
            attrs.insert(VERSION.into(), json!(version));
            attrs.insert(TTL_ATTRIBUTE.into(), json!(keep_until));
            let condition = match read {
                Some(v) => Condition::Equals(VERSION.into(), json!(v)),
                None => Condition::NotExists,
            };
            put(attempts_key(key), attrs, Some(condition))
        }
        AttemptsChange::Charge {
            key,
            at,
            free,
            keep_until,
        } => {
            // Still within the free allowance, and not waiting.
            one_more(
                key,
                *at,
                *keep_until,
                Condition::All(vec![
                    Condition::Below(FAILURES.into(), i64::from(*free) - 1),
                    Condition::Below("blocked_until".into(), at.unix_seconds() + 1),
                ]),
            )
        }
        AttemptsChange::Count {
            key,
            at,
            cap,
            keep_until,
        } => one_more(
            key,
            *at,
            *keep_until,
            Condition::Below(FAILURES.into(), i64::from(*cap)),
        ),
        AttemptsChange::Clear { key } => Write::Delete {
            key: attempts_key(key),
            condition: None,
        },
        AttemptsChange::Trust { key, until } => {
            let marker = Attempts {
                trusted_until: *until,
                ..Attempts::default()
            };
            let mut set = encode(&marker);
            set.remove(VERSION);
            set.insert(TTL_ATTRIBUTE.into(), json!(until));
            // An update, not a put: the version moves on, so a replacement read before fails.
            Write::Update {
                key: attempts_key(key),
                add: vec![(VERSION.into(), 1)],
                set,
                condition: None,
            }
        }
        AttemptsChange::Refund { key } => Write::Update {
            key: attempts_key(key),
            add: vec![(FAILURES.into(), -1), (VERSION.into(), 1)],
            set: Attrs::new(),
            condition: Some(Condition::AtLeast(FAILURES.into(), 1)),
        },
    }
}

#[async_trait]
impl AttemptStore for Records {
    async fn attempts(&self, keys: &[String]) -> Result<Vec<Option<Attempts>>, StoreError> {
        let keys: Vec<Key> = keys.iter().map(|k| attempts_key(k)).collect();
        self.items
            .get_many(&keys)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|item| item.map(|i| decode(i.attrs)).transpose())
            .collect()
    }

    async fn record_attempts(
        &self,
        changes: &[AttemptsChange],
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let writes = changes.iter().map(attempts_write).collect();
        // No retry on conflict here: the caller re-reads and decides again.
        self.items
            .write(with_events(writes, events))
            .await
            .map_err(write_error)
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        self.write(vec![Write::Delete {
            key: attempts_key(key),
            condition: None,
        }])
        .await
        .map_err(unavailable)
    }
}
