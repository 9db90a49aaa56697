//! People after onboarding, end to end on both backends: one user read (by admins, by the person,
//! by nobody else), roles changed with the last admin kept, deactivation that ends sessions at
//! once and refuses the right password, sign out everywhere, and group memberships after sign-up.

use gatehouse_e2e::{on_both_backends, Backend, Bundle, PASSWORD};
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    a_user_is_read_by_admins_and_by_themselves_only,
    roles_change_at_once_and_the_last_admin_stays,
    a_guest_leaves_the_default_groups_and_the_groups_they_administered,
    deactivation_ends_every_session_and_refuses_the_right_password,
    signing_out_everywhere_ends_every_session,
    members_are_added_and_removed_after_sign_up,
    group_admins_manage_their_groups_members_when_allowed,
    two_admins_demoting_each_other_leave_one_admin,
    a_deactivation_racing_a_sign_in_leaves_no_live_session,
    an_identifier_is_changed_and_the_old_one_is_free,
);

fn user_path(id: &str) -> String {
    format!("/v1/orgs/demo/users/{id}")
}

async fn patch(b: &Bundle, token: &str, path: &str, body: Value) -> gatehouse_e2e::Reply {
    b.gateway
        .send("PATCH", path, Some(token), Some(body.to_string()))
        .await
}

async fn me(b: &Bundle, token: &str) -> gatehouse_e2e::Reply {
    b.gateway.get("/v1/orgs/demo/session", Some(token)).await
}

