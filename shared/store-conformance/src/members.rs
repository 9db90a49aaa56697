//! Accounts after onboarding: memberships and search entries made and removed with the account,
//! admins found by role as they are now, the last admin kept, and a deactivation that a sign-in
//! racing it cannot outlive.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

use gatehouse_domain::model::UserStatus;
use gatehouse_domain::types::GroupId;

/// A member of `domain`, signed up through an invitation of `email`.
async fn member(records: &Records, domain: &OrgDomain, email: &str) -> User {
    let inv = invitation(domain, email, 1_500, &SecretToken::generate(random()));
    records
        .create_invitation(&inv, &ChangeEvents::none())
        .await
        .unwrap();
    let accepted = acceptance(&inv);
    records.accept_invitation(&accepted).await.unwrap();
    records
        .user(domain, &accepted.user.id)
        .await
        .unwrap()
        .unwrap()
}

async fn members_of(records: &Records, domain: &OrgDomain, group: &GroupId) -> Vec<UserId> {
    let page = PageRequest {
        cursor: None,
        limit: 50,
    };
    let query = UserQuery {
        group: Some(group.clone()),
        ..Default::default()
    };
    let found = records.find_users(domain, &query, &page).await.unwrap();
    found.items.into_iter().map(|u| u.id).collect()
}

/// The search entries of the organisation, as `(term, user id)`.
async fn search_entries(store: &Arc<dyn ItemStore>, domain: &OrgDomain) -> Vec<(String, String)> {
    let page = store
        .query(&Query {
            index: None,
            pk: format!("ORG#{domain}#USERSEARCH"),
            sk_prefix: String::new(),
            after: None,
            limit: 100,
            descending: false,
        })
        .await
        .unwrap();
    page.items
        .into_iter()
        .map(|i| {
            let (term, id) = i.key.sk.rsplit_once('#').unwrap();
            (term.to_string(), id.to_string())
        })
        .collect()
}

pub async fn memberships_and_search_entries_follow_each_change(store: Arc<dyn ItemStore>) {
    let records = Records::new(store.clone());
    let (domain, _admin) = new_org(&records).await;
    let ada = member(&records, &domain, "ada@example.com").await;
    let (red, blue) = (random().group_id(), random().group_id());
    let mut joined = ada.clone();
    joined.groups = vec![red.clone(), blue.clone()];
    records
        .update_user(&UserUpdate::new(&ada, &joined), &ChangeEvents::none())
        .await
        .unwrap();
    assert_eq!(
        members_of(&records, &domain, &red).await,
        vec![ada.id.clone()]
    );
    assert_eq!(
        members_of(&records, &domain, &blue).await,
        vec![ada.id.clone()]
    );
    let joined = records.user(&domain, &ada.id).await.unwrap().unwrap();
    let mut left = joined.clone();
    left.groups = vec![blue.clone()];
    left.first_name = name("Augusta");
    records
        .update_user(&UserUpdate::new(&joined, &left), &ChangeEvents::none())
        .await
        .unwrap();
    assert!(
        members_of(&records, &domain, &red).await.is_empty(),
        "left red"
    );
    assert_eq!(
        members_of(&records, &domain, &blue).await,
        vec![ada.id.clone()]
    );
    let mut mine: Vec<String> = search_entries(&store, &domain)
        .await
        .into_iter()
        .filter(|(_, id)| id == ada.id.as_str())
        .map(|(term, _)| term)
        .collect();
    mine.sort();
    assert_eq!(
        mine,
        vec!["ada@example.com", "augusta lovelace", "lovelace"],
        "the old first name's entries went with it"
    );
}

