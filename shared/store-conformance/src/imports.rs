//! Imports: moved forward by conditional writes; invitations created and deliveries recorded in batches; lookups of claims, group names and imports.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

pub(crate) fn import_of(domain: &OrgDomain, now: i64) -> Import {
    Import {
        id: random().import_id(at(now)),
        org: domain.clone(),
        created_by: random().user_id(),
        created_by_name: Some("Ada Admin".into()),
        created_by_email: None,
        created_at: at(now),
        upload_expires_at: at(now + 900),
        dry_run: false,
        state: ImportState::WaitingUpload,
        counts: ImportCounts::default(),
        problems: Vec::new(),
        version: 0,
    }
}

/// `import` moved on to `state`, as written after being read at its version.
pub(crate) fn moved(import: &Import, state: ImportState) -> Import {
    let mut next = import.clone();
    next.state = state;
    next.version = import.version + 1;
    next
}

pub(crate) fn progress(import: &Import) -> ImportProgress<'_> {
    ImportProgress {
        import,
        read_version: import.version - 1,
    }
}

pub async fn an_import_moves_forward_by_conditional_writes(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let first = import_of(&domain, 1_000);
    records.create_import(&first).await.unwrap();
    assert!(matches!(
        records.create_import(&first).await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(
        records.import(&domain, &first.id).await.unwrap().as_ref(),
        Some(&first)
    );
    assert_eq!(records.import(&other, &first.id).await.unwrap(), None);

    let processing = ImportState::Processing {
        started_at: at(1_100),
        lease_until: at(1_400),
        rows: 3,
        rows_done: 0,
    };
    let claimed = moved(&first, processing.clone());
    records
        .update_import(progress(&claimed), &ChangeEvents::none())
        .await
        .unwrap();
    // A second worker that read the same version loses.
    let rival = moved(&first, processing);
    assert!(matches!(
        records
            .update_import(progress(&rival), &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    let done = moved(
        &claimed,
        ImportState::Completed {
            finished_at: at(1_200),
            rows: 3,
        },
    );
    records
        .update_import(progress(&done), &ChangeEvents::none())
        .await
        .unwrap();
    assert_eq!(
        records.import(&domain, &first.id).await.unwrap(),
        Some(done)
    );

    // Listed newest first, in pages, and only in their organisation.
    let mut made = vec![first.id.clone()];
    for n in 1..5 {
        let import = import_of(&domain, 1_000 + n);
        records.create_import(&import).await.unwrap();
        made.push(import.id);
    }
    records
        .create_import(&import_of(&other, 2_000))
        .await
        .unwrap();
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = records
            .imports(&domain, &PageRequest { cursor, limit: 2 })
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        listed.extend(page.items.into_iter().map(|i| i.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    made.reverse();
    assert_eq!(listed, made);
    assert!(matches!(
        records
            .imports(
                &domain,
                &PageRequest {
                    cursor: Some("bm90IGFuIGlk".into()),
                    limit: 2
                }
            )
            .await,
        Err(StoreError::BadCursor)
    ));
}

pub async fn invitations_are_created_in_batches_each_or_not(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, _) = new_org(&records).await;
    let import = import_of(&domain, 1_000);
    records.create_import(&import).await.unwrap();
    let taken = invitation(
        &domain,
        "taken@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&taken, &ChangeEvents::none())
        .await
        .unwrap();

    let mut batch: Vec<Invitation> = (0..INVITATIONS_PER_WRITE)
        .map(|n| {
            invitation(
                &domain,
                &format!("person{n}@example.com"),
                1_000,
                &SecretToken::generate(random()),
            )
        })
        .collect();
    // All new: one write for the whole batch and the import's progress.
    let step = moved(&import, import.state.clone());
    counted.take();
    let outcomes = records
        .create_invitations(&batch, progress(&step), &ChangeEvents::none())
        .await
        .unwrap();
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(counted.take().writes, 1);
    for inv in &batch {
        assert_eq!(
            records.invitation(&domain, &inv.id).await.unwrap().as_ref(),
            Some(inv)
        );
    }
    assert_eq!(
        records.import(&domain, &import.id).await.unwrap().as_ref(),
        Some(&step)
    );

    // Another batch where one email is taken and one invitation exists: those two are refused,
    // the others saved.
    batch = (0..6)
        .map(|n| {
            invitation(
                &domain,
                &format!("second{n}@example.com"),
                1_000,
                &SecretToken::generate(random()),
            )
        })
        .collect();
    batch[2].invitee = Invitee::Email {
        email: EmailAddress::parse("TAKEN@example.com").unwrap(),
        token_hash: SecretToken::generate(random()).hash(),
    };
    let existing = invitation(
        &domain,
        "again@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&existing, &ChangeEvents::none())
        .await
        .unwrap();
    batch[4].id = existing.id.clone();
    let next = moved(&step, step.state.clone());
    let outcomes = records
        .create_invitations(&batch, progress(&next), &ChangeEvents::none())
        .await
        .unwrap();
    let refused: Vec<(usize, &'static str)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Ok(()) => None,
            Err(WriteError::EmailTaken) => Some((i, "taken")),
            Err(WriteError::AlreadyExists) => Some((i, "exists")),
            Err(e) => panic!("unexpected {e:?}"),
        })
        .collect();
    assert_eq!(refused, vec![(2, "taken"), (4, "exists")]);
    for (i, inv) in batch.iter().enumerate() {
        let stored = records.invitation(&domain, &inv.id).await.unwrap();
        match i {
            2 => assert_eq!(stored, None),
            4 => assert_eq!(stored, Some(existing.clone())),
            _ => assert_eq!(stored.as_ref(), Some(inv)),
        }
    }
    assert_eq!(
        records.import(&domain, &import.id).await.unwrap(),
        Some(next.clone())
    );

    // A worker holding an old version of the import saves nothing.
    let late = invitation(
        &domain,
        "late@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records
            .create_invitations(
                std::slice::from_ref(&late),
                progress(&step),
                &ChangeEvents::none()
            )
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(records.invitation(&domain, &late.id).await.unwrap(), None);
    assert!(
        matches!(
            records
                .create_invitation(&late, &ChangeEvents::none())
                .await,
            Ok(()),
        ),
        "its email was not claimed"
    );
}

pub async fn deliveries_are_recorded_in_batches(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, _) = new_org(&records).await;
    let import = import_of(&domain, 1_000);
    records.create_import(&import).await.unwrap();
    let mut sent = Vec::new();
    for n in 0..DELIVERIES_PER_WRITE {
        let inv = invitation(
            &domain,
            &format!("mailed{n}@example.com"),
            1_000,
            &SecretToken::generate(random()),
        );
        records
            .create_invitation(&inv, &ChangeEvents::none())
            .await
            .unwrap();
        let mut marked = inv.clone();
        marked.mark_sent(at(1_001));
        sent.push(DeliveryChange {
            before: inv,
            after: marked,
        });
    }
    // One was resent meanwhile: its record moved on and is left alone.
    let mut resent = sent[3].before.clone();
    resent.expires_at = at(5_000);
    let as_read = sent[3].before.clone();
    records
        .update_invitation(&resent, &as_read, &ChangeEvents::none())
        .await
        .unwrap();

    let step = moved(&import, import.state.clone());
    counted.take();
    let outcomes = records
        .record_deliveries(&sent, progress(&step), &ChangeEvents::none())
        .await
        .unwrap();
    assert!(
        counted.take().writes <= 2,
        "one write, and one again without the changed one"
    );
    for (i, outcome) in outcomes.iter().enumerate() {
        let stored = records
            .invitation(&domain, &sent[i].after.id)
            .await
            .unwrap()
            .unwrap();
        if i == 3 {
            assert!(matches!(outcome, Err(WriteError::Stale)), "{outcome:?}");
            assert_eq!(stored.delivery, Delivery::Queued);
            assert_eq!(stored.expires_at, at(5_000));
        } else {
            assert!(outcome.is_ok(), "{outcome:?}");
            assert_eq!(stored.delivery, Delivery::Sent);
            assert_eq!(stored.version, 1);
        }
    }
    // The list copies say so too.
    let listed = list_all(
        &records,
        &domain,
        &InvitationQuery {
            status: Some(InvitationStatus::Pending),
            kind: Some(InvitationKind::Email),
            role: None,
            invited_by: None,
            now: at(1_500),
        },
        100,
    )
    .await;
    let sent_listed = listed
        .iter()
        .filter(|i| i.delivery == Delivery::Sent)
        .count();
    assert_eq!(sent_listed, DELIVERIES_PER_WRITE - 1);
    assert_eq!(
        records.import(&domain, &import.id).await.unwrap(),
        Some(step.clone())
    );
    // Stale import: nothing recorded.
    let mut before = sent[0].after.clone();
    before.version = 1;
    let again = DeliveryChange {
        before: before.clone(),
        after: before,
    };
    assert!(matches!(
        records
            .record_deliveries(
                std::slice::from_ref(&again),
                progress(&step),
                &ChangeEvents::none()
            )
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records
            .invitation(&domain, &sent[0].after.id)
            .await
            .unwrap()
            .unwrap()
            .delivery,
        Delivery::Sent
    );
}

pub async fn a_lookup_finds_claims_group_names_and_imports(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, admin) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let group = Group {
        id: random().group_id(),
        name: GroupName::parse("Field Sales").unwrap(),
        created_at: at(5),
        admins: Vec::new(),
        version: 0,
    };
    records
        .create_group(&domain, &group, &ChangeEvents::none())
        .await
        .unwrap();
    let pending = invitation(
        &domain,
        "pending@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&pending, &ChangeEvents::none())
        .await
        .unwrap();
    let import = import_of(&domain, 1_000);
    records.create_import(&import).await.unwrap();
    let foreign_import = import_of(&other, 1_000);
    records.create_import(&foreign_import).await.unwrap();
    let email = |e: &str| AccountKey::Email(EmailAddress::parse(e).unwrap());
    counted.take();
    let found = records
        .look_up(
            &domain,
            &Lookup {
                org: true,
                import: Some(import.id.clone()),
                group_names: vec![
                    GroupName::parse("FIELD sales").unwrap(),
                    GroupName::parse("Nobody").unwrap(),
                ],
                claims: vec![
                    email("Pending@example.com"),
                    email("ADMIN@example.com"),
                    email("free@example.com"),
                    AccountKey::Uid(Uid::parse("E1").unwrap()),
                ],
                invitations: vec![pending.id.clone(), random().invitation_id(at(1))],
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(counted.take().batch_gets, 1);
    assert!(found.org.is_some());
    assert_eq!(found.import, Some(import));
    assert_eq!(found.group_ids, vec![Some(group.id.clone()), None]);
    assert_eq!(
        found.claims,
        vec![
            Claim::Invitation {
                id: pending.id.clone(),
                expires_at: pending.expires_at
            },
            Claim::Account(admin.id.clone()),
            Claim::Free,
            Claim::Free,
        ]
    );
    assert_eq!(found.invitations, vec![Some(pending), None]);
    // Another organisation's import is not found from this one.
    let found = records
        .look_up(
            &domain,
            &Lookup {
                import: Some(foreign_import.id.clone()),
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.import, None);
}
