//! `Idempotency-Key` on the creating POSTs, on both backends: a client that lost an answer and
//! retries gets the first answer, not a second invitation or a `409 email_taken`.

use std::sync::Arc;

use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply};
use serde_json::{json, Value};

on_both_backends!(
    a_retried_invitation_answers_the_first_result,
    a_key_sent_with_another_request_is_refused,
    concurrent_retries_with_one_key_make_one_invitation,
    a_refused_request_leaves_its_key_free,
    keys_belong_to_their_session,
    malformed_keys_are_refused_and_change_nothing,
    a_retried_group_and_resend_happen_once,
);

/// A POST as the admin with an `Idempotency-Key`.
async fn keyed(b: &Bundle, path: &str, key: &str, body: Value) -> Reply {
    keyed_as(b, &b.admin_token, path, key, &body.to_string()).await
}

async fn keyed_as(b: &Bundle, token: &str, path: &str, key: &str, body: &str) -> Reply {
    b.gateway
        .raw(
            "POST",
            path,
            vec![
                ("content-type".into(), "application/json".into()),
                ("authorization".into(), format!("Bearer {token}")),
                ("idempotency-key".into(), key.into()),
            ],
            Some(body.to_string()),
        )
        .await
}

fn invitation(email: &str) -> Value {
    json!({"email": email, "role": "member", "first_name": "Rita", "last_name": "Retry"})
}

const INVITATIONS: &str = "/v1/orgs/demo/invitations";

async fn a_retried_invitation_answers_the_first_result(backend: Backend) {
    let b = Bundle::start(backend).await;
    let rita = b.email("rita");
    let first = keyed(&b, INVITATIONS, "key-1", invitation(&rita)).await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.header("idempotent-replayed"), None);
    // The answer was lost; the client sends the same request again, spelled differently.
    let body = format!(
        r#"{{ "last_name": "Retry", "first_name": "Rita", "role": "member", "email": "{rita}" }}"#
    );
    let retry = keyed_as(&b, &b.admin_token, INVITATIONS, "key-1", &body).await;
    assert_eq!(retry.status, 201, "{retry:?}");
    assert_eq!(retry.json, first.json, "the first answer, as it was");
    assert_eq!(retry.content_type, first.content_type);
    assert_eq!(retry.header("cache-control"), Some("no-store"));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(b.invitation_count().await, 1);
    assert_eq!(b.mailbox.messages_to(&rita).await.len(), 1, "one email");
    // Without the key, the same request is a new one, and the address is taken.
    b.invite(&rita, "member", &[])
        .await
        .assert_problem(409, "email_taken");
}

async fn a_key_sent_with_another_request_is_refused(backend: Backend) {
    let b = Bundle::start(backend).await;
    let first = b.email("first");
    assert_eq!(
        keyed(&b, INVITATIONS, "k", invitation(&first)).await.status,
        201
    );
    let second = b.email("second");
    keyed(&b, INVITATIONS, "k", invitation(&second))
        .await
        .assert_problem(422, "idempotency_key_reused");
    // Another route with the same key is another request too.
    keyed(&b, "/v1/orgs/demo/groups", "k", json!({"name": "Keyed"}))
        .await
        .assert_problem(422, "idempotency_key_reused");
    assert_eq!(b.invitation_count().await, 1);
    assert!(b.mailbox.messages_to(&second).await.is_empty());
    let groups = b
        .gateway
        .get("/v1/orgs/demo/groups", Some(&b.admin_token))
        .await;
    assert!(!groups.text.contains("Keyed"), "{groups:?}");
}

