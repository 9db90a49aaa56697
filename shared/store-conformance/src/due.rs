//! The due index the cleanup walks: following each change of an invitation, one pointer per import batch, removal freeing the email.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

/// The due entries of one organisation.
pub(crate) async fn due_of(records: &Records, domain: &OrgDomain, now: i64) -> Vec<DueEntry> {
    let mut due = records.due_invitations(at(now), None, 100).await.unwrap();
    due.retain(|d| &d.org == domain);
    due
}

/// The invitations a list of due entries names, as they are now.
pub(crate) fn named(due: &[DueEntry]) -> Vec<Invitation> {
    due.iter()
        .flat_map(|d| d.invitations.iter().filter_map(|(_, i)| i.clone()))
        .collect()
}

pub async fn the_due_index_follows_each_change_of_an_invitation(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    // Queued emails are due at their retry (created + 300), whatever the organisation.
    let early = invitation(
        &domain,
        "early@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    let late = invitation(
        &other,
        "late@example.com",
        1_100,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&late, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .create_invitation(&early, &ChangeEvents::none())
        .await
        .unwrap();
    assert!(records
        .due_invitations(at(1_299), None, 100)
        .await
        .unwrap()
        .is_empty());
    let due = records.due_invitations(at(1_400), None, 100).await.unwrap();
    let ids: Vec<_> = named(&due).iter().map(|i| i.id.clone()).collect();
    assert_eq!(
        ids,
        vec![early.id.clone(), late.id.clone()],
        "earliest first, across organisations"
    );
    assert_eq!(named(&due)[0], early, "read as stored");
    assert_eq!(due[1].org, other);
    // Paged: after the first, the second.
    let rest = records
        .due_invitations(at(1_400), Some(&due[0].entry), 100)
        .await
        .unwrap();
    assert_eq!(
        named(&rest)
            .iter()
            .map(|i| i.id.clone())
            .collect::<Vec<_>>(),
        vec![late.id.clone()]
    );

    // Sent, with two reminders: due at the first reminder, the old pointer gone.
    let mut sent = early.clone();
    sent.mark_sent(at(1_001));
    sent.lifecycle.reminders = vec![at(1_500), at(1_700)];
    records
        .update_invitation(&sent, &early, &ChangeEvents::none())
        .await
        .unwrap();
    assert!(due_of(&records, &domain, 1_499).await.is_empty());
    let due = due_of(&records, &domain, 1_500).await;
    assert_eq!(due.len(), 1);
    assert_eq!(named(&due)[0].version, 1);
    assert_eq!(named(&due)[0].delivery, Delivery::Sent);

    // Settling an entry that is no longer its invitation's deletes it and points to the
    // invitation where it is due now; settling the current one keeps it.
    let stale = due[0].clone();
    let read = named(&due)[0].clone();
    let mut reminded = read.clone();
    reminded.lifecycle.reminders.remove(0);
    records
        .update_invitation(&reminded, &read, &ChangeEvents::none())
        .await
        .unwrap();
    let current = records
        .invitation(&domain, &early.id)
        .await
        .unwrap()
        .unwrap();
    records.settle_due_entry(&stale, &[&current]).await.unwrap();
    let now_due = due_of(&records, &domain, 1_700).await;
    assert_eq!(now_due.len(), 1, "{now_due:?}");
    assert_ne!(now_due[0].entry, stale.entry);
    records
        .settle_due_entry(&now_due[0], &[&current])
        .await
        .unwrap();
    assert_eq!(
        due_of(&records, &domain, 1_700).await.len(),
        1,
        "the current entry stays"
    );

    // Accepted: nothing is due any more.
    let accepted = acceptance(&current);
    records.accept_invitation(&accepted).await.unwrap();
    assert!(due_of(&records, &domain, 9_999).await.is_empty());
    // Revoked: likewise.
    let mut revoked = late.clone();
    revoked.state = InvitationState::Revoked { at: at(1_200) };
    records
        .update_invitation(&revoked, &late, &ChangeEvents::none())
        .await
        .unwrap();
    assert!(due_of(&records, &other, 9_999).await.is_empty());
}

pub async fn an_imports_invitations_share_one_due_pointer(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let import = import_of(&domain, 1_000);
    records.create_import(&import).await.unwrap();
    let batch: Vec<Invitation> = (0..5)
        .map(|n| {
            invitation(
                &domain,
                &format!("batch{n}@example.com"),
                1_000,
                &SecretToken::generate(random()),
            )
        })
        .collect();
    let step = moved(&import, import.state.clone());
    records
        .create_invitations(&batch, progress(&step), &ChangeEvents::none())
        .await
        .unwrap();
    let due = due_of(&records, &domain, 1_300).await;
    assert_eq!(due.len(), 1, "one pointer for the batch: {due:?}");
    assert_eq!(named(&due).len(), 5);
    // Recording their deliveries leaves the pointer where it is.
    let changes: Vec<DeliveryChange> = batch
        .iter()
        .map(|inv| {
            let mut after = inv.clone();
            after.mark_sent(at(1_001));
            after.lifecycle.reminders = vec![at(2_000)];
            DeliveryChange {
                before: inv.clone(),
                after,
            }
        })
        .collect();
    let next = moved(&step, step.state.clone());
    records
        .record_deliveries(&changes, progress(&next), &ChangeEvents::none())
        .await
        .unwrap();
    let due = due_of(&records, &domain, 1_300).await;
    assert_eq!(due.len(), 1);
    assert!(named(&due).iter().all(|i| i.delivery == Delivery::Sent));
    // Settled: each gets its own pointer at its reminder, the batch's is gone.
    let current = named(&due);
    let current: Vec<&Invitation> = current.iter().collect();
    records.settle_due_entry(&due[0], &current).await.unwrap();
    assert!(due_of(&records, &domain, 1_999).await.is_empty());
    let reminders = due_of(&records, &domain, 2_000).await;
    assert_eq!(reminders.len(), 5);
    assert!(reminders.iter().all(|d| d.invitations.len() == 1));
}

pub async fn removing_an_expired_invitation_frees_its_email(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let token = SecretToken::generate(random());
    let inv = invitation(&domain, "gone@example.com", 1_000, &token);
    records
        .create_invitation(&inv, &ChangeEvents::none())
        .await
        .unwrap();
    // A stale read is refused and removes nothing.
    let mut stale = inv.clone();
    stale.version = 7;
    assert!(matches!(
        records.remove_invitation(&stale).await,
        Err(WriteError::Stale)
    ));
    assert!(records
        .invitation(&domain, &inv.id)
        .await
        .unwrap()
        .is_some());
    records.remove_invitation(&inv).await.unwrap();
    assert_eq!(records.invitation(&domain, &inv.id).await.unwrap(), None);
    assert_eq!(
        records
            .invitation_by_token(&domain, &token.hash())
            .await
            .unwrap(),
        None,
        "its link is gone"
    );
    assert!(
        due_of(&records, &domain, 99_999).await.is_empty(),
        "its due entry is gone"
    );
    let listed = list_all(
        &records,
        &domain,
        &InvitationQuery {
            status: None,
            kind: Some(InvitationKind::Email),
            role: None,
            invited_by: None,
            now: at(2_000),
        },
        100,
    )
    .await;
    assert!(listed.is_empty(), "its list copies are gone: {listed:?}");
    // Its email is free for a new invitation, even before the old deadline.
    let again = invitation(
        &domain,
        "gone@example.com",
        1_010,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&again, &ChangeEvents::none())
        .await
        .unwrap();
    // Removing an expired invitation whose email moved on to a newer one (after its deadline)
    // leaves the newer one's claim alone.
    let newer = invitation(
        &domain,
        "gone@example.com",
        2_100,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&newer, &ChangeEvents::none())
        .await
        .unwrap();
    records.remove_invitation(&again).await.unwrap();
    let fourth = invitation(
        &domain,
        "gone@example.com",
        2_200,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records
            .create_invitation(&fourth, &ChangeEvents::none())
            .await,
        Err(WriteError::EmailTaken)
    ));
    assert!(records
        .invitation(&domain, &newer.id)
        .await
        .unwrap()
        .is_some());
}
