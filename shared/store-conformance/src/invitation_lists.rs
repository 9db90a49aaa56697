//! Invitation lists: newest first in pages, by status, kind, role and inviter; a filtered page costs one page among thousands; revoking and stale versions.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

pub(crate) fn everything() -> InvitationQuery {
    InvitationQuery {
        status: None,
        kind: None,
        role: None,
        invited_by: None,
        now: Timestamp::from_unix_seconds(0),
    }
}

pub(crate) fn select(
    status: Option<InvitationStatus>,
    kind: Option<InvitationKind>,
    now: i64,
) -> InvitationQuery {
    InvitationQuery {
        status,
        kind,
        role: None,
        invited_by: None,
        now: Timestamp::from_unix_seconds(now),
    }
}

/// Every invitation `query` selects, following cursors, `limit` at a time.
pub(crate) async fn list_all(
    records: &Records,
    domain: &OrgDomain,
    query: &InvitationQuery,
    limit: usize,
) -> Vec<Invitation> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = records
            .invitations(domain, query, &PageRequest { cursor, limit })
            .await
            .unwrap();
        assert!(page.items.len() <= limit);
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return seen,
        }
    }
}

pub(crate) fn emails(invitations: &[Invitation]) -> Vec<String> {
    invitations
        .iter()
        .map(|i| match &i.invitee {
            Invitee::Email { email, .. } => email.to_string(),
            Invitee::Uid { uid, .. } => uid.to_string(),
        })
        .collect()
}

pub async fn invitations_list_newest_first_in_pages(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let inv = invitation(
            &domain,
            &format!("p{i}@example.com"),
            1_500 + i,
            &SecretToken::generate(random()),
        );
        records
            .create_invitation(&inv, &ChangeEvents::none())
            .await
            .unwrap();
        ids.push(inv.id);
    }
    ids.reverse();
    let seen: Vec<_> = list_all(&records, &domain, &everything(), 3)
        .await
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(seen, ids);
    let bad = records
        .invitations(
            &domain,
            &everything(),
            &PageRequest {
                cursor: Some("not-a-cursor".into()),
                limit: 2,
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::BadCursor)));
}

