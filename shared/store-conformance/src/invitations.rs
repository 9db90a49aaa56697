//! Organisations, and invitations by email: the email claimed once, case-insensitively and under concurrency; a token spent once; an expired invitation freeing its email.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

pub async fn an_org_is_created_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let again = user(&domain, "other@example.com", Role::Admin);
    assert!(matches!(
        records
            .create_org(&org(&domain), &[], &again, &ChangeEvents::none())
            .await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(records.org(&domain).await.unwrap(), Some(org(&domain)));
    assert_eq!(
        records
            .user_by_email(&domain, admin.email.as_ref().unwrap())
            .await
            .unwrap(),
        Some(admin)
    );
    assert_eq!(
        records.user(&domain, &again.id).await.unwrap(),
        None,
        "the refused bootstrap left nothing"
    );
}

pub async fn organisations_are_listed_in_domain_order(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(new_org(&records).await.0);
    }
    // A refused second creation adds no second entry.
    let again = user(&made[0], "other@example.com", Role::Admin);
    assert!(records
        .create_org(&org(&made[0]), &[], &again, &ChangeEvents::none())
        .await
        .is_err());
    // Pages of two, to the end (a shared backend may hold other tests' organisations too).
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = records
            .orgs(&PageRequest { cursor, limit: 2 })
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        listed.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let domains: Vec<&str> = listed.iter().map(|e| e.domain.as_str()).collect();
    let mut sorted = domains.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(domains, sorted, "in domain order, each once");
    for domain in &made {
        let entry = listed.iter().find(|e| &e.domain == domain).expect("listed");
        assert_eq!(entry.created_at, org(domain).created_at);
    }
    assert!(matches!(
        records
            .orgs(&PageRequest {
                cursor: Some("not a cursor".into()),
                limit: 2
            })
            .await,
        Err(StoreError::BadCursor)
    ));
}

pub async fn an_invitation_claims_its_email_case_insensitively(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let t1 = SecretToken::generate(random());
    let first = invitation(&domain, "Alice@Example.com", 1_500, &t1);
    records
        .create_invitation(&first, &ChangeEvents::none())
        .await
        .unwrap();
    let t2 = SecretToken::generate(random());
    let second = invitation(&domain, "alice@EXAMPLE.com", 1_600, &t2);
    assert!(matches!(
        records
            .create_invitation(&second, &ChangeEvents::none())
            .await,
        Err(WriteError::EmailTaken)
    ));
    assert_eq!(records.invitation(&domain, &second.id).await.unwrap(), None);
    assert_eq!(
        records
            .invitation_by_token(&domain, &t2.hash())
            .await
            .unwrap(),
        None
    );
    // The admin's own address is taken by an account.
    let t3 = SecretToken::generate(random());
    let third = invitation(&domain, "ADMIN@example.com", 1_600, &t3);
    assert!(matches!(
        records
            .create_invitation(&third, &ChangeEvents::none())
            .await,
        Err(WriteError::EmailTaken)
    ));
    // Another organisation may invite the same address.
    let (other, _) = new_org(&records).await;
    records
        .create_invitation(
            &invitation(&other, "alice@example.com", 1_600, &t3),
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
    assert_eq!(
        records
            .invitation_by_token(&domain, &t1.hash())
            .await
            .unwrap(),
        Some(first)
    );
    assert_eq!(
        records
            .invitation_by_token(&domain, &t3.hash())
            .await
            .unwrap(),
        None,
        "tokens do not cross organisations"
    );
}

pub async fn concurrent_invitations_of_one_email_make_one(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let records = records.clone();
            let inv = invitation(
                &domain,
                "race@example.com",
                1_500,
                &SecretToken::generate(random()),
            );
            tokio::spawn(
                async move { records.create_invitation(&inv, &ChangeEvents::none()).await },
            )
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => created += 1,
            Err(WriteError::EmailTaken) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(created, 1);
    let page = records
        .invitations(
            &domain,
            &everything(),
            &PageRequest {
                cursor: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

pub async fn an_expired_invitation_frees_its_email(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let old = invitation(
        &domain,
        "late@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&old, &ChangeEvents::none())
        .await
        .unwrap();
    // Still live at its last second.
    let early = invitation(
        &domain,
        "late@example.com",
        2_499,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records
            .create_invitation(&early, &ChangeEvents::none())
            .await,
        Err(WriteError::EmailTaken)
    ));
    let t = SecretToken::generate(random());
    let fresh = invitation(&domain, "late@example.com", 2_500, &t);
    records
        .create_invitation(&fresh, &ChangeEvents::none())
        .await
        .unwrap();
    // The old invitation can no longer be accepted: its claim moved on.
    let err = records
        .accept_invitation(&acceptance(&old))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WriteError::Stale | WriteError::EmailTaken),
        "{err:?}"
    );
    records
        .accept_invitation(&acceptance(&fresh))
        .await
        .unwrap();
}

pub async fn accepting_spends_the_token_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let token = SecretToken::generate(random());
    let inv = invitation(&domain, "bob@example.com", 1_500, &token);
    records
        .create_invitation(&inv, &ChangeEvents::none())
        .await
        .unwrap();
    let first = acceptance(&inv);
    records.accept_invitation(&first).await.unwrap();
    let second = acceptance(&inv);
    assert!(matches!(
        records.accept_invitation(&second).await,
        Err(WriteError::Stale)
    ));

    let email = EmailAddress::parse("BOB@example.com").unwrap();
    assert_eq!(
        records.user_by_email(&domain, &email).await.unwrap(),
        Some(first.user.clone())
    );
    assert_eq!(records.user(&domain, &second.user.id).await.unwrap(), None);
    // The token is spent, and still leads to its invitation, now accepted: following the link
    // again is told it was used (and cannot accept it twice, above).
    let by_token = records
        .invitation_by_token(&domain, &token.hash())
        .await
        .unwrap()
        .expect("the token still names its invitation");
    assert_eq!(by_token.id, inv.id);
    assert!(matches!(
        by_token.state,
        gatehouse_domain::model::InvitationState::Accepted { .. }
    ));
    let stored = records.invitation(&domain, &inv.id).await.unwrap().unwrap();
    assert_eq!(stored.state, first.invitation.state);
    assert_eq!(stored.version, 1);
    let s = &first.session;
    assert_eq!(
        records
            .session(&domain, &s.user_id, &s.token_hash)
            .await
            .unwrap(),
        Some(s.clone())
    );
    // The account now holds the email: inviting it again is refused.
    let again = invitation(
        &domain,
        "bob@example.com",
        9_000,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records
            .create_invitation(&again, &ChangeEvents::none())
            .await,
        Err(WriteError::EmailTaken)
    ));
}

