//! Groups: listed per organisation, changed only from the version read, names (and their look-alikes) claimed once, renames taking the claim along, deletion leaving settings and link in the same write.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

pub async fn groups_are_listed_per_org(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let g = Group {
        id: random().group_id(),
        name: GroupName::parse("Sales").unwrap(),
        created_at: Timestamp::from_unix_seconds(5),
        admins: Vec::new(),
        version: 0,
    };
    records
        .create_group(&domain, &g, &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .create_group(&domain, &g, &ChangeEvents::none())
            .await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(records.groups(&domain).await.unwrap(), vec![g.clone()]);
    assert_eq!(
        records.group(&domain, &g.id).await.unwrap(),
        Some(g.clone())
    );
    assert!(records.groups(&other).await.unwrap().is_empty());
    assert_eq!(records.group(&other, &g.id).await.unwrap(), None);
    // Names are unique per organisation, whatever the case; another organisation may reuse one.
    let same_name = Group {
        id: random().group_id(),
        name: GroupName::parse("SALES").unwrap(),
        created_at: Timestamp::from_unix_seconds(6),
        admins: Vec::new(),
        version: 0,
    };
    assert!(matches!(
        records
            .create_group(&domain, &same_name, &ChangeEvents::none())
            .await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(records.group(&domain, &same_name.id).await.unwrap(), None);
    records
        .create_group(&other, &same_name, &ChangeEvents::none())
        .await
        .unwrap();
}

pub async fn a_group_changes_only_from_the_version_read(store: Arc<dyn ItemStore>) {
    let records = Records::new(store.clone());
    let (domain, admin) = new_org(&records).await;
    // A group stored before groups had admins and a version reads as version 0 and changes
    // from it.
    let old = random().group_id();
    store
        .write(vec![put(
            item(
                &format!("ORG#{domain}#GROUPS"),
                old.as_str(),
                json!({"id": old, "name": "Legacy", "created_at": 3}),
            ),
            None,
        )])
        .await
        .unwrap();
    let mut legacy = records.group(&domain, &old).await.unwrap().unwrap();
    assert_eq!((legacy.version, legacy.admins.len()), (0, 0));
    legacy.admins.push(admin.id.clone());
    records
        .update_group(&domain, &legacy, &ChangeEvents::none())
        .await
        .unwrap();
    let updated = records.group(&domain, &old).await.unwrap().unwrap();
    assert_eq!((updated.version, updated.admins.len()), (1, 1));
    // Once versioned, a change from version 0 is stale.
    assert!(matches!(
        records
            .update_group(&domain, &legacy, &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    let g = Group {
        id: random().group_id(),
        name: GroupName::parse("Design").unwrap(),
        created_at: Timestamp::from_unix_seconds(5),
        admins: Vec::new(),
        version: 0,
    };
    records
        .create_group(&domain, &g, &ChangeEvents::none())
        .await
        .unwrap();
    let mut named = g.clone();
    named.admins.push(admin.id.clone());
    records
        .update_group(&domain, &named, &ChangeEvents::none())
        .await
        .unwrap();
    let stored = records.group(&domain, &g.id).await.unwrap().unwrap();
    assert_eq!(stored.admins, vec![admin.id.clone()]);
    assert_eq!(stored.version, 1);
    // A change made from the version read before is refused and changes nothing.
    let mut stale = g.clone();
    stale.admins.push(random().user_id());
    assert!(matches!(
        records
            .update_group(&domain, &stale, &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records.group(&domain, &g.id).await.unwrap(),
        Some(stored.clone())
    );
    // From the version now stored it lands; the name claim is untouched.
    let mut emptied = stored.clone();
    emptied.admins.clear();
    records
        .update_group(&domain, &emptied, &ChangeEvents::none())
        .await
        .unwrap();
    let again = records.group(&domain, &g.id).await.unwrap().unwrap();
    assert!(again.admins.is_empty());
    assert_eq!(again.version, 2);
    assert!(matches!(
        records
            .create_group(
                &domain,
                &Group {
                    id: random().group_id(),
                    ..g.clone()
                },
                &ChangeEvents::none()
            )
            .await,
        Err(WriteError::AlreadyExists)
    ));
}

/// A group's look (its name's TR39 skeleton) is claimed with it: a lookalike is refused
/// (`LookalikeTaken`), whether created or renamed into; renaming or deleting frees the look.
/// Groups made before the claim existed hold none, and still rename and delete.
pub async fn group_names_that_look_alike_are_claimed_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store.clone());
    let (domain, _) = new_org(&records).await;
    let group = |name: &str| Group {
        id: random().group_id(),
        name: GroupName::parse(name).unwrap(),
        created_at: Timestamp::from_unix_seconds(5),
        admins: Vec::new(),
        version: 0,
    };
    let everyone = group("Everyone");
    records
        .create_group(&domain, &everyone, &ChangeEvents::none())
        .await
        .unwrap();
    let cyrillic = group("\u{0415}veryone");
    assert!(matches!(
        records
            .create_group(&domain, &cyrillic, &ChangeEvents::none())
            .await,
        Err(WriteError::LookalikeTaken)
    ));
    assert_eq!(records.group(&domain, &cyrillic.id).await.unwrap(), None);
    let sales = group("Sales");
    records
        .create_group(&domain, &sales, &ChangeEvents::none())
        .await
        .unwrap();
    let mut into = sales.clone();
    into.name = GroupName::parse("Every\u{043E}ne").unwrap();
    assert!(matches!(
        records
            .rename_group(&domain, &into, &sales.name, &ChangeEvents::none())
            .await,
        Err(WriteError::LookalikeTaken)
    ));
    // Renamed away, the look is free.
    let mut away = everyone.clone();
    away.name = GroupName::parse("All staff").unwrap();
    records
        .rename_group(&domain, &away, &everyone.name, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .create_group(&domain, &cyrillic, &ChangeEvents::none())
        .await
        .unwrap();
    // Deleted, too.
    records
        .delete_group(&domain, &cyrillic, None, None, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .create_group(&domain, &group("Everyone"), &ChangeEvents::none())
        .await
        .unwrap();
    // A group written before looks were claimed: its look is nobody's; it renames and deletes.
    let legacy = group("Legacy");
    records
        .create_group(&domain, &legacy, &ChangeEvents::none())
        .await
        .unwrap();
    store
        .write(vec![Write::Delete {
            key: gatehouse_store::keys::group_look(&domain, &legacy.name),
            condition: None,
        }])
        .await
        .unwrap();
    let mut renamed = legacy.clone();
    renamed.name = GroupName::parse("Heritage").unwrap();
    records
        .rename_group(&domain, &renamed, &legacy.name, &ChangeEvents::none())
        .await
        .unwrap();
    renamed.version += 1;
    records
        .delete_group(&domain, &renamed, None, None, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .create_group(&domain, &group("Heritage"), &ChangeEvents::none())
        .await
        .unwrap();
}

pub async fn a_renamed_group_takes_its_name_claim_along(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let group = |name: &str| Group {
        id: random().group_id(),
        name: GroupName::parse(name).unwrap(),
        created_at: Timestamp::from_unix_seconds(5),
        admins: Vec::new(),
        version: 0,
    };
    let design = group("Design");
    let sales = group("Sales");
    records
        .create_group(&domain, &design, &ChangeEvents::none())
        .await
        .unwrap();
    records
        .create_group(&domain, &sales, &ChangeEvents::none())
        .await
        .unwrap();
    // Onto another group's name (any case): refused, nothing changed.
    let mut clash = design.clone();
    clash.name = GroupName::parse("SALES").unwrap();
    assert!(matches!(
        records
            .rename_group(&domain, &clash, &design.name, &ChangeEvents::none())
            .await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(
        records.group(&domain, &design.id).await.unwrap(),
        Some(design.clone())
    );
    // To a free name: the old name is free again, the new one taken.
    let mut renamed = design.clone();
    renamed.name = GroupName::parse("Product").unwrap();
    records
        .rename_group(&domain, &renamed, &design.name, &ChangeEvents::none())
        .await
        .unwrap();
    let stored = records.group(&domain, &design.id).await.unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.version), ("Product", 1));
    records
        .create_group(&domain, &group("design"), &ChangeEvents::none())
        .await
        .unwrap();
    assert!(matches!(
        records
            .create_group(&domain, &group("PRODUCT"), &ChangeEvents::none())
            .await,
        Err(WriteError::AlreadyExists)
    ));
    // Another case of its own name; and a rename from a stale read is refused.
    let mut cased = stored.clone();
    cased.name = GroupName::parse("PRODUCT").unwrap();
    records
        .rename_group(&domain, &cased, &stored.name, &ChangeEvents::none())
        .await
        .unwrap();
    let mut stale = stored.clone();
    stale.name = GroupName::parse("Marketing").unwrap();
    assert!(matches!(
        records
            .rename_group(&domain, &stale, &stored.name, &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    records
        .create_group(&domain, &group("Marketing"), &ChangeEvents::none())
        .await
        .unwrap();
}

pub async fn a_deleted_group_leaves_the_settings_and_link_in_the_same_write(
    store: Arc<dyn ItemStore>,
) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let design = Group {
        id: random().group_id(),
        name: GroupName::parse("Design").unwrap(),
        created_at: Timestamp::from_unix_seconds(5),
        admins: vec![random().user_id()],
        version: 0,
    };
    records
        .create_group(&domain, &design, &ChangeEvents::none())
        .await
        .unwrap();
    let mut settings = records.org(&domain).await.unwrap().unwrap();
    settings.settings.default_groups = vec![design.id.clone()];
    records
        .update_org(&settings, &ChangeEvents::none())
        .await
        .unwrap();
    let secret = SecretToken::generate(random());
    let link = InvitationLink {
        org: domain.clone(),
        token_hash: secret.hash(),
        sealed_token: code_keys().seal_link_token(&secret, random()),
        role: InviteeRole::Member,
        groups: vec![design.id.clone()],
        expires_at: None,
        max_uses: None,
        uses: 0,
        active: true,
        created_by: admin.id.clone(),
        created_at: Timestamp::from_unix_seconds(10),
        version: 0,
    };
    records
        .save_invitation_link(&link, None, &ChangeEvents::none())
        .await
        .unwrap();
    let org_read = records.org(&domain).await.unwrap().unwrap();
    let link_read = records.invitation_link(&domain).await.unwrap().unwrap();
    let without = |mut o: Org| {
        o.settings.default_groups.clear();
        o
    };
    let mut link_without = link_read.clone();
    link_without.groups.clear();

    // From a stale read of the settings, of the link or of the group: nothing happens.
    let mut stale_org = without(org_read.clone());
    stale_org.version -= 1;
    let mut stale_link = link_without.clone();
    stale_link.version += 1;
    let mut stale_group = design.clone();
    stale_group.version = 3;
    for (group, org, link) in [
        (&design, &stale_org, &link_without),
        (&design, &without(org_read.clone()), &stale_link),
        (&stale_group, &without(org_read.clone()), &link_without),
    ] {
        assert!(matches!(
            records
                .delete_group(&domain, group, Some(org), Some(link), &ChangeEvents::none())
                .await,
            Err(WriteError::Stale)
        ));
        assert_eq!(
            records.group(&domain, &design.id).await.unwrap(),
            Some(design.clone())
        );
        assert_eq!(records.org(&domain).await.unwrap().unwrap(), org_read);
        assert_eq!(
            records.invitation_link(&domain).await.unwrap().unwrap(),
            link_read
        );
    }
    // Done: the group and its name's claim are gone, the settings and link without it.
    records
        .delete_group(
            &domain,
            &design,
            Some(&without(org_read.clone())),
            Some(&link_without),
            &ChangeEvents::none(),
        )
        .await
        .unwrap();
    assert_eq!(records.group(&domain, &design.id).await.unwrap(), None);
    assert!(records.groups(&domain).await.unwrap().is_empty());
    let org_now = records.org(&domain).await.unwrap().unwrap();
    assert!(org_now.settings.default_groups.is_empty());
    assert_eq!(org_now.version, org_read.version + 1);
    let link_now = records.invitation_link(&domain).await.unwrap().unwrap();
    assert!(link_now.groups.is_empty());
    assert_eq!(link_now.version, link_read.version + 1);
    // Twice: the group is no longer there.
    assert!(matches!(
        records
            .delete_group(&domain, &design, None, None, &ChangeEvents::none())
            .await,
        Err(WriteError::Stale)
    ));
    // Its name is free again.
    let again = Group {
        id: random().group_id(),
        version: 0,
        admins: Vec::new(),
        ..design.clone()
    };
    records
        .create_group(&domain, &again, &ChangeEvents::none())
        .await
        .unwrap();
}
