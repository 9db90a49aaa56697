//! Invitations by identifier: the uid claimed, found by its code, the code spent once, revoking stopping it.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

pub async fn a_uid_invitation_claims_its_uid_and_is_found_by_its_code(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let keys = code_keys();
    let (domain, _) = new_org(&records).await;
    let code = AccessCode::generate(random());
    let inv = uid_invitation(&domain, "E1234", 1_500, &code, &keys);
    records
        .create_invitation(&inv, &ChangeEvents::none())
        .await
        .unwrap();
    let again = uid_invitation(
        &domain,
        "e1234",
        1_600,
        &AccessCode::generate(random()),
        &keys,
    );
    assert!(matches!(
        records
            .create_invitation(&again, &ChangeEvents::none())
            .await,
        Err(WriteError::UidTaken)
    ));
    // An email invitation never collides with a uid.
    records
        .create_invitation(
            &invitation(
                &domain,
                "e1234@example.com",
                1_600,
                &SecretToken::generate(random()),
            ),
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
    assert_eq!(
        records
            .invitation_by_code(&domain, &keys.lookup_hash(&code))
            .await
            .unwrap(),
        Some(inv.clone())
    );
    let other_code = AccessCode::generate(random());
    assert_eq!(
        records
            .invitation_by_code(&domain, &keys.lookup_hash(&other_code))
            .await
            .unwrap(),
        None
    );
    let (other, _) = new_org(&records).await;
    assert_eq!(
        records
            .invitation_by_code(&other, &keys.lookup_hash(&code))
            .await
            .unwrap(),
        None
    );
    // The same uid may be invited in another organisation.
    records
        .create_invitation(
            &uid_invitation(
                &other,
                "E1234",
                1_600,
                &AccessCode::generate(random()),
                &keys,
            ),
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
}

pub async fn accepting_by_access_code_spends_it_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let keys = code_keys();
    let (domain, _) = new_org(&records).await;
    let code = AccessCode::generate(random());
    let inv = uid_invitation(&domain, "E77", 1_500, &code, &keys);
    records
        .create_invitation(&inv, &ChangeEvents::none())
        .await
        .unwrap();
    let attempts: Vec<Acceptance> = (0..10).map(|_| acceptance(&inv)).collect();
    let tasks: Vec<_> = attempts
        .iter()
        .cloned()
        .map(|a| {
            let records = records.clone();
            tokio::spawn(async move { records.accept_invitation(&a).await })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => winners += 1,
            Err(WriteError::Stale) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners, 1);
    let user = records
        .user_by_uid(&domain, &Uid::parse("e77").unwrap())
        .await
        .unwrap()
        .expect("the account");
    assert!(attempts.iter().any(|a| a.user.id == user.id));
    assert_eq!(user.email, None);
    assert_eq!(
        records
            .invitation_by_code(&domain, &keys.lookup_hash(&code))
            .await
            .unwrap(),
        None,
        "the code is spent"
    );
    let again = uid_invitation(
        &domain,
        "E77",
        1_600,
        &AccessCode::generate(random()),
        &keys,
    );
    assert!(
        matches!(
            records
                .create_invitation(&again, &ChangeEvents::none())
                .await,
            Err(WriteError::UidTaken)
        ),
        "the account holds the uid"
    );
}

pub(crate) fn revoked(inv: &Invitation) -> Invitation {
    let mut r = inv.clone();
    r.state = InvitationState::Revoked {
        at: Timestamp::from_unix_seconds(1_700),
    };
    r
}

pub async fn revoking_stops_the_credential_and_frees_the_claim(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let keys = code_keys();
    let (domain, _) = new_org(&records).await;
    let token = SecretToken::generate(random());
    let by_email = invitation(&domain, "olga@example.com", 1_500, &token);
    let code = AccessCode::generate(random());
    let by_uid = uid_invitation(&domain, "P9", 1_500, &code, &keys);
    records
        .create_invitation(&by_email, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .create_invitation(&by_uid, &ChangeEvents::none())
        .await
        .unwrap();

    records
        .update_invitation(&revoked(&by_email), &by_email, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .update_invitation(&revoked(&by_uid), &by_uid, &ChangeEvents::none())
        .await
        .unwrap();
    // The link still finds its invitation, which says it was revoked; the code finds nothing.
    let by_link = records
        .invitation_by_token(&domain, &token.hash())
        .await
        .unwrap()
        .expect("a revoked link still names its invitation");
    assert!(matches!(by_link.state, InvitationState::Revoked { .. }));
    assert_eq!(
        records
            .invitation_by_code(&domain, &keys.lookup_hash(&code))
            .await
            .unwrap(),
        None
    );
    let stored = records
        .invitation(&domain, &by_uid.id)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(stored.state, InvitationState::Revoked { .. }));
    // A stale read cannot accept what was revoked.
    assert!(matches!(
        records.accept_invitation(&acceptance(&by_email)).await,
        Err(WriteError::Stale)
    ));
    assert!(matches!(
        records.accept_invitation(&acceptance(&by_uid)).await,
        Err(WriteError::Stale)
    ));
    // Revoking twice from the same read is refused.
    assert!(matches!(
        records
            .update_invitation(&revoked(&by_email), &by_email, &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    // The email and the uid may be invited again.
    records
        .create_invitation(
            &invitation(
                &domain,
                "olga@example.com",
                1_600,
                &SecretToken::generate(random()),
            ),
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
    records
        .create_invitation(
            &uid_invitation(&domain, "p9", 1_600, &AccessCode::generate(random()), &keys),
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
}