pub async fn concurrent_acceptances_make_one_account(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let token = SecretToken::generate(random());
    let inv = invitation(&domain, "carol@example.com", 1_500, &token);
    records
        .create_invitation(&inv, &ChangeEvents::none())
        .await
        .unwrap();
    let attempts: Vec<Acceptance> = (0..20).map(|_| acceptance(&inv)).collect();
    let tasks: Vec<_> = attempts
        .iter()
        .cloned()
        .map(|a| {
            let records = records.clone();
            tokio::spawn(async move { records.accept_invitation(&a).await })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(()) => winners.push(i),
            Err(WriteError::Stale) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let mut accounts = 0;
    for a in &attempts {
        if records.user(&domain, &a.user.id).await.unwrap().is_some() {
            accounts += 1;
        }
    }
    assert_eq!(accounts, 1);
    let email = EmailAddress::parse("carol@example.com").unwrap();
    assert_eq!(
        records
            .user_by_email(&domain, &email)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(attempts[winners[0]].user.id.clone())
    );
}

pub async fn a_new_token_replaces_the_old_one(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let old = SecretToken::generate(random());
    let inv = invitation(&domain, "dave@example.com", 1_500, &old);
    records
        .create_invitation(&inv, &ChangeEvents::none())
        .await
        .unwrap();
    let new = SecretToken::generate(random());
    let mut renewed = with_old_token(&inv, &new);
    renewed.delivery = Delivery::Sent;
    records
        .update_invitation(&renewed, &inv, &ChangeEvents::none())
        .await
        .unwrap();
    assert_eq!(
        records
            .invitation_by_token(&domain, &old.hash())
            .await
            .unwrap(),
        None
    );
    let found = records
        .invitation_by_token(&domain, &new.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.delivery, Delivery::Sent);
    assert_eq!(found.version, 1);
    // The old token cannot accept it.
    assert!(records
        .accept_invitation(&acceptance(&with_old_token(&found, &old)))
        .await
        .is_err());
    records
        .accept_invitation(&acceptance(&found))
        .await
        .unwrap();
}
