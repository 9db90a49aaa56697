//! Email invitations end to end, on the embedded store with the outbox and on DynamoDB with SES
//! (moto): invite, read the mail, follow the link, sign up, sign in, list.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::ports::{MailError, Mailer, OutgoingEmail};
use gatehouse_e2e::{on_both_backends, Backend, Bundle};
use serde_json::json;

on_both_backends!(
    the_story_alice_member_and_bob_guest,
    invitation_emails_escape_user_text,
    bad_input_gets_a_problem_and_changes_nothing,
    admin_routes_need_an_admin_of_this_org,
    an_email_is_invited_once_and_taken_by_accounts,
    members_only_at_allowed_domains,
    sign_up_tokens_are_single_use_and_expire,
    weak_passwords_are_refused_and_spend_nothing,
    concurrent_invitations_of_one_email_make_one,
    concurrent_sign_ups_with_one_token_make_one_account,
    sign_in_never_says_whether_the_email_exists,
    an_unsent_invitation_is_kept_for_retry,
    invitations_are_listed_filtered_and_paged,
    a_double_clicked_group_is_created_once,
    a_resend_mails_a_new_link_and_the_old_one_stops,
    an_expired_invitation_can_be_resent_unless_its_email_moved_on,
    a_queued_invitation_goes_out_on_resend,
    one_mailbox_is_one_identity,
    a_revoked_link_says_it_was_revoked,
    emails_name_the_organisation_and_the_inviter_as_people_read_them,
);

async fn the_story_alice_member_and_bob_guest(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    let research = b.group("Research").await;
    let partners = b.group("Partners").await;
    let alice = b.email("alice");
    let bob = unique_partner_email();

    let invited = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": alice, "role": "member", "first_name": "Alice", "last_name": "Liddell",
                   "groups": [design, research], "message": "Welcome to the team!"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    assert_eq!(invited.json["status"], "pending");
    assert_eq!(invited.json["delivery"], "sent");
    assert_eq!(invited.json["role"], "member");
    let invited_bob = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": bob, "role": "guest", "first_name": "Bob", "last_name": "Builder", "groups": [partners]}),
        )
        .await;
    assert_eq!(invited_bob.status, 201, "{invited_bob:?}");

    // Each receives one email with the link and the personal message.
    let alice_mail = b.mailbox.messages_to(&alice).await;
    assert_eq!(alice_mail.len(), 1);
    assert!(
        alice_mail[0].subject.contains("invited you to join demo"),
        "{:?}",
        alice_mail[0]
    );
    let html = alice_mail[0].html.as_deref().expect("an HTML part");
    assert!(html.contains("Welcome to the team!"));
    assert!(html.contains("Ada Admin"));
    if backend == Backend::Embedded {
        let text = alice_mail[0].text.as_deref().expect("a text part");
        assert!(text.contains("Welcome to the team!"));
        assert!(text.contains("https://app.gatehouse.test/demo/sign-up?token="));
    }
    assert_eq!(b.mailbox.messages_to(&bob).await.len(), 1);

    // Alice follows her link, sets a password and is signed in.
    let token = b.sign_up_token(&alice).await;
    let signed_up = b.sign_up(&token, "through the looking glass").await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    assert_eq!(signed_up.header("cache-control"), Some("no-store"));
    let user = &signed_up.json["user"];
    assert_eq!(user["role"], "member");
    assert_eq!(user["email"], alice.as_str());
    let groups: HashSet<String> = serde_json::from_value(user["groups"].clone()).unwrap();
    let mut expected: HashSet<String> = b.default_groups().await.into_iter().collect();
    assert!(!expected.is_empty(), "the org has a default group");
    expected.extend([design.clone(), research.clone()]);
    assert_eq!(
        groups, expected,
        "a member joins the default groups and the invited ones"
    );
    // The session works on an authenticated route.
    let alice_token = signed_up.json["token"].as_str().unwrap();
    let listed = b
        .gateway
        .get("/v1/orgs/demo/groups", Some(alice_token))
        .await;
    assert_eq!(listed.status, 200, "{listed:?}");

    // Bob is a guest in his one group only, and sees only it.
    let bob_token = b.sign_up_token(&bob).await;
    let bob_up = b.sign_up(&bob_token, "can we fix it yes we can").await;
    assert_eq!(bob_up.status, 201, "{bob_up:?}");
    assert_eq!(bob_up.json["user"]["role"], "guest");
    assert_eq!(bob_up.json["user"]["groups"], json!([partners]));
    let bob_groups = b
        .gateway
        .get(
            "/v1/orgs/demo/groups",
            Some(bob_up.json["token"].as_str().unwrap()),
        )
        .await;
    let names: Vec<&str> = bob_groups.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Partners"]);

    // Both sign in later with email and password (the email in any case).
    let again = b
        .sign_in(&alice.to_uppercase(), "through the looking glass")
        .await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.json["user"]["id"], user["id"]);
    assert_eq!(
        b.sign_in(&bob, "can we fix it yes we can").await.status,
        200
    );

    // The admin sees both invitations as accepted.
    let list = b
        .gateway
        .get("/v1/orgs/demo/invitations", Some(&b.admin_token))
        .await;
    assert_eq!(list.status, 200);
    let items = list.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for item in items {
        assert_eq!(item["status"], "accepted", "{item}");
        assert!(item["accepted_user_id"].is_string());
    }
    let one = b
        .gateway
        .get(
            &format!(
                "/v1/orgs/demo/invitations/{}",
                invited.json["id"].as_str().unwrap()
            ),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(one.json["status"], "accepted");
    assert_eq!(one.json["accepted_user_id"], user["id"]);
}

