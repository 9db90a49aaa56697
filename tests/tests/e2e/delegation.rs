//! Delegated invitations and group admins end to end, on both backends: with the settings off
//! only admins invite; with `members_can_invite` a member invites members or guests by email;
//! with `group_admins_can_invite` a group admin invites into the groups they administer and no
//! others; nobody but admins invites by identifier or names group admins.

use gatehouse_e2e::{on_both_backends, Backend, Bundle};
use serde_json::{json, Value};

on_both_backends!(
    with_delegation_off_only_admins_invite,
    a_member_invites_when_members_can_invite,
    a_group_admin_invites_into_their_groups_only,
    group_admins_are_named_by_admins_and_only_members,
    concurrent_group_admin_changes_all_land,
    another_organisations_admin_finds_no_group_here,
    groups_are_renamed_by_admins_and_names_stay_unique,
    mine_lists_only_the_callers_groups,
    admins_list_invitations_by_role_and_inviter,
    a_deleted_group_leaves_everyone_and_frees_its_name,
);

/// An account of the organisation (invited by the admin as `role`, signed up): its session
/// token and user id.
async fn account(b: &Bundle, name: &str, role: &str) -> (String, String) {
    let account = b.account(name, role).await;
    (account.token, account.id)
}

async fn set(b: &Bundle, change: Value) {
    let reply = b
        .gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(change.to_string()),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

async fn invite_as(
    b: &Bundle,
    token: &str,
    email: &str,
    role: &str,
    groups: &[&str],
) -> gatehouse_e2e::Reply {
    b.gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(token),
            json!({"email": email, "role": role, "first_name": "Dee", "last_name": "Legate", "groups": groups}),
        )
        .await
}

async fn with_delegation_off_only_admins_invite(backend: Backend) {
    let b = Bundle::start(backend).await;
    let (member, _) = account(&b, "member", "member").await;
    let (guest, _) = account(&b, "guest", "guest").await;
    let before = b.invitation_count().await;
    for token in [&member, &guest] {
        invite_as(&b, token, &b.email("x"), "member", &[])
            .await
            .assert_problem(403, "only_admins_can_invite");
        invite_as(&b, token, &b.email("x"), "guest", &[])
            .await
            .assert_problem(403, "only_admins_can_invite");
    }
    assert_eq!(b.invitation_count().await, before, "nothing was created");
    let settings = b
        .gateway
        .get("/v1/orgs/demo/settings", Some(&b.admin_token))
        .await;
    assert_eq!(settings.json["members_can_invite"], false);
    assert_eq!(settings.json["group_admins_can_invite"], false);
}

async fn a_member_invites_when_members_can_invite(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    let (member, member_id) = account(&b, "member", "member").await;
    let (guest, _) = account(&b, "guest", "guest").await;
    set(&b, json!({"members_can_invite": true})).await;

    let friend = b.email("friend");
    let invited = invite_as(&b, &member, &friend, "member", &[]).await;
    assert_eq!(invited.status, 201, "{invited:?}");
    assert_eq!(invited.json["invited_by"], member_id.as_str());
    let partner = b.email("partner");
    let as_guest = invite_as(&b, &member, &partner, "guest", &[]).await;
    assert_eq!(as_guest.status, 201, "{as_guest:?}");
    // The invitee gets the mail and signs up as what the member chose.
    let token = b.sign_up_token(&friend).await;
    let joined = b.sign_up(&token, "another long passphrase").await;
    assert_eq!(joined.status, 201, "{joined:?}");
    assert_eq!(joined.json["user"]["role"], "member");

    // Not into a group they do not administer, not by identifier, not as a guest.
    invite_as(&b, &member, &b.email("x"), "member", &[&design])
        .await
        .assert_problem(403, "group_not_administered");
    b.set_without_email(true).await;
    b.gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&member),
            json!({"uid": "e1234", "role": "member", "first_name": "E", "last_name": "Mployee"}),
        )
        .await
        .assert_problem(403, "forbidden");
    invite_as(&b, &guest, &b.email("x"), "guest", &[])
        .await
        .assert_problem(403, "only_admins_can_invite");
    // A role above members' does not exist to grant: "admin" is no invitee role.
    invite_as(&b, &member, &b.email("x"), "admin", &[])
        .await
        .assert_problem(422, "invalid_role");
    // They revoke their own invitation, not the admin's, and list none (admins only).
    let own = as_guest.json["id"].as_str().unwrap();
    let revoked = b
        .gateway
        .send(
            "DELETE",
            &format!("/v1/orgs/demo/invitations/{own}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{revoked:?}");
    assert_eq!(revoked.json["status"], "revoked");
    let admins = b.invite(&b.email("admins"), "member", &[]).await;
    let theirs = admins.json["id"].as_str().unwrap();
    b.gateway
        .send(
            "DELETE",
            &format!("/v1/orgs/demo/invitations/{theirs}"),
            Some(&member),
            None,
        )
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .get("/v1/orgs/demo/invitations", Some(&member))
        .await
        .assert_problem(403, "forbidden");
    // Turning it off stops them at once.
    set(&b, json!({"members_can_invite": false})).await;
    invite_as(&b, &member, &b.email("x"), "member", &[])
        .await
        .assert_problem(403, "only_admins_can_invite");
    let friend_id = invited.json["id"].as_str().unwrap();
    b.gateway
        .send(
            "DELETE",
            &format!("/v1/orgs/demo/invitations/{friend_id}"),
            Some(&member),
            None,
        )
        .await
        .assert_problem(403, "only_admins_can_invite");
}

