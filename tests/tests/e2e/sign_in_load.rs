//! Sign-in under load, on both backends: many people behind one address (an office's NAT)
//! signing in correctly at once are never throttled by each other.

use std::sync::Arc;

use gatehouse_e2e::{on_both_backends, Backend, Bundle};
use serde_json::json;

on_both_backends!(sixteen_accounts_signing_in_at_once_from_one_address_all_succeed);

const OFFICE: &str = "203.0.113.77";
const PASSWORD: &str = "a long office passphrase";

/// Invites and signs up `n` members; answers their addresses.
async fn members(b: &Bundle, n: usize) -> Vec<String> {
    let mut emails = Vec::new();
    for i in 0..n {
        let email = b.email(&format!("staff{i}"));
        assert_eq!(b.invite(&email, "member", &[]).await.status, 201);
        let token = b.sign_up_token(&email).await;
        let signed_up = b.sign_up(&token, PASSWORD).await;
        assert_eq!(signed_up.status, 201, "{signed_up:?}");
        emails.push(email);
    }
    emails
}

async fn sixteen_accounts_signing_in_at_once_from_one_address_all_succeed(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    let staff = members(&b, 16).await;
    for round in 0..10 {
        let tasks: Vec<_> = staff
            .iter()
            .cloned()
            .map(|email| {
                let b = b.clone();
                tokio::spawn(async move {
                    b.gateway
                        .post_from(
                            OFFICE,
                            "/v1/orgs/demo/sign-in",
                            None,
                            json!({"identifier": email, "password": PASSWORD}),
                        )
                        .await
                })
            })
            .collect();
        for t in tasks {
            let reply = t.await.unwrap();
            assert_eq!(reply.status, 200, "round {round}: {reply:?}");
        }
    }
    // Right answers were no failures of the office: a wrong password from there is still one of
    // its free attempts, not a throttled one.
    let wrong = b
        .gateway
        .post_from(
            OFFICE,
            "/v1/orgs/demo/sign-in",
            None,
            json!({"identifier": staff[0], "password": "not the passphrase"}),
        )
        .await;
    wrong.assert_problem(401, "invalid_credentials");
}
