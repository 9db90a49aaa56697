//! Sign-in throttling and lookups: familiarity markers, charges within the allowance, one-round-trip lookups, a session opened with its counters.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

pub async fn a_familiarity_marker_replaces_whatever_was_there(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = format!("test#{}", random().user_id());
    let keys = vec![key.clone()];
    let trust = |until: i64| AttemptsChange::Trust {
        key: key.clone(),
        until: at(until),
    };
    records
        .record_attempts(&[trust(9_000)], &ChangeEvents::none())
        .await
        .unwrap();
    let marker = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    assert_eq!(marker.trusted_until, at(9_000));
    assert_eq!(marker.failures, 0);
    // Over a counter with failures: they are gone, and a replacement read before is stale.
    let failing = Attempts {
        failures: 7,
        last_failure: at(5_000),
        blocked_until: at(5_060),
        ..Attempts::default()
    };
    records
        .record_attempts(
            &[AttemptsChange::Replace {
                key: key.clone(),
                read: Some(marker.version),
                next: failing,
                keep_until: at(9_000),
            }],
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
    let read = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    assert_eq!(read.failures, 7);
    records
        .record_attempts(&[trust(12_000)], &ChangeEvents::none())
        .await
        .unwrap();
    let renewed = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    assert_eq!(
        (
            renewed.failures,
            renewed.blocked_until,
            renewed.trusted_until
        ),
        (0, Timestamp::default(), at(12_000))
    );
    assert!(renewed.version > read.version);
    assert!(matches!(
        records
            .record_attempts(
                &[AttemptsChange::Replace {
                    key: key.clone(),
                    read: Some(read.version),
                    next: Attempts::default(),
                    keep_until: at(9_000),
                }],
                &ChangeEvents::none()
            )
            .await,
        Err(WriteError::Stale)
    ));
}

pub async fn charges_within_the_allowance_never_refuse_each_other(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = format!("test#{}", random().user_id());
    let keys = vec![key.clone()];
    let now = at(5_000);
    let charge = |free: u32| AttemptsChange::Charge {
        key: key.clone(),
        at: now,
        free,
        keep_until: at(9_000),
    };
    let refund = || AttemptsChange::Refund { key: key.clone() };
    let parallel = |change: AttemptsChange| {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let records = records.clone();
                let c = change.clone();
                tokio::spawn(
                    async move { records.record_attempts(&[c], &ChangeEvents::none()).await },
                )
            })
            .collect();
        async move {
            for t in tasks {
                t.await.unwrap().expect("neither refused nor lost");
            }
        }
    };
    parallel(charge(100)).await;
    let counted = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    assert_eq!(counted.failures, 20);
    assert_eq!(counted.last_failure, now);
    assert_eq!(counted.version, 20, "each addition bumps the version");
    // A replacement read before an addition is stale.
    let replace = AttemptsChange::Replace {
        key: key.clone(),
        read: Some(counted.version),
        next: Attempts::default(),
        keep_until: at(9_000),
    };
    records
        .record_attempts(&[charge(100)], &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .record_attempts(&[replace], &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    parallel(refund()).await;
    assert_eq!(
        records.attempts(&keys).await.unwrap()[0]
            .as_ref()
            .unwrap()
            .failures,
        1
    );
    // Out of the free allowance, a charge is refused (the caller replaces the counter instead).
    assert!(matches!(
        records
            .record_attempts(&[charge(2)], &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    records
        .record_attempts(&[refund()], &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .record_attempts(&[refund()], &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records.attempts(&keys).await.unwrap()[0]
            .as_ref()
            .unwrap()
            .failures,
        0,
        "never below zero"
    );
    // A waiting counter refuses a charge too.
    let read = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    records
        .record_attempts(
            &[AttemptsChange::Replace {
                key: key.clone(),
                read: Some(read.version),
                next: Attempts {
                    failures: 0,
                    last_failure: now,
                    blocked_until: at(6_000),
                    version: 0,
                    trusted_until: Timestamp::default(),
                },
                keep_until: at(9_000),
            }],
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
    assert!(matches!(
        records
            .record_attempts(&[charge(100)], &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    // Several counters change together or not at all.
    let other = format!("test#{}", random().user_id());
    let both = [
        AttemptsChange::Charge {
            key: other.clone(),
            at: now,
            free: 100,
            keep_until: at(9_000),
        },
        charge(100),
    ];
    assert!(matches!(
        records.record_attempts(&both, &ChangeEvents::none()).await,
        Err(WriteError::Stale)
    ));
    assert_eq!(records.attempts(&[other]).await.unwrap(), vec![None]);
}

pub async fn a_lookup_reads_independent_records_in_one_round_trip(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, admin) = new_org(&records).await;
    let (other, outsider) = new_org(&records).await;
    let session = session_for(&admin);
    records.create_session(&session).await.unwrap();
    let foreign = session_for(&outsider);
    records.create_session(&foreign).await.unwrap();
    let group = Group {
        id: random().group_id(),
        name: GroupName::parse("Looked up").unwrap(),
        created_at: at(5),
        admins: Vec::new(),
        version: 0,
    };
    records
        .create_group(&domain, &group, &ChangeEvents::none())
        .await
        .unwrap();
    let counter = format!("test#{}", random().user_id());
    records
        .record_attempts(
            &[AttemptsChange::Charge {
                key: counter.clone(),
                at: at(100),
                free: 5,
                keep_until: at(9_000),
            }],
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
    let unknown_group = random().group_id();
    counted.take();
    let found = records
        .look_up(
            &domain,
            &Lookup {
                org: true,
                session: Some((admin.id.clone(), session.token_hash.clone())),
                user: Some(admin.id.clone()),
                account: Some(AccountKey::Email(admin.email.clone().unwrap())),
                attempts: vec![counter.clone(), format!("test#{}", random().user_id())],
                groups: vec![unknown_group, group.id.clone()],
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    let calls = counted.take();
    assert_eq!((calls.batch_gets, calls.gets, calls.queries), (1, 0, 0));
    assert_eq!(found.org.unwrap().domain, domain);
    assert_eq!(found.session, Some(session));
    assert_eq!(found.user.unwrap().id, admin.id);
    assert_eq!(found.account, Some(admin.id.clone()));
    assert_eq!(found.attempts.len(), 2);
    assert_eq!(found.attempts[0].as_ref().unwrap().failures, 1);
    assert_eq!(found.attempts[1], None);
    assert_eq!(found.groups, vec![None, Some(group.clone())]);
    // Nothing of another organisation is found from this one.
    let found = records
        .look_up(
            &other,
            &Lookup {
                org: false,
                session: Some((admin.id.clone(), foreign.token_hash.clone())),
                user: Some(admin.id.clone()),
                account: Some(AccountKey::Email(admin.email.clone().unwrap())),
                groups: vec![group.id.clone()],
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    assert!(found.org.is_none() && found.session.is_none() && found.user.is_none());
    // The same address there is that organisation's own account.
    assert_eq!(found.account, Some(outsider.id.clone()));
    assert_eq!(found.groups, vec![None]);
    // An email held by an invitation is no account.
    let token = SecretToken::generate(random());
    let invited = invitation(&domain, "invitee@example.com", 1_000, &token);
    records
        .create_invitation(&invited, &ChangeEvents::none())
        .await
        .unwrap();
    let found = records
        .look_up(
            &domain,
            &Lookup {
                account: Some(AccountKey::Email(
                    EmailAddress::parse("invitee@example.com").unwrap(),
                )),
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.account, None);
}

pub async fn a_session_opens_with_its_counter_changes_in_one_write(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, admin) = new_org(&records).await;
    let account = format!("test#{}", random().user_id());
    let client = format!("test#{}", random().user_id());
    let charge = |key: &str| AttemptsChange::Charge {
        key: key.to_string(),
        at: at(100),
        free: 5,
        keep_until: at(9_000),
    };
    records
        .record_attempts(&[charge(&account), charge(&client)], &ChangeEvents::none())
        .await
        .unwrap();
    records
        .record_attempts(&[charge(&client)], &ChangeEvents::none())
        .await
        .unwrap();
    let session = session_for(&admin);
    counted.take();
    records
        .open_session(
            &session,
            &[
                AttemptsChange::Clear {
                    key: account.clone(),
                },
                AttemptsChange::Refund {
                    key: client.clone(),
                },
            ],
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
    assert_eq!(counted.take().writes, 1);
    assert_eq!(
        records
            .session(&domain, &admin.id, &session.token_hash)
            .await
            .unwrap(),
        Some(session)
    );
    let left = records
        .attempts(&[account.clone(), client.clone()])
        .await
        .unwrap();
    assert_eq!(left[0], None, "the account's counter is cleared");
    assert_eq!(
        left[1].as_ref().unwrap().failures,
        1,
        "one charge taken back"
    );
    // A refund with nothing to take back stops the whole write.
    let nothing = format!("test#{}", random().user_id());
    let second = session_for(&admin);
    assert!(matches!(
        records
            .open_session(
                &second,
                &[AttemptsChange::Refund { key: nothing }],
                &ChangeEvents::none()
            )
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records
            .session(&domain, &admin.id, &second.token_hash)
            .await
            .unwrap(),
        None
    );
}