async fn a_group_admin_invites_into_their_groups_only(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    let research = b.group("Research").await;
    let (lead, lead_id) = account(&b, "lead", "member").await;
    let named = b
        .gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/groups/{design}/admins/{lead_id}"),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(named.status, 200, "{named:?}");
    assert_eq!(named.json["admins"], json!([lead_id]));
    // Off: the group admin may not invite.
    invite_as(&b, &lead, &b.email("x"), "member", &[&design])
        .await
        .assert_problem(403, "only_admins_can_invite");
    set(&b, json!({"group_admins_can_invite": true})).await;

    let newcomer = b.email("newcomer");
    let invited = invite_as(&b, &lead, &newcomer, "member", &[&design]).await;
    assert_eq!(invited.status, 201, "{invited:?}");
    assert_eq!(invited.json["groups"], json!([design]));
    let visitor = b.email("visitor");
    let guest = invite_as(&b, &lead, &visitor, "guest", &[&design]).await;
    assert_eq!(guest.status, 201, "{guest:?}");
    // Another group, or one of theirs with another, or none at all: refused, nothing created.
    let before = b.invitation_count().await;
    invite_as(&b, &lead, &b.email("x"), "member", &[&research])
        .await
        .assert_problem(403, "group_not_administered");
    invite_as(&b, &lead, &b.email("x"), "member", &[&design, &research])
        .await
        .assert_problem(403, "group_not_administered");
    invite_as(&b, &lead, &b.email("x"), "member", &[])
        .await
        .assert_problem(403, "group_not_administered");
    assert_eq!(b.invitation_count().await, before);
    // The newcomer signs up into the group.
    let token = b.sign_up_token(&newcomer).await;
    let joined = b.sign_up(&token, "another long passphrase").await;
    assert_eq!(joined.status, 201, "{joined:?}");
    assert!(joined.json["user"]["groups"]
        .as_array()
        .unwrap()
        .contains(&json!(design)));
    // Removed, they may no longer invite.
    let removed = b
        .gateway
        .send(
            "DELETE",
            &format!("/v1/orgs/demo/groups/{design}/admins/{lead_id}"),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    assert_eq!(removed.json["admins"], json!([]));
    invite_as(&b, &lead, &b.email("x"), "member", &[&design])
        .await
        .assert_problem(403, "only_admins_can_invite");
}

async fn group_admins_are_named_by_admins_and_only_members(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    let (member, member_id) = account(&b, "member", "member").await;
    let (_, guest_id) = account(&b, "guest", "guest").await;
    let path = |user: &str| format!("/v1/orgs/demo/groups/{design}/admins/{user}");
    // A member may not name anyone, not even themselves.
    b.gateway
        .send("PUT", &path(&member_id), Some(&member), None)
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .get(
            &format!("/v1/orgs/demo/groups/{design}/admins"),
            Some(&member),
        )
        .await
        .assert_problem(403, "forbidden");
    // Guests do not administer groups; unknown users and groups are not found.
    b.gateway
        .send("PUT", &path(&guest_id), Some(&b.admin_token), None)
        .await
        .assert_problem(422, "group_admin_must_be_member");
    b.gateway
        .send(
            "PUT",
            &path("0190f5a8b6c37d4e8f9a0b1c2d3e4f50"),
            Some(&b.admin_token),
            None,
        )
        .await
        .assert_problem(404, "user_not_found");
    b.gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/groups/not-a-group/admins/{member_id}"),
            Some(&b.admin_token),
            None,
        )
        .await
        .assert_problem(404, "group_not_found");
    b.gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/groups/0190f5a8b6c37d4e8f9a0b1c2d3e4f50/admins/{member_id}"),
            Some(&b.admin_token),
            None,
        )
        .await
        .assert_problem(404, "group_not_found");
    let listed = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/groups/{design}/admins"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(listed.json["admins"], json!([]), "nothing was changed");
    // Naming twice is once.
    for _ in 0..2 {
        let named = b
            .gateway
            .send("PUT", &path(&member_id), Some(&b.admin_token), None)
            .await;
        assert_eq!(named.status, 200, "{named:?}");
        assert_eq!(named.json["admins"], json!([member_id]));
    }
}

