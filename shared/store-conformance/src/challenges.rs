//! Sign-in challenges: kept per organisation, spent once with the session they open and the
//! account's write, and never when the account changed since it was read.

use gatehouse_domain::challenge::{Challenge, ChallengeKind, ChallengeStore};

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

fn challenge_for(user: &User) -> Challenge {
    Challenge {
        org: user.org.clone(),
        token_hash: SecretToken::generate(random()).hash(),
        kind: ChallengeKind::SecondFactor {
            user_id: user.id.clone(),
            password_epoch: user.password_epoch,
            client: "a hash of the address".into(),
            familiar_key: format!("sign-in-known#{}#x", user.org),
            enrolment: false,
        },
        created_at: Timestamp::from_unix_seconds(2_000),
        expires_at: Timestamp::from_unix_seconds(2_300),
    }
}

pub async fn a_challenge_opens_one_session_with_the_accounts_write(store: Arc<dyn ItemStore>) {
    let records = Arc::new(Records::new(store));
    let (domain, admin) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let challenge = challenge_for(&admin);
    records.save_challenge(&challenge, &[]).await.unwrap();
    let read = records.challenge(&domain, &challenge.token_hash).await;
    assert_eq!(read.unwrap(), Some(challenge.clone()));
    let elsewhere = records.challenge(&other, &challenge.token_hash).await;
    assert_eq!(
        elsewhere.unwrap(),
        None,
        "another organisation's token is unknown"
    );

    // From a version of the account that is no longer current: nothing is written.
    let mut stale = admin.clone();
    stale.version += 7;
    let mut next = stale.clone();
    next.first_name = PersonName::parse("Changed").unwrap();
    let refused = records
        .open_session_after(
            &challenge,
            &UserUpdate::new(&stale, &next),
            &session_for(&admin),
            &[],
            &ChangeEvents::none(),
        )
        .await;
    assert!(matches!(refused, Err(WriteError::Stale)), "{refused:?}");
    let kept = records.challenge(&domain, &challenge.token_hash).await;
    assert!(kept.unwrap().is_some(), "the challenge is not spent");

    // Two finishing at once: one session, the challenge spent, the account written once.
    let mut next = admin.clone();
    next.last_sign_in_at = Some(Timestamp::from_unix_seconds(2_100));
    let sessions = [session_for(&admin), session_for(&admin)];
    let attempts = sessions.iter().map(|session| {
        let (records, challenge, admin, next) = (
            records.clone(),
            challenge.clone(),
            admin.clone(),
            next.clone(),
        );
        let session = session.clone();
        tokio::spawn(async move {
            records
                .open_session_after(
                    &challenge,
                    &UserUpdate::new(&admin, &next),
                    &session,
                    &[],
                    &ChangeEvents::none(),
                )
                .await
        })
    });
    let mut opened = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await.unwrap() {
            Ok(()) => opened += 1,
            Err(WriteError::Stale) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(opened, 1);
    let found = {
        let mut found = 0;
        for s in &sessions {
            if records
                .session(&domain, &admin.id, &s.token_hash)
                .await
                .unwrap()
                .is_some()
            {
                found += 1;
            }
        }
        found
    };
    assert_eq!(found, 1, "one session opened");
    let spent = records.challenge(&domain, &challenge.token_hash).await;
    assert_eq!(spent.unwrap(), None, "the challenge is spent");
    let written = records.user(&domain, &admin.id).await.unwrap().unwrap();
    assert_eq!(written.version, admin.version + 1);
    assert_eq!(written.last_sign_in_at, next.last_sign_in_at);
    // Spent, it opens nothing more, even from the account as it is now.
    let mut later = written.clone();
    later.last_sign_in_at = Some(Timestamp::from_unix_seconds(2_200));
    let again = records
        .open_session_after(
            &challenge,
            &UserUpdate::new(&written, &later),
            &session_for(&admin),
            &[],
            &ChangeEvents::none(),
        )
        .await;
    assert!(matches!(again, Err(WriteError::Stale)), "{again:?}");
}

/// A passkey's registration: its ceremony kept under the flow's hash, ended once with the
/// account's write (the new passkey), and not when the account changed since it was read.
pub async fn a_ceremony_is_spent_once_with_the_accounts_write(store: Arc<dyn ItemStore>) {
    let records = Arc::new(Records::new(store));
    let (domain, admin) = new_org(&records).await;
    let ceremony = Challenge {
        kind: ChallengeKind::PasskeyRegistration {
            user_id: admin.id.clone(),
            state: "{\"opaque\":true}".into(),
        },
        ..challenge_for(&admin)
    };
    records.save_challenge(&ceremony, &[]).await.unwrap();
    let read = records.challenge(&domain, &ceremony.token_hash).await;
    assert_eq!(
        read.unwrap(),
        Some(ceremony.clone()),
        "the state reads back"
    );

    let mut stale = admin.clone();
    stale.version += 3;
    let refused = records
        .spend_challenge(
            &ceremony,
            &UserUpdate::new(&stale, &admin),
            &ChangeEvents::none(),
        )
        .await;
    assert!(matches!(refused, Err(WriteError::Stale)), "{refused:?}");
    let kept = records.challenge(&domain, &ceremony.token_hash).await;
    assert!(kept.unwrap().is_some(), "the ceremony is not spent");

    let mut next = admin.clone();
    next.first_name = PersonName::parse("Keyed").unwrap();
    let spent = records
        .spend_challenge(
            &ceremony,
            &UserUpdate::new(&admin, &next),
            &ChangeEvents::none(),
        )
        .await;
    assert!(spent.is_ok(), "{spent:?}");
    assert_eq!(
        records
            .challenge(&domain, &ceremony.token_hash)
            .await
            .unwrap(),
        None,
        "spent with the write"
    );
    let written = records.user(&domain, &admin.id).await.unwrap().unwrap();
    assert_eq!(written.first_name.as_str(), "Keyed");
    // Spent, it ends nothing more, even from the account as it is now.
    let again = records
        .spend_challenge(
            &ceremony,
            &UserUpdate::new(&written, &written),
            &ChangeEvents::none(),
        )
        .await;
    assert!(matches!(again, Err(WriteError::Stale)), "{again:?}");
    let unchanged = records.user(&domain, &admin.id).await.unwrap().unwrap();
    assert_eq!(unchanged.version, written.version, "and writes nothing");
}