async fn concurrent_retries_with_one_key_make_one_invitation(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    let lee = b.email("lee");
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let b = b.clone();
            let lee = lee.clone();
            tokio::spawn(
                async move { keyed(&b, INVITATIONS, "double-click", invitation(&lee)).await },
            )
        })
        .collect();
    let mut created = Vec::new();
    for t in tasks {
        let reply = t.await.unwrap();
        if reply.status == 201 {
            created.push(reply.json["id"].clone());
        } else {
            // Sent while the first was running: told to wait a moment, nothing made.
            reply.assert_problem(409, "idempotency_key_in_use");
            assert_eq!(reply.header("retry-after"), Some("1"), "{reply:?}");
        }
    }
    assert!(!created.is_empty());
    assert!(created.iter().all(|id| *id == created[0]), "{created:?}");
    // Once the first is answered, every retry gets its answer.
    let late = keyed(&b, INVITATIONS, "double-click", invitation(&lee)).await;
    assert_eq!(late.status, 201, "{late:?}");
    assert_eq!(late.json["id"], created[0]);
    assert_eq!(b.invitation_count().await, 1);
    assert_eq!(b.mailbox.messages_to(&lee).await.len(), 1, "one email");
}

async fn a_refused_request_leaves_its_key_free(backend: Backend) {
    let b = Bundle::start(backend).await;
    let mut body = invitation("not an address");
    keyed(&b, INVITATIONS, "fix-and-retry", body.clone())
        .await
        .assert_problem(422, "invalid_email");
    // Corrected and sent again with the same key: it runs.
    let amy = b.email("amy");
    body["email"] = json!(amy);
    let reply = keyed(&b, INVITATIONS, "fix-and-retry", body).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(b.invitation_count().await, 1);
}

async fn keys_belong_to_their_session(backend: Backend) {
    let b = Bundle::start(backend).await;
    let zoe = b.email("zoe");
    let first = keyed(&b, INVITATIONS, "shared-key", invitation(&zoe)).await;
    assert_eq!(first.status, 201, "{first:?}");
    // Another session never gets this session's answers: its request runs for itself.
    let other = b
        .sign_in(&b.admin_email, gatehouse_e2e::ADMIN_PASSWORD)
        .await;
    let other_token = other.json["token"].as_str().unwrap().to_string();
    let body = invitation(&zoe).to_string();
    keyed_as(&b, &other_token, INVITATIONS, "shared-key", &body)
        .await
        .assert_problem(409, "email_taken");
    // A forged token with the admin's id learns nothing either.
    let admin_id = b.admin_token.split('.').next().unwrap();
    let forged = format!("{admin_id}.{}", "A".repeat(43));
    keyed_as(&b, &forged, INVITATIONS, "shared-key", &body)
        .await
        .assert_problem(401, "unauthenticated");
}

async fn malformed_keys_are_refused_and_change_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    let long = "k".repeat(256);
    for bad in ["", "two words", long.as_str()] {
        let eve = b.email("eve");
        keyed(&b, INVITATIONS, bad, invitation(&eve))
            .await
            .assert_problem(422, "invalid_idempotency_key");
        assert!(b.mailbox.messages_to(&eve).await.is_empty());
    }
    assert_eq!(b.invitation_count().await, 0);
}

async fn a_retried_group_and_resend_happen_once(backend: Backend) {
    let b = Bundle::start(backend).await;
    let first = keyed(&b, "/v1/orgs/demo/groups", "g1", json!({"name": "Design"})).await;
    assert_eq!(first.status, 201, "{first:?}");
    let retry = keyed(&b, "/v1/orgs/demo/groups", "g1", json!({"name": "Design"})).await;
    assert_eq!(retry.status, 201, "{retry:?}");
    assert_eq!(retry.json, first.json);

    let ann = b.email("ann");
    let invited = b.invite(&ann, "member", &[]).await;
    let resend = format!(
        "{INVITATIONS}/{}/resend",
        invited.json["id"].as_str().unwrap()
    );
    let once = keyed(&b, &resend, "r1", json!({})).await;
    assert_eq!(once.status, 200, "{once:?}");
    let again = keyed(&b, &resend, "r1", json!({})).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.json, once.json);
    assert_eq!(
        b.mailbox.messages_to(&ann).await.len(),
        2,
        "the invitation and one resend"
    );
}
