//! Password reset by email and its edges, on both backends, reading the mailed link back.

use std::time::{Duration, Instant};

use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, ADMIN_PASSWORD};
use serde_json::json;

on_both_backends!(
    a_reset_link_sets_a_new_password_once_and_ends_sessions,
    reset_requests_answer_the_same_whatever_the_email,
    reset_links_expire_after_an_hour,
    weak_new_passwords_are_refused_and_spend_nothing,
    a_password_change_voids_every_reset_link_mailed_before_it,
);

async fn ask(b: &Bundle, email: &str) -> Reply {
    b.gateway
        .post(
            "/v1/orgs/demo/password-reset",
            None,
            json!({ "email": email }),
        )
        .await
}

async fn confirm(b: &Bundle, token: &str, password: &str) -> Reply {
    b.gateway
        .post(
            "/v1/orgs/demo/password-reset/confirm",
            None,
            json!({ "token": token, "password": password }),
        )
        .await
}

async fn a_reset_link_sets_a_new_password_once_and_ends_sessions(backend: Backend) {
    let b = Bundle::start(backend).await;
    let asked = ask(&b, &b.admin_email.to_uppercase()).await;
    assert_eq!(asked.status, 202, "{asked:?}");
    let mails = b.mailbox.messages_to(&b.admin_email).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject.contains("Reset your password"),
        "{:?}",
        mails[0]
    );
    let html = mails[0].html.as_deref().unwrap();
    assert!(
        gatehouse_e2e::mail_html_contains_link(html, "/demo/reset-password?token="),
        "{html}"
    );
    let token = b.sign_up_token(&b.admin_email).await;

    let done = confirm(&b, &token, "a brand new passphrase").await;
    assert_eq!(done.status, 204, "{done:?}");
    // Every session ended, the admin's included.
    b.gateway
        .get("/v1/orgs/demo/invitations", Some(&b.admin_token))
        .await
        .assert_problem(401, "unauthenticated");
    b.sign_in(&b.admin_email, ADMIN_PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    assert_eq!(
        b.sign_in(&b.admin_email, "a brand new passphrase")
            .await
            .status,
        200
    );
    // The link works once.
    confirm(&b, &token, "yet another passphrase")
        .await
        .assert_problem(422, "invalid_token");
    assert_eq!(
        b.sign_in(&b.admin_email, "a brand new passphrase")
            .await
            .status,
        200
    );
    // Unknown and malformed tokens.
    confirm(&b, &"A".repeat(43), "yet another passphrase")
        .await
        .assert_problem(422, "invalid_token");
    confirm(&b, "short", "yet another passphrase")
        .await
        .assert_problem(422, "invalid_token");
    // A token of one organisation does nothing in another.
    ask(&b, &b.admin_email).await;
    let fresh = b.sign_up_token(&b.admin_email).await;
    b.gateway
        .post(
            "/v1/orgs/nowhere/password-reset/confirm",
            None,
            json!({"token": fresh, "password": "whatever it may be"}),
        )
        .await
        .assert_problem(404, "org_not_found");
}

async fn reset_requests_answer_the_same_whatever_the_email(backend: Backend) {
    let b = Bundle::start(backend).await;
    let nobody = b.email("nobody");
    let started = Instant::now();
    let known = ask(&b, &b.admin_email).await;
    let known_took = started.elapsed();
    let started = Instant::now();
    let unknown = ask(&b, &nobody).await;
    let unknown_took = started.elapsed();
    assert_eq!((known.status, &known.text), (unknown.status, &unknown.text));
    assert_eq!(known.status, 202);
    // Both wait for the same floor; this asserts the floor, not a speed.
    let floor = b.services.config.mail_response_floor;
    assert!(
        known_took >= floor && unknown_took >= floor,
        "{known_took:?} {unknown_took:?}"
    );
    assert!(
        b.mailbox.messages_to(&nobody).await.is_empty(),
        "no mail for an unknown address"
    );
    assert_eq!(b.mailbox.messages_to(&b.admin_email).await.len(), 1);
    ask(&b, "not an email")
        .await
        .assert_problem(422, "invalid_email");
    b.gateway
        .post("/v1/orgs/demo/password-reset", None, json!({}))
        .await
        .assert_problem(422, "missing_field");
    b.gateway
        .post(
            "/v1/orgs/nowhere/password-reset",
            None,
            json!({"email": b.admin_email}),
        )
        .await
        .assert_problem(404, "org_not_found");
    // Repeated requests cannot flood an inbox: a few mails, then silence (still 202).
    for _ in 0..5 {
        assert_eq!(ask(&b, &b.admin_email).await.status, 202);
    }
    assert_eq!(b.mailbox.messages_to(&b.admin_email).await.len(), 3);
}