fn unique_partner_email() -> String {
    gatehouse_e2e::unique_email("bob", "partner.org")
}

async fn invitation_emails_escape_user_text(backend: Backend) {
    let b = Bundle::start(backend).await;
    let eve = b.email("eve");
    let reply = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": eve, "role": "member", "first_name": "<img src=x onerror=alert(1)>", "last_name": "Q",
                   "message": "<script>steal()</script> & welcome"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let mail = &b.mailbox.messages_to(&eve).await[0];
    let html = mail.html.as_deref().unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
}

async fn bad_input_gets_a_problem_and_changes_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    let admin = Some(b.admin_token.as_str());
    let path = "/v1/orgs/demo/invitations";
    let ok = |email: &str| json!({"email": email, "role": "member", "first_name": "A", "last_name": "B"});
    let x = b.email("x");
    let y = b.email("y");
    let z = b.email("z");
    let cases: Vec<(Option<String>, u16, &str)> = vec![
        (Some("{not json".into()), 400, "malformed_json"),
        (Some("[1, 2]".into()), 422, "invalid_body"),
        (Some(json!({"role": "member", "first_name": "A", "last_name": "B"}).to_string()), 422, "missing_field"),
        (Some(ok("not-an-email").to_string()), 422, "invalid_email"),
        (Some(ok(&format!("{}@example.com", "a".repeat(250))).to_string()), 422, "invalid_email"),
        (Some(json!({"email": x, "role": "owner", "first_name": "A", "last_name": "B"}).to_string()), 422, "invalid_role"),
        (Some(json!({"email": x, "role": "Member", "first_name": "A", "last_name": "B"}).to_string()), 422, "invalid_role"),
        (Some(json!({"email": x, "role": "member", "first_name": "A".repeat(101), "last_name": "B"}).to_string()), 422, "invalid_name"),
        (Some(json!({"email": x, "role": "member", "first_name": "A", "last_name": "B", "message": "m".repeat(2001)}).to_string()), 422, "invalid_message"),
        (Some(json!({"email": x, "role": "member", "first_name": "A", "last_name": "B", "groups": ["nope"]}).to_string()), 422, "invalid_group_id"),
        (Some(json!({"email": x, "role": "member", "first_name": "A", "last_name": "B", "groups": ["0".repeat(32)]}).to_string()), 422, "unknown_group"),
        (Some(json!({"email": x, "role": "member", "first_name": "A", "last_name": "B", "admin": true}).to_string()), 422, "invalid_body"),
        (Some("x".repeat(70_000)), 413, "payload_too_large"),
    ];
    for (body, status, code) in cases {
        let reply = b.gateway.send("POST", path, admin, body.clone()).await;
        reply.assert_problem(status, code);
        assert!(!reply.binary, "problems are text for API Gateway");
    }
    // No content type.
    let reply = b
        .gateway
        .raw(
            "POST",
            path,
            vec![("authorization".into(), format!("Bearer {}", b.admin_token))],
            Some(ok(&y).to_string()),
        )
        .await;
    reply.assert_problem(415, "unsupported_media_type");
    // Unknown org, unknown route, wrong method.
    b.gateway
        .send(
            "POST",
            "/v1/orgs/nowhere/invitations",
            admin,
            Some(ok(&z).to_string()),
        )
        .await
        // demo's session is no session in another organisation, existing or not.
        .assert_problem(401, "unauthenticated");
    b.gateway
        .send(
            "POST",
            "/v1/orgs/NOT_A_SLUG!/invitations",
            admin,
            Some(ok(&z).to_string()),
        )
        .await
        .assert_problem(401, "unauthenticated");
    b.gateway
        .get("/v1/orgs/demo/invitations/not-an-id", admin)
        .await
        .assert_problem(404, "invitation_not_found");
    b.gateway
        .get(
            &format!("/v1/orgs/demo/invitations/{}", "0".repeat(32)),
            admin,
        )
        .await
        .assert_problem(404, "invitation_not_found");
    b.gateway
        .send("DELETE", "/v1/orgs/demo/sign-in", None, None)
        .await
        .assert_problem(405, "method_not_allowed");
    b.gateway
        .get("/v1/orgs/demo/invitations?status=lost", admin)
        .await
        .assert_problem(422, "invalid_status");
    b.gateway
        .get("/v1/orgs/demo/invitations?limit=0", admin)
        .await
        .assert_problem(422, "invalid_limit");
    b.gateway
        .get("/v1/orgs/demo/invitations?cursor=bogus", admin)
        .await
        .assert_problem(422, "invalid_cursor");
    b.gateway
        .get("/v1/orgs/demo/invitations?colour=red", admin)
        .await
        .assert_problem(422, "invalid_query");
    // Sign-up and sign-in bodies.
    b.gateway
        .post(
            "/v1/orgs/demo/sign-up/email",
            None,
            json!({"password": "long enough password"}),
        )
        .await
        .assert_problem(422, "missing_field");
    b.gateway
        .post(
            "/v1/orgs/demo/sign-up/email",
            None,
            json!({"token": "short", "password": "long enough password"}),
        )
        .await
        .assert_problem(422, "invalid_token");
    b.gateway
        .post(
            "/v1/orgs/demo/sign-in",
            None,
            json!({"identifier": "a@example.com"}),
        )
        .await
        .assert_problem(422, "missing_field");
    b.gateway
        .send(
            "POST",
            "/v1/orgs/demo/sign-in",
            None,
            Some("{\"identifier\":".into()),
        )
        .await
        .assert_problem(400, "malformed_json");

    assert_eq!(b.invitation_count().await, 0, "nothing was created");
    for email in [&x, &y, &z] {
        assert!(
            b.mailbox.messages_to(email).await.is_empty(),
            "no mail to {email}"
        );
    }
    let groups = b.gateway.get("/v1/orgs/demo/groups", admin).await;
    assert_eq!(
        groups.json["items"].as_array().unwrap().len(),
        1,
        "only the default group"
    );
}

