//! Quotas: an invitation and its charges written together; concurrent counts stopping exactly at the cap.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

/// Quota charges ride in the invitation's own write: below their cap both land; a charge at its
/// cap fails the whole write (`QuotaSpent` naming it) and nothing is written.
pub async fn an_invitation_and_its_quota_charges_are_written_together(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let charge = |key: &str, cap: u32| AttemptsChange::Count {
        key: key.to_string(),
        at: Timestamp::from_unix_seconds(1_500),
        cap,
        keep_until: Timestamp::from_unix_seconds(9_999),
    };
    let (roomy, tight) = (unique("quota-roomy"), unique("quota-tight"));
    let charges = [charge(&roomy, 10), charge(&tight, 2)];
    for n in 0..2 {
        let t = SecretToken::generate(random());
        let inv = invitation(&domain, &format!("q{n}@example.com"), 1_500, &t);
        records
            .create_invitation_charged(&inv, &charges, &ChangeEvents::none())
            .await
            .unwrap();
    }
    let t = SecretToken::generate(random());
    let third = invitation(&domain, "q2@example.com", 1_500, &t);
    assert!(matches!(
        records
            .create_invitation_charged(&third, &charges, &ChangeEvents::none())
            .await,
        Err(WriteError::QuotaSpent(1))
    ));
    assert_eq!(records.invitation(&domain, &third.id).await.unwrap(), None);
    let counted = records
        .attempts(&[roomy.clone(), tight.clone()])
        .await
        .unwrap();
    let failures: Vec<u32> = counted
        .iter()
        .map(|a| a.as_ref().unwrap().failures)
        .collect();
    assert_eq!(failures, [2, 2], "the refused write charged nothing");
    // The email is still free: without the spent quota, it is invited.
    records
        .create_invitation_charged(&third, &[charge(&roomy, 10)], &ChangeEvents::none())
        .await
        .unwrap();
    // An update carries charges the same way.
    let mut renewed = third.clone();
    renewed.expires_at = Timestamp::from_unix_seconds(9_000);
    assert!(matches!(
        records
            .update_invitation_charged(
                &renewed,
                &third,
                &[charge(&tight, 2)],
                &ChangeEvents::none()
            )
            .await,
        Err(WriteError::QuotaSpent(0))
    ));
    assert_eq!(
        records.invitation(&domain, &third.id).await.unwrap(),
        Some(third.clone())
    );
    records
        .update_invitation_charged(
            &renewed,
            &third,
            &[charge(&roomy, 10)],
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
}

/// Thirty uses of a quota of ten at once: exactly ten land, whatever order they commit in.
pub async fn concurrent_quota_counts_stop_exactly_at_the_cap(store: Arc<dyn ItemStore>) {
    let records = Arc::new(Records::new(store));
    let key = unique("quota-race");
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let (records, key) = (records.clone(), key.clone());
            tokio::spawn(async move {
                records
                    .record_attempts(
                        &[AttemptsChange::Count {
                            key,
                            at: Timestamp::from_unix_seconds(1_500),
                            cap: 10,
                            keep_until: Timestamp::from_unix_seconds(9_999),
                        }],
                        &ChangeEvents::none(),
                    )
                    .await
            })
        })
        .collect();
    let mut landed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => landed += 1,
            Err(WriteError::Stale) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(landed, 10);
    let counted = records.attempts(std::slice::from_ref(&key)).await.unwrap();
    assert_eq!(counted[0].as_ref().unwrap().failures, 10);
}
