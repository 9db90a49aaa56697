//! Users without email, end to end on both backends: identifier invitations, access codes,
//! `uid:domain` sign-in, admins setting passwords, and the caps on guessing.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply};
use serde_json::json;

on_both_backends!(
    the_story_employee_e1234,
    the_setting_gates_everything_and_turning_it_off_deletes_nothing,
    bad_identifiers_and_codes_get_problems,
    used_revoked_and_expired_codes_stop_working,
    a_guest_by_identifier_joins_only_invited_groups,
    twenty_concurrent_redemptions_make_one_account,
    fifty_parallel_wrong_codes_cannot_exceed_the_throttle,
    fifty_parallel_wrong_passwords_cannot_exceed_the_throttle,
    a_thousand_wrong_passwords_cost_at_most_a_hundred_verifications,
    throttling_does_not_reveal_whether_an_account_exists,
    a_right_code_does_not_wipe_wrong_guesses,
    right_answers_from_one_address_are_never_throttled,
);

async fn check(b: &Bundle, code: &str) -> Reply {
    b.gateway
        .post(
            "/v1/orgs/demo/sign-up/access-code/check",
            None,
            json!({ "access_code": code }),
        )
        .await
}

async fn redeem(b: &Bundle, code: &str, password: &str) -> Reply {
    b.gateway
        .post(
            "/v1/orgs/demo/sign-up/access-code",
            None,
            json!({ "access_code": code, "password": password }),
        )
        .await
}

async fn put_password(b: &Bundle, token: &str, user_id: &str, body: serde_json::Value) -> Reply {
    b.gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/users/{user_id}/password"),
            Some(token),
            Some(body.to_string()),
        )
        .await
}

