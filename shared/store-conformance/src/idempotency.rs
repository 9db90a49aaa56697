//! Idempotency keys: claimed once, answers kept, lapsed or forgotten keys free again.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

pub(crate) fn answer(body: &[u8]) -> StoredAnswer {
    StoredAnswer {
        status: 201,
        content_type: Some("application/json".into()),
        cache_control: Some("no-store".into()),
        body: body.to_vec(),
    }
}

pub(crate) fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds)
}

pub async fn a_request_key_is_claimed_once_and_its_answer_kept(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = random().user_id().to_string();
    let claim = |fp: &'static str| {
        let records = records.clone();
        let key = key.clone();
        async move {
            records
                .claim_request(&key, fp, at(1_000), at(1_030), at(90_000))
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("fp1").await, RequestClaim::Claimed);
    assert_eq!(
        claim("fp1").await,
        RequestClaim::Running {
            fingerprint: "fp1".into()
        }
    );
    // Bytes of any kind come back as they were kept.
    let kept = answer(b"{\"id\":\"x\"}\n\x00\xff");
    records
        .save_answer(&key, "fp1", &kept, at(90_000))
        .await
        .unwrap();
    assert_eq!(
        claim("fp2").await,
        RequestClaim::Answered {
            fingerprint: "fp1".into(),
            answer: kept.clone()
        }
    );
    // Releasing leaves a kept answer alone; only a running claim is given up.
    records.release_request(&key).await.unwrap();
    assert!(matches!(claim("fp1").await, RequestClaim::Answered { .. }));
    let other = random().user_id().to_string();
    records
        .claim_request(&other, "fp", at(1_000), at(1_030), at(90_000))
        .await
        .unwrap();
    records.release_request(&other).await.unwrap();
    records.release_request(&other).await.unwrap();
    assert_eq!(
        records
            .claim_request(&other, "fp", at(1_000), at(1_030), at(90_000))
            .await
            .unwrap(),
        RequestClaim::Claimed
    );
    // An answer is saved only by the claim it answers.
    assert!(records
        .save_answer(&other, "another fingerprint", &kept, at(90_000))
        .await
        .is_err());
}

pub async fn a_lapsed_or_forgotten_request_key_is_free_again(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = random().user_id().to_string();
    let claim_at = |now: i64| {
        let records = records.clone();
        let key = key.clone();
        async move {
            records
                .claim_request(&key, "fp", at(now), at(now + 30), at(now + 86_400))
                .await
                .unwrap()
        }
    };
    assert_eq!(claim_at(1_000).await, RequestClaim::Claimed);
    // Still running before its deadline; lapsed at it (the process that held it died).
    assert!(matches!(
        claim_at(1_029).await,
        RequestClaim::Running { .. }
    ));
    assert_eq!(claim_at(1_030).await, RequestClaim::Claimed);
    records
        .save_answer(&key, "fp", &answer(b"first"), at(2_000))
        .await
        .unwrap();
    // A kept answer outlives any running deadline, until it is forgotten.
    assert!(matches!(
        claim_at(1_999).await,
        RequestClaim::Answered { .. }
    ));
    assert_eq!(claim_at(2_000).await, RequestClaim::Claimed);
}

pub async fn concurrent_claims_of_a_request_key_have_one_winner(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = random().user_id().to_string();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let records = records.clone();
            let key = key.clone();
            tokio::spawn(async move {
                records
                    .claim_request(&key, "fp", at(1_000), at(1_030), at(90_000))
                    .await
            })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(RequestClaim::Claimed) => claimed += 1,
            Ok(RequestClaim::Running { fingerprint }) => assert_eq!(fingerprint, "fp"),
            // A store may refuse a contended write outright; it never lets two through.
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(claimed, 1);
}
