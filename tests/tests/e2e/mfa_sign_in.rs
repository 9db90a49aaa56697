//! Signing in with a second factor, through the API on both backends, the codes computed by
//! `pyotp` from the otpauth URI as a phone would: the right password answers an `mfa_token` and no
//! session; the app's code (or a recovery code, once) opens it; the token works once, for 5
//! minutes, from the address the password came from, for the person whose password it was; the
//! organisation's policy makes people without a factor enrol one before any session; wrong codes
//! cost no more than the account's lock allows.

use std::time::Duration;

use gatehouse_domain::clock::Clock;
use gatehouse_e2e::authenticator::{app_code, enrolled_app};
use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, PASSWORD};
use serde_json::{json, Value};

on_both_backends!(
    a_code_finishes_the_sign_in_once,
    a_recovery_code_signs_in_once,
    the_token_is_bound_to_its_sign_in,
    the_policy_makes_people_enrol_before_any_session,
    a_thousand_wrong_codes_cost_no_more_than_the_lock,
    one_token_finished_twice_at_once_opens_one_session,
);

async fn finish(b: &Bundle, token: &str, proof: Value) -> Reply {
    let mut body = proof;
    body["mfa_token"] = json!(token);
    b.gateway
        .post("/v1/orgs/demo/sign-in/mfa", None, body)
        .await
}

/// The second step a right password answers: its token.
fn second_step(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json["mfa_required"], json!(true), "{reply:?}");
    assert!(
        reply.json.get("token").is_none(),
        "no session yet: {reply:?}"
    );
    reply.json["mfa_token"].as_str().unwrap().to_string()
}