async fn admin_routes_need_an_admin_of_this_org(backend: Backend) {
    let b = Bundle::start(backend).await;
    let carol = b.email("carol");
    let dan = b.email("dan");
    let body = json!({"email": dan, "role": "member", "first_name": "Dan", "last_name": "D"});
    // No token, a malformed token, an unknown token.
    b.gateway
        .post("/v1/orgs/demo/invitations", None, body.clone())
        .await
        .assert_problem(401, "unauthenticated");
    b.gateway
        .post("/v1/orgs/demo/invitations", Some("garbage"), body.clone())
        .await
        .assert_problem(401, "unauthenticated");
    let forged = format!("{}.{}", "a".repeat(32), "B".repeat(43));
    b.gateway
        .post("/v1/orgs/demo/invitations", Some(&forged), body.clone())
        .await
        .assert_problem(401, "unauthenticated");
    b.gateway
        .get("/v1/orgs/demo/invitations", None)
        .await
        .assert_problem(401, "unauthenticated");
    // A member is refused.
    let carol_invitation = b.invite(&carol, "member", &[]).await;
    assert_eq!(carol_invitation.status, 201);
    let token = b.sign_up_token(&carol).await;
    let member = b.sign_up(&token, "the cat sat on the mat").await;
    let member_token = member.json["token"].as_str().unwrap().to_string();
    b.gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&member_token),
            body.clone(),
        )
        .await
        .assert_problem(403, "only_admins_can_invite");
    b.gateway
        .get("/v1/orgs/demo/invitations", Some(&member_token))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .post(
            "/v1/orgs/demo/groups",
            Some(&member_token),
            json!({"name": "Mine"}),
        )
        .await
        .assert_problem(403, "forbidden");
    let root = b.email("root");
    // A session of another organisation is unknown here (tenant isolation).
    let other = gatehouse_domain::types::OrgDomain::parse("other").unwrap();
    let outcome = gatehouse_domain::usecase::bootstrap::bootstrap_org(
        &b.services,
        gatehouse_domain::usecase::bootstrap::BootstrapRequest {
            domain: other,
            admin_email: gatehouse_domain::types::EmailAddress::parse(&root).unwrap(),
            admin_password: "a wholly different passphrase".into(),
            first_name: gatehouse_domain::types::PersonName::parse("Other").unwrap(),
            last_name: gatehouse_domain::types::PersonName::parse("Admin").unwrap(),
            display_name: None,
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        outcome,
        gatehouse_domain::usecase::bootstrap::BootstrapOutcome::Created { .. }
    ));
    b.gateway
        .get("/v1/orgs/other/invitations", Some(&b.admin_token))
        .await
        .assert_problem(401, "unauthenticated");
    b.gateway
        .post("/v1/orgs/other/invitations", Some(&b.admin_token), body)
        .await
        .assert_problem(401, "unauthenticated");
    // other's own admin sees nothing of demo: demo's invitation is not found there.
    let other_admin = b
        .gateway
        .post(
            "/v1/orgs/other/sign-in",
            None,
            json!({"identifier": root, "password": "a wholly different passphrase"}),
        )
        .await;
    assert_eq!(other_admin.status, 200, "{other_admin:?}");
    let other_token = other_admin.json["token"].as_str().unwrap();
    let demo_id = carol_invitation.json["id"].as_str().unwrap();
    b.gateway
        .get(
            &format!("/v1/orgs/other/invitations/{demo_id}"),
            Some(other_token),
        )
        .await
        .assert_problem(404, "invitation_not_found");
    let listed = b
        .gateway
        .get("/v1/orgs/other/invitations", Some(other_token))
        .await;
    assert_eq!(listed.json["items"], json!([]));
    let groups = b
        .gateway
        .get("/v1/orgs/other/groups", Some(other_token))
        .await;
    assert!(groups.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["name"] == "Everyone"));
    assert_eq!(groups.json["items"].as_array().unwrap().len(), 1);
    // demo's admin cannot sign in to other.
    b.gateway
        .post(
            "/v1/orgs/other/sign-in",
            None,
            json!({"identifier": b.admin_email, "password": gatehouse_e2e::ADMIN_PASSWORD}),
        )
        .await
        .assert_problem(401, "invalid_credentials");
    // An expired session is refused.
    b.advance(Duration::from_secs(13 * 3600));
    b.gateway
        .get("/v1/orgs/demo/invitations", Some(&b.admin_token))
        .await
        .assert_problem(401, "unauthenticated");
    assert!(
        b.mailbox.messages_to(&dan).await.is_empty(),
        "Dan was never invited"
    );
    assert_eq!(
        b.invitation_count_as(&admin_again(&b).await).await,
        1,
        "only Carol's invitation"
    );
}

