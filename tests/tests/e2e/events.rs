//! The organisation's event log, end to end on both backends: a story told through the API is
//! read back from `GET /v1/orgs/{org}/events` in order, each change once with who made it and
//! the resource as the API shows it; paging, filters and the settling delay; who may read it;
//! bad queries; and that no event carries a password, token, access code or session.

use std::time::Duration;

use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, ADMIN_PASSWORD};
use serde_json::{json, Value};

on_both_backends!(
    a_story_is_read_back_in_order_with_who_did_what,
    the_log_pages_filters_and_settles,
    only_admins_of_the_organisation_read_it_and_bad_queries_are_refused,
    no_event_carries_a_secret_of_the_story,
    the_activity_page_shows_who_did_what_filters_and_downloads_it,
);

const SECOND: Duration = Duration::from_secs(1);

/// Events of one second sort by their random bits: each step of a story gets its own second.
fn tick(b: &Bundle) {
    b.advance(SECOND);
}

/// Every event of the log, settled (the clock moved past the settling delay), `limit` a page.
async fn the_log(b: &Bundle, query: &str, limit: usize) -> Vec<Value> {
    b.advance(Duration::from_secs(11));
    let mut all = Vec::new();
    let mut after = String::new();
    loop {
        let reply = b
            .gateway
            .get(
                &format!("/v1/orgs/demo/events?limit={limit}{query}{after}"),
                Some(&b.admin_token),
            )
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let items = reply.json["items"].as_array().unwrap().clone();
        assert!(items.len() <= limit);
        all.extend(items);
        if reply.json["has_more"] != json!(true) {
            return all;
        }
        after = format!("&after={}", reply.json["next_cursor"].as_str().unwrap());
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// The admin's user id.
async fn admin_id(b: &Bundle) -> String {
    let me = b
        .gateway
        .get("/v1/orgs/demo/session", Some(&b.admin_token))
        .await;
    me.json["user"]["id"].as_str().unwrap().to_string()
}

async fn a_story_is_read_back_in_order_with_who_did_what(backend: Backend) {
    let b = Bundle::start(backend).await;
    let admin = admin_id(&b).await;
    let start = the_log(&b, "", 100).await;
    assert_eq!(
        types(&start),
        ["group.created", "user.created", "user.signed_in"],
        "the organisation's making, and its admin signing in"
    );
    tick(&b);
    let design = b.group("Design").await;
    tick(&b);
    let alice = b.email("alice");
    let invited = b
        .invite(&alice, "member", std::slice::from_ref(&design))
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    let invitation = invited.json["id"].as_str().unwrap().to_string();
    let shown = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/invitations/{invitation}"),
            Some(&b.admin_token),
        )
        .await;
    tick(&b);
    let token = b.sign_up_token(&alice).await;
    let signed_up = b.sign_up(&token, "orchard lantern seventeen").await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    let alice_id = signed_up.json["user"]["id"].as_str().unwrap().to_string();
    tick(&b);
    let signed_in = b
        .sign_in_from("198.51.100.7", &alice, "orchard lantern seventeen")
        .await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    tick(&b);
    let wrong = b
        .sign_in_from("198.51.100.8", &alice, "not her passphrase")
        .await;
    assert_eq!(wrong.status, 401);
    // A wrong password for nobody's account is nobody's event.
    let nobody = b.email("nobody");
    assert_eq!(b.sign_in(&nobody, "whatever it is").await.status, 401);
    tick(&b);
    b.change_settings(json!({ "invitation_ttl_days": 10 }))
        .await;
    tick(&b);
    let renamed = b
        .gateway
        .send(
            "PATCH",
            &format!("/v1/orgs/demo/groups/{design}"),
            Some(&b.admin_token),
            Some(json!({ "name": "Product design" }).to_string()),
        )
        .await;
    assert_eq!(renamed.status, 200, "{renamed:?}");
    tick(&b);
    let made_admin = b
        .gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/groups/{design}/admins/{alice_id}"),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert!(made_admin.status < 300, "{made_admin:?}");
    tick(&b);
    let bob = b.email("bob");
    let bob_invited = b.invite(&bob, "guest", &[]).await;
    let bob_invitation = bob_invited.json["id"].as_str().unwrap().to_string();
    tick(&b);
    assert!(b.revoke(&bob_invitation).await.status < 300);
    tick(&b);
    let export = b
        .gateway
        .post("/v1/orgs/demo/exports", Some(&b.admin_token), json!({}))
        .await;
    assert_eq!(export.status, 201, "{export:?}");

    let log = the_log(&b, "", 100).await;
    assert_eq!(log[..3], start);
    let story = &log[3..];
    assert_eq!(
        types(story),
        [
            "group.created",
            "invitation.created",
            "invitation.sent",
            "invitation.accepted",
            "user.created",
            "user.signed_in",
            "user.sign_in_failed",
            "settings.updated",
            "group.renamed",
            "group.admin_added",
            "invitation.created",
            "invitation.sent",
            "invitation.revoked",
            "export.created",
        ]
    );
    let ids: Vec<&str> = log.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
    let actor = |n: usize| story[n]["actor"]["user_id"].clone();
    let by_admin = json!(admin);
    for n in [0, 1, 7, 8, 9, 10, 12, 13] {
        assert_eq!(actor(n), by_admin, "{}", story[n]);
    }
    // Gatehouse mailed it; the invitee accepted and signed in herself.
    for n in [2, 3, 4, 5, 6, 11] {
        assert_eq!(actor(n), Value::Null, "{}", story[n]);
    }
    assert_eq!(story[5]["actor"]["client_address"], "198.51.100.7");
    assert_eq!(story[6]["actor"]["client_address"], "198.51.100.8");
    assert!(story[0]["actor"].get("client_address").is_none());

    // The data is the resource as the API shows it (without secrets).
    let created = &story[1]["data"];
    assert_eq!(created["id"], json!(invitation));
    assert_eq!(created["email"], json!(alice.to_lowercase()));
    assert_eq!(created["groups"], json!([design]));
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(created), keys(&shown.json), "the API's invitation");
    assert_eq!(story[2]["data"]["delivery"], "sent");
    assert_eq!(story[3]["data"]["status"], "accepted");
    assert_eq!(story[3]["data"]["accepted_user_id"], json!(alice_id));
    assert_eq!(story[4]["data"], signed_up.json["user"], "the API's user");
    assert_eq!(story[5]["data"]["id"], json!(alice_id));
    assert_eq!(story[7]["data"]["invitation_ttl_days"], 10);
    assert_eq!(story[8]["data"]["name"], "Product design");
    assert_eq!(story[9]["data"]["user_id"], json!(alice_id));
    assert_eq!(story[12]["data"]["status"], "revoked");
    assert_eq!(story[13]["data"]["export_id"], export.json["export_id"]);
    assert_eq!(story[13]["data"]["invitations"], 2);
    for event in story {
        assert!(event["occurred_at"].as_str().unwrap().ends_with('Z'));
    }
}