async fn a_code_finishes_the_sign_in_once(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let (uri, _) = enrolled_app(&b, &alice).await;

    // A wrong password answers as for anyone: nothing says a second factor exists.
    let wrong = b.sign_in(&alice.email, "not her password").await;
    let stranger = b.sign_in(&b.email("nobody"), "not her password").await;
    wrong.assert_problem(401, "invalid_credentials");
    assert_eq!(wrong.json["detail"], stranger.json["detail"]);

    let step = b.sign_in(&alice.email, PASSWORD).await;
    assert_eq!(step.json["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(step.header("cache-control"), Some("no-store"));
    let token = second_step(&step);

    finish(&b, &token, json!({ "code": "000000" }))
        .await
        .assert_problem(401, "invalid_mfa_code");
    let code = app_code(&uri, b.clock.now().unix_seconds());
    let signed_in = finish(&b, &token, json!({ "code": code })).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    let session = signed_in.json["token"].as_str().unwrap();
    let who = b.gateway.get("/v1/orgs/demo/session", Some(session)).await;
    assert_eq!(who.json["user"]["id"], json!(alice.id), "{who:?}");

    // The token is spent; the code too, even with a new token.
    finish(&b, &token, json!({ "code": code }))
        .await
        .assert_problem(401, "invalid_mfa_token");
    let again = second_step(&b.sign_in(&alice.email, PASSWORD).await);
    finish(&b, &again, json!({ "code": code }))
        .await
        .assert_problem(401, "invalid_mfa_code");
    // The next step's code works.
    b.clock.advance(Duration::from_secs(30));
    let next = app_code(&uri, b.clock.now().unix_seconds());
    let signed_in = finish(&b, &again, json!({ "code": next })).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
}

async fn a_recovery_code_signs_in_once(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let (_, codes) = enrolled_app(&b, &alice).await;
    let token = second_step(&b.sign_in(&alice.email, PASSWORD).await);
    // Typed as people type: lower case, without the hyphen.
    let typed = codes[3].to_lowercase().replace('-', " ");
    let signed_in = finish(&b, &token, json!({ "recovery_code": typed })).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    let token = second_step(&b.sign_in(&alice.email, PASSWORD).await);
    finish(&b, &token, json!({ "recovery_code": codes[3] }))
        .await
        .assert_problem(401, "invalid_mfa_code");
    let signed_in = finish(&b, &token, json!({ "recovery_code": codes[4] })).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    // Neither or both: said as such.
    let token = second_step(&b.sign_in(&alice.email, PASSWORD).await);
    finish(&b, &token, json!({}))
        .await
        .assert_problem(422, "missing_field");
    finish(
        &b,
        &token,
        json!({ "code": "123456", "recovery_code": codes[5] }),
    )
    .await
    .assert_problem(422, "invalid_body");
}

async fn the_token_is_bound_to_its_sign_in(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let bob = b.account("bob", "member").await;
    let (alice_uri, _) = enrolled_app(&b, &alice).await;
    let (bob_uri, _) = enrolled_app(&b, &bob).await;

    // Bob's token with Alice's code: her code is no code of his.
    let bobs = second_step(&b.sign_in(&bob.email, PASSWORD).await);
    let now = b.clock.now().unix_seconds();
    finish(&b, &bobs, json!({ "code": app_code(&alice_uri, now) }))
        .await
        .assert_problem(401, "invalid_mfa_code");

    // From another address, the token is unknown.
    let elsewhere = b
        .gateway
        .post_from(
            "198.51.100.77",
            "/v1/orgs/demo/sign-in/mfa",
            None,
            json!({ "mfa_token": bobs, "code": app_code(&bob_uri, now) }),
        )
        .await;
    elsewhere.assert_problem(401, "invalid_mfa_token");

    // A password changed since the password step ends it.
    let alices = second_step(&b.sign_in(&alice.email, PASSWORD).await);
    let changed = b
        .gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/users/{}/password", alice.id),
            Some(&alice.token),
            Some(
                json!({ "current_password": PASSWORD, "password": "a brand new passphrase" })
                    .to_string(),
            ),
        )
        .await;
    assert!(changed.status < 300, "{changed:?}");
    finish(&b, &alices, json!({ "code": app_code(&alice_uri, now) }))
        .await
        .assert_problem(401, "invalid_mfa_token");

    // Five minutes later, it is gone.
    let bobs = second_step(&b.sign_in(&bob.email, PASSWORD).await);
    b.clock.advance(Duration::from_secs(5 * 60));
    let later = b.clock.now().unix_seconds();
    finish(&b, &bobs, json!({ "code": app_code(&bob_uri, later) }))
        .await
        .assert_problem(401, "invalid_mfa_token");
    // A token that is no token is one unknown.
    finish(&b, "not-a-token", json!({ "code": "123456" }))
        .await
        .assert_problem(401, "invalid_mfa_token");
}

async fn the_policy_makes_people_enrol_before_any_session(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let guest = b.account("gus", "guest").await;
    let changed = b
        .change_settings(json!({ "mfa_required_for": ["member", "member"] }))
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.json["mfa_required_for"], json!(["member"]));
    b.gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(json!({ "mfa_required_for": ["root"] }).to_string()),
        )
        .await
        .assert_problem(422, "invalid_role");

    // Guests are not named: their password alone signs them in.
    let signed_in = b.sign_in(&guest.email, PASSWORD).await;
    assert!(signed_in.json["token"].is_string(), "{signed_in:?}");

    let step = b.sign_in(&alice.email, PASSWORD).await;
    assert_eq!(step.status, 200, "{step:?}");
    assert_eq!(step.json["mfa_enrolment_required"], json!(true), "{step:?}");
    assert!(step.json.get("token").is_none(), "no session yet: {step:?}");
    let token = step.json["mfa_token"].as_str().unwrap();
    finish(&b, token, json!({ "code": "123456" }))
        .await
        .assert_problem(409, "mfa_enrolment_required");
    let confirm = |code: String| {
        let b = &b;
        let token = token.to_string();
        async move {
            b.gateway
                .post(
                    "/v1/orgs/demo/sign-in/mfa/totp/confirm",
                    None,
                    json!({ "mfa_token": token, "code": code }),
                )
                .await
        }
    };
    confirm("123456".into())
        .await
        .assert_problem(409, "totp_not_started");
    let started = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-in/mfa/totp",
            None,
            json!({ "mfa_token": token }),
        )
        .await;
    assert_eq!(started.status, 200, "{started:?}");
    let uri = started.json["otpauth_uri"].as_str().unwrap().to_string();
    confirm("000000".into())
        .await
        .assert_problem(401, "invalid_mfa_code");
    let done = confirm(app_code(&uri, b.clock.now().unix_seconds())).await;
    assert_eq!(done.status, 200, "{done:?}");
    assert!(done.json["token"].is_string());
    assert_eq!(done.json["recovery_codes"].as_array().unwrap().len(), 10);
    assert_eq!(done.json["user"]["second_factors"], json!(["totp"]));

    // From now on her sign-in asks for the app's code.
    let next = b.sign_in(&alice.email, PASSWORD).await;
    second_step(&next);
}

