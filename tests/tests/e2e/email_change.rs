//! A verified change of email, end to end on both backends: the person asks with their password
//! (an admin without), the link goes to the new address and a notice to the old one, the old
//! address works until the link is followed and is free at once after; a taken address answers
//! the same and is mailed nothing; spent, superseded and expired links are refused.

use gatehouse_e2e::{on_both_backends, Backend, Bundle, PASSWORD};
use serde_json::json;
use std::time::Duration;

on_both_backends!(
    a_person_changes_their_email_through_the_mailed_link,
    an_admin_changes_an_email_without_a_password,
    a_taken_address_is_answered_alike_and_mailed_nothing,
    spent_superseded_and_expired_links_are_refused,
    an_account_is_sent_few_changes_a_day,
);

fn email_path(id: &str) -> String {
    format!("/v1/orgs/demo/users/{id}/email")
}

/// What a mail says, as its reader sees it (moto keeps only one part).
fn body(mail: &gatehouse_e2e::ReceivedMail) -> String {
    mail.text
        .clone()
        .or_else(|| mail.html.as_deref().map(gatehouse_e2e::unescape_html))
        .unwrap_or_default()
}

async fn confirm(b: &Bundle, token: &str) -> gatehouse_e2e::Reply {
    b.gateway
        .post(
            "/v1/orgs/demo/email-change/confirm",
            None,
            json!({ "token": token }),
        )
        .await
}