async fn concurrent_group_admin_changes_all_land(backend: Backend) {
    let b = std::sync::Arc::new(Bundle::start(backend).await);
    let design = b.group("Design").await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(account(&b, &format!("lead{n}"), "member").await.1);
    }
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (b, path) = (
                b.clone(),
                format!("/v1/orgs/demo/groups/{design}/admins/{id}"),
            );
            tokio::spawn(async move {
                b.gateway
                    .send("PUT", &path, Some(&b.admin_token), None)
                    .await
            })
        })
        .collect();
    for t in tasks {
        let reply = t.await.unwrap();
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    let listed = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/groups/{design}/admins"),
            Some(&b.admin_token),
        )
        .await;
    let mut admins: Vec<String> = listed.json["admins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    admins.sort();
    ids.sort();
    assert_eq!(admins, ids, "no change was lost");
}

async fn another_organisations_admin_finds_no_group_here(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    let (_, member_id) = account(&b, "member", "member").await;
    let other_token = b.other_org_admin().await;
    let other_token = other_token.as_str();
    // demo's group and member, asked for in other: not found there.
    b.gateway
        .get(
            &format!("/v1/orgs/other/groups/{design}/admins"),
            Some(other_token),
        )
        .await
        .assert_problem(404, "group_not_found");
    b.gateway
        .send(
            "PUT",
            &format!("/v1/orgs/other/groups/{design}/admins/{member_id}"),
            Some(other_token),
            None,
        )
        .await
        .assert_problem(404, "group_not_found");
    // other's session is no session in demo.
    b.gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/groups/{design}/admins/{member_id}"),
            Some(other_token),
            None,
        )
        .await
        .assert_problem(401, "unauthenticated");
    let listed = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/groups/{design}/admins"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(listed.json["admins"], json!([]));
}

async fn groups_are_renamed_by_admins_and_names_stay_unique(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    b.group("Sales").await;
    let (member, _) = account(&b, "member", "member").await;
    let path = format!("/v1/orgs/demo/groups/{design}");
    let rename = |token: String, name: &str| {
        let body = json!({ "name": name }).to_string();
        let (gateway, path) = (&b.gateway, path.clone());
        async move { gateway.send("PATCH", &path, Some(&token), Some(body)).await }
    };
    rename(member.clone(), "Mine")
        .await
        .assert_problem(403, "forbidden");
    rename(b.admin_token.clone(), "sales")
        .await
        .assert_problem(409, "group_name_taken");
    rename(b.admin_token.clone(), "")
        .await
        .assert_problem(422, "invalid_group_name");
    let renamed = rename(b.admin_token.clone(), "Product").await;
    assert_eq!(renamed.status, 200, "{renamed:?}");
    assert_eq!(renamed.json["name"], "Product");
    assert_eq!(renamed.json["id"], design.as_str());
    // The old name is free again; the new one is taken.
    b.group("Design").await;
    b.gateway
        .post(
            "/v1/orgs/demo/groups",
            Some(&b.admin_token),
            json!({"name": "product"}),
        )
        .await
        .assert_problem(409, "group_name_taken");
    let listed = b
        .gateway
        .get("/v1/orgs/demo/groups", Some(&b.admin_token))
        .await;
    let names: Vec<&str> = listed.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Product") && names.contains(&"Design"),
        "{names:?}"
    );
    b.gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/groups/0190f5a8b6c37d4e8f9a0b1c2d3e4f50",
            Some(&b.admin_token),
            Some(json!({"name": "Ghost"}).to_string()),
        )
        .await
        .assert_problem(404, "group_not_found");
}