async fn admin_again(b: &Bundle) -> String {
    let reply = b
        .sign_in(&b.admin_email, gatehouse_e2e::ADMIN_PASSWORD)
        .await;
    reply.json["token"].as_str().unwrap().to_string()
}

async fn an_email_is_invited_once_and_taken_by_accounts(backend: Backend) {
    let b = Bundle::start(backend).await;
    let frank = b.email("frank");
    assert_eq!(b.invite(&frank, "member", &[]).await.status, 201);
    b.invite(&frank.to_uppercase(), "guest", &[])
        .await
        .assert_problem(409, "email_taken");
    b.invite(&b.admin_email.clone(), "member", &[])
        .await
        .assert_problem(409, "email_taken");
    let token = b.sign_up_token(&frank).await;
    assert_eq!(b.sign_up(&token, "frankly my dear").await.status, 201);
    b.invite(&frank, "member", &[])
        .await
        .assert_problem(409, "email_taken");
    assert_eq!(b.invitation_count().await, 1);
    assert_eq!(
        b.mailbox.messages_to(&frank).await.len(),
        1,
        "no second email"
    );
}

async fn members_only_at_allowed_domains(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.update_org(|org| {
        org.settings.allowed_email_domains =
            vec![gatehouse_domain::types::EmailDomain::parse("example.com").unwrap()]
    })
    .await;
    let outsider = gatehouse_e2e::unique_email("gina", "elsewhere.net");
    b.invite(&outsider, "member", &[])
        .await
        .assert_problem(422, "email_domain_not_allowed");
    assert!(b.mailbox.messages_to(&outsider).await.is_empty());
    assert_eq!(b.invitation_count().await, 0);
    // Guests may come from anywhere; members from the allowed domain.
    assert_eq!(b.invite(&outsider, "guest", &[]).await.status, 201);
    assert_eq!(b.invite(&b.email("hank"), "member", &[]).await.status, 201);
}