async fn admin_id(b: &Bundle) -> String {
    me(b, &b.admin_token).await.json["user"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn a_user_is_read_by_admins_and_by_themselves_only(backend: Backend) {
    let b = Bundle::start(backend).await;
    let ada_account = b.account("ada", "member").await;
    let (ada, ada_id) = (ada_account.token.clone(), ada_account.id.clone());
    let bob_account = b.account("bob", "member").await;
    let (bob, _) = (bob_account.token.clone(), bob_account.id.clone());
    let read = b
        .gateway
        .get(&user_path(&ada_id), Some(&b.admin_token))
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json["email"], ada_account.email);
    assert_eq!(read.json["role"], "member");
    assert_eq!(read.json["status"], "active");
    assert_eq!(read.json["groups"], json!(b.default_groups().await));
    assert!(read.json["last_sign_in_at"].is_string(), "{read:?}");
    let own = b.gateway.get(&user_path(&ada_id), Some(&ada)).await;
    assert_eq!(own.status, 200, "{own:?}");
    assert_eq!(own.json["id"], ada_id);
    b.gateway
        .get(&user_path(&ada_id), Some(&bob))
        .await
        .assert_problem(403, "forbidden");
    let unknown = "0190f5a8b6c37d4e8f9a0b1c2d3e4f50";
    b.gateway
        .get(&user_path(unknown), Some(&b.admin_token))
        .await
        .assert_problem(404, "user_not_found");
    // Names are one's own to change; role and identifier only admins'.
    let renamed = patch(
        &b,
        &ada,
        &user_path(&ada_id),
        json!({"first_name": "Augusta"}),
    )
    .await;
    assert_eq!(renamed.json["first_name"], "Augusta", "{renamed:?}");
    patch(&b, &ada, &user_path(&ada_id), json!({"role": "admin"}))
        .await
        .assert_problem(403, "forbidden");
    patch(&b, &bob, &user_path(&ada_id), json!({"first_name": "X"}))
        .await
        .assert_problem(403, "forbidden");
    patch(
        &b,
        &b.admin_token,
        &user_path(&ada_id),
        json!({"role": "king"}),
    )
    .await
    .assert_problem(422, "invalid_role");
    patch(
        &b,
        &b.admin_token,
        &user_path(&ada_id),
        json!({"uid": "ada1"}),
    )
    .await
    .assert_problem(422, "user_has_email");
}

async fn roles_change_at_once_and_the_last_admin_stays(backend: Backend) {
    let b = Bundle::start(backend).await;
    let root = admin_id(&b).await;
    // Alone, the admin can neither step down nor be deactivated.
    patch(
        &b,
        &b.admin_token,
        &user_path(&root),
        json!({"role": "member"}),
    )
    .await
    .assert_problem(409, "last_admin");
    b.gateway
        .post(
            &format!("{}/deactivate", user_path(&root)),
            Some(&b.admin_token),
            json!({}),
        )
        .await
        .assert_problem(409, "last_admin");
    let bob_account = b.account("bob", "member").await;
    let (bob, bob_id) = (bob_account.token.clone(), bob_account.id.clone());
    b.gateway
        .get("/v1/orgs/demo/users", Some(&bob))
        .await
        .assert_problem(403, "forbidden");
    let promoted = patch(
        &b,
        &b.admin_token,
        &user_path(&bob_id),
        json!({"role": "admin"}),
    )
    .await;
    assert_eq!(promoted.json["role"], "admin", "{promoted:?}");
    // Bob's session, opened as a member, acts as an admin at once.
    let listed = b.gateway.get("/v1/orgs/demo/users", Some(&bob)).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    // Now the first admin may step down, and their session is a member's from then on.
    let stepped = patch(
        &b,
        &b.admin_token,
        &user_path(&root),
        json!({"role": "member"}),
    )
    .await;
    assert_eq!(stepped.json["role"], "member", "{stepped:?}");
    b.gateway
        .get("/v1/orgs/demo/users", Some(&b.admin_token))
        .await
        .assert_problem(403, "forbidden");
    patch(&b, &bob, &user_path(&bob_id), json!({"role": "guest"}))
        .await
        .assert_problem(409, "last_admin");
    let events = events_of(&b, &bob, "user.role_changed").await;
    assert_eq!(events.len(), 2, "{events:?}");
}

/// The events of one type in the log, once it has settled.
async fn events_of(b: &Bundle, admin: &str, kind: &str) -> Vec<Value> {
    b.advance(Duration::from_secs(11));
    let reply = b
        .gateway
        .get(&format!("/v1/orgs/demo/events?type={kind}"), Some(admin))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json["items"].as_array().unwrap().clone()
}

async fn a_guest_leaves_the_default_groups_and_the_groups_they_administered(backend: Backend) {
    let b = Bundle::start(backend).await;
    let defaults = b.default_groups().await;
    let red = b.group("Red").await;
    let cat_account = b.account("cat", "member").await;
    let (_, cat_id) = (cat_account.token.clone(), cat_account.id.clone());
    let put = |path: String| {
        let b = &b;
        async move {
            b.gateway
                .send("PUT", &path, Some(&b.admin_token), None)
                .await
        }
    };
    let joined = put(format!("/v1/orgs/demo/groups/{red}/members/{cat_id}")).await;
    assert_eq!(joined.status, 200, "{joined:?}");
    let named = put(format!("/v1/orgs/demo/groups/{red}/admins/{cat_id}")).await;
    assert_eq!(named.status, 200, "{named:?}");
    let guest = patch(
        &b,
        &b.admin_token,
        &user_path(&cat_id),
        json!({"role": "guest"}),
    )
    .await;
    assert_eq!(guest.json["role"], "guest", "{guest:?}");
    assert_eq!(
        guest.json["groups"],
        json!([red.clone()]),
        "kept Red, left the defaults"
    );
    let admins = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/groups/{red}/admins"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(admins.json["admins"], json!([]), "{admins:?}");
    let member = patch(
        &b,
        &b.admin_token,
        &user_path(&cat_id),
        json!({"role": "member"}),
    )
    .await;
    let mut expected = vec![red.clone()];
    expected.extend(defaults);
    assert_eq!(
        member.json["groups"],
        json!(expected),
        "joined the defaults again"
    );
}

async fn deactivation_ends_every_session_and_refuses_the_right_password(backend: Backend) {
    let b = Bundle::start(backend).await;
    let carol_account = b.account("carol", "member").await;
    let (carol, carol_id) = (carol_account.token.clone(), carol_account.id.clone());
    let email = carol_account.email.clone();
    let second = b.sign_in(&email, PASSWORD).await;
    assert_eq!(second.status, 200, "{second:?}");
    let second = second.json["token"].as_str().unwrap().to_string();
    let path = format!("{}/deactivate", user_path(&carol_id));
    let dave_account = b.account("dave", "member").await;
    let (tok, _) = (dave_account.token.clone(), dave_account.id.clone());
    b.gateway
        .post(&path, Some(&tok), json!({}))
        .await
        .assert_problem(403, "forbidden");
    let off = b.gateway.post(&path, Some(&b.admin_token), json!({})).await;
    assert_eq!(off.status, 200, "{off:?}");
    assert_eq!(off.json["status"], "deactivated");
    assert!(off.json["deactivated_at"].is_string());
    let again = b.gateway.post(&path, Some(&b.admin_token), json!({})).await;
    assert_eq!(again.json, off.json, "twice is once");
    for token in [&carol, &second] {
        me(&b, token).await.assert_problem(401, "unauthenticated");
    }
    b.sign_in(&email, PASSWORD)
        .await
        .assert_problem(403, "account_deactivated");
    b.sign_in(&email, "not the password at all")
        .await
        .assert_problem(401, "invalid_credentials");
    let mails_before = b.mailbox.messages_to(&email).await.len();
    let reset = b
        .gateway
        .post(
            "/v1/orgs/demo/password-reset",
            None,
            json!({"email": email}),
        )
        .await;
    assert_eq!(reset.status, 202, "{reset:?}");
    assert_eq!(
        b.mailbox.messages_to(&email).await.len(),
        mails_before,
        "no mail"
    );
    let listed = b
        .gateway
        .get(
            "/v1/orgs/demo/users?status=deactivated",
            Some(&b.admin_token),
        )
        .await;
    let ids: Vec<&str> = listed.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![carol_id.as_str()], "{listed:?}");
    let on = b
        .gateway
        .post(
            &format!("{}/reactivate", user_path(&carol_id)),
            Some(&b.admin_token),
            json!({}),
        )
        .await;
    assert_eq!(on.json["status"], "active", "{on:?}");
    me(&b, &carol).await.assert_problem(401, "unauthenticated");
    let back = b.sign_in(&email, PASSWORD).await;
    assert_eq!(back.status, 200, "{back:?}");
    for kind in ["user.deactivated", "user.reactivated"] {
        assert_eq!(events_of(&b, &b.admin_token, kind).await.len(), 1, "{kind}");
    }
}

