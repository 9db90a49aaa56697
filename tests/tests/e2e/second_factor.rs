//! An authenticator app as a second factor, through the API on both backends: enrolled with the
//! password, confirmed by a code that `pyotp` (an implementation nobody here wrote) computes from
//! our otpauth URI, recovery codes shown once, removed by the person or an admin (who mails
//! them); others refused; wrong codes counted for the account.

use std::time::Duration;

use gatehouse_domain::clock::Clock;
use gatehouse_e2e::authenticator::app_code;
use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, PASSWORD};
use serde_json::json;

on_both_backends!(
    a_person_enrols_an_app_and_an_admin_removes_it,
    wrong_codes_are_counted_per_account,
);

fn totp(id: &str) -> String {
    format!("/v1/orgs/demo/users/{id}/totp")
}

async fn start(b: &Bundle, id: &str, token: &str, password: &str) -> Reply {
    b.gateway
        .post(
            &totp(id),
            Some(token),
            json!({ "current_password": password }),
        )
        .await
}

async fn confirm(b: &Bundle, id: &str, token: &str, code: &str) -> Reply {
    b.gateway
        .post(
            &format!("{}/confirm", totp(id)),
            Some(token),
            json!({ "code": code }),
        )
        .await
}

async fn user(b: &Bundle, id: &str) -> Reply {
    let read = b
        .gateway
        .get(&format!("/v1/orgs/demo/users/{id}"), Some(&b.admin_token))
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    read
}

/// The events of one type in the log, once it has settled.
async fn events_of(b: &Bundle, kind: &str) -> Vec<serde_json::Value> {
    b.advance(Duration::from_secs(11));
    let reply = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/events?type={kind}"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json["items"].as_array().unwrap().clone()
}

async fn a_person_enrols_an_app_and_an_admin_removes_it(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let bob = b.account("bob", "member").await;

    // Her password first; nobody else may enrol for her.
    start(&b, &alice.id, &alice.token, "not my password")
        .await
        .assert_problem(422, "wrong_current_password");
    start(&b, &alice.id, &bob.token, PASSWORD)
        .await
        .assert_problem(403, "forbidden");
    start(&b, &alice.id, &b.admin_token, PASSWORD)
        .await
        .assert_problem(403, "forbidden");

    let enrolment = start(&b, &alice.id, &alice.token, PASSWORD).await;
    assert_eq!(enrolment.status, 200, "{enrolment:?}");
    assert_eq!(enrolment.header("cache-control"), Some("no-store"));
    let uri = enrolment.json["otpauth_uri"].as_str().unwrap().to_string();
    let secret = enrolment.json["secret"].as_str().unwrap().to_string();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(
        uri.contains("issuer=demo&"),
        "the app names the organisation: {uri}"
    );
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert!(enrolment.json["qr_svg"].as_str().unwrap().contains("<svg"));
    assert_eq!(
        user(&b, &alice.id).await.json["second_factors"],
        json!([]),
        "not a factor before a first code"
    );

    // A wrong code does not confirm it; the app's code does, once.
    confirm(&b, &alice.id, &alice.token, "000000")
        .await
        .assert_problem(422, "invalid_mfa_code");
    let code = app_code(&uri, b.clock.now().unix_seconds());
    let confirmed = confirm(&b, &alice.id, &alice.token, &code).await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    assert_eq!(confirmed.header("cache-control"), Some("no-store"));
    let recovery: Vec<String> =
        serde_json::from_value(confirmed.json["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    let distinct: std::collections::HashSet<_> = recovery.iter().collect();
    assert_eq!(distinct.len(), 10, "{recovery:?}");
    assert_eq!(
        user(&b, &alice.id).await.json["second_factors"],
        json!(["totp"])
    );
    // Kept sealed and hashed: neither the secret nor a recovery code is stored as given.
    let org = &b.org;
    let id = gatehouse_domain::types::UserId::parse(&alice.id).unwrap();
    let stored = b.services.store.user(org, &id).await.unwrap().unwrap();
    let record = serde_json::to_string(&stored).unwrap();
    assert!(!record.contains(&secret));
    for c in &recovery {
        assert!(!record.contains(c.as_str()) && !record.contains(&c.replace('-', "")));
    }
    confirm(&b, &alice.id, &alice.token, &code)
        .await
        .assert_problem(409, "totp_already_enrolled");
    start(&b, &alice.id, &alice.token, PASSWORD)
        .await
        .assert_problem(409, "totp_already_enrolled");
    let events = events_of(&b, "user.mfa_enabled").await;
    assert_eq!(events[0]["data"]["id"], json!(alice.id), "{events:?}");
    assert_eq!(events[0]["data"]["second_factors"], json!(["totp"]));

    // Bob may not remove it; an admin may (she lost her phone), without her password, and she
    // is told by mail.
    let remove = |token: &str, body: Option<serde_json::Value>| {
        let token = token.to_string();
        let b = &b;
        let path = totp(&alice.id);
        async move {
            b.gateway
                .send("DELETE", &path, Some(&token), body.map(|v| v.to_string()))
                .await
        }
    };
    remove(&bob.token, None)
        .await
        .assert_problem(403, "forbidden");
    let removed = remove(&b.admin_token, None).await;
    assert_eq!(removed.status, 204, "{removed:?}");
    assert_eq!(user(&b, &alice.id).await.json["second_factors"], json!([]));
    let mails = b.mailbox.messages_to(&alice.email).await;
    let told = mails.last().expect("a mail to her");
    assert!(
        told.subject.contains("second factor was removed"),
        "{told:?}"
    );
    // (moto's SES keeps the HTML part only.)
    let body = told.text.as_ref().or(told.html.as_ref()).expect("a body");
    assert!(body.contains("your authenticator app"), "{body}");
    let events = events_of(&b, "user.mfa_disabled").await;
    let event = &events[0];
    assert_eq!(event["data"]["id"], json!(alice.id), "{events:?}");
    assert!(
        event["actor"]["user_id"].is_string(),
        "the admin did it: {event}"
    );
    assert_ne!(event["actor"]["user_id"], json!(alice.id));

    // She enrols a new phone; removing it herself takes her password.
    assert_eq!(
        start(&b, &alice.id, &alice.token, PASSWORD).await.status,
        200
    );
    remove(&alice.token, None)
        .await
        .assert_problem(422, "missing_current_password");
    let own = remove(&alice.token, Some(json!({ "current_password": PASSWORD }))).await;
    assert_eq!(own.status, 204, "{own:?}");
}

async fn wrong_codes_are_counted_per_account(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let enrolment = start(&b, &alice.id, &alice.token, PASSWORD).await;
    let uri = enrolment.json["otpauth_uri"].as_str().unwrap().to_string();
    for _ in 0..5 {
        confirm(&b, &alice.id, &alice.token, "000000")
            .await
            .assert_problem(422, "invalid_mfa_code");
    }
    // Past the free five the account waits, whatever the code: even the right one.
    let code = app_code(&uri, b.clock.now().unix_seconds());
    let held = confirm(&b, &alice.id, &alice.token, &code).await;
    held.assert_problem(429, "too_many_attempts");
    let wait: u64 = held.header("retry-after").expect("a wait").parse().unwrap();
    // Once waited out (the app has moved on a step), the right code gets in.
    b.clock.advance(Duration::from_secs(wait + 30));
    let code = app_code(&uri, b.clock.now().unix_seconds());
    let confirmed = confirm(&b, &alice.id, &alice.token, &code).await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
}
