//! The organisation's invitation link: registrations through it count its uses.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

pub async fn registrations_through_the_link_count_its_uses(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let secret = SecretToken::generate(random());
    let link = InvitationLink {
        org: domain.clone(),
        token_hash: secret.hash(),
        sealed_token: code_keys().seal_link_token(&secret, random()),
        role: InviteeRole::Member,
        groups: Vec::new(),
        expires_at: None,
        max_uses: Some(2),
        uses: 0,
        active: true,
        created_by: admin.id.clone(),
        created_at: Timestamp::from_unix_seconds(10),
        version: 0,
    };
    assert_eq!(records.invitation_link(&domain).await.unwrap(), None);
    records
        .save_invitation_link(&link, None, &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .save_invitation_link(&link, None, &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    let first = invitation(
        &domain,
        "one@example.com",
        20,
        &SecretToken::generate(random()),
    );
    records
        .register_through_link(&link, &first, &ChangeEvents::none())
        .await
        .unwrap();
    let read = records.invitation_link(&domain).await.unwrap().unwrap();
    assert_eq!((read.uses, read.version), (1, 1));
    assert!(records
        .invitation(&domain, &first.id)
        .await
        .unwrap()
        .is_some());
    // The same address again: taken, the use not counted.
    let again = invitation(
        &domain,
        "one@example.com",
        21,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records
            .register_through_link(&link, &again, &ChangeEvents::none())
            .await,
        Err(WriteError::EmailTaken)
    ));
    let second = invitation(
        &domain,
        "two@example.com",
        22,
        &SecretToken::generate(random()),
    );
    records
        .register_through_link(&link, &second, &ChangeEvents::none())
        .await
        .unwrap();
    // Used up: the third is refused whole.
    let third = invitation(
        &domain,
        "three@example.com",
        23,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records
            .register_through_link(&link, &third, &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(records.invitation(&domain, &third.id).await.unwrap(), None);
    assert_eq!(
        records
            .invitation_link(&domain)
            .await
            .unwrap()
            .unwrap()
            .uses,
        2
    );
    // A deactivated link, or one replaced by a new token, takes no registration.
    let current = records.invitation_link(&domain).await.unwrap().unwrap();
    let mut off = current.clone();
    off.active = false;
    off.max_uses = None;
    assert!(matches!(
        records
            .save_invitation_link(&off, Some(0), &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    records
        .save_invitation_link(&off, Some(current.version), &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .register_through_link(&off, &third, &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    let mut replaced = off.clone();
    replaced.active = true;
    replaced.token_hash = SecretToken::generate(random()).hash();
    records
        .save_invitation_link(&replaced, Some(current.version + 1), &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .register_through_link(&link, &third, &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    records
        .register_through_link(&replaced, &third, &ChangeEvents::none())
        .await
        .unwrap();
}