async fn a_person_changes_their_email_through_the_mailed_link(backend: Backend) {
    let b = Bundle::start(backend).await;
    let ada = b.account("ada", "member").await;
    let new = b.email("augusta");
    let asked = b
        .gateway
        .post(
            &email_path(&ada.id),
            Some(&ada.token),
            json!({ "email": new, "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(asked.status, 202, "{asked:?}");
    let notice = b.mailbox.messages_to(&ada.email).await;
    let notice = notice.last().unwrap();
    assert!(
        notice.subject.contains("change of your email"),
        "{notice:?}"
    );
    assert!(body(notice).contains(&new), "{notice:?}");
    assert_eq!(notice.link_token(), None, "the notice carries no link");
    // Until the link is followed, the old address is the one that signs in.
    assert_eq!(b.sign_in(&ada.email, PASSWORD).await.status, 200);
    b.sign_in(&new, PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    let token = b.sign_up_token(&new).await;
    let confirmed = confirm(&b, &token).await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    assert_eq!(confirmed.json["email"], new);
    assert_eq!(b.sign_in(&new, PASSWORD).await.status, 200);
    b.sign_in(&ada.email, PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    // The old address is free at once: it can be invited.
    assert_eq!(b.invite(&ada.email, "member", &[]).await.status, 201);
    confirm(&b, &token)
        .await
        .assert_problem(422, "invalid_token");
    b.advance(Duration::from_secs(11));
    let events = b
        .gateway
        .get(
            "/v1/orgs/demo/events?type=user.email_changed",
            Some(&b.admin_token),
        )
        .await;
    let items = events.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{events:?}");
    assert_eq!(items[0]["data"]["email"], new);
    assert_eq!(items[0]["actor"]["user_id"], json!(null), "their own doing");
}

async fn an_admin_changes_an_email_without_a_password(backend: Backend) {
    let b = Bundle::start(backend).await;
    let bob = b.account("bob", "member").await;
    let new = b.email("robert");
    let asked = b
        .gateway
        .post(
            &email_path(&bob.id),
            Some(&b.admin_token),
            json!({ "email": new }),
        )
        .await;
    assert_eq!(asked.status, 202, "{asked:?}");
    let mails = b.mailbox.messages_to(&new).await;
    let text = body(mails.last().unwrap());
    assert!(text.contains("An administrator of"), "{text}");
    let confirmed = confirm(&b, &b.sign_up_token(&new).await).await;
    assert_eq!(confirmed.json["email"], new, "{confirmed:?}");
    // Another member may not; the person may not without their password.
    let carol = b.account("carol", "member").await;
    b.gateway
        .post(
            &email_path(&bob.id),
            Some(&carol.token),
            json!({ "email": b.email("x") }),
        )
        .await
        .assert_problem(403, "forbidden");
    let own = |body| {
        let b = &b;
        let carol = &carol;
        async move {
            b.gateway
                .post(&email_path(&carol.id), Some(&carol.token), body)
                .await
        }
    };
    own(json!({ "email": b.email("c2") }))
        .await
        .assert_problem(422, "missing_current_password");
    own(json!({ "email": b.email("c2"), "current_password": "not my password at all" }))
        .await
        .assert_problem(422, "wrong_current_password");
    own(json!({ "email": "not an address", "current_password": PASSWORD }))
        .await
        .assert_problem(422, "invalid_email");
}

async fn a_taken_address_is_answered_alike_and_mailed_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    let dan = b.account("dan", "member").await;
    let eve = b.account("eve", "member").await;
    let invited = b.email("invited");
    assert_eq!(b.invite(&invited, "member", &[]).await.status, 201);
    for taken in [&eve.email, &invited] {
        let before = b.mailbox.messages_to(taken).await.len();
        let asked = b
            .gateway
            .post(
                &email_path(&dan.id),
                Some(&dan.token),
                json!({ "email": taken, "current_password": PASSWORD }),
            )
            .await;
        assert_eq!(asked.status, 202, "{asked:?}");
        assert_eq!(asked.json, json!({}));
        assert_eq!(
            b.mailbox.messages_to(taken).await.len(),
            before,
            "nothing for {taken}"
        );
    }
    // The person still hears of the attempt at their own address.
    assert_eq!(
        b.mailbox.messages_to(&dan.email).await.len(),
        3,
        "sign-up link and two notices"
    );
}

async fn spent_superseded_and_expired_links_are_refused(backend: Backend) {
    let b = Bundle::start(backend).await;
    let fay = b.account("fay", "member").await;
    let ask = |to: String| {
        let b = &b;
        let fay = &fay;
        async move {
            let asked = b
                .gateway
                .post(
                    &email_path(&fay.id),
                    Some(&fay.token),
                    json!({ "email": to, "current_password": PASSWORD }),
                )
                .await;
            assert_eq!(asked.status, 202, "{asked:?}");
            b.sign_up_token(&to).await
        }
    };
    let (first, second) = (b.email("first"), b.email("second"));
    let first_token = ask(first.clone()).await;
    let second_token = ask(second.clone()).await;
    assert_eq!(confirm(&b, &second_token).await.status, 200);
    // The first link was for the address the account no longer has.
    confirm(&b, &first_token)
        .await
        .assert_problem(422, "invalid_token");
    let third = b.email("third");
    let fay_again = b.sign_in(&second, PASSWORD).await.json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let asked = b
        .gateway
        .post(
            &email_path(&fay.id),
            Some(&fay_again),
            json!({ "email": third, "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(asked.status, 202, "{asked:?}");
    let late = b.sign_up_token(&third).await;
    b.advance(Duration::from_secs(25 * 3600));
    confirm(&b, &late)
        .await
        .assert_problem(410, "token_expired");
    confirm(&b, "not-a-token")
        .await
        .assert_problem(422, "invalid_token");
}

/// Each change mails an address someone typed: an account asks for five, then waits.
async fn an_account_is_sent_few_changes_a_day(backend: Backend) {
    let b = Bundle::start(backend).await;
    let gil = b.account("gil", "member").await;
    for n in 0..6 {
        let asked = b
            .gateway
            .post(
                &email_path(&gil.id),
                Some(&gil.token),
                json!({ "email": b.email(&format!("gil{n}")), "current_password": PASSWORD }),
            )
            .await;
        if n < 5 {
            assert_eq!(asked.status, 202, "{n}: {asked:?}");
        } else {
            asked.assert_problem(429, "too_many_attempts");
            assert!(asked.header("retry-after").is_some(), "{asked:?}");
        }
    }
}