async fn the_story_employee_e1234(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    let warehouse = b.group("Warehouse").await;
    let invited = b
        .invite_uid("E1234", "member", std::slice::from_ref(&warehouse))
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    assert_eq!(invited.json["kind"], "uid");
    assert_eq!(invited.json["uid"], "E1234");
    assert_eq!(invited.json["delivery"], "manual");
    assert_eq!(invited.json["sign_in_identifier"], "E1234:demo");
    assert_eq!(
        invited.header("cache-control"),
        Some("no-store"),
        "an answer with an access code is never cached"
    );
    let code = invited.json["access_code"]
        .as_str()
        .expect("the admin sees the code")
        .to_string();
    assert_eq!(code.len(), 13, "grouped like K7QM-4XTP-9HW: {code}");
    // The admin can show it again; the list does not carry codes.
    let id = invited.json["id"].as_str().unwrap();
    let shown = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/invitations/{id}"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(shown.json["access_code"], code.as_str());
    let listed = b
        .gateway
        .get("/v1/orgs/demo/invitations?kind=uid", Some(&b.admin_token))
        .await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 1);
    assert!(listed.json["items"][0]["access_code"].is_null());

    // The employee types the code in any case, without dashes, and sees the identifier.
    let typed = code.replace('-', "").to_lowercase();
    let checked = check(&b, &typed).await;
    assert_eq!(checked.status, 200, "{checked:?}");
    assert_eq!(checked.json["identifier"], "E1234:demo");
    assert_eq!(checked.json["first_name"], "Erin");

    // Sets a password and is signed in.
    let signed_up = redeem(&b, &code, "forklift at dawn again").await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    let user = signed_up.json["user"].clone();
    assert!(user["email"].is_null());
    assert_eq!(user["role"], "member");
    let groups: HashSet<String> = serde_json::from_value(user["groups"].clone()).unwrap();
    let mut expected: HashSet<String> = b.default_groups().await.into_iter().collect();
    expected.insert(warehouse);
    assert_eq!(groups, expected);
    let user_id = user["id"].as_str().unwrap().to_string();
    let first_session = signed_up.json["token"].as_str().unwrap().to_string();

    // Later sign-ins with uid:domain, in any case; only in this organisation.
    assert_eq!(
        b.sign_in("E1234:demo", "forklift at dawn again")
            .await
            .status,
        200
    );
    assert_eq!(
        b.sign_in("e1234:DEMO", "forklift at dawn again")
            .await
            .status,
        200
    );
    // On the organisation's own route, the bare identifier is enough.
    assert_eq!(
        b.sign_in("E1234", "forklift at dawn again").await.status,
        200
    );
    b.sign_in("E1234:elsewhere", "forklift at dawn again")
        .await
        .assert_problem(401, "invalid_credentials");
    let shown = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/invitations/{id}"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(shown.json["status"], "accepted");
    assert!(
        shown.json["access_code"].is_null(),
        "a spent code is not shown"
    );

    // Forgotten password: the admin finds the user among the users…
    let users = b
        .gateway
        .get("/v1/orgs/demo/users?limit=100", Some(&b.admin_token))
        .await;
    assert_eq!(users.status, 200, "{users:?}");
    let found = users.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["uid"] == "E1234")
        .expect("E1234 is listed")
        .clone();
    assert_eq!(found["id"], user_id.as_str());
    assert!(found["email"].is_null());
    assert_eq!(found["sign_in_identifier"], "E1234:demo");
    b.gateway
        .get("/v1/orgs/demo/users", Some(&first_session))
        .await
        .assert_problem(403, "forbidden");
    // …and, only an admin, sets a new password; the user's sessions end.
    let set = put_password(
        &b,
        &b.admin_token,
        &user_id,
        json!({ "password": "temporary pallet jack" }),
    )
    .await;
    assert_eq!(set.status, 204, "{set:?}");
    b.gateway
        .get("/v1/orgs/demo/groups", Some(&first_session))
        .await
        .assert_problem(401, "unauthenticated");
    b.sign_in("E1234:demo", "forklift at dawn again")
        .await
        .assert_problem(401, "invalid_credentials");
    let session = b.sign_in("E1234:demo", "temporary pallet jack").await;
    assert_eq!(session.status, 200);
    let token = session.json["token"].as_str().unwrap().to_string();
    let other = b.sign_in("E1234:demo", "temporary pallet jack").await.json["token"]
        .as_str()
        .unwrap()
        .to_string();

    // The user then changes it with the current one; other sessions end, this one stays.
    put_password(
        &b,
        &token,
        &user_id,
        json!({ "password": "my own secret shelf" }),
    )
    .await
    .assert_problem(422, "missing_current_password");
    put_password(
        &b,
        &token,
        &user_id,
        json!({ "password": "my own secret shelf", "current_password": "wrong one here" }),
    )
    .await
    .assert_problem(422, "wrong_current_password");
    let changed = put_password(
        &b,
        &token,
        &user_id,
        json!({ "password": "my own secret shelf", "current_password": "temporary pallet jack" }),
    )
    .await;
    assert_eq!(changed.status, 204, "{changed:?}");
    assert_eq!(
        b.gateway
            .get("/v1/orgs/demo/groups", Some(&token))
            .await
            .status,
        200
    );
    b.gateway
        .get("/v1/orgs/demo/groups", Some(&other))
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(
        b.sign_in("E1234:demo", "my own secret shelf").await.status,
        200
    );
}

async fn the_setting_gates_everything_and_turning_it_off_deletes_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.invite_uid("E1", "member", &[])
        .await
        .assert_problem(403, "sign_up_without_email_disabled");
    b.set_without_email(true).await;
    let first = b.invite_uid("E1", "member", &[]).await;
    let second = b.invite_uid("E2", "member", &[]).await;
    let (code1, code2) = (
        first.json["access_code"].as_str().unwrap().to_string(),
        second.json["access_code"].as_str().unwrap().to_string(),
    );
    assert_eq!(redeem(&b, &code1, "one small step here").await.status, 201);

    b.set_without_email(false).await;
    b.invite_uid("E3", "member", &[])
        .await
        .assert_problem(403, "sign_up_without_email_disabled");
    check(&b, &code2)
        .await
        .assert_problem(403, "sign_up_without_email_disabled");
    redeem(&b, &code2, "one giant leap now")
        .await
        .assert_problem(403, "sign_up_without_email_disabled");
    b.sign_in("E1:demo", "one small step here")
        .await
        .assert_problem(403, "sign_up_without_email_disabled");
    // Nothing was deleted: the pending invitation and the account are still there.
    let shown = b
        .gateway
        .get(
            &format!(
                "/v1/orgs/demo/invitations/{}",
                second.json["id"].as_str().unwrap()
            ),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(shown.json["status"], "pending");
    assert_eq!(shown.json["access_code"], code2.as_str());

    b.set_without_email(true).await;
    assert_eq!(
        b.sign_in("E1:demo", "one small step here").await.status,
        200
    );
    assert_eq!(redeem(&b, &code2, "one giant leap now").await.status, 201);
    // Settings are admin-only.
    let member = b.sign_in("E1:demo", "one small step here").await.json["token"]
        .as_str()
        .unwrap()
        .to_string();
    b.gateway
        .get("/v1/orgs/demo/settings", Some(&member))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&member),
            Some(json!({"sign_up_without_email": false}).to_string()),
        )
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .get("/v1/orgs/demo/settings", None)
        .await
        .assert_problem(401, "unauthenticated");
}