async fn mine_lists_only_the_callers_groups(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    let sales = b.group("Sales").await;
    let email = b.email("designer");
    assert_eq!(
        b.invite(&email, "member", std::slice::from_ref(&design))
            .await
            .status,
        201
    );
    let token = b.sign_up_token(&email).await;
    let joined = b.sign_up(&token, "the cat sat on the mat").await;
    assert_eq!(joined.status, 201, "{joined:?}");
    let member = joined.json["token"].as_str().unwrap().to_string();
    let ids = |reply: &gatehouse_e2e::Reply| -> Vec<String> {
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_string())
            .collect()
    };
    // Every group of the organisation, then the member's own.
    let all = ids(&b.gateway.get("/v1/orgs/demo/groups", Some(&member)).await);
    assert!(all.contains(&design) && all.contains(&sales), "{all:?}");
    let mine = ids(&b
        .gateway
        .get("/v1/orgs/demo/groups?mine=true", Some(&member))
        .await);
    // Theirs: the group they were invited into and the organisation's default groups.
    let mut own: Vec<String> = joined.json["user"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    own.sort();
    let mut mine_sorted = mine.clone();
    mine_sorted.sort();
    assert_eq!(mine_sorted, own);
    assert!(mine.contains(&design) && !mine.contains(&sales), "{mine:?}");
    // The admin is in neither new group; `mine=false` is the whole list.
    let admins = ids(&b
        .gateway
        .get("/v1/orgs/demo/groups?mine=true", Some(&b.admin_token))
        .await);
    assert!(
        admins.len() < all.len() && !admins.contains(&design) && !admins.contains(&sales),
        "{admins:?}"
    );
    let unfiltered = ids(&b
        .gateway
        .get("/v1/orgs/demo/groups?mine=false", Some(&member))
        .await);
    assert_eq!(unfiltered.len(), all.len());
    b.gateway
        .get("/v1/orgs/demo/groups?mine=perhaps", Some(&member))
        .await
        .assert_problem(422, "invalid_query");
}