async fn signing_out_everywhere_ends_every_session(backend: Backend) {
    let b = Bundle::start(backend).await;
    let erin_account = b.account("erin", "member").await;
    let (erin, erin_id) = (erin_account.token.clone(), erin_account.id.clone());
    let frank_account = b.account("frank", "member").await;
    let (frank, _) = (frank_account.token.clone(), frank_account.id.clone());
    let other = b.sign_in(&erin_account.email, PASSWORD).await.json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("{}/sessions", user_path(&erin_id));
    b.gateway
        .send("DELETE", &path, Some(&frank), None)
        .await
        .assert_problem(403, "forbidden");
    let ended = b.gateway.send("DELETE", &path, Some(&erin), None).await;
    assert_eq!(ended.status, 200, "{ended:?}");
    assert_eq!(ended.json["ended"], 2);
    for token in [&erin, &other] {
        me(&b, token).await.assert_problem(401, "unauthenticated");
    }
    // An admin signs a stolen laptop out.
    let laptop = b.sign_in(&erin_account.email, PASSWORD).await.json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let ended = b
        .gateway
        .send("DELETE", &path, Some(&b.admin_token), None)
        .await;
    assert_eq!(ended.json["ended"], 1, "{ended:?}");
    me(&b, &laptop).await.assert_problem(401, "unauthenticated");
    assert_eq!(
        events_of(&b, &b.admin_token, "user.signed_out").await.len(),
        2
    );
}