async fn bad_identifiers_and_codes_get_problems(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    for bad in ["", "E 1234", "E-1234", "e.1234", "émile", &"9".repeat(65)] {
        b.invite_uid(bad, "member", &[])
            .await
            .assert_problem(422, "invalid_uid");
    }
    assert_eq!(b.invite_uid("Z9", "member", &[]).await.status, 201);
    b.invite_uid("z9", "guest", &[])
        .await
        .assert_problem(409, "uid_taken");
    let both = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": b.email("x"), "uid": "X1", "role": "member", "first_name": "A", "last_name": "B"}),
        )
        .await;
    both.assert_problem(422, "email_or_uid");
    for bad in [
        "",
        "K7QM",
        "K7QM-4XTP-9HW0",
        "O0O0-O0O0-O0O",
        "K7QM-4XTP-9H!",
    ] {
        check(&b, bad)
            .await
            .assert_problem(422, "invalid_access_code");
        redeem(&b, bad, "a good long password")
            .await
            .assert_problem(422, "invalid_access_code");
    }
    b.gateway
        .post("/v1/orgs/demo/sign-up/access-code/check", None, json!({}))
        .await
        .assert_problem(422, "missing_field");
    // Settings refuse nonsense.
    let patch = |body: serde_json::Value| {
        let b = &b;
        async move {
            b.gateway
                .send(
                    "PATCH",
                    "/v1/orgs/demo/settings",
                    Some(&b.admin_token),
                    Some(body.to_string()),
                )
                .await
        }
    };
    patch(json!({"invitation_ttl_days": 0}))
        .await
        .assert_problem(422, "invalid_invitation_ttl");
    patch(json!({"password_min_length": 7}))
        .await
        .assert_problem(422, "invalid_password_min_length");
    patch(json!({"default_groups": ["0".repeat(32)]}))
        .await
        .assert_problem(422, "unknown_group");
    patch(json!({"allowed_email_domains": ["not a domain"]}))
        .await
        .assert_problem(422, "invalid_email_domain");
    patch(json!({"sign_up_without_email": "yes"}))
        .await
        .assert_problem(422, "invalid_body");
    let settings = b
        .gateway
        .get("/v1/orgs/demo/settings", Some(&b.admin_token))
        .await;
    assert_eq!(settings.json["invitation_ttl_days"], 30, "nothing changed");
    assert_eq!(settings.json["password_min_length"], 12);
    // Only admins invite by identifier, and only admins see codes.
    let member_code = b.invite_uid("M1", "member", &[]).await.json["access_code"]
        .as_str()
        .unwrap()
        .to_string();
    let member = redeem(&b, &member_code, "member of the team").await.json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let pending = b.invite_uid("P1", "member", &[]).await;
    b.gateway
        .get(
            &format!(
                "/v1/orgs/demo/invitations/{}",
                pending.json["id"].as_str().unwrap()
            ),
            Some(&member),
        )
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&member),
            json!({"uid": "Q1", "role": "member", "first_name": "A", "last_name": "B"}),
        )
        .await
        .assert_problem(403, "forbidden");
    // Admins set passwords only of users without email.
    let admin_id = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-in",
            None,
            json!({"identifier": b.admin_email, "password": gatehouse_e2e::ADMIN_PASSWORD}),
        )
        .await
        .json["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let alice = b.email("alice");
    b.invite(&alice, "member", &[]).await;
    let token = b.sign_up_token(&alice).await;
    let alice_id = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-up/email",
            None,
            json!({"token": token, "password": "down the rabbit hole"}),
        )
        .await
        .json["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    put_password(
        &b,
        &b.admin_token,
        &alice_id,
        json!({"password": "an admin's choice"}),
    )
    .await
    .assert_problem(409, "user_has_email");
    put_password(
        &b,
        &member,
        &admin_id,
        json!({"password": "a member's choice"}),
    )
    .await
    .assert_problem(403, "forbidden");
    put_password(
        &b,
        &b.admin_token,
        &"0".repeat(32),
        json!({"password": "nobody's choice"}),
    )
    .await
    .assert_problem(404, "user_not_found");
    let m1 = b.sign_in("M1:demo", "member of the team").await.json["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    put_password(&b, &b.admin_token, &m1, json!({"password": "short"}))
        .await
        .assert_problem(422, "password_too_short");
    put_password(
        &b,
        &b.admin_token,
        &m1,
        json!({"password": "my demo forklift licence"}),
    )
    .await
    .assert_problem(422, "password_contextual");
    assert_eq!(
        b.sign_in("M1:demo", "member of the team").await.status,
        200,
        "refused changes changed nothing"
    );
}