async fn sign_up_tokens_are_single_use_and_expire(backend: Backend) {
    let b = Bundle::start(backend).await;
    let ivy = b.email("ivy");
    let jim = b.email("jim");
    assert_eq!(b.invite(&ivy, "member", &[]).await.status, 201);
    assert_eq!(b.invite(&jim, "member", &[]).await.status, 201);
    let ivy_token = b.sign_up_token(&ivy).await;
    let jim_token = b.sign_up_token(&jim).await;
    assert_ne!(ivy_token, jim_token);
    // Unknown (well-formed) token.
    let unknown = "A".repeat(43);
    b.sign_up(&unknown, "poison ivy grows here")
        .await
        .assert_problem(422, "invalid_token");
    // Used once, then refused.
    assert_eq!(
        b.sign_up(&ivy_token, "poison ivy grows here").await.status,
        201
    );
    b.sign_up(&ivy_token, "another password entirely")
        .await
        .assert_problem(422, "invalid_token");
    // A token of one org does not work in another.
    b.gateway
        .post(
            "/v1/orgs/nowhere/sign-up/email",
            None,
            json!({"token": jim_token, "password": "jungle jim swings"}),
        )
        .await
        .assert_problem(404, "org_not_found");
    // Thirty days later Jim's invitation has expired.
    b.advance(Duration::from_secs(30 * 86_400));
    b.sign_up(&jim_token, "jungle jim swings")
        .await
        .assert_problem(410, "invitation_expired");
    b.sign_in(&jim, "jungle jim swings")
        .await
        .assert_problem(401, "invalid_credentials");
    let list = b
        .gateway
        .get(
            "/v1/orgs/demo/invitations?status=expired",
            Some(&b.admin_token),
        )
        .await;
    // The admin's session expired too after 30 days: sign in again.
    let admin = b
        .sign_in(&b.admin_email, gatehouse_e2e::ADMIN_PASSWORD)
        .await;
    assert_eq!(list.status, 401);
    let token = admin.json["token"].as_str().unwrap();
    let list = b
        .gateway
        .get("/v1/orgs/demo/invitations?status=expired", Some(token))
        .await;
    let emails: Vec<&str> = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, [jim.as_str()]);
}

async fn weak_passwords_are_refused_and_spend_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    let kim = b.email("kim");
    assert_eq!(b.invite(&kim, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&kim).await;
    for (password, code) in [
        ("short", "password_too_short"),
        ("password123456", "password_too_common"),
        ("123456789012", "password_too_common"),
        ("alice in demo land", "password_contextual"),
        (&"x1".repeat(200) as &str, "password_too_long"),
    ] {
        b.sign_up(&token, password).await.assert_problem(422, code);
    }
    // The token still works with a good password.
    let ok = b.sign_up(&token, "a perfectly fine passphrase").await;
    assert_eq!(ok.status, 201, "{ok:?}");
}