async fn members_are_added_and_removed_after_sign_up(backend: Backend) {
    let b = Bundle::start(backend).await;
    let red = b.group("Red").await;
    let gus_account = b.account("gus", "guest").await;
    let (_, gus_id) = (gus_account.token.clone(), gus_account.id.clone());
    let hal_account = b.account("hal", "member").await;
    let (_, hal_id) = (hal_account.token.clone(), hal_account.id.clone());
    let member_path = |user: &str| format!("/v1/orgs/demo/groups/{red}/members/{user}");
    for id in [&gus_id, &hal_id, &gus_id] {
        let put = b
            .gateway
            .send("PUT", &member_path(id), Some(&b.admin_token), None)
            .await;
        assert_eq!(put.status, 200, "{put:?}");
        assert!(put.json["groups"].as_array().unwrap().contains(&json!(red)));
    }
    let members = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/groups/{red}/members"),
            Some(&b.admin_token),
        )
        .await;
    let mut ids: Vec<&str> = members.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![gus_id.as_str(), hal_id.as_str()];
    expected.sort();
    assert_eq!(ids, expected, "added twice, listed once");
    // The list filters by group, role and a name's beginning.
    let filtered = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/users?group={red}&role=guest"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(
        filtered.json["items"].as_array().unwrap().len(),
        1,
        "{filtered:?}"
    );
    assert_eq!(filtered.json["items"][0]["id"], gus_id);
    let found = b
        .gateway
        .get("/v1/orgs/demo/users?q=HAL", Some(&b.admin_token))
        .await;
    let found: Vec<&str> = found.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(found, vec![hal_id.as_str()], "by email, once");
    let removed = b
        .gateway
        .send("DELETE", &member_path(&gus_id), Some(&b.admin_token), None)
        .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    assert!(!removed.json["groups"]
        .as_array()
        .unwrap()
        .contains(&json!(red)));
    b.gateway
        .send("PUT", "/v1/orgs/demo/groups/0190f5a8b6c37d4e8f9a0b1c2d3e4f50/members/0190f5a8b6c37d4e8f9a0b1c2d3e4f51", Some(&b.admin_token), None)
        .await
        .assert_problem(404, "group_not_found");
    b.gateway
        .send(
            "PUT",
            &member_path("0190f5a8b6c37d4e8f9a0b1c2d3e4f51"),
            Some(&b.admin_token),
            None,
        )
        .await
        .assert_problem(404, "user_not_found");
    let events = events_of(&b, &b.admin_token, "group.member_added").await;
    assert_eq!(
        events.len(),
        2,
        "the second addition changed nothing: {events:?}"
    );
}

async fn group_admins_manage_their_groups_members_when_allowed(backend: Backend) {
    let b = Bundle::start(backend).await;
    let (red, blue) = (b.group("Red").await, b.group("Blue").await);
    let ivy_account = b.account("ivy", "member").await;
    let (ivy, ivy_id) = (ivy_account.token.clone(), ivy_account.id.clone());
    let jon_account = b.account("jon", "member").await;
    let (_, jon_id) = (jon_account.token.clone(), jon_account.id.clone());
    let named = b
        .gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/groups/{red}/admins/{ivy_id}"),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(named.status, 200, "{named:?}");
    let add = |group: &str| format!("/v1/orgs/demo/groups/{group}/members/{jon_id}");
    b.gateway
        .send("PUT", &add(&red), Some(&ivy), None)
        .await
        .assert_problem(403, "forbidden");
    b.change_settings(json!({"group_admins_can_invite": true}))
        .await;
    let added = b.gateway.send("PUT", &add(&red), Some(&ivy), None).await;
    assert_eq!(added.status, 200, "{added:?}");
    b.gateway
        .send("PUT", &add(&blue), Some(&ivy), None)
        .await
        .assert_problem(403, "forbidden");
}

