//! Recording that an email went out. SES cannot be asked idempotently, so an email sent but not
//! recorded as sent is sent again by the next retry (the cleanup's, an import's next delivery).
//! The write that records it is therefore tried again, a few times over about a second and a
//! half, while the store answers that it is unavailable (throttled, say); a record that changed
//! meanwhile is not retried: someone else moved it on.

use std::future::Future;
use std::time::Duration;

use crate::ports::WriteError;

/// Tries, in all, before the failure is given up to the caller.
const TRIES: u32 = 6;

pub(crate) async fn recording_sent<T, F, Fut>(mut write: F) -> Result<T, WriteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, WriteError>>,
{
    let mut pause = Duration::from_millis(50);
    for _ in 1..TRIES {
        match write().await {
            Err(WriteError::Store(e)) => {
                tracing::info!(cause = %crate::Chain(&e), "the record of a sent email was not written; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            other => return other,
        }
    }
    write().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::StoreError;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn an_unavailable_store_is_asked_again_a_changed_record_is_not() {
        let calls = AtomicU32::new(0);
        let answer = recording_sent(|| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    Err(WriteError::Store(StoreError::Unavailable(
                        "throttled".into(),
                    )))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(answer.ok(), Some(3));

        let calls = AtomicU32::new(0);
        let answer: Result<(), _> = recording_sent(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(WriteError::Stale) }
        })
        .await;
        assert!(matches!(answer, Err(WriteError::Stale)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let calls = AtomicU32::new(0);
        let answer: Result<(), _> = recording_sent(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(WriteError::Store(StoreError::Unavailable("down".into()))) }
        })
        .await;
        assert!(answer.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), TRIES);
    }
}