async fn the_log_pages_filters_and_settles(backend: Backend) {
    let b = Bundle::start(backend).await;
    let admin = admin_id(&b).await;
    let mut invited = Vec::new();
    for n in 0..5 {
        tick(&b);
        let email = b.email(&format!("p{n}"));
        assert_eq!(b.invite(&email, "member", &[]).await.status, 201);
        invited.push(email);
    }
    tick(&b);
    let wrong = b.sign_in(&b.admin_email, "a wrong passphrase").await;
    assert_eq!(wrong.status, 401);
    let whole = the_log(&b, "", 500).await;
    assert_eq!(whole.len(), 3 + 5 * 2 + 1);
    // Any page size reads the same log, each event once.
    for limit in [1, 2, 3, 7] {
        assert_eq!(the_log(&b, "", limit).await, whole, "pages of {limit}");
    }
    // Past the end: nothing, and the cursor stays where it was for the next poll.
    let last = whole.last().unwrap()["id"].as_str().unwrap();
    let end = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/events?after={last}"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(end.json["items"], json!([]));
    assert_eq!(end.json["next_cursor"], last);
    assert_eq!(end.json["has_more"], false);

    // Filters: by type, by actor, by person.
    let failed = the_log(&b, "&type=user.sign_in_failed,user.locked", 2).await;
    assert_eq!(types(&failed), ["user.sign_in_failed"]);
    assert_eq!(
        failed[0]["data"]["email"],
        json!(b.admin_email.to_lowercase())
    );
    let by_admin = the_log(&b, &format!("&actor={admin}"), 3).await;
    assert_eq!(by_admin.len(), 5, "the five invitations");
    assert!(by_admin.iter().all(|e| e["type"] == "invitation.created"));
    let about = the_log(&b, &format!("&person={}", invited[2].to_uppercase()), 100).await;
    assert_eq!(types(&about), ["invitation.created", "invitation.sent"]);
    assert!(about
        .iter()
        .all(|e| e["data"]["email"] == json!(invited[2].to_lowercase())));

    // What happened in the last 10 seconds is not shown yet.
    let email = b.email("late");
    assert_eq!(b.invite(&email, "member", &[]).await.status, 201);
    let now = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/events?after={last}"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(now.json["items"], json!([]), "not settled");
    b.advance(Duration::from_secs(11));
    let later = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/events?after={last}"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(
        types(later.json["items"].as_array().unwrap()),
        ["invitation.created", "invitation.sent"]
    );
}

