//! Accounts: sessions, password resets spent with the change, sessions ending together, failure counters, users in pages, renewals.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

pub async fn sessions_are_found_only_where_they_were_made(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let session = session_for(&admin);
    records.create_session(&session).await.unwrap();
    assert_eq!(
        records
            .session(&domain, &admin.id, &session.token_hash)
            .await
            .unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        records
            .session(&other, &admin.id, &session.token_hash)
            .await
            .unwrap(),
        None
    );
    let stranger = random().user_id();
    assert_eq!(
        records
            .session(&domain, &stranger, &session.token_hash)
            .await
            .unwrap(),
        None
    );
}

pub async fn a_password_reset_is_spent_with_the_password_change(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let token = SecretToken::generate(random());
    let reset = PasswordReset {
        org: domain.clone(),
        user_id: admin.id.clone(),
        token_hash: token.hash(),
        created_at: Timestamp::from_unix_seconds(2_000),
        expires_at: Timestamp::from_unix_seconds(5_600),
        password_epoch: 3,
    };
    records.save_password_reset(&reset).await.unwrap();
    assert_eq!(
        records.password_reset(&token.hash()).await.unwrap(),
        Some(reset.clone())
    );
    let mut changed = admin.clone();
    changed.password = PasswordDigest::from_phc("$argon2id$new".into());
    records
        .change_password(&changed, Some(&token.hash()), &ChangeEvents::none())
        .await
        .unwrap();
    assert_eq!(
        records.password_reset(&token.hash()).await.unwrap(),
        None,
        "spent"
    );
    let stored = records.user(&domain, &admin.id).await.unwrap().unwrap();
    assert_eq!(stored.password, changed.password);
    // A second use of the token fails and changes nothing.
    let mut again = stored.clone();
    again.password = PasswordDigest::from_phc("$argon2id$other".into());
    assert!(matches!(
        records
            .change_password(&again, Some(&token.hash()), &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records
            .user(&domain, &admin.id)
            .await
            .unwrap()
            .unwrap()
            .password,
        changed.password
    );
    // Without a token, only the version guards the change.
    records
        .change_password(&again, None, &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .change_password(&again, None, &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
}

pub async fn a_users_sessions_end_together_but_the_kept_one(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let other = user(&domain, "other@example.com", Role::Member);
    let sessions: Vec<Session> = (0..30).map(|_| session_for(&admin)).collect();
    for s in &sessions {
        records.create_session(s).await.unwrap();
    }
    let bystander = session_for(&other);
    records.create_session(&bystander).await.unwrap();
    // Signing out ends one session; twice is no error.
    let signed_out = &sessions[29];
    for _ in 0..2 {
        records
            .end_session(&domain, &admin.id, &signed_out.token_hash)
            .await
            .unwrap();
    }
    assert!(records
        .session(&domain, &admin.id, &signed_out.token_hash)
        .await
        .unwrap()
        .is_none());
    assert!(records
        .session(&domain, &admin.id, &sessions[28].token_hash)
        .await
        .unwrap()
        .is_some());
    let kept = &sessions[7];
    assert_eq!(
        records
            .end_sessions(&domain, &admin.id, Some(&kept.token_hash))
            .await
            .unwrap(),
        28
    );
    for s in &sessions {
        let found = records
            .session(&domain, &admin.id, &s.token_hash)
            .await
            .unwrap();
        assert_eq!(found.is_some(), s == kept);
    }
    assert!(records
        .session(&domain, &other.id, &bystander.token_hash)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        records
            .end_sessions(&domain, &admin.id, None)
            .await
            .unwrap(),
        1
    );
    assert!(records
        .session(&domain, &admin.id, &kept.token_hash)
        .await
        .unwrap()
        .is_none());
}

pub async fn failure_counters_change_only_from_what_was_read(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = format!("test#{}", random().user_id());
    let keys = vec![key.clone()];
    assert_eq!(records.attempts(&keys).await.unwrap(), vec![None]);
    let change = |read: Option<u64>, failures: u32| AttemptsChange::Replace {
        key: key.clone(),
        read,
        next: Attempts {
            failures,
            ..Attempts::default()
        },
        keep_until: Timestamp::from_unix_seconds(9_999),
    };
    records
        .record_attempts(&[change(None, 1)], &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .record_attempts(&[change(None, 1)], &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    let read = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    assert_eq!(read.failures, 1);
    records
        .record_attempts(&[change(Some(read.version), 2)], &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .record_attempts(&[change(Some(read.version), 9)], &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records.attempts(&keys).await.unwrap()[0]
            .as_ref()
            .unwrap()
            .failures,
        2
    );
    // Parallel charges from the same read: exactly one lands.
    let read = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let records = records.clone();
            let c = change(Some(read.version), 3);
            tokio::spawn(async move {
                records
                    .record_attempts(&[c], &ChangeEvents::none())
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut landed = 0;
    for t in tasks {
        if t.await.unwrap() {
            landed += 1;
        }
    }
    assert_eq!(landed, 1);
    records.clear_attempts(&key).await.unwrap();
    assert_eq!(records.attempts(&keys).await.unwrap(), vec![None]);
}

pub async fn users_are_listed_in_pages(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let mut expected = vec![admin.id.clone()];
    for i in 0..6 {
        let token = SecretToken::generate(random());
        let inv = invitation(&domain, &format!("u{i}@example.com"), 1_500, &token);
        records
            .create_invitation(&inv, &ChangeEvents::none())
            .await
            .unwrap();
        let a = acceptance(&inv);
        expected.push(a.user.id.clone());
        records.accept_invitation(&a).await.unwrap();
    }
    expected.sort();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = records
            .users(
                &domain,
                &PageRequest {
                    cursor: cursor.clone(),
                    limit: 4,
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 4);
        seen.extend(page.items.into_iter().map(|u| u.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(
        records
            .users(
                &other,
                &PageRequest {
                    cursor: None,
                    limit: 100
                }
            )
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let bad = records
        .users(
            &domain,
            &PageRequest {
                cursor: Some("bogus".into()),
                limit: 4,
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::BadCursor)));
}

pub async fn renewing_an_invitation_renews_its_claim(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    // Renewed before it expires: the email stays claimed past the first deadline.
    let first = invitation(
        &domain,
        "renew@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&first, &ChangeEvents::none())
        .await
        .unwrap();
    let new_token = SecretToken::generate(random());
    let mut renewed = with_old_token(&first, &new_token);
    renewed.expires_at = Timestamp::from_unix_seconds(9_000);
    records
        .update_invitation(&renewed, &first, &ChangeEvents::none())
        .await
        .unwrap();
    let intruder = invitation(
        &domain,
        "renew@example.com",
        2_600,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records
            .create_invitation(&intruder, &ChangeEvents::none())
            .await,
        Err(WriteError::EmailTaken)
    ));
    assert!(records
        .invitation_by_token(&domain, &new_token.hash())
        .await
        .unwrap()
        .is_some());

    // Expired and taken by another invitation meanwhile: it cannot be renewed.
    let stale = invitation(
        &domain,
        "late2@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&stale, &ChangeEvents::none())
        .await
        .unwrap();
    let newer = invitation(
        &domain,
        "late2@example.com",
        2_600,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&newer, &ChangeEvents::none())
        .await
        .unwrap();
    let mut revived = with_old_token(&stale, &SecretToken::generate(random()));
    revived.expires_at = Timestamp::from_unix_seconds(9_000);
    assert!(matches!(
        records
            .update_invitation(&revived, &stale, &ChangeEvents::none())
            .await,
        Err(WriteError::EmailTaken)
    ));
    let kept = records
        .invitation(&domain, &stale.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.expires_at, stale.expires_at, "nothing changed");
}