async fn one_token_finished_twice_at_once_opens_one_session(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let (_, codes) = enrolled_app(&b, &alice).await;
    let token = second_step(&b.sign_in(&alice.email, PASSWORD).await);
    // The same token, with two different recovery codes, at the same moment.
    let (one, two) = tokio::join!(
        finish(&b, &token, json!({ "recovery_code": codes[0] })),
        finish(&b, &token, json!({ "recovery_code": codes[1] })),
    );
    let opened = [&one, &two].iter().filter(|r| r.status == 200).count();
    assert_eq!(opened, 1, "{one:?}\n{two:?}");
    let refused = if one.status == 200 { &two } else { &one };
    refused.assert_problem(401, "invalid_mfa_token");
    // The code of the step that lost was not spent: it still works once.
    let spent = if one.status == 200 {
        &codes[0]
    } else {
        &codes[1]
    };
    let unspent = if one.status == 200 {
        &codes[1]
    } else {
        &codes[0]
    };
    let token = second_step(&b.sign_in(&alice.email, PASSWORD).await);
    finish(&b, &token, json!({ "recovery_code": spent }))
        .await
        .assert_problem(401, "invalid_mfa_code");
    let signed_in = finish(&b, &token, json!({ "recovery_code": unspent })).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
}

async fn a_thousand_wrong_codes_cost_no_more_than_the_lock(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let (uri, _) = enrolled_app(&b, &alice).await;
    let mut token = second_step(&b.sign_in(&alice.email, PASSWORD).await);
    let (mut checked, mut locked) = (0, false);
    for _ in 0..1_000 {
        let reply = finish(&b, &token, json!({ "code": "000000" })).await;
        match (reply.status, reply.code()) {
            (401, "invalid_mfa_code") => checked += 1,
            (401, "invalid_mfa_token") => {
                token = second_step(&b.sign_in(&alice.email, PASSWORD).await);
            }
            (429, "too_many_attempts") => match reply.header("retry-after") {
                Some(wait) => {
                    let wait: u64 = wait.parse().unwrap();
                    b.clock.advance(Duration::from_secs(wait));
                }
                None => {
                    locked = true;
                    break;
                }
            },
            other => panic!("{other:?}: {reply:?}"),
        }
    }
    assert!(locked, "the account locks");
    assert!(checked <= 50, "{checked} codes were checked");
    // Locked, the right code gets nowhere either, until an admin removes the app.
    let token = second_step(&b.sign_in(&alice.email, PASSWORD).await);
    let right = app_code(&uri, b.clock.now().unix_seconds());
    let held = finish(&b, &token, json!({ "code": right })).await;
    held.assert_problem(429, "too_many_attempts");
    assert_eq!(held.header("retry-after"), None);
    let removed = b
        .gateway
        .send(
            "DELETE",
            &format!("/v1/orgs/demo/users/{}/totp", alice.id),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{removed:?}");
    let signed_in = b.sign_in(&alice.email, PASSWORD).await;
    assert!(signed_in.json["token"].is_string(), "{signed_in:?}");
}