async fn only_admins_of_the_organisation_read_it_and_bad_queries_are_refused(backend: Backend) {
    let b = Bundle::start(backend).await;
    let member = b.email("member");
    assert_eq!(b.invite(&member, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&member).await;
    let signed_up = b.sign_up(&token, "a member's passphrase").await;
    let member_token = signed_up.json["token"].as_str().unwrap().to_string();
    b.gateway
        .get("/v1/orgs/demo/events", Some(&member_token))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .get("/v1/orgs/demo/events", None)
        .await
        .assert_problem(401, "unauthenticated");
    // Authentication comes before the query is looked at.
    b.gateway
        .get("/v1/orgs/demo/events?limit=0", None)
        .await
        .assert_problem(401, "unauthenticated");
    let other = b.other_org_admin().await;
    b.gateway
        .get("/v1/orgs/demo/events", Some(&other))
        .await
        .assert_problem(401, "unauthenticated");
    b.advance(Duration::from_secs(11));
    let theirs = b.gateway.get("/v1/orgs/other/events", Some(&other)).await;
    assert_eq!(theirs.status, 200, "{theirs:?}");
    let their_events = theirs.json["items"].as_array().unwrap();
    assert!(their_events
        .iter()
        .all(|e| !e.to_string().contains(&member.to_lowercase())));
    assert_eq!(
        their_events.len(),
        3,
        "their making and their admin's sign-in"
    );

    for (query, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=501", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("after=not-a-cursor", "invalid_cursor"),
        ("type=user.nope", "invalid_event_type"),
        ("type=invitation.created,", "ok"),
        ("colour=blue", "invalid_query"),
    ] {
        let reply = b
            .gateway
            .get(
                &format!("/v1/orgs/demo/events?{query}"),
                Some(&b.admin_token),
            )
            .await;
        if code == "ok" {
            assert_eq!(reply.status, 200, "{query}: {reply:?}");
        } else {
            reply.assert_problem(422, code);
        }
    }
}

async fn no_event_carries_a_secret_of_the_story(backend: Backend) {
    let b = Bundle::start(backend).await;
    let mut secrets = vec![ADMIN_PASSWORD.to_string(), b.admin_token.clone()];
    // An email invitation's link, accepted with a password.
    let alice = b.email("alice");
    assert_eq!(b.invite(&alice, "member", &[]).await.status, 201);
    let link = b.sign_up_token(&alice).await;
    let signed_up = b.sign_up(&link, "orchard lantern seventeen").await;
    secrets.extend([
        link,
        "orchard lantern seventeen".into(),
        signed_up.json["token"].as_str().unwrap().into(),
    ]);
    // An access code, redeemed; a password set by an admin.
    b.set_without_email(true).await;
    let by_uid = b.invite_uid("E0042", "member", &[]).await;
    let code = by_uid.json["access_code"].as_str().unwrap().to_string();
    let redeemed = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-up/access-code",
            None,
            json!({ "access_code": code, "password": "copper meadow twelve" }),
        )
        .await;
    assert_eq!(redeemed.status, 201, "{redeemed:?}");
    let erin = redeemed.json["user"]["id"].as_str().unwrap().to_string();
    let set = b
        .gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/users/{erin}/password"),
            Some(&b.admin_token),
            Some(json!({ "password": "a password an admin set" }).to_string()),
        )
        .await;
    assert!(set.status < 300, "{set:?}");
    secrets.extend([
        code.replace('-', ""),
        code,
        "copper meadow twelve".into(),
        "a password an admin set".into(),
        redeemed.json["token"].as_str().unwrap().into(),
    ]);
    // A password reset, and the invitation link.
    let asked = b
        .gateway
        .post(
            "/v1/orgs/demo/password-reset",
            None,
            json!({ "email": alice }),
        )
        .await;
    assert_eq!(asked.status, 202);
    let reset = b.sign_up_token(&alice).await;
    let confirmed = b
        .gateway
        .post(
            "/v1/orgs/demo/password-reset/confirm",
            None,
            json!({ "token": reset, "password": "harbour violet ninety" }),
        )
        .await;
    assert_eq!(confirmed.status, 204, "{confirmed:?}");
    secrets.extend([reset, "harbour violet ninety".into()]);
    let link_on = b
        .gateway
        .post(
            "/v1/orgs/demo/invitation-link",
            Some(&b.admin_token),
            json!({}),
        )
        .await;
    assert_eq!(link_on.status, 201, "{link_on:?}");
    let url = link_on.json["url"].as_str().unwrap();
    secrets.push(url.rsplit("token=").next().unwrap().to_string());
    let wrong: Reply = b.sign_in(&alice, "a guessed passphrase").await;
    assert_eq!(wrong.status, 401);
    secrets.push("a guessed passphrase".into());

    let log = the_log(&b, "", 500).await;
    for kind in [
        "user.password_changed",
        "invitation_link.activated",
        "user.sign_in_failed",
        "invitation.accepted",
    ] {
        assert!(types(&log).contains(&kind), "{kind} in {:?}", types(&log));
    }
    let text = serde_json::to_string(&log).unwrap();
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(!text.contains(secret.as_str()), "{secret} is in the log");
    }
    // A password change is a security event: it says where from (the admin's for Erin, the
    // reset link's holder's for Alice).
    let changed: Vec<&Value> = log
        .iter()
        .filter(|e| e["type"] == "user.password_changed")
        .collect();
    assert_eq!(changed.len(), 2);
    assert!(changed
        .iter()
        .all(|e| e["actor"]["client_address"] == gatehouse_e2e::DEFAULT_CLIENT));
    assert!(
        changed[0]["actor"]["user_id"].is_string(),
        "an admin set Erin's"
    );
    assert!(
        changed[1]["actor"]["user_id"].is_null(),
        "Alice reset her own"
    );
    let link_event = log
        .iter()
        .find(|e| e["type"] == "invitation_link.activated")
        .unwrap();
    assert!(link_event["data"]["url"].is_null(), "{link_event}");
    let uid_invitation = log
        .iter()
        .find(|e| e["type"] == "invitation.created" && e["data"]["kind"] == "uid")
        .unwrap();
    assert!(uid_invitation["data"]["access_code"].is_null());
}