async fn used_revoked_and_expired_codes_stop_working(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    let code = |r: &Reply| r.json["access_code"].as_str().unwrap().to_string();
    let used = b.invite_uid("U1", "member", &[]).await;
    let revoked = b.invite_uid("R1", "member", &[]).await;
    let expiring = b.invite_uid("X1", "member", &[]).await;
    assert_eq!(
        redeem(&b, &code(&used), "used once and only once")
            .await
            .status,
        201
    );
    redeem(&b, &code(&used), "used once and only once")
        .await
        .assert_problem(422, "invalid_access_code");
    check(&b, &code(&used))
        .await
        .assert_problem(422, "invalid_access_code");

    let path = format!(
        "/v1/orgs/demo/invitations/{}",
        revoked.json["id"].as_str().unwrap()
    );
    let reply = b
        .gateway
        .send("DELETE", &path, Some(&b.admin_token), None)
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json["status"], "revoked");
    assert_eq!(
        b.gateway
            .send("DELETE", &path, Some(&b.admin_token), None)
            .await
            .json["status"],
        "revoked",
        "revoking twice is harmless"
    );
    check(&b, &code(&revoked))
        .await
        .assert_problem(422, "invalid_access_code");
    redeem(&b, &code(&revoked), "revoked but trying")
        .await
        .assert_problem(422, "invalid_access_code");
    // The uid is free again.
    assert_eq!(b.invite_uid("r1", "member", &[]).await.status, 201);
    // An accepted invitation cannot be revoked.
    let accepted = format!(
        "/v1/orgs/demo/invitations/{}",
        used.json["id"].as_str().unwrap()
    );
    b.gateway
        .send("DELETE", &accepted, Some(&b.admin_token), None)
        .await
        .assert_problem(409, "invitation_accepted");

    b.advance(Duration::from_secs(30 * 86_400));
    check(&b, &code(&expiring))
        .await
        .assert_problem(422, "invalid_access_code");
    redeem(&b, &code(&expiring), "too late for this")
        .await
        .assert_problem(422, "invalid_access_code");
    // Resent, the expired invitation keeps its code, shown again, and works for another 30 days.
    let admin = b
        .sign_in(&b.admin_email, gatehouse_e2e::ADMIN_PASSWORD)
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let resent = b
        .gateway
        .send(
            "POST",
            &format!(
                "/v1/orgs/demo/invitations/{}/resend",
                expiring.json["id"].as_str().unwrap()
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(resent.status, 200, "{resent:?}");
    assert_eq!(resent.json["access_code"], expiring.json["access_code"]);
    assert_eq!(resent.json["delivery"], "manual");
    assert_eq!(check(&b, &code(&expiring)).await.status, 200);
}

async fn a_guest_by_identifier_joins_only_invited_groups(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    let dock = b.group("Dock").await;
    let invited = b
        .invite_uid("G7", "guest", std::slice::from_ref(&dock))
        .await;
    let reply = redeem(
        &b,
        invited.json["access_code"].as_str().unwrap(),
        "guest at the dock",
    )
    .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json["user"]["role"], "guest");
    assert_eq!(reply.json["user"]["groups"], json!([dock]));
}

