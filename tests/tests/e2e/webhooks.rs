//! The webhook registry, end to end on both backends: an admin registers, lists, reads,
//! changes, disables, rotates and removes endpoints; the secret is shown at registration and
//! rotation only, and never in a list, a read or the event log (which records who did each);
//! URLs that could reach inside the network are refused; members and strangers are refused;
//! bad bodies change nothing. (Deliveries are `local/tests/webhook_deliveries.rs`.)

use std::time::Duration;

use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply};
use serde_json::{json, Value};

on_both_backends!(
    an_admin_manages_endpoints_and_sees_the_secret_only_when_it_is_made,
    urls_that_could_reach_inside_are_refused_and_nothing_is_made,
    only_admins_manage_webhooks_and_bad_bodies_change_nothing,
);

async fn send(b: &Bundle, method: &str, path: &str, body: Option<Value>) -> Reply {
    b.gateway
        .send(
            method,
            &format!("/v1/orgs/demo/webhooks{path}"),
            Some(&b.admin_token),
            body.map(|b| b.to_string()),
        )
        .await
}

async fn count(b: &Bundle) -> usize {
    let list = send(b, "GET", "", None).await;
    assert_eq!(list.status, 200, "{list:?}");
    list.json["items"].as_array().unwrap().len()
}

async fn an_admin_manages_endpoints_and_sees_the_secret_only_when_it_is_made(backend: Backend) {
    let b = Bundle::start(backend).await;
    let made = send(
        &b,
        "POST",
        "",
        Some(json!({
            "url": "https://93.184.216.34/hooks/gatehouse",
            "types": ["invitation.accepted", "user.created", "invitation.accepted"],
            "description": "Workspace set-up"
        })),
    )
    .await;
    assert_eq!(made.status, 201, "{made:?}");
    let id = made.json["id"].as_str().unwrap().to_string();
    let secret = made.json["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(
        made.json["types"],
        json!(["invitation.accepted", "user.created"])
    );
    assert_eq!(made.json["enabled"], true);
    assert_eq!(made.json["failing_since"], Value::Null);

    let listed = send(&b, "GET", "", None).await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 1);
    let one = send(&b, "GET", &format!("/{id}"), None).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json["url"], "https://93.184.216.34/hooks/gatehouse");
    for shown in [&listed.text, &one.text] {
        assert!(
            !shown.contains(&secret) && !shown.contains("whsec_"),
            "{shown}"
        );
    }

    let changed = send(
        &b,
        "PATCH",
        &format!("/{id}"),
        Some(json!({ "types": [], "description": null, "enabled": false })),
    )
    .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.json["types"], json!([]));
    assert_eq!(changed.json["description"], Value::Null);
    assert_eq!(changed.json["enabled"], false);
    assert!(changed.json["disabled_at"].is_string());
    let again = send(
        &b,
        "PATCH",
        &format!("/{id}"),
        Some(json!({ "enabled": true })),
    )
    .await;
    assert_eq!(again.json["enabled"], true);
    assert_eq!(again.json["disabled_at"], Value::Null);

    let rotated = send(&b, "POST", &format!("/{id}/secret"), None).await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    let second = rotated.json["secret"].as_str().unwrap().to_string();
    assert!(second.starts_with("whsec_") && second != secret);

    let deliveries = send(&b, "GET", &format!("/{id}/deliveries"), None).await;
    assert_eq!(deliveries.status, 200, "{deliveries:?}");
    assert_eq!(deliveries.json["items"], json!([]));
    let recovered = send(
        &b,
        "POST",
        &format!("/{id}/recover"),
        Some(json!({ "since": "2026-01-01T00:00:00Z" })),
    )
    .await;
    assert_eq!(recovered.status, 202, "{recovered:?}");
    assert_eq!(recovered.json["recovered"], 0);

    let removed = send(&b, "DELETE", &format!("/{id}"), None).await;
    assert_eq!(removed.status, 204, "{removed:?}");
    send(&b, "GET", &format!("/{id}"), None)
        .await
        .assert_problem(404, "webhook_not_found");
    assert_eq!(
        send(&b, "DELETE", &format!("/{id}"), None).await.status,
        204
    );
    assert_eq!(count(&b).await, 0);

    // The audit trail says who did each, without a secret.
    b.advance(Duration::from_secs(11));
    let log = b
        .gateway
        .get(
            "/v1/orgs/demo/events?type=webhook.created,webhook.updated,webhook.deleted",
            Some(&b.admin_token),
        )
        .await;
    let items = log.json["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "webhook.created",
            "webhook.updated",
            "webhook.updated",
            "webhook.updated",
            "webhook.deleted"
        ]
    );
    assert!(items.iter().all(|e| e["actor"]["user_id"].is_string()));
    assert!(!log.text.contains(&secret) && !log.text.contains(&second));
    assert!(!log.text.contains("whsec_") && !log.text.contains("ciphertext"));
}

