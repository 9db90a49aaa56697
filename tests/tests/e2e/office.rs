//! An office of hundreds behind one address signs in at 9:00 without being throttled by its own
//! typos, while guessing and spraying from that address stay capped as before. On both backends.
//!
//! 200 people, each familiar with the office's address (they signed in from it before); 30 wrong
//! passwords from it on other identifiers use up the address's allowance; then the 200 sign in
//! at once, correctly: none is refused. A spray of 300 wrong passwords from the address is still
//! held at the address's cap. A network the admins trust shares a larger allowance.

use std::sync::Arc;

use gatehouse_e2e::{on_both_backends, Backend, Bundle};
use serde_json::json;

on_both_backends!(
    an_office_behind_one_address_signs_in_at_nine_despite_its_typos,
    a_trusted_network_shares_a_larger_allowance,
);

const OFFICE: &str = "203.0.113.10";
const PASSWORD: &str = "the office's long passphrase";

/// `n` people with accounts (invited, signed up), each signed in once from `client`.
async fn staff(b: &Bundle, n: usize, client: &str) -> Vec<String> {
    b.change_settings(json!({"admin_invitations_per_hour": 10_000}))
        .await;
    let mut people = Vec::with_capacity(n);
    for i in 0..n {
        let email = b.email(&format!("staff{i}"));
        assert_eq!(b.invite(&email, "member", &[]).await.status, 201);
        let token = b.sign_up_token(&email).await;
        assert_eq!(b.sign_up(&token, PASSWORD).await.status, 201);
        let first = b.sign_in_from(client, &email, PASSWORD).await;
        assert_eq!(first.status, 200, "{first:?}");
        people.push(email);
    }
    people
}

/// Signs every one of `people` in at once from `client`; answers the statuses.
async fn all_at_once(b: &Arc<Bundle>, people: &[String], client: &str) -> Vec<u16> {
    let tasks: Vec<_> = people
        .iter()
        .map(|email| {
            let (b, email, client) = (b.clone(), email.clone(), client.to_string());
            tokio::spawn(async move { b.sign_in_from(&client, &email, PASSWORD).await.status })
        })
        .collect();
    let mut statuses = Vec::with_capacity(tasks.len());
    for t in tasks {
        statuses.push(t.await.expect("the sign-in ran"));
    }
    statuses
}

async fn an_office_behind_one_address_signs_in_at_nine_despite_its_typos(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    let people = staff(&b, 200, OFFICE).await;
    // Typos and strangers from the office's address, on identifiers not familiar with it.
    for i in 0..30 {
        let reply = b
            .sign_in_from(OFFICE, &b.email(&format!("nobody{i}")), "wrong")
            .await;
        assert!(matches!(reply.status, 401 | 429), "{reply:?}");
    }
    let held = b.sign_in_from(OFFICE, &b.email("stranger"), "wrong").await;
    held.assert_problem(429, "too_many_attempts");
    // 9:00: everyone at once, correctly.
    let statuses = all_at_once(&b, &people, OFFICE).await;
    let refused = statuses.iter().filter(|s| **s != 200).count();
    assert_eq!(refused, 0, "{statuses:?}");
    // Spraying from the office's address on identifiers it is not familiar with stays capped:
    // after the address's 20 free failures, waits; nothing near 300 verifications.
    let mut wrong = 0;
    for i in 0..300 {
        let reply = b
            .sign_in_from(OFFICE, &b.email(&format!("spray{i}")), "Summer2026!")
            .await;
        match reply.status {
            401 => wrong += 1,
            429 => {}
            other => panic!("{other}: {reply:?}"),
        }
    }
    assert_eq!(
        wrong, 0,
        "the address's allowance was already used up: {wrong}"
    );
    // An owner's own typos from the office still count on their account only.
    let typo = b.sign_in_from(OFFICE, &people[0], "wrong").await;
    typo.assert_problem(401, "invalid_credentials");
    assert_eq!(
        b.sign_in_from(OFFICE, &people[0], PASSWORD).await.status,
        200
    );
}

async fn a_trusted_network_shares_a_larger_allowance(backend: Backend) {
    let b = Bundle::start(backend).await;
    let newcomer = b.email("newcomer");
    assert_eq!(b.invite(&newcomer, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&newcomer).await;
    assert_eq!(b.sign_up(&token, PASSWORD).await.status, 201);
    // Untrusted: the address's 20 free failures, then a wait.
    let mut statuses = Vec::new();
    for i in 0..25 {
        let reply = b
            .sign_in_from("198.51.100.40", &b.email(&format!("x{i}")), "wrong")
            .await;
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        20,
        "{statuses:?}"
    );
    b.gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(json!({"trusted_networks": ["10.0.0.0/8", "bogus"]}).to_string()),
        )
        .await
        .assert_problem(422, "invalid_trusted_network");
    b.change_settings(json!({"trusted_networks": ["203.0.113.0/24"]}))
        .await;
    // Trusted: 60 typos from the office's addresses, and the newcomer signs in for the first
    // time from there.
    for i in 0..60 {
        let client = format!("203.0.113.{}", 1 + i % 3);
        let reply = b
            .sign_in_from(&client, &b.email(&format!("y{i}")), "wrong")
            .await;
        reply.assert_problem(401, "invalid_credentials");
    }
    assert_eq!(
        b.sign_in_from("203.0.113.2", &newcomer, PASSWORD)
            .await
            .status,
        200
    );
}