pub async fn active_admins_are_read_as_they_are_now(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let (other_org, _) = new_org(&records).await;
    let ada = member(&records, &domain, "ada@example.com").await;
    let admins = |d: OrgDomain| {
        let records = records.clone();
        async move {
            let mut ids: Vec<UserId> = records
                .active_admins(&d)
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(admins(domain.clone()).await, vec![admin.id.clone()]);
    let mut promoted = ada.clone();
    promoted.role = Role::Admin;
    records
        .update_user(&UserUpdate::new(&ada, &promoted), &ChangeEvents::none())
        .await
        .unwrap();
    let mut expected = vec![admin.id.clone(), ada.id.clone()];
    expected.sort();
    assert_eq!(admins(domain.clone()).await, expected);
    let promoted = records.user(&domain, &ada.id).await.unwrap().unwrap();
    let mut deactivated = promoted.clone();
    deactivated.status = UserStatus::Deactivated;
    records
        .update_user(
            &UserUpdate::new(&promoted, &deactivated),
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
    assert_eq!(admins(domain.clone()).await, vec![admin.id.clone()]);
    assert_eq!(
        admins(other_org).await.len(),
        1,
        "each organisation its own"
    );
}

/// Two admins demoting each other at once, each on condition that the other stays an admin:
/// one of them lands, and an admin is left.
pub async fn two_admins_demoting_each_other_leave_one(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let ada = member(&records, &domain, "ada@example.com").await;
    let mut promoted = ada.clone();
    promoted.role = Role::Admin;
    records
        .update_user(&UserUpdate::new(&ada, &promoted), &ChangeEvents::none())
        .await
        .unwrap();
    let ada = records.user(&domain, &ada.id).await.unwrap().unwrap();
    let demote = |who: User, keeping: User| {
        let records = records.clone();
        tokio::spawn(async move {
            let mut member = who.clone();
            member.role = Role::Member;
            let change = UserUpdate {
                other_admin: Some(&keeping),
                ..UserUpdate::new(&who, &member)
            };
            records.update_user(&change, &ChangeEvents::none()).await
        })
    };
    let (a, b) = tokio::join!(
        demote(admin.clone(), ada.clone()),
        demote(ada.clone(), admin.clone())
    );
    let landed = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|r| r.is_ok())
        .count();
    assert_eq!(landed, 1, "exactly one demotion lands");
    assert_eq!(records.active_admins(&domain).await.unwrap().len(), 1);
}

/// A session whose sign-in read the account before a deactivation landed is not opened.
pub async fn a_session_does_not_open_for_a_deactivated_account(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let ada = member(&records, &domain, "ada@example.com").await;
    let mut deactivated = ada.clone();
    deactivated.status = UserStatus::Deactivated;
    records
        .update_user(&UserUpdate::new(&ada, &deactivated), &ChangeEvents::none())
        .await
        .unwrap();
    let session = session_for(&ada);
    assert!(matches!(
        records
            .open_session(&session, &[], &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records
            .session(&domain, &ada.id, &session.token_hash)
            .await
            .unwrap(),
        None
    );
    // An active account's sign-in is noted on it, its version unchanged.
    let admin = records.user(&domain, &admin.id).await.unwrap().unwrap();
    let session = session_for(&admin);
    records
        .open_session(&session, &[], &ChangeEvents::none())
        .await
        .unwrap();
    let after = records.user(&domain, &admin.id).await.unwrap().unwrap();
    assert_eq!(after.last_sign_in_at, Some(session.created_at));
    assert_eq!(after.version, admin.version);
}

/// Each filter of the user list reads its own partition: one query (and, for members and
/// searches, one read by key of what it names), however many people the organisation has.
pub async fn user_filters_read_only_their_partition(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, admin) = new_org(&records).await;
    let mut people = Vec::new();
    for i in 0..24 {
        people.push(member(&records, &domain, &format!("p{i:02}@example.com")).await);
    }
    let red = random().group_id();
    let change = |who: &User, f: &dyn Fn(&mut User)| {
        let mut next = who.clone();
        f(&mut next);
        next
    };
    let guest = change(&people[3], &|u| u.role = Role::Guest);
    let off = change(&people[5], &|u| u.status = UserStatus::Deactivated);
    let in_red = change(&people[7], &|u| u.groups.push(red.clone()));
    let mut renamed = change(&people[9], &|u| u.first_name = name("Zelda"));
    renamed.last_name = name("Zimmer");
    for (before, after) in [
        (&people[3], &guest),
        (&people[5], &off),
        (&people[7], &in_red),
        (&people[9], &renamed),
    ] {
        records
            .update_user(&UserUpdate::new(before, after), &ChangeEvents::none())
            .await
            .unwrap();
    }
    let page = PageRequest {
        cursor: None,
        limit: 10,
    };
    let cases: Vec<(UserQuery, Vec<&UserId>)> = vec![
        (
            UserQuery {
                role: Some(Role::Guest),
                ..Default::default()
            },
            vec![&guest.id],
        ),
        (
            UserQuery {
                status: Some(UserStatus::Deactivated),
                ..Default::default()
            },
            vec![&off.id],
        ),
        (
            UserQuery {
                group: Some(red.clone()),
                ..Default::default()
            },
            vec![&in_red.id],
        ),
        (
            UserQuery {
                q: Some("z".into()),
                ..Default::default()
            },
            vec![&renamed.id],
        ),
        (
            UserQuery {
                role: Some(Role::Admin),
                ..Default::default()
            },
            vec![&admin.id],
        ),
    ];
    for (query, expected) in cases {
        counted.take();
        let found = records.find_users(&domain, &query, &page).await.unwrap();
        let calls = counted.take();
        let ids: Vec<&UserId> = found.items.iter().map(|u| &u.id).collect();
        assert_eq!(ids, expected, "{query:?}");
        assert_eq!(found.next_cursor, None, "{query:?}");
        assert_eq!(calls.queries, 1, "one partition read for {query:?}");
        assert!(calls.items_read <= 2, "{calls:?} for {query:?}");
    }
    // Without a filter, pages of the users' partition in id order.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = PageRequest {
            cursor: cursor.clone(),
            limit: 10,
        };
        let found = records
            .find_users(&domain, &UserQuery::default(), &page)
            .await
            .unwrap();
        seen.extend(found.items.into_iter().map(|u| u.id));
        match found.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert!(
        seen.windows(2).all(|w| w[0].as_str() < w[1].as_str()),
        "id order"
    );
}

/// A record written before the indexes and derived items existed is found by none of them until
/// it is written again with them.
pub async fn a_rewritten_user_is_found_by_every_filter(store: Arc<dyn ItemStore>) {
    let records = Records::new(store.clone());
    let (domain, admin) = new_org(&records).await;
    let red = random().group_id();
    let mut old = user(&domain, "old@example.com", Role::Admin);
    old.groups = vec![red.clone()];
    // As an earlier version wrote it: the record alone.
    let mut attrs = match serde_json::to_value(&old).unwrap() {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    attrs.insert("version".into(), json!(0));
    store
        .write(vec![put(
            Item {
                key: Key::new(format!("ORG#{domain}#USERS"), old.id.as_str()),
                attrs,
            },
            None,
        )])
        .await
        .unwrap();
    let admins = |records: Records, d: OrgDomain| async move {
        let mut ids: Vec<UserId> = records
            .active_admins(&d)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        admins(records.clone(), domain.clone()).await,
        vec![admin.id.clone()]
    );
    assert!(members_of(&records, &domain, &red).await.is_empty());
    records.rewrite_user(&old).await.unwrap();
    let mut both = vec![admin.id.clone(), old.id.clone()];
    both.sort();
    assert_eq!(admins(records.clone(), domain.clone()).await, both);
    assert_eq!(
        members_of(&records, &domain, &red).await,
        vec![old.id.clone()]
    );
    let stored = records.user(&domain, &old.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert!(
        matches!(records.rewrite_user(&old).await, Err(WriteError::Stale)),
        "only from the version read"
    );
    records.rewrite_user(&stored).await.unwrap();
}

/// Confirming a change of email moves the account's claim from the old address to the new one
/// and spends the token, in one write; a taken address or a spent token writes nothing.
pub async fn an_email_change_moves_the_claim_and_spends_its_token(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _admin) = new_org(&records).await;
    let ada = member(&records, &domain, "ada@example.com").await;
    let bob = member(&records, &domain, "bob@example.com").await;
    let change_to = |who: &User, to: &str| EmailChange {
        org: domain.clone(),
        user_id: who.id.clone(),
        token_hash: SecretToken::generate(random()).hash(),
        from: who.email.clone().unwrap(),
        to: EmailAddress::parse(to).unwrap(),
        requested_by: None,
        created_at: Timestamp::from_unix_seconds(2_000),
        expires_at: Timestamp::from_unix_seconds(9_000),
    };
    let claim_of = |email: &str| {
        let records = records.clone();
        let domain = domain.clone();
        let email = EmailAddress::parse(email).unwrap();
        async move {
            let lookup = Lookup {
                claims: vec![AccountKey::Email(email)],
                ..Lookup::default()
            };
            records.look_up(&domain, &lookup).await.unwrap().claims[0].clone()
        }
    };
    let change = change_to(&ada, "Augusta@Example.com");
    records.save_email_change(&change).await.unwrap();
    assert_eq!(
        records.email_change(&change.token_hash).await.unwrap(),
        Some(change.clone())
    );
    let mut moved = ada.clone();
    moved.email = Some(change.to.clone());
    let update = UserUpdate::new(&ada, &moved);
    records
        .confirm_email_change(&update, &change.token_hash, &ChangeEvents::none())
        .await
        .unwrap();
    assert_eq!(
        claim_of("ada@example.com").await,
        Claim::Free,
        "free at once"
    );
    assert_eq!(
        claim_of("augusta@example.com").await,
        Claim::Account(ada.id.clone())
    );
    assert_eq!(
        records.email_change(&change.token_hash).await.unwrap(),
        None
    );
    let moved = records.user(&domain, &ada.id).await.unwrap().unwrap();
    assert_eq!(moved.email, Some(change.to.clone()));
    let mut again = moved.clone();
    again.email = Some(EmailAddress::parse("third@example.com").unwrap());
    assert!(
        matches!(
            records
                .confirm_email_change(
                    &UserUpdate::new(&moved, &again),
                    &change.token_hash,
                    &ChangeEvents::none()
                )
                .await,
            Err(WriteError::Stale)
        ),
        "a spent token"
    );
    // Bob asks for an address Ada holds by the time he confirms.
    let taken = change_to(&bob, "augusta@example.com");
    records.save_email_change(&taken).await.unwrap();
    let mut clash = bob.clone();
    clash.email = Some(taken.to.clone());
    assert!(matches!(
        records
            .confirm_email_change(
                &UserUpdate::new(&bob, &clash),
                &taken.token_hash,
                &ChangeEvents::none()
            )
            .await,
        Err(WriteError::EmailTaken)
    ));
    assert_eq!(
        claim_of("bob@example.com").await,
        Claim::Account(bob.id.clone())
    );
    assert!(records
        .email_change(&taken.token_hash)
        .await
        .unwrap()
        .is_some());
    let unchanged = records.user(&domain, &bob.id).await.unwrap().unwrap();
    assert_eq!(unchanged.email, bob.email);
}