async fn two_admins_demoting_each_other_leave_one_admin(backend: Backend) {
    let b = Bundle::start(backend).await;
    let root = admin_id(&b).await;
    let kim_account = b.account("kim", "member").await;
    let (kim, kim_id) = (kim_account.token.clone(), kim_account.id.clone());
    let promoted = patch(
        &b,
        &b.admin_token,
        &user_path(&kim_id),
        json!({"role": "admin"}),
    )
    .await;
    assert_eq!(promoted.status, 200, "{promoted:?}");
    let demote = json!({"role": "member"});
    let (kim_path, root_path) = (user_path(&kim_id), user_path(&root));
    let (a, k) = tokio::join!(
        patch(&b, &b.admin_token, &kim_path, demote.clone()),
        patch(&b, &kim, &root_path, demote.clone()),
    );
    let landed = [&a, &k].iter().filter(|r| r.status == 200).count();
    assert_eq!(landed, 1, "{a:?} {k:?}");
    for refused in [&a, &k].iter().filter(|r| r.status != 200) {
        assert_eq!(refused.status, 409, "{refused:?}");
        assert!(
            ["last_admin", "user_changed"].contains(&refused.code()),
            "{refused:?}"
        );
    }
    let admins = b
        .gateway
        .get(
            "/v1/orgs/demo/users?role=admin",
            Some(if a.status == 200 {
                &b.admin_token
            } else {
                &kim
            }),
        )
        .await;
    assert_eq!(
        admins.json["items"].as_array().unwrap().len(),
        1,
        "{admins:?}"
    );
}

async fn a_deactivation_racing_a_sign_in_leaves_no_live_session(backend: Backend) {
    let b = Bundle::start(backend).await;
    let lou_account = b.account("lou", "member").await;
    let (_, lou_id) = (lou_account.token.clone(), lou_account.id.clone());
    let email = lou_account.email.clone();
    let path = format!("{}/deactivate", user_path(&lou_id));
    for _ in 0..4 {
        let (signed_in, off) = tokio::join!(
            b.sign_in(&email, PASSWORD),
            b.gateway.post(&path, Some(&b.admin_token), json!({})),
        );
        assert_eq!(off.status, 200, "{off:?}");
        match signed_in.status {
            200 => {
                let token = signed_in.json["token"].as_str().unwrap();
                me(&b, token).await.assert_problem(401, "unauthenticated");
            }
            _ => signed_in.assert_problem(403, "account_deactivated"),
        }
        let on = b
            .gateway
            .post(
                &format!("{}/reactivate", user_path(&lou_id)),
                Some(&b.admin_token),
                json!({}),
            )
            .await;
        assert_eq!(on.status, 200, "{on:?}");
    }
}

async fn an_identifier_is_changed_and_the_old_one_is_free(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    let invited = b.invite_uid("E1234", "member", &[]).await;
    assert_eq!(invited.status, 201, "{invited:?}");
    let code = invited.json["access_code"].as_str().unwrap().to_string();
    let signed_up = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-up/access-code",
            None,
            json!({ "access_code": code, "password": PASSWORD }),
        )
        .await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    let id = signed_up.json["user"]["id"].as_str().unwrap().to_string();
    let other = b.invite_uid("E9999", "member", &[]).await;
    assert_eq!(other.status, 201, "{other:?}");
    patch(&b, &b.admin_token, &user_path(&id), json!({"uid": "e9999"}))
        .await
        .assert_problem(409, "uid_taken");
    let changed = patch(&b, &b.admin_token, &user_path(&id), json!({"uid": "E5678"})).await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.json["sign_in_identifier"], "E5678:demo");
    assert_eq!(b.sign_in("E5678:demo", PASSWORD).await.status, 200);
    b.sign_in("E1234:demo", PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    // The old identifier is free at once.
    assert_eq!(b.invite_uid("E1234", "member", &[]).await.status, 201);
    b.advance(Duration::from_secs(11));
    let log = b
        .gateway
        .get(
            "/v1/orgs/demo/events?type=user.uid_changed",
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(log.json["items"].as_array().unwrap().len(), 1, "{log:?}");
}