async fn urls_that_could_reach_inside_are_refused_and_nothing_is_made(backend: Backend) {
    let b = Bundle::start(backend).await;
    for (url, code) in [
        ("http://93.184.216.34/in", "invalid_webhook_url"),
        ("https://127.0.0.1/in", "invalid_webhook_url"),
        ("https://localhost:8443/in", "invalid_webhook_url"),
        ("https://10.0.0.1/in", "invalid_webhook_url"),
        (
            "https://169.254.169.254/latest/meta-data",
            "invalid_webhook_url",
        ),
        ("https://[::1]/in", "invalid_webhook_url"),
        ("https://[fd12:3456::1]/in", "invalid_webhook_url"),
        ("https://user:pass@93.184.216.34/in", "invalid_webhook_url"),
        ("https://93.184.216.34/in#fragment", "invalid_webhook_url"),
        ("ftp://93.184.216.34/in", "invalid_webhook_url"),
        // A name nobody can resolve: nothing to check, so nothing is registered.
        (
            "https://no-such-host.invalid/in",
            "webhook_address_forbidden",
        ),
    ] {
        send(&b, "POST", "", Some(json!({ "url": url })))
            .await
            .assert_problem(422, code);
    }
    assert_eq!(count(&b).await, 0, "nothing was made");
    // Nor may a change point one there.
    let made = send(
        &b,
        "POST",
        "",
        Some(json!({ "url": "https://93.184.216.34/in" })),
    )
    .await;
    let id = made.json["id"].as_str().unwrap();
    send(
        &b,
        "PATCH",
        &format!("/{id}"),
        Some(json!({ "url": "https://192.168.0.10/in" })),
    )
    .await
    .assert_problem(422, "invalid_webhook_url");
    let kept = send(&b, "GET", &format!("/{id}"), None).await;
    assert_eq!(kept.json["url"], "https://93.184.216.34/in");
}

async fn only_admins_manage_webhooks_and_bad_bodies_change_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    let member = b.email("member");
    assert_eq!(b.invite(&member, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&member).await;
    let member_token = b.sign_up(&token, "a member's passphrase").await.json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({ "url": "https://93.184.216.34/in" }).to_string();
    b.gateway
        .send(
            "POST",
            "/v1/orgs/demo/webhooks",
            Some(&member_token),
            Some(body.clone()),
        )
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .send("POST", "/v1/orgs/demo/webhooks", None, Some(body.clone()))
        .await
        .assert_problem(401, "unauthenticated");
    b.gateway
        .get("/v1/orgs/demo/webhooks", Some(&member_token))
        .await
        .assert_problem(403, "forbidden");
    let other = b.other_org_admin().await;
    b.gateway
        .send("POST", "/v1/orgs/demo/webhooks", Some(&other), Some(body))
        .await
        .assert_problem(401, "unauthenticated");

    let long = "d".repeat(201);
    for (body, code) in [
        (json!({}), "missing_field"),
        (
            json!({ "url": "https://93.184.216.34/in", "types": ["user.nope"] }),
            "invalid_event_type",
        ),
        (
            json!({ "url": "https://93.184.216.34/in", "description": long }),
            "invalid_description",
        ),
        (
            json!({ "url": "https://93.184.216.34/in", "colour": "blue" }),
            "invalid_body",
        ),
        (json!({ "url": 7 }), "invalid_body"),
    ] {
        send(&b, "POST", "", Some(body.clone()))
            .await
            .assert_problem(422, code);
    }
    assert_eq!(count(&b).await, 0, "nothing was made");
    for path in ["/not-an-id", "/0190f5a8b6c37d4e8f9a0b1c2d3e4f50"] {
        send(&b, "GET", path, None)
            .await
            .assert_problem(404, "webhook_not_found");
    }
    let made = send(
        &b,
        "POST",
        "",
        Some(json!({ "url": "https://93.184.216.34/in" })),
    )
    .await;
    let id = made.json["id"].as_str().unwrap();
    for (body, code) in [
        (json!({ "types": ["nope"] }), "invalid_event_type"),
        (json!({ "enabled": "yes" }), "invalid_body"),
    ] {
        send(&b, "PATCH", &format!("/{id}"), Some(body))
            .await
            .assert_problem(422, code);
    }
    send(
        &b,
        "POST",
        &format!("/{id}/recover"),
        Some(json!({ "since": "yesterday" })),
    )
    .await
    .assert_problem(422, "invalid_since");
    let kept = send(&b, "GET", &format!("/{id}"), None).await;
    assert_eq!(kept.json["types"], json!([]));
    assert_eq!(kept.json["enabled"], true);
}