async fn the_activity_page_shows_who_did_what_filters_and_downloads_it(backend: Backend) {
    let b = Bundle::start(backend).await;
    let carol = b.email("carol");
    tick(&b);
    assert_eq!(b.invite(&carol, "member", &[]).await.status, 201);
    tick(&b);
    let wrong = b
        .sign_in_from("203.0.113.9", &b.admin_email, "not the passphrase")
        .await;
    assert_eq!(wrong.status, 401);
    b.advance(Duration::from_secs(11));

    let mut admin =
        gatehouse_e2e::pages::signed_in(&b, &b.admin_email, gatehouse_e2e::ADMIN_PASSWORD).await;
    let page = admin.get("/demo/admin/activity").await;
    assert_eq!(page.status, 200, "{page:?}");
    gatehouse_e2e::pages::assert_page_headers(&page);
    // (The types are also the filter's options: the table's cells are `<code>`.)
    let cell = |kind: &str| format!("<code>{kind}</code>");
    for shown in [
        cell("invitation.created").as_str(),
        &cell("invitation.sent"),
        &cell("user.sign_in_failed"),
        "Ada Admin",
        "203.0.113.9",
        &carol.to_lowercase(),
    ] {
        assert!(page.text.contains(shown), "{shown} in the page");
    }
    // Filtered to failed sign-ins: the invitation is not there.
    let failed = admin
        .get("/demo/admin/activity?type=user.sign_in_failed")
        .await;
    assert!(failed.text.contains("203.0.113.9"));
    assert!(!failed.text.contains(&carol.to_lowercase()));
    assert!(!failed.text.contains(&cell("invitation.created")));
    let about = admin
        .get(&format!(
            "/demo/admin/activity?person={}",
            carol.to_uppercase()
        ))
        .await;
    assert!(about.text.contains(&cell("invitation.sent")));
    assert!(!about.text.contains(&cell("user.sign_in_failed")));

    // The download is the same filtered log, read back by the spreadsheet reader.
    let file = b
        .gateway
        .raw_from(
            "198.51.100.7",
            "GET",
            "/demo/admin/activity/export?type=user.sign_in_failed",
            admin.headers(),
            None,
        )
        .await;
    assert_eq!(file.status, 200, "{file:?}");
    assert!(file
        .header("content-disposition")
        .is_some_and(|d| d.contains("gatehouse-activity.xlsx")));
    let text: Vec<String> = {
        use calamine::Reader;
        let mut book =
            calamine::open_workbook_auto_from_rs(std::io::Cursor::new(file.bytes.clone()))
                .expect("the download opens");
        let range = book.worksheet_range("Activity").expect("an Activity sheet");
        range
            .rows()
            .skip(1)
            .map(|r| {
                r.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    };
    assert_eq!(text.len(), 1, "{text:?}");
    assert!(text[0].contains("user.sign_in_failed") && text[0].contains("203.0.113.9"));

    // Members see none of it.
    let member = b.email("member");
    assert_eq!(b.invite(&member, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&member).await;
    assert_eq!(b.sign_up(&token, "a member's passphrase").await.status, 201);
    let mut someone = gatehouse_e2e::pages::signed_in(&b, &member, "a member's passphrase").await;
    assert_eq!(someone.get("/demo/admin/activity").await.status, 403);
    let refused = b
        .gateway
        .raw_from(
            "198.51.100.7",
            "GET",
            "/demo/admin/activity/export",
            someone.headers(),
            None,
        )
        .await;
    assert_eq!(refused.status, 403);
}