async fn reset_links_expire_after_an_hour(backend: Backend) {
    let b = Bundle::start(backend).await;
    ask(&b, &b.admin_email).await;
    let token = b.sign_up_token(&b.admin_email).await;
    b.advance(Duration::from_secs(3600));
    confirm(&b, &token, "too late for this one")
        .await
        .assert_problem(410, "token_expired");
    assert_eq!(
        b.sign_in(&b.admin_email, ADMIN_PASSWORD).await.status,
        200,
        "nothing changed"
    );
}

async fn weak_new_passwords_are_refused_and_spend_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    ask(&b, &b.admin_email).await;
    let token = b.sign_up_token(&b.admin_email).await;
    for (password, code) in [
        ("short", "password_too_short"),
        ("password123456", "password_too_common"),
        ("ada the great admin", "password_contextual"),
    ] {
        confirm(&b, &token, password)
            .await
            .assert_problem(422, code);
    }
    assert_eq!(confirm(&b, &token, "finally a good one").await.status, 204);
}

/// Two links mailed, the first used: the second is void. A link mailed, then the password changed
/// by its owner: the link is void. Holding an older mail (forwarded, a shared inbox) takes nothing.
async fn a_password_change_voids_every_reset_link_mailed_before_it(backend: Backend) {
    let b = Bundle::start(backend).await;
    assert_eq!(ask(&b, &b.admin_email).await.status, 202);
    assert_eq!(ask(&b, &b.admin_email).await.status, 202);
    let tokens: Vec<String> = b
        .mailbox
        .messages_to(&b.admin_email)
        .await
        .iter()
        .map(|m| m.link_token().expect("a reset link"))
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1]);
    // Either link works until one is used (mail may arrive out of order): here the older one.
    assert_eq!(
        confirm(&b, &tokens[0], "the first new passphrase")
            .await
            .status,
        204
    );
    confirm(&b, &tokens[1], "a hijacking passphrase")
        .await
        .assert_problem(422, "invalid_token");
    b.sign_in(&b.admin_email, "a hijacking passphrase")
        .await
        .assert_problem(401, "invalid_credentials");

    // A link mailed, then the password changed by its owner with the current one.
    ask(&b, &b.admin_email).await;
    let pending = b.sign_up_token(&b.admin_email).await;
    let signed = b.sign_in(&b.admin_email, "the first new passphrase").await;
    assert_eq!(signed.status, 200, "{signed:?}");
    let token = signed.json["token"].as_str().unwrap().to_string();
    let me = signed.json["user"]["id"].as_str().unwrap().to_string();
    let changed = b
        .gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/users/{me}/password"),
            Some(&token),
            Some(
                json!({"password": "the owner's own choice", "current_password": "the first new passphrase"})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(changed.status, 204, "{changed:?}");
    confirm(&b, &pending, "a hijacking passphrase")
        .await
        .assert_problem(422, "invalid_token");
    assert_eq!(
        b.sign_in(&b.admin_email, "the owner's own choice")
            .await
            .status,
        200,
        "the owner's password stands"
    );
}