async fn twenty_concurrent_redemptions_make_one_account(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    b.set_without_email(true).await;
    let code = b.invite_uid("C20", "member", &[]).await.json["access_code"]
        .as_str()
        .unwrap()
        .to_string();
    // From twenty addresses, so that every attempt reaches the race, not the throttle.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let b = b.clone();
            let code = code.clone();
            tokio::spawn(async move {
                let reply = b
                    .gateway
                    .post_from(
                        &format!("198.51.100.{i}"),
                        "/v1/orgs/demo/sign-up/access-code",
                        None,
                        json!({"access_code": code, "password": format!("racing along lane {i}")}),
                    )
                    .await;
                (i, reply)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, reply) = t.await.unwrap();
        match reply.status {
            201 => winners.push(i),
            // Losers find the code spent, or (racing for the organisation's shared counter
            // under load) are refused rather than let through uncounted.
            429 => reply.assert_problem(429, "too_many_attempts"),
            _ => reply.assert_problem(422, "invalid_access_code"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        b.sign_in("C20:demo", &format!("racing along lane {}", winners[0]))
            .await
            .status,
        200
    );
    let loser = (winners[0] + 1) % 20;
    b.sign_in("C20:demo", &format!("racing along lane {loser}"))
        .await
        .assert_problem(401, "invalid_credentials");
}

async fn fifty_parallel_wrong_codes_cannot_exceed_the_throttle(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    b.set_without_email(true).await;
    let right = b.invite_uid("T1", "member", &[]).await.json["access_code"]
        .as_str()
        .unwrap()
        .to_string();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move {
                let wrong = gatehouse_domain::access_code::AccessCode::generate(
                    &gatehouse_domain::secret::OsRandomness,
                );
                check(&b, &wrong.grouped()).await
            })
        })
        .collect();
    let (mut evaluated, mut throttled) = (0, 0);
    for t in tasks {
        let reply = t.await.unwrap();
        match reply.status {
            422 => evaluated += 1,
            429 => {
                reply.assert_problem(429, "too_many_attempts");
                assert!(reply.header("retry-after").is_some(), "{reply:?}");
                throttled += 1;
            }
            other => panic!("unexpected {other}: {reply:?}"),
        }
    }
    assert_eq!(evaluated + throttled, 50);
    assert!(
        evaluated <= 5,
        "only the free attempts were looked up: {evaluated}"
    );
    assert!(evaluated >= 1);
    // This client must wait, even with the right code; another client is not held up.
    check(&b, &right)
        .await
        .assert_problem(429, "too_many_attempts");
    let elsewhere = b
        .gateway
        .post_from(
            "203.0.113.9",
            "/v1/orgs/demo/sign-up/access-code/check",
            None,
            json!({"access_code": right}),
        )
        .await;
    assert_eq!(elsewhere.status, 200, "{elsewhere:?}");
    b.advance(Duration::from_secs(3600));
    assert_eq!(check(&b, &right).await.status, 200);
}

async fn fifty_parallel_wrong_passwords_cannot_exceed_the_throttle(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    let before = b.services.passwords.verifications();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let b = b.clone();
            tokio::spawn(async move {
                // From fifty addresses: only the account's own counter holds them back.
                b.gateway
                    .post_from(
                        &format!("198.51.100.{i}"),
                        "/v1/orgs/demo/sign-in",
                        None,
                        json!({"identifier": b.admin_email, "password": format!("guess number {i}")}),
                    )
                    .await
            })
        })
        .collect();
    let (mut verified, mut throttled) = (0, 0);
    for t in tasks {
        let reply = t.await.unwrap();
        match reply.status {
            401 => verified += 1,
            429 => throttled += 1,
            other => panic!("unexpected {other}: {reply:?}"),
        }
    }
    assert_eq!(verified + throttled, 50);
    assert!(verified <= 5, "{verified} passwords were checked");
    assert_eq!(
        b.services.passwords.verifications() - before,
        verified as u64
    );
}

