//! Invitations are not a mail cannon: an inviter's invitations are capped per hour (members and
//! group admins 20 by default, admins far more), and one address may be invited or re-invited at
//! most 3 times a day whoever asks; past a cap the answer is `429 too_many_invitations` with
//! `Retry-After`, and nothing is written or mailed. On both backends.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, ADMIN_PASSWORD};
use serde_json::json;

on_both_backends!(
    a_members_burst_is_capped_at_its_hourly_quota,
    an_address_is_invited_at_most_three_times_a_day_whoever_asks,
    the_caps_are_the_organisations_settings,
    imports_have_a_daily_budget_of_their_own,
);

/// A member signed in (the organisation lets members invite): their session token.
async fn member(b: &Bundle) -> String {
    b.change_settings(json!({"members_can_invite": true})).await;
    let email = b.email("member");
    assert_eq!(b.invite(&email, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&email).await;
    let password = "the member's long passphrase";
    assert_eq!(b.sign_up(&token, password).await.status, 201);
    let signed = b.sign_in(&email, password).await;
    assert_eq!(signed.status, 200, "{signed:?}");
    signed.json["token"].as_str().unwrap().to_string()
}

async fn invite_as(b: &Bundle, token: &str, email: &str) -> Reply {
    b.gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(token),
            json!({"email": email, "role": "guest", "first_name": "Out", "last_name": "Sider"}),
        )
        .await
}

fn assert_capped(reply: &Reply) {
    reply.assert_problem(429, "too_many_invitations");
    let wait: u64 = reply
        .header("retry-after")
        .expect("a Retry-After")
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&wait), "{reply:?}");
}

async fn a_members_burst_is_capped_at_its_hourly_quota(backend: Backend) {
    let b = Arc::new(Bundle::start(backend).await);
    let token = member(&b).await;
    let before = b.invitation_count().await;
    let addresses: Vec<String> = (0..25).map(|i| b.email(&format!("burst{i}"))).collect();
    let tasks: Vec<_> = addresses
        .iter()
        .map(|a| {
            let (b, token, a) = (b.clone(), token.clone(), a.clone());
            tokio::spawn(async move { invite_as(&b, &token, &a).await })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("the request ran"));
    }
    let made = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        made,
        20,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 201) {
        assert_capped(r);
    }
    assert_eq!(
        b.invitation_count().await,
        before + 20,
        "nothing written past the cap"
    );
    let mailed: usize = {
        let mut n = 0;
        for a in &addresses {
            n += b.mailbox.messages_to(a).await.len();
        }
        n
    };
    assert_eq!(mailed, 20, "nothing mailed past the cap");
    // The admin is not held back by the member's quota.
    assert_eq!(
        b.invite(&b.email("by-admin"), "member", &[]).await.status,
        201
    );
    // The next hour, the member may invite again.
    b.advance(Duration::from_secs(3600));
    assert_eq!(invite_as(&b, &token, &b.email("later")).await.status, 201);
}

async fn an_address_is_invited_at_most_three_times_a_day_whoever_asks(backend: Backend) {
    let b = Bundle::start(backend).await;
    let outsider = b.email("outsider");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let reply = b.invite(&outsider, "member", &[]).await;
        statuses.push(reply.status);
        if reply.status == 201 {
            let id = reply.json["id"].as_str().unwrap().to_string();
            let revoked = b.revoke(&id).await;
            assert!(revoked.status < 300, "{revoked:?}");
        } else {
            assert_capped(&reply);
        }
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429, 429, 429, 429]);
    assert_eq!(b.mailbox.messages_to(&outsider).await.len(), 3);
    // Resending counts too.
    let other = b.email("other");
    let first = b.invite(&other, "member", &[]).await;
    let id = first.json["id"].as_str().unwrap().to_string();
    let path = format!("/v1/orgs/demo/invitations/{id}/resend");
    for expected in [200, 200] {
        let reply = b.gateway.post(&path, Some(&b.admin_token), json!({})).await;
        assert_eq!(reply.status, expected, "{reply:?}");
    }
    assert_capped(&b.gateway.post(&path, Some(&b.admin_token), json!({})).await);
    assert_eq!(b.mailbox.messages_to(&other).await.len(), 3);
    // A day later (signed in again) the address may be invited again.
    b.advance(Duration::from_secs(86_400));
    let signed = b.sign_in(&b.admin_email, ADMIN_PASSWORD).await;
    let token = signed.json["token"].as_str().unwrap().to_string();
    let again = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&token),
            json!({"email": outsider, "role": "member", "first_name": "Out", "last_name": "Sider"}),
        )
        .await;
    assert_eq!(again.status, 201, "{again:?}");
}

async fn the_caps_are_the_organisations_settings(backend: Backend) {
    let b = Bundle::start(backend).await;
    let settings = b
        .gateway
        .get("/v1/orgs/demo/settings", Some(&b.admin_token))
        .await;
    assert_eq!(settings.json["invitations_per_hour"], 20);
    assert_eq!(settings.json["admin_invitations_per_hour"], 500);
    assert_eq!(settings.json["invitations_per_address_per_day"], 3);
    for bad in [
        json!({"invitations_per_hour": 0}),
        json!({"admin_invitations_per_hour": 10_001}),
        json!({"invitations_per_address_per_day": 21}),
    ] {
        b.gateway
            .send(
                "PATCH",
                "/v1/orgs/demo/settings",
                Some(&b.admin_token),
                Some(bad.to_string()),
            )
            .await
            .assert_problem(422, "invalid_invitation_limit");
    }
    b.change_settings(json!({"admin_invitations_per_hour": 2}))
        .await;
    assert_eq!(b.invite(&b.email("a"), "member", &[]).await.status, 201);
    assert_eq!(b.invite(&b.email("b"), "member", &[]).await.status, 201);
    assert_capped(&b.invite(&b.email("c"), "member", &[]).await);
}

/// Imports are not counted against the admin's hourly invitations; they have their own budget:
/// 20 a day that send invitations (500 rows each at most). Dry runs send nothing and do not count.
async fn imports_have_a_daily_budget_of_their_own(backend: Backend) {
    let b = Bundle::start(backend).await;
    for _ in 0..20 {
        b.start_import(false).await;
    }
    let refused = b
        .gateway
        .post(
            "/v1/orgs/demo/imports",
            Some(&b.admin_token),
            json!({"dry_run": false}),
        )
        .await;
    assert_capped_as(&refused, "too_many_imports");
    b.start_import(true).await;
    assert_eq!(b.invite(&b.email("still"), "member", &[]).await.status, 201);
}

fn assert_capped_as(reply: &Reply, code: &str) {
    reply.assert_problem(429, code);
    assert!(reply.header("retry-after").is_some(), "{reply:?}");
}
