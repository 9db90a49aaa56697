//! Password reset by email and its edges, on both backends, reading the mailed link back.

use std::time::{Duration, Instant};

use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, ADMIN_PASSWORD};
use serde_json::json;

on_both_backends!(
    a_reset_link_sets_a_new_password_once_and_ends_sessions,
    reset_requests_answer_the_same_whatever_the_email,
    reset_links_expire_after_an_hour,
    weak_new_passwords_are_refused_and_spend_nothing,
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
