//! The organisation's invitation link end to end, on both backends: activated by an admin,
//! checked without being used, registered through (a confirmation mailed, its link signs up),
//! deactivated and replaced (old links stay dead), limited by expiry and uses (one use left and
//! twenty registrations at once: exactly one), and telling nobody who is registered already;
//! self-registration the same way, while the organisation allows it.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply};
use serde_json::{json, Value};

on_both_backends!(
    a_visitor_registers_through_the_link_and_joins,
    deactivated_and_replaced_links_stay_dead,
    a_link_past_its_expiry_or_its_uses_is_refused,
    twenty_registrations_on_the_last_use_make_one,
    a_registered_address_is_answered_alike_and_sent_nothing,
    only_admins_of_this_organisation_manage_the_link,
    self_registration_confirms_the_address_and_is_refused_while_off,
    one_client_registers_a_few_people_then_waits,
);

async fn activate(b: &Bundle, body: Value) -> Reply {
    b.gateway
        .post("/v1/orgs/demo/invitation-link", Some(&b.admin_token), body)
        .await
}

fn token_of(url: &str) -> String {
    url.split("token=")
        .nth(1)
        .expect("a token in the link")
        .to_string()
}

async fn register(b: &Bundle, token: &str, email: &str) -> Reply {
    b.gateway
        .post(
            "/v1/orgs/demo/sign-up/link",
            None,
            json!({"token": token, "email": email, "first_name": "Vera", "last_name": "Visitor"}),
        )
        .await
}

async fn a_visitor_registers_through_the_link_and_joins(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    let activated = activate(&b, json!({"groups": [design]})).await;
    assert_eq!(activated.status, 201, "{activated:?}");
    let url = activated.json["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with("https://app.gatehouse.test/demo/join?token="),
        "{url}"
    );
    assert_eq!(activated.json["uses"], 0);
    assert_eq!(activated.json["role"], "member");
    let token = token_of(&url);

    // Checking (a mail scanner, a page opening) uses nothing.
    for _ in 0..3 {
        let checked = b
            .gateway
            .post(
                "/v1/orgs/demo/sign-up/link/check",
                None,
                json!({"token": token}),
            )
            .await;
        assert_eq!(checked.status, 200, "{checked:?}");
        assert_eq!(checked.json["role"], "member");
    }
    let shown = b
        .gateway
        .get("/v1/orgs/demo/invitation-link", Some(&b.admin_token))
        .await;
    assert_eq!(shown.json["uses"], 0);
    assert_eq!(shown.json["url"], url.as_str(), "admins can copy it again");

    let vera = b.email("vera");
    let registered = register(&b, &token, &vera).await;
    assert_eq!(registered.status, 202, "{registered:?}");
    assert_eq!(registered.json["status"], "confirmation_sent");
    // No account until the address is confirmed: the mailed link signs up.
    b.sign_in(&vera, "heather on the hill tops")
        .await
        .assert_problem(401, "invalid_credentials");
    let mails = b.mailbox.messages_to(&vera).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject.contains("Confirm your email"),
        "{:?}",
        mails[0].subject
    );
    let confirmation = b.sign_up_token(&vera).await;
    let joined = b.sign_up(&confirmation, "heather on the hill tops").await;
    assert_eq!(joined.status, 201, "{joined:?}");
    assert_eq!(joined.json["user"]["role"], "member");
    let groups = joined.json["user"]["groups"].as_array().unwrap().clone();
    assert!(groups.contains(&json!(design)), "{groups:?}");
    for default in b.default_groups().await {
        assert!(groups.contains(&json!(default)), "joins the default groups");
    }
    let shown = b
        .gateway
        .get("/v1/orgs/demo/invitation-link", Some(&b.admin_token))
        .await;
    assert_eq!(shown.json["uses"], 1);
    // A guest link makes guests.
    let guests = activate(&b, json!({"role": "guest"})).await;
    let gina = b.email("gina");
    assert_eq!(
        register(&b, &token_of(guests.json["url"].as_str().unwrap()), &gina)
            .await
            .status,
        202
    );
    let confirmation = b.sign_up_token(&gina).await;
    let joined = b.sign_up(&confirmation, "heather on the hill tops").await;
    assert_eq!(joined.json["user"]["role"], "guest");
}