/// Each status and kind is listed from its own partition, and moves between them as the
/// invitation changes: revoked, accepted, renewed, expired by the passing of time.
pub async fn invitations_are_listed_by_status_and_kind(store: Arc<dyn ItemStore>) {
    use InvitationKind::{Email, Uid as ByUid};
    use InvitationStatus::{Accepted, Expired, Pending, Revoked};
    let records = Records::new(store);
    let keys = code_keys();
    let (domain, _) = new_org(&records).await;
    // p{i}: created at 1500+i, deadline 2500+i.
    let mut invs = Vec::new();
    for i in 0..7 {
        let inv = invitation(
            &domain,
            &format!("p{i}@example.com"),
            1_500 + i,
            &SecretToken::generate(random()),
        );
        records
            .create_invitation(&inv, &ChangeEvents::none())
            .await
            .unwrap();
        invs.push(inv);
    }
    let u0 = uid_invitation(&domain, "U0", 1_490, &AccessCode::generate(random()), &keys);
    let u1 = uid_invitation(&domain, "U1", 1_510, &AccessCode::generate(random()), &keys);
    records
        .create_invitation(&u0, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .create_invitation(&u1, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .update_invitation(&revoked(&invs[1]), &invs[1], &ChangeEvents::none())
        .await
        .unwrap();
    records
        .accept_invitation(&acceptance(&invs[3]))
        .await
        .unwrap();
    // p6 is resent with a later deadline.
    let mut renewed = invs[6].clone();
    renewed.expires_at = Timestamp::from_unix_seconds(9_000);
    records
        .update_invitation(&renewed, &invs[6], &ChangeEvents::none())
        .await
        .unwrap();

    // At 2504, p0, p2, p4 and u0 (deadline 2490) have expired; p5, p6 and u1 are live.
    let now = 2_504;
    let list = |status, kind| {
        let records = records.clone();
        let domain = domain.clone();
        async move { emails(&list_all(&records, &domain, &select(status, kind, now), 2).await) }
    };
    assert_eq!(
        list(Some(Pending), None).await,
        ["p6", "u1", "p5"].map(mail)
    );
    assert_eq!(
        list(Some(Expired), None).await,
        ["u0", "p0", "p2", "p4"].map(mail)
    );
    assert_eq!(list(Some(Revoked), None).await, [mail("p1")]);
    assert_eq!(list(Some(Accepted), None).await, [mail("p3")]);
    assert_eq!(
        list(Some(Pending), Some(Email)).await,
        [mail("p6"), mail("p5")]
    );
    assert_eq!(list(Some(Expired), Some(ByUid)).await, [mail("u0")]);
    assert_eq!(
        list(Some(Accepted), Some(ByUid)).await,
        Vec::<String>::new()
    );
    assert_eq!(list(None, Some(ByUid)).await, [mail("u1"), mail("u0")]);
    assert_eq!(
        list(None, Some(Email)).await,
        ["p6", "p5", "p4", "p3", "p2", "p1", "p0"].map(mail)
    );
    // Every listed copy is the invitation as it is now.
    let accepted = list_all(&records, &domain, &select(Some(Accepted), None, now), 5).await;
    assert_eq!(
        accepted[0],
        records
            .invitation(&domain, &invs[3].id)
            .await
            .unwrap()
            .unwrap()
    );
    // Later, everything pending has expired.
    let later = select(Some(Pending), None, 10_000);
    assert!(list_all(&records, &domain, &later, 5).await.is_empty());
    // A cursor of one kind of list is refused by another.
    let page = records
        .invitations(
            &domain,
            &select(None, None, now),
            &PageRequest {
                cursor: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    let misused = records
        .invitations(
            &domain,
            &select(Some(Pending), None, now),
            &PageRequest {
                cursor: page.next_cursor,
                limit: 1,
            },
        )
        .await;
    assert!(matches!(misused, Err(StoreError::BadCursor)));
}

/// `p3` → `p3@example.com`; `U0` stays a uid.
/// Lists by role and by inviter read an index partition, newest first, applying the other
/// filters to what it holds; an invitation is listed once whatever its list copies.
pub async fn invitations_are_listed_by_role_and_inviter(store: Arc<dyn ItemStore>) {
    use InvitationKind::Email;
    use InvitationStatus::{Accepted, Expired, Pending, Revoked};
    let records = Records::new(store);
    let keys = code_keys();
    let (domain, admin) = new_org(&records).await;
    let ann = random().user_id();
    // p{i}: created at 1500+i, deadline 2500+i; ann sent the even ones, the admin the odd ones;
    // p1, p2 and p5 are guests. u0: a uid member invitation by ann.
    let mut invs = Vec::new();
    for i in 0..7 {
        let mut inv = invitation(
            &domain,
            &format!("p{i}@example.com"),
            1_500 + i,
            &SecretToken::generate(random()),
        );
        inv.invited_by = Some(if i % 2 == 0 {
            ann.clone()
        } else {
            admin.id.clone()
        });
        if [1, 2, 5].contains(&i) {
            inv.role = InviteeRole::Guest;
        }
        records
            .create_invitation(&inv, &ChangeEvents::none())
            .await
            .unwrap();
        invs.push(inv);
    }
    let mut u0 = uid_invitation(&domain, "U0", 1_510, &AccessCode::generate(random()), &keys);
    u0.invited_by = Some(ann.clone());
    records
        .create_invitation(&u0, &ChangeEvents::none())
        .await
        .unwrap();
    // Someone who registered themselves: no inviter.
    let mut own = invitation(
        &domain,
        "p9@example.com",
        1_509,
        &SecretToken::generate(random()),
    );
    own.invited_by = None;
    records
        .create_invitation(&own, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .update_invitation(&revoked(&invs[2]), &invs[2], &ChangeEvents::none())
        .await
        .unwrap();
    records
        .accept_invitation(&acceptance(&invs[4]))
        .await
        .unwrap();

    // At 2504 p0..p3 have expired (p2 was revoked first), p5, p6, u0, p9 are live.
    let now = 2_504;
    let list = |role: Option<InviteeRole>,
                inviter: Option<&UserId>,
                status: Option<InvitationStatus>,
                kind: Option<InvitationKind>| {
        let query = InvitationQuery {
            status,
            kind,
            role,
            invited_by: inviter.cloned(),
            now: Timestamp::from_unix_seconds(now),
        };
        let records = records.clone();
        let domain = domain.clone();
        async move { emails(&list_all(&records, &domain, &query, 2).await) }
    };
    let guest = Some(InviteeRole::Guest);
    let member = Some(InviteeRole::Member);
    assert_eq!(
        list(guest, None, None, None).await,
        ["p5", "p2", "p1"].map(mail)
    );
    assert_eq!(
        list(member, None, None, None).await,
        ["u0", "p9", "p6", "p4", "p3", "p0"].map(mail)
    );
    assert_eq!(
        list(None, Some(&ann), None, None).await,
        ["u0", "p6", "p4", "p2", "p0"].map(mail)
    );
    assert_eq!(
        list(None, Some(&admin.id), None, None).await,
        ["p5", "p3", "p1"].map(mail)
    );
    assert!(list(None, Some(&random().user_id()), None, None)
        .await
        .is_empty());
    // With the other filters.
    assert_eq!(
        list(member, Some(&ann), Some(Pending), None).await,
        ["u0", "p6"].map(mail)
    );
    assert_eq!(
        list(None, Some(&ann), Some(Pending), Some(Email)).await,
        [mail("p6")]
    );
    assert_eq!(list(guest, None, Some(Revoked), None).await, [mail("p2")]);
    assert_eq!(
        list(None, Some(&ann), Some(Accepted), None).await,
        [mail("p4")]
    );
    assert_eq!(
        list(guest, Some(&admin.id), Some(Expired), None).await,
        [mail("p1")]
    );
    // What is listed is the invitation as it is now.
    let accepted = list_all(
        &records,
        &domain,
        &InvitationQuery {
            status: None,
            kind: None,
            role: member,
            invited_by: Some(ann.clone()),
            now: Timestamp::from_unix_seconds(now),
        },
        10,
    )
    .await;
    let p4 = records
        .invitation(&domain, &invs[4].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(accepted.iter().find(|i| i.id == p4.id), Some(&p4));
    // A cursor of these lists is an invitation id; another list's cursor is refused.
    let deadline_cursor = records
        .invitations(
            &domain,
            &select(Some(Pending), None, now),
            &PageRequest {
                cursor: None,
                limit: 1,
            },
        )
        .await
        .unwrap()
        .next_cursor
        .expect("more pending ones");
    let misused = records
        .invitations(
            &domain,
            &InvitationQuery {
                status: None,
                kind: None,
                role: guest,
                invited_by: None,
                now: Timestamp::from_unix_seconds(now),
            },
            &PageRequest {
                cursor: Some(deadline_cursor),
                limit: 1,
            },
        )
        .await;
    assert!(matches!(misused, Err(StoreError::BadCursor)), "{misused:?}");
}

pub(crate) fn mail(short: &str) -> String {
    if short.starts_with('p') {
        format!("{short}@example.com")
    } else {
        short.to_uppercase()
    }
}

/// A status or kind filter costs one query returning at most one page of items, however many
/// invitations the organisation has. Not in [`conformance_suite!`]: each backend runs it on a
/// store of its own (see the backends' conformance tests).
pub async fn filtered_lists_cost_one_page_among_5000_invitations(store: Arc<dyn ItemStore>) {
    use InvitationStatus::{Accepted, Expired, Pending, Revoked};
    let counting = Arc::new(gatehouse_store::CountingItems::new(store));
    let records = Records::new(counting.clone());
    let (domain, _) = new_org(&records).await;
    let keys = code_keys();
    // 5,000 pending email invitations, and a few of every other kind and status at both ends.
    let mut specials = Vec::new();
    for i in 0..3 {
        let r = invitation(
            &domain,
            &format!("r{i}@example.com"),
            1_000 + i,
            &SecretToken::generate(random()),
        );
        records
            .create_invitation(&r, &ChangeEvents::none())
            .await
            .unwrap();
        records
            .update_invitation(&revoked(&r), &r, &ChangeEvents::none())
            .await
            .unwrap();
        let u = uid_invitation(
            &domain,
            &format!("U{i}"),
            1_000 + i,
            &AccessCode::generate(random()),
            &keys,
        );
        records
            .create_invitation(&u, &ChangeEvents::none())
            .await
            .unwrap();
        specials.push(u);
    }
    let a = invitation(
        &domain,
        "accepted@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&a, &ChangeEvents::none())
        .await
        .unwrap();
    records.accept_invitation(&acceptance(&a)).await.unwrap();
    // The bulk is written exactly as the records write it, but loaded in batches: emulators
    // copy their whole state for every transaction, which 5,000 transactions make quadratic.
    let recorder = Arc::new(gatehouse_store::RecordingItems::default());
    let recording = Records::new(recorder.clone());
    for i in 0..5_000 {
        let inv = invitation(
            &domain,
            &format!("bulk{i}@example.com"),
            1_500,
            &SecretToken::generate(random()),
        );
        recording
            .create_invitation(&inv, &ChangeEvents::none())
            .await
            .unwrap();
    }
    // Two guests sent by one person among the 5,000 members.
    let inviter = random().user_id();
    for i in 0..2 {
        let mut g = invitation(
            &domain,
            &format!("guest{i}@example.com"),
            1_500,
            &SecretToken::generate(random()),
        );
        g.role = InviteeRole::Guest;
        g.invited_by = Some(inviter.clone());
        records
            .create_invitation(&g, &ChangeEvents::none())
            .await
            .unwrap();
    }
    let items = recorder.take();
    assert_eq!(
        items.len(),
        5_000 * 7,
        "claim, invitation, token, three list copies and the due entry each"
    );
    counting.put_many(items).await.unwrap();
    counting.take();

    // At 2200 the specials (deadline ≤ 2002) have expired and the bulk (2500) is live.
    for (status, kind, expected) in [
        (Some(Revoked), None, 3),
        (Some(Accepted), None, 1),
        (Some(Expired), None, 3),
        (Some(Expired), Some(InvitationKind::Uid), 3),
        (Some(Pending), Some(InvitationKind::Uid), 0),
        (Some(Pending), None, 20),
        (None, Some(InvitationKind::Uid), 3),
    ] {
        let page = records
            .invitations(
                &domain,
                &select(status, kind, 2_200),
                &PageRequest {
                    cursor: None,
                    limit: 20,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), expected, "{status:?} {kind:?}");
        let calls = counting.take();
        assert_eq!(
            (calls.gets, calls.queries, calls.writes),
            (0, 1, 0),
            "{status:?} {kind:?}: {calls:?}"
        );
        assert!(calls.items_read <= 20, "{status:?} {kind:?}: {calls:?}");
    }
    // By role and by inviter: one query of the index partition.
    for (role, by) in [
        (Some(InviteeRole::Guest), None),
        (None, Some(inviter.clone())),
        (Some(InviteeRole::Guest), Some(inviter.clone())),
    ] {
        let query = InvitationQuery {
            status: Some(Pending),
            kind: None,
            role,
            invited_by: by.clone(),
            now: Timestamp::from_unix_seconds(2_200),
        };
        let page = records
            .invitations(
                &domain,
                &query,
                &PageRequest {
                    cursor: None,
                    limit: 20,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2, "{role:?} {by:?}");
        assert_eq!(page.next_cursor, None);
        let calls = counting.take();
        assert_eq!(
            (calls.gets, calls.queries, calls.writes, calls.items_read),
            (0, 1, 0, 2),
            "{role:?} {by:?}: {calls:?}"
        );
    }
}

/// Revoking spends the credential and frees the email in one write: there is no moment when the
/// invitation is revoked but its address still blocked.
pub async fn revoking_releases_the_claim_in_the_same_write(store: Arc<dyn ItemStore>) {
    let counting = Arc::new(gatehouse_store::CountingItems::new(store));
    let records = Records::new(counting.clone());
    let (domain, _) = new_org(&records).await;
    let inv = invitation(
        &domain,
        "rhea@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&inv, &ChangeEvents::none())
        .await
        .unwrap();
    counting.take();
    records
        .update_invitation(&revoked(&inv), &inv, &ChangeEvents::none())
        .await
        .unwrap();
    assert_eq!(counting.take().writes, 1, "one all-or-nothing write");
    records
        .create_invitation(
            &invitation(
                &domain,
                "rhea@example.com",
                1_600,
                &SecretToken::generate(random()),
            ),
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
    // An expired invitation whose address moved on to a new one is revoked without touching
    // the new one's claim.
    let old = invitation(
        &domain,
        "sven@example.com",
        100,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&old, &ChangeEvents::none())
        .await
        .unwrap();
    let newer = invitation(
        &domain,
        "sven@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&newer, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .update_invitation(&revoked(&old), &old, &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .create_invitation(
                &invitation(
                    &domain,
                    "sven@example.com",
                    1_600,
                    &SecretToken::generate(random()),
                ),
                &ChangeEvents::none()
            )
            .await,
        Err(WriteError::EmailTaken)
    ));
}

pub async fn updates_refuse_stale_versions(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let mut renamed = admin.clone();
    renamed.first_name = name("Augusta");
    records
        .update_user(&UserUpdate::new(&admin, &renamed), &ChangeEvents::none())
        .await
        .unwrap();
    let mut settings = records.org(&domain).await.unwrap().unwrap();
    settings.settings.invitation_ttl_days = 7;
    records
        .update_org(&settings, &ChangeEvents::none())
        .await
        .unwrap();
    assert!(
        matches!(
            records.update_org(&settings, &ChangeEvents::none()).await,
            Err(WriteError::Stale)
        ),
        "the second write read version 0"
    );
    assert_eq!(
        records
            .org(&domain)
            .await
            .unwrap()
            .unwrap()
            .settings
            .invitation_ttl_days,
        7
    );
    let mut concurrent = admin.clone();
    concurrent.first_name = name("Countess");
    assert!(matches!(
        records
            .update_user(&UserUpdate::new(&admin, &concurrent), &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    let stored = records.user(&domain, &admin.id).await.unwrap().unwrap();
    assert_eq!(stored.first_name, name("Augusta"));
    assert_eq!(stored.version, 1);
}