async fn admins_list_invitations_by_role_and_inviter(backend: Backend) {
    let b = Bundle::start(backend).await;
    let (member, member_id) = account(&b, "member", "member").await;
    set(&b, json!({"members_can_invite": true})).await;
    // The member invites a member and a guest; the admin a guest.
    let mut sent = Vec::new();
    for (token, name, role) in [
        (member.as_str(), "m-friend", "member"),
        (member.as_str(), "m-partner", "guest"),
        (b.admin_token.as_str(), "a-visitor", "guest"),
    ] {
        let reply = invite_as(&b, token, &b.email(name), role, &[]).await;
        assert_eq!(reply.status, 201, "{reply:?}");
        sent.push(reply.json["id"].as_str().unwrap().to_string());
        // Ids order by creation time (the test clock stands still otherwise).
        b.advance(std::time::Duration::from_secs(1));
    }
    let listed = |query: String| {
        let b = &b;
        async move {
            let reply = b
                .gateway
                .get(
                    &format!("/v1/orgs/demo/invitations?{query}"),
                    Some(&b.admin_token),
                )
                .await;
            assert_eq!(reply.status, 200, "{query}: {reply:?}");
            reply.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    // Newest first.
    assert_eq!(
        listed(format!("invited_by={member_id}")).await,
        [sent[1].clone(), sent[0].clone()]
    );
    assert_eq!(
        listed("role=guest".into()).await,
        [sent[2].clone(), sent[1].clone()]
    );
    assert_eq!(
        listed(format!(
            "role=guest&invited_by={member_id}&status=pending&kind=email"
        ))
        .await,
        [sent[1].clone()]
    );
    // The member's own invitation (as a member, accepted) is the admin's.
    let admins: Vec<String> = listed("role=member&status=accepted".into()).await;
    assert_eq!(admins.len(), 1, "{admins:?}");
    // Paged a row at a time.
    let first = b
        .gateway
        .get(
            "/v1/orgs/demo/invitations?role=guest&limit=1",
            Some(&b.admin_token),
        )
        .await;
    let cursor = first.json["next_cursor"]
        .as_str()
        .expect("a cursor")
        .to_string();
    assert_eq!(
        listed(format!("role=guest&limit=1&cursor={cursor}")).await,
        [sent[1].clone()]
    );
    for (query, code) in [
        ("role=admin", "invalid_role"),
        ("invited_by=someone", "invalid_user_id"),
    ] {
        b.gateway
            .get(
                &format!("/v1/orgs/demo/invitations?{query}"),
                Some(&b.admin_token),
            )
            .await
            .assert_problem(422, code);
    }
    // Only admins list.
    b.gateway
        .get(
            &format!("/v1/orgs/demo/invitations?invited_by={member_id}"),
            Some(&member),
        )
        .await
        .assert_problem(403, "forbidden");
}

async fn a_deleted_group_leaves_everyone_and_frees_its_name(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    let sales = b.group("Sales").await;
    let mut defaults = b.default_groups().await;
    defaults.push(design.clone());
    set(&b, json!({ "default_groups": defaults })).await;
    let link = b
        .gateway
        .post(
            "/v1/orgs/demo/invitation-link",
            Some(&b.admin_token),
            json!({"groups": [design, sales]}),
        )
        .await;
    assert_eq!(link.status, 201, "{link:?}");
    // A member in Design and Sales (and its group admin), and a pending invitation into both.
    let email = b.email("designer");
    let both = [design.clone(), sales.clone()];
    assert_eq!(b.invite(&email, "member", &both).await.status, 201);
    let token = b.sign_up_token(&email).await;
    let joined = b.sign_up(&token, "the cat sat on the mat").await;
    assert_eq!(joined.status, 201, "{joined:?}");
    let member = joined.json["token"].as_str().unwrap().to_string();
    let member_id = joined.json["user"]["id"].as_str().unwrap().to_string();
    let named = b
        .gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/groups/{design}/admins/{member_id}"),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(named.status, 200, "{named:?}");
    let pending = b.invite(&b.email("later"), "member", &both).await;
    assert_eq!(pending.status, 201, "{pending:?}");
    let pending_id = pending.json["id"].as_str().unwrap().to_string();

    // Not by members, not from another organisation.
    let path = format!("/v1/orgs/demo/groups/{design}");
    b.gateway
        .send("DELETE", &path, Some(&member), None)
        .await
        .assert_problem(403, "forbidden");
    // Another organisation's admin finds no such group in theirs, and has no session here.
    let stranger = b.other_org_admin().await;
    b.gateway
        .send(
            "DELETE",
            &format!("/v1/orgs/other/groups/{design}"),
            Some(&stranger),
            None,
        )
        .await
        .assert_problem(404, "group_not_found");
    b.gateway
        .send("DELETE", &path, Some(&stranger), None)
        .await
        .assert_problem(401, "unauthenticated");

    let deleted = b
        .gateway
        .send("DELETE", &path, Some(&b.admin_token), None)
        .await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    // Gone from the list, the defaults, the link, the pending invitation and the member.
    let groups = b
        .gateway
        .get("/v1/orgs/demo/groups", Some(&b.admin_token))
        .await;
    let ids: Vec<&str> = groups.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&design.as_str()) && ids.contains(&sales.as_str()));
    assert!(!b.default_groups().await.contains(&design));
    let shown = b
        .gateway
        .get("/v1/orgs/demo/invitation-link", Some(&b.admin_token))
        .await;
    assert_eq!(shown.json["groups"], json!([sales]), "{shown:?}");
    let invitation = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/invitations/{pending_id}"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(invitation.json["groups"], json!([sales]), "{invitation:?}");
    let users = b
        .gateway
        .get("/v1/orgs/demo/users", Some(&b.admin_token))
        .await;
    let account = users.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == member_id.as_str())
        .cloned()
        .expect("the member is listed");
    let member_groups: Vec<&str> = account["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(
        member_groups.contains(&sales.as_str()) && !member_groups.contains(&design.as_str()),
        "{account:?}"
    );
    // Its admin administers it no more; deleting it again finds nothing; its name is free.
    b.gateway
        .get(&format!("{path}/admins"), Some(&b.admin_token))
        .await
        .assert_problem(404, "group_not_found");
    b.gateway
        .send("DELETE", &path, Some(&b.admin_token), None)
        .await
        .assert_problem(404, "group_not_found");
    let renewed = b.group("design").await;
    assert_ne!(renewed, design);
}