async fn deactivated_and_replaced_links_stay_dead(backend: Backend) {
    let b = Bundle::start(backend).await;
    let first = token_of(activate(&b, json!({})).await.json["url"].as_str().unwrap());
    let off = b
        .gateway
        .send(
            "DELETE",
            "/v1/orgs/demo/invitation-link",
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    assert_eq!(off.json["active"], false);
    assert_eq!(off.json["url"], Value::Null);
    register(&b, &first, &b.email("late"))
        .await
        .assert_problem(410, "invitation_link_invalid");
    let second = token_of(activate(&b, json!({})).await.json["url"].as_str().unwrap());
    assert_ne!(first, second);
    register(&b, &first, &b.email("late"))
        .await
        .assert_problem(410, "invitation_link_invalid");
    assert_eq!(register(&b, &second, &b.email("new")).await.status, 202);
    // Garbage and missing tokens.
    register(&b, "not-a-token", &b.email("x"))
        .await
        .assert_problem(410, "invitation_link_invalid");
    b.gateway
        .post(
            "/v1/orgs/demo/sign-up/link",
            None,
            json!({"email": b.email("x"), "first_name": "A", "last_name": "B"}),
        )
        .await
        .assert_problem(422, "missing_field");
    register(&b, &second, "not an email")
        .await
        .assert_problem(422, "invalid_email");
}

async fn a_link_past_its_expiry_or_its_uses_is_refused(backend: Backend) {
    let b = Bundle::start(backend).await;
    let token = token_of(
        activate(&b, json!({"expires_in_days": 2, "max_uses": 2}))
            .await
            .json["url"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(register(&b, &token, &b.email("one")).await.status, 202);
    assert_eq!(register(&b, &token, &b.email("two")).await.status, 202);
    register(&b, &token, &b.email("three"))
        .await
        .assert_problem(410, "invitation_link_used_up");
    let token = token_of(
        activate(&b, json!({"expires_in_days": 2})).await.json["url"]
            .as_str()
            .unwrap(),
    );
    activate(&b, json!({"expires_in_days": 0}))
        .await
        .assert_problem(422, "invalid_link_expiry");
    activate(&b, json!({"max_uses": 0}))
        .await
        .assert_problem(422, "invalid_max_uses");
    activate(&b, json!({"max_uses": 1_000_001}))
        .await
        .assert_problem(422, "invalid_max_uses");
    activate(&b, json!({"role": "admin"}))
        .await
        .assert_problem(422, "invalid_role");
    activate(&b, json!({"groups": ["0190f5a8b6c37d4e8f9a0b1c2d3e4f50"]}))
        .await
        .assert_problem(422, "unknown_group");
    b.clock.advance(Duration::from_secs(2 * 86_400));
    register(&b, &token, &b.email("late"))
        .await
        .assert_problem(410, "invitation_link_expired");
    b.gateway
        .post(
            "/v1/orgs/demo/sign-up/link/check",
            None,
            json!({"token": token}),
        )
        .await
        .assert_problem(410, "invitation_link_expired");
}

async fn twenty_registrations_on_the_last_use_make_one(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    let token = token_of(
        activate(&b, json!({"max_uses": 1})).await.json["url"]
            .as_str()
            .unwrap(),
    );
    let emails: Vec<String> = (0..20).map(|n| b.email(&format!("rush{n}"))).collect();
    // Twenty people, each from their own address.
    let tasks: Vec<_> = emails
        .iter()
        .enumerate()
        .map(|(n, email)| {
            let (b, token, email) = (b.clone(), token.clone(), email.clone());
            tokio::spawn(async move {
                b.gateway
                    .post_from(
                        &format!("198.51.100.{}", n + 1),
                        "/v1/orgs/demo/sign-up/link",
                        None,
                        json!({"token": token, "email": email, "first_name": "Vera", "last_name": "Visitor"}),
                    )
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let reply = t.await.unwrap();
        if reply.status != 202 {
            assert_eq!(reply.json["code"], "invitation_link_used_up", "{reply:?}");
        }
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    let mut mailed = 0;
    for email in &emails {
        mailed += b.mailbox.messages_to(email).await.len();
    }
    assert_eq!(mailed, 1, "one confirmation");
    let shown = b
        .gateway
        .get("/v1/orgs/demo/invitation-link", Some(&b.admin_token))
        .await;
    assert_eq!(shown.json["uses"], 1);
}

async fn a_registered_address_is_answered_alike_and_sent_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    let token = token_of(activate(&b, json!({})).await.json["url"].as_str().unwrap());
    let fresh = register(&b, &token, &b.email("fresh")).await;
    let admin = register(&b, &token, &b.admin_email).await;
    assert_eq!(admin.status, fresh.status);
    assert_eq!(admin.text, fresh.text, "the same answer");
    assert!(b.mailbox.messages_to(&b.admin_email).await.is_empty());
    let shown = b
        .gateway
        .get("/v1/orgs/demo/invitation-link", Some(&b.admin_token))
        .await;
    assert_eq!(shown.json["uses"], 1, "only the new address used the link");
}

async fn only_admins_of_this_organisation_manage_the_link(backend: Backend) {
    let b = Bundle::start(backend).await;
    let email = b.email("member");
    b.invite(&email, "member", &[]).await;
    let token = b.sign_up_token(&email).await;
    let member = b.sign_up(&token, "the cat sat on the mat").await;
    let member = member.json["token"].as_str().unwrap().to_string();
    b.gateway
        .post("/v1/orgs/demo/invitation-link", Some(&member), json!({}))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .get("/v1/orgs/demo/invitation-link", Some(&member))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .get("/v1/orgs/demo/invitation-link", Some(&b.admin_token))
        .await
        .assert_problem(404, "invitation_link_inactive");
    let url = activate(&b, json!({})).await.json["url"]
        .as_str()
        .unwrap()
        .to_string();
    // Another organisation: its admin's session is none here, and demo's link is none there.
    let other = b.other_org_admin().await;
    b.gateway
        .send(
            "DELETE",
            "/v1/orgs/demo/invitation-link",
            Some(&other),
            None,
        )
        .await
        .assert_problem(401, "unauthenticated");
    b.gateway
        .get("/v1/orgs/other/invitation-link", Some(&other))
        .await
        .assert_problem(404, "invitation_link_inactive");
    b.gateway
        .post(
            "/v1/orgs/other/sign-up/link",
            None,
            json!({"token": token_of(&url), "email": b.email("x"), "first_name": "A", "last_name": "B"}),
        )
        .await
        .assert_problem(410, "invitation_link_invalid");
    // demo's link still works.
    assert_eq!(
        register(&b, &token_of(&url), &b.email("ok")).await.status,
        202
    );
}

async fn self_registration_confirms_the_address_and_is_refused_while_off(backend: Backend) {
    let b = Bundle::start(backend).await;
    let sam = b.email("sam");
    let body = json!({"email": sam, "first_name": "Sam", "last_name": "Self"});
    b.gateway
        .post("/v1/orgs/demo/sign-up/self", None, body.clone())
        .await
        .assert_problem(403, "self_registration_disabled");
    assert!(b.mailbox.messages_to(&sam).await.is_empty());
    let on = b
        .gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(json!({"self_registration": true}).to_string()),
        )
        .await;
    assert_eq!(on.json["self_registration"], true, "{on:?}");
    let registered = b
        .gateway
        .post("/v1/orgs/demo/sign-up/self", None, body.clone())
        .await;
    assert_eq!(registered.status, 202, "{registered:?}");
    // Again, and for the admin's address: the same answer, nothing more sent.
    let again = b
        .gateway
        .post("/v1/orgs/demo/sign-up/self", None, body.clone())
        .await;
    assert_eq!(again.text, registered.text);
    let admin = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-up/self",
            None,
            json!({"email": b.admin_email, "first_name": "Ada", "last_name": "Admin"}),
        )
        .await;
    assert_eq!(admin.text, registered.text);
    assert!(b.mailbox.messages_to(&b.admin_email).await.is_empty());
    let mails = b.mailbox.messages_to(&sam).await;
    assert_eq!(mails.len(), 1, "one confirmation");
    let text = format!(
        "{}{}",
        mails[0].text.clone().unwrap_or_default(),
        mails[0].html.clone().unwrap_or_default()
    );
    assert!(text.contains("asked to join"), "{text}");
    assert!(!text.contains("invitation link"), "{text}");
    let confirmation = b.sign_up_token(&sam).await;
    let joined = b.sign_up(&confirmation, "heather on the hill tops").await;
    assert_eq!(joined.status, 201, "{joined:?}");
    assert_eq!(joined.json["user"]["role"], "member");
    let groups = joined.json["user"]["groups"].as_array().unwrap().clone();
    for default in b.default_groups().await {
        assert!(groups.contains(&json!(default)), "joins the default groups");
    }
    // The admin sees who registered themselves.
    let listed = b
        .gateway
        .get(
            "/v1/orgs/demo/invitations?status=accepted",
            Some(&b.admin_token),
        )
        .await;
    let mine = listed.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == sam.to_lowercase())
        .cloned()
        .unwrap();
    assert_eq!(mine["invited_by"], Value::Null);
    b.gateway
        .post(
            "/v1/orgs/demo/sign-up/self",
            None,
            json!({"email": "nope", "first_name": "A", "last_name": "B"}),
        )
        .await
        .assert_problem(422, "invalid_email");
}

/// Each registration mails a stranger's address: one client address gets 10 an hour in an
/// organisation, through the link and self-registration together, then waits (429 with
/// `Retry-After`); nothing is created or mailed for a refused one, and others are not held up.
async fn one_client_registers_a_few_people_then_waits(backend: Backend) {
    let b = Bundle::start(backend).await;
    let token = token_of(activate(&b, json!({})).await.json["url"].as_str().unwrap());
    let on = b
        .gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(json!({"self_registration": true}).to_string()),
        )
        .await;
    assert_eq!(on.status, 200, "{on:?}");
    let spammer = "203.0.113.7";
    let person = |n: usize| json!({"token": token, "email": b.email(&format!("stranger{n}")), "first_name": "Sam", "last_name": "Stranger"});
    for n in 0..10 {
        let (path, mut body) = if n % 2 == 0 {
            ("/v1/orgs/demo/sign-up/link", person(n))
        } else {
            ("/v1/orgs/demo/sign-up/self", person(n))
        };
        if n % 2 == 1 {
            body.as_object_mut().unwrap().remove("token");
        }
        let reply = b.gateway.post_from(spammer, path, None, body).await;
        assert_eq!(reply.status, 202, "registration {n}: {reply:?}");
    }
    let invitations = b.invitation_count().await;
    for path in ["/v1/orgs/demo/sign-up/link", "/v1/orgs/demo/sign-up/self"] {
        let mut body = person(10);
        if path.ends_with("self") {
            body.as_object_mut().unwrap().remove("token");
        }
        let refused = b.gateway.post_from(spammer, path, None, body).await;
        refused.assert_problem(429, "too_many_registrations");
        let wait: u64 = refused
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
    }
    assert!(b
        .mailbox
        .messages_to(&b.email("stranger10"))
        .await
        .is_empty());
    assert_eq!(b.invitation_count().await, invitations, "nothing made");
    // Someone else registers meanwhile.
    let other = b
        .gateway
        .post_from("192.0.2.44", "/v1/orgs/demo/sign-up/link", None, person(11))
        .await;
    assert_eq!(other.status, 202, "{other:?}");
    // After the wait the client may register again.
    b.advance(std::time::Duration::from_secs(61));
    let later = b
        .gateway
        .post_from(spammer, "/v1/orgs/demo/sign-up/link", None, person(12))
        .await;
    assert_eq!(later.status, 202, "{later:?}");
}