async fn a_thousand_wrong_passwords_cost_at_most_a_hundred_verifications(backend: Backend) {
    let b = Bundle::start(backend).await;
    let before = b.services.passwords.verifications();
    let mut locked = 0;
    // The worst case: half from the owner's own address (the bundle's admin signed in from it,
    // so it is familiar), half from strangers', every wait waited out.
    for i in 0..1000 {
        let client = if i % 2 == 0 {
            gatehouse_e2e::DEFAULT_CLIENT.to_string()
        } else {
            format!("198.51.{}.{}", i / 256, i % 256)
        };
        let reply = b
            .gateway
            .post_from(
                &client,
                "/v1/orgs/demo/sign-in",
                None,
                json!({"identifier": b.admin_email, "password": format!("wrong password {i}")}),
            )
            .await;
        match reply.status {
            401 => {}
            429 => match reply.header("retry-after") {
                // The attacker waits as told, and tries again.
                Some(wait) => b.advance(Duration::from_secs(wait.parse().unwrap())),
                None => locked += 1,
            },
            other => panic!("unexpected {other}: {reply:?}"),
        }
    }
    let verifications = b.services.passwords.verifications() - before;
    assert_eq!(
        verifications, 100,
        "each kind of address locks at its fiftieth failure"
    );
    assert!(locked > 0);
    // Locked: even the right password is refused, without a Retry-After.
    let reply = b
        .sign_in(&b.admin_email, gatehouse_e2e::ADMIN_PASSWORD)
        .await;
    reply.assert_problem(429, "too_many_attempts");
    assert!(reply.header("retry-after").is_none());
    // A password reset lifts the lock.
    b.advance(Duration::from_secs(86_400));
    let asked = b
        .gateway
        .post(
            "/v1/orgs/demo/password-reset",
            None,
            json!({"email": b.admin_email}),
        )
        .await;
    assert_eq!(asked.status, 202);
    let token = b.sign_up_token(&b.admin_email).await;
    let confirmed = b
        .gateway
        .post(
            "/v1/orgs/demo/password-reset/confirm",
            None,
            json!({"token": token, "password": "a fresh start today"}),
        )
        .await;
    assert_eq!(confirmed.status, 204, "{confirmed:?}");
    assert_eq!(
        b.sign_in(&b.admin_email, "a fresh start today")
            .await
            .status,
        200
    );
}

async fn throttling_does_not_reveal_whether_an_account_exists(backend: Backend) {
    let b = Bundle::start(backend).await;
    let nobody = b.email("nobody");
    let mut last = (None, None);
    for i in 0..7 {
        let client = format!("198.51.100.{i}");
        let real = b
            .gateway
            .post_from(
                &client,
                "/v1/orgs/demo/sign-in",
                None,
                json!({"identifier": b.admin_email, "password": "not it at all"}),
            )
            .await;
        let fake = b
            .gateway
            .post_from(
                &client,
                "/v1/orgs/demo/sign-in",
                None,
                json!({"identifier": nobody, "password": "not it at all"}),
            )
            .await;
        assert_eq!(real.status, fake.status, "attempt {i}");
        assert_eq!(real.text, fake.text, "attempt {i}");
        last = (Some(real), Some(fake));
    }
    let (real, fake) = (last.0.unwrap(), last.1.unwrap());
    real.assert_problem(429, "too_many_attempts");
    assert_eq!(real.header("retry-after"), fake.header("retry-after"));
}

async fn a_right_code_does_not_wipe_wrong_guesses(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    let right = b.invite_uid("W1", "member", &[]).await.json["access_code"]
        .as_str()
        .unwrap()
        .to_string();
    let wrong = || {
        gatehouse_domain::access_code::AccessCode::generate(&gatehouse_domain::secret::OsRandomness)
            .grouped()
    };
    for _ in 0..4 {
        check(&b, &wrong())
            .await
            .assert_problem(422, "invalid_access_code");
    }
    assert_eq!(check(&b, &right).await.status, 200);
    // The four wrong guesses still count: the fifth is the last free one.
    check(&b, &wrong())
        .await
        .assert_problem(422, "invalid_access_code");
    check(&b, &right)
        .await
        .assert_problem(429, "too_many_attempts");
}

async fn right_answers_from_one_address_are_never_throttled(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    let code = b.invite_uid("N1", "member", &[]).await.json["access_code"]
        .as_str()
        .unwrap()
        .to_string();
    // More than the organisation's free allowance of code attempts, all right.
    for i in 0..120 {
        let reply = check(&b, &code).await;
        assert_eq!(reply.status, 200, "check {i}: {reply:?}");
    }
    // More than a client's free allowance of sign-ins (an office behind one address), all right.
    for i in 0..30 {
        let reply = b
            .sign_in(&b.admin_email, gatehouse_e2e::ADMIN_PASSWORD)
            .await;
        assert_eq!(reply.status, 200, "sign-in {i}: {reply:?}");
    }
}