async fn concurrent_invitations_of_one_email_make_one(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    let lee = b.email("lee");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let b = b.clone();
            let lee = lee.clone();
            tokio::spawn(async move { b.invite(&lee, "member", &[]).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(b.invitation_count().await, 1);
    assert_eq!(b.mailbox.messages_to(&lee).await.len(), 1, "one email");
}

async fn concurrent_sign_ups_with_one_token_make_one_account(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    let max = b.email("max");
    assert_eq!(b.invite(&max, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&max).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let b = b.clone();
            let token = token.clone();
            tokio::spawn(async move {
                (
                    i,
                    b.sign_up(&token, &format!("mad max fury road {i}")).await,
                )
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (i, reply) = t.await.unwrap();
        match reply.status {
            201 => created.push((i, reply)),
            422 => {
                assert_eq!(reply.code(), "invalid_token");
                refused += 1;
            }
            other => panic!("unexpected {other}: {reply:?}"),
        }
    }
    assert_eq!(created.len(), 1);
    assert_eq!(refused, 19);
    // The one account is the winner's: its password signs in, another does not.
    let (winner, reply) = &created[0];
    let signed_in = b
        .sign_in(&max, &format!("mad max fury road {winner}"))
        .await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    assert_eq!(signed_in.json["user"]["id"], reply.json["user"]["id"]);
    let loser = (winner + 1) % 20;
    b.sign_in(&max, &format!("mad max fury road {loser}"))
        .await
        .assert_problem(401, "invalid_credentials");
}

async fn sign_in_never_says_whether_the_email_exists(backend: Backend) {
    let b = Bundle::start(backend).await;
    let unknown = b.sign_in(&b.email("nobody"), "some password here").await;
    let wrong = b.sign_in(&b.admin_email, "some password here").await;
    let not_email = b.sign_in("not an email", "some password here").await;
    for reply in [&unknown, &wrong, &not_email] {
        reply.assert_problem(401, "invalid_credentials");
    }
    assert_eq!(
        unknown.text, wrong.text,
        "same answer for an unknown account and a wrong password"
    );
    assert_eq!(unknown.text, not_email.text);
}

async fn an_unsent_invitation_is_kept_for_retry(backend: Backend) {
    // SES on moto refuses an unverified sender for real; the outbox has no such failure, so the
    // embedded run injects one.
    let mailer: Arc<dyn Mailer> = match backend {
        Backend::Aws => {
            Arc::new(gatehouse_e2e::ses_mailer("no-reply@unverified-sender.invalid").await)
        }
        Backend::Embedded => Arc::new(gatehouse_e2e::DownMailer),
    };
    let b = Bundle::start_with(backend, move |_| mailer).await;
    let nina = b.email("nina");
    let reply = b.invite(&nina, "member", &[]).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json["delivery"], "queued");
    let stored = b
        .gateway
        .get(
            &format!(
                "/v1/orgs/demo/invitations/{}",
                reply.json["id"].as_str().unwrap()
            ),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(stored.json["delivery"], "queued");
    assert_eq!(stored.json["status"], "pending");
    assert!(b.mailbox.messages_to(&nina).await.is_empty());
}

async fn invitations_are_listed_filtered_and_paged(backend: Backend) {
    let b = Bundle::start(backend).await;
    let mut emails = Vec::new();
    for i in 0..5 {
        let e = b.email(&format!("p{i}"));
        assert_eq!(
            b.invite(&e, if i % 2 == 0 { "member" } else { "guest" }, &[])
                .await
                .status,
            201
        );
        emails.push(e);
        b.advance(Duration::from_secs(1));
    }
    let token = b.sign_up_token(&emails[1]).await;
    assert_eq!(
        b.sign_up(&token, "paged through the list").await.status,
        201
    );
    let mut seen = Vec::new();
    let mut path = "/v1/orgs/demo/invitations?limit=2".to_string();
    loop {
        let page = b.gateway.get(&path, Some(&b.admin_token)).await;
        assert_eq!(page.status, 200, "{page:?}");
        let items = page.json["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|i| i["email"].as_str().unwrap().to_string()),
        );
        match page.json["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/orgs/demo/invitations?limit=2&cursor={c}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = emails.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    let accepted = b
        .gateway
        .get(
            "/v1/orgs/demo/invitations?status=accepted",
            Some(&b.admin_token),
        )
        .await;
    let items = accepted.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["email"], emails[1].as_str());
    let pending = b
        .gateway
        .get(
            "/v1/orgs/demo/invitations?status=pending&kind=email",
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(pending.json["items"].as_array().unwrap().len(), 4);
}

async fn a_double_clicked_group_is_created_once(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move {
                b.gateway
                    .post(
                        "/v1/orgs/demo/groups",
                        Some(&b.admin_token),
                        json!({"name": "Design"}),
                    )
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let reply = t.await.unwrap();
        if reply.status != 201 {
            reply.assert_problem(409, "group_name_taken");
        }
        statuses.push(reply.status);
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    b.gateway
        .post(
            "/v1/orgs/demo/groups",
            Some(&b.admin_token),
            json!({"name": "design"}),
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
    assert_eq!(
        names
            .iter()
            .filter(|n| n.eq_ignore_ascii_case("design"))
            .count(),
        1
    );
}

async fn a_resend_mails_a_new_link_and_the_old_one_stops(backend: Backend) {
    let b = Bundle::start(backend).await;
    let rae = b.email("rae");
    let invited = b.invite(&rae, "member", &[]).await;
    let path = format!(
        "/v1/orgs/demo/invitations/{}/resend",
        invited.json["id"].as_str().unwrap()
    );
    let first = b.sign_up_token(&rae).await;
    let resent = b
        .gateway
        .send("POST", &path, Some(&b.admin_token), None)
        .await;
    assert_eq!(resent.status, 200, "{resent:?}");
    assert_eq!(resent.json["delivery"], "sent");
    assert_eq!(b.mailbox.messages_to(&rae).await.len(), 2);
    let second = b.sign_up_token(&rae).await;
    assert_ne!(first, second);
    b.sign_up(&first, "the first link is dead")
        .await
        .assert_problem(422, "invalid_token");
    assert_eq!(
        b.sign_up(&second, "the second link works").await.status,
        201
    );
    b.gateway
        .send("POST", &path, Some(&b.admin_token), None)
        .await
        .assert_problem(409, "invitation_accepted");
    // Not for members, not for unknown invitations.
    let unknown = format!("/v1/orgs/demo/invitations/{}/resend", "0".repeat(32));
    b.gateway
        .send("POST", &unknown, Some(&b.admin_token), None)
        .await
        .assert_problem(404, "invitation_not_found");
    b.gateway
        .send("POST", &path, None, None)
        .await
        .assert_problem(401, "unauthenticated");
}

async fn an_expired_invitation_can_be_resent_unless_its_email_moved_on(backend: Backend) {
    let b = Bundle::start(backend).await;
    let (sam, tom) = (b.email("sam"), b.email("tom"));
    let sam_inv = b.invite(&sam, "member", &[]).await;
    let tom_inv = b.invite(&tom, "member", &[]).await;
    b.advance(Duration::from_secs(31 * 86_400));
    // The admin's session expired meanwhile.
    let admin = b
        .sign_in(&b.admin_email, gatehouse_e2e::ADMIN_PASSWORD)
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let resend = |inv: &gatehouse_e2e::Reply| {
        format!(
            "/v1/orgs/demo/invitations/{}/resend",
            inv.json["id"].as_str().unwrap()
        )
    };
    let resent = b
        .gateway
        .send("POST", &resend(&sam_inv), Some(&admin), None)
        .await;
    assert_eq!(resent.status, 200, "{resent:?}");
    assert_eq!(resent.json["status"], "pending");
    assert_eq!(
        b.sign_up(&b.sign_up_token(&sam).await, "samwise the brave")
            .await
            .status,
        201
    );
    // Tom was invited afresh after his first invitation expired: the old one cannot come back.
    let again = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&admin),
            json!({"email": tom, "role": "member", "first_name": "Tom", "last_name": "T"}),
        )
        .await;
    assert_eq!(again.status, 201, "{again:?}");
    b.gateway
        .send("POST", &resend(&tom_inv), Some(&admin), None)
        .await
        .assert_problem(409, "email_taken");
}

/// Fails the first send, then hands mail to the real mailer.
struct FailsOnce {
    inner: Arc<dyn Mailer>,
    failed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Mailer for FailsOnce {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        if !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(MailError("the mail service hiccuped".into()));
        }
        self.inner.send(email).await
    }
}

async fn a_queued_invitation_goes_out_on_resend(backend: Backend) {
    let b = Bundle::start_with(backend, |inner| {
        Arc::new(FailsOnce {
            inner,
            failed: Default::default(),
        })
    })
    .await;
    let una = b.email("una");
    let invited = b.invite(&una, "member", &[]).await;
    assert_eq!(invited.json["delivery"], "queued");
    assert!(b.mailbox.messages_to(&una).await.is_empty());
    let path = format!(
        "/v1/orgs/demo/invitations/{}/resend",
        invited.json["id"].as_str().unwrap()
    );
    let resent = b
        .gateway
        .send("POST", &path, Some(&b.admin_token), None)
        .await;
    assert_eq!(resent.json["delivery"], "sent", "{resent:?}");
    assert_eq!(
        b.sign_up(&b.sign_up_token(&una).await, "better late than never")
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn sign_in_rehashes_a_password_made_with_weaker_parameters() {
    use gatehouse_domain::password::{PasswordHashing, OWASP_M_KIB};
    use gatehouse_domain::types::{EmailAddress, OrgDomain};

    let b = Bundle::start(Backend::Embedded).await;
    let org = OrgDomain::parse("demo").unwrap();
    let email = EmailAddress::parse(&b.admin_email).unwrap();
    let before = b
        .services
        .store
        .user_by_email(&org, &email)
        .await
        .unwrap()
        .unwrap();
    assert!(
        before.password.as_phc().contains("m=19456,t=2,p=1"),
        "{:?}",
        before.password.as_phc()
    );

    // The operators raise the cost; the same handlers now run with the stronger parameters.
    let mut stronger = b.services.clone();
    stronger.passwords = PasswordHashing::new(OWASP_M_KIB * 2, 3, 1).unwrap();
    let gateway = gatehouse_e2e::Gateway::new(stronger);
    let reply = gateway
        .post(
            "/v1/orgs/demo/sign-in",
            None,
            json!({"identifier": b.admin_email, "password": gatehouse_e2e::ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let after = b
        .services
        .store
        .user_by_email(&org, &email)
        .await
        .unwrap()
        .unwrap();
    assert!(
        after.password.as_phc().contains("m=38912,t=3,p=1"),
        "{:?}",
        after.password.as_phc()
    );
    assert_eq!(after.version, before.version + 1);
    // And the password still works, with either configuration.
    assert_eq!(
        b.sign_in(&b.admin_email, gatehouse_e2e::ADMIN_PASSWORD)
            .await
            .status,
        200
    );
}

/// Quoted or otherwise undeliverable spellings are refused; other spellings of an invited
/// address are the same address; the mail goes to exactly the stored address.
async fn one_mailbox_is_one_identity(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.email("alice");
    let (local, domain) = alice.split_once('@').unwrap();
    let created = b.invite(&alice.to_uppercase(), "member", &[]).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(
        created.json["email"],
        json!(alice),
        "stored in canonical form"
    );
    for spelling in [
        format!("\"{local}\"@{domain}"),
        format!("\"{}\\{}\"@{domain}", &local[..2], &local[2..]),
        format!("\"a\\r\\nbcc\"@{domain}"),
        format!("\"a,b\"@{domain}"),
        format!("\"a<b>c\"@{domain}"),
        format!("\"a@b\"@{domain}"),
    ] {
        b.invite(&spelling, "member", &[])
            .await
            .assert_problem(422, "invalid_email");
    }
    b.invite(&format!(" {} ", alice.to_uppercase()), "guest", &[])
        .await
        .assert_problem(409, "email_taken");
    assert_eq!(b.invitation_count().await, 1);
    let mails = b.mailbox.messages_to(&alice).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec![alice], "mailed to the stored address");
}

async fn a_revoked_link_says_it_was_revoked(backend: Backend) {
    let b = Bundle::start(backend).await;
    let kim = b.email("kim");
    let invited = b.invite(&kim, "member", &[]).await;
    assert_eq!(invited.status, 201);
    let token = b.sign_up_token(&kim).await;
    let id = invited.json["id"].as_str().unwrap();
    let revoked = b.revoke(id).await;
    assert_eq!(revoked.status, 200, "{revoked:?}");
    b.sign_up(&token, "a perfectly fine passphrase")
        .await
        .assert_problem(410, "invitation_revoked");
    // Nothing was made: the address can be invited again.
    assert_eq!(b.invite(&kim, "member", &[]).await.status, 201);
}

async fn emails_name_the_organisation_and_the_inviter_as_people_read_them(backend: Backend) {
    let b = Bundle::start(backend).await;
    let changed = b
        .gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(json!({"display_name": "Acme Corporation"}).to_string()),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.json["display_name"], "Acme Corporation");
    let me = b
        .sign_in(&b.admin_email, gatehouse_e2e::ADMIN_PASSWORD)
        .await;
    let admin_id = me.json["user"]["id"].as_str().unwrap().to_string();
    let renamed = b
        .gateway
        .send(
            "PATCH",
            &format!("/v1/orgs/demo/users/{admin_id}"),
            Some(&b.admin_token),
            Some(json!({"first_name": "Grace", "last_name": "Hopper"}).to_string()),
        )
        .await;
    assert_eq!(renamed.status, 200, "{renamed:?}");
    assert_eq!(renamed.json["first_name"], "Grace");
    let lea = b.email("lea");
    assert_eq!(b.invite(&lea, "member", &[]).await.status, 201);
    let mail = b.mailbox.messages_to(&lea).await.pop().expect("mailed");
    assert_eq!(
        mail.subject,
        "Grace Hopper invited you to join Acme Corporation"
    );
    // From the organisation (at the verified sender's address), replies to the inviter.
    assert_eq!(
        mail.from.replace('"', ""),
        "Acme Corporation <no-reply@gatehouse.test>",
        "{mail:?}"
    );
    if backend == Backend::Embedded {
        assert_eq!(mail.reply_to.as_deref(), Some(b.admin_email.as_str()));
    }
    let html = mail.html.as_deref().unwrap_or("");
    assert!(
        html.contains("https://app.gatehouse.test/demo/sign-up?token="),
        "{html}"
    );
    assert!(!html.contains("&#x2f;"), "{html}");
    assert!(html.contains(" UTC"), "a human date: {html}");
    // Lea signs up and may rename herself, but not the admin.
    let token = b.sign_up_token(&lea).await;
    let session = b.sign_up(&token, "a perfectly fine passphrase").await;
    assert_eq!(session.status, 201);
    let lea_token = session.json["token"].as_str().unwrap();
    let lea_id = session.json["user"]["id"].as_str().unwrap();
    let own = b
        .gateway
        .send(
            "PATCH",
            &format!("/v1/orgs/demo/users/{lea_id}"),
            Some(lea_token),
            Some(json!({"last_name": "Seydoux"}).to_string()),
        )
        .await;
    assert_eq!(
        (own.status, own.json["last_name"].as_str()),
        (200, Some("Seydoux"))
    );
    b.gateway
        .send(
            "PATCH",
            &format!("/v1/orgs/demo/users/{admin_id}"),
            Some(lea_token),
            Some(json!({"first_name": "Mallory"}).to_string()),
        )
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .send(
            "PATCH",
            &format!("/v1/orgs/demo/users/{lea_id}"),
            Some(lea_token),
            Some(json!({"first_name": ""}).to_string()),
        )
        .await
        .assert_problem(422, "invalid_name");
    // A body must be an object: serde alone would read `[null, null]` as "change nothing".
    b.gateway
        .send(
            "PATCH",
            &format!("/v1/orgs/demo/users/{lea_id}"),
            Some(lea_token),
            Some("[null, null]".into()),
        )
        .await
        .assert_problem(422, "invalid_body");
}
