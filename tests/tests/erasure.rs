//! Erasure (GDPR art. 17), end to end on both backends: an admin erases a person who was invited
//! twice (once withdrawn) with a personal message, signed up and joined a group; afterwards they
//! cannot sign in, their address is free, their invitations hold nothing of them, no list or
//! group finds them, and the audit trail keeps their id alone. A person erases themselves with
//! their password; nobody else may, and the last admin stays.

use gatehouse_e2e::{on_both_backends, Backend, Bundle, ADMIN_PASSWORD, PASSWORD};
use serde_json::json;
use std::time::Duration;

on_both_backends!(
    an_admin_erases_a_person_and_nothing_of_them_is_left_in_the_lists,
    a_person_erases_themselves_with_their_password,
);

fn user_path(id: &str) -> String {
    format!("/v1/orgs/demo/users/{id}")
}

async fn an_admin_erases_a_person_and_nothing_of_them_is_left_in_the_lists(backend: Backend) {
    let b = Bundle::start(backend).await;
    let red = b.group("Red").await;
    let email = b.email("dora");
    let invite = || {
        b.gateway.post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": email, "role": "member", "first_name": "Dora", "last_name": "Explorer",
                   "message": "Hola Dora, bienvenida"}),
        )
    };
    let first = invite().await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(
        b.revoke(first.json["id"].as_str().unwrap()).await.status,
        200
    );
    assert_eq!(invite().await.status, 201);
    let signed_up = b.sign_up(&b.sign_up_token(&email).await, PASSWORD).await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    let dora_token = signed_up.json["token"].as_str().unwrap().to_string();
    let dora = signed_up.json["user"]["id"].as_str().unwrap().to_string();
    let joined = b
        .gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/groups/{red}/members/{dora}"),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(joined.status, 200, "{joined:?}");

    let erased = b
        .gateway
        .send("DELETE", &user_path(&dora), Some(&b.admin_token), None)
        .await;
    assert_eq!(erased.status, 200, "{erased:?}");
    assert_eq!(erased.json["user_id"], dora);
    assert_eq!(
        erased.json["invitations"], 2,
        "the withdrawn one and the accepted one"
    );
    assert!(erased.json["exports_expire_by"].is_string());

    b.sign_in(&email, PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    b.gateway
        .get("/v1/orgs/demo/session", Some(&dora_token))
        .await
        .assert_problem(401, "unauthenticated");
    b.gateway
        .get(&user_path(&dora), Some(&b.admin_token))
        .await
        .assert_problem(404, "user_not_found");
    // Lists find nothing of her.
    for path in [
        "/v1/orgs/demo/users?q=dora".to_string(),
        format!("/v1/orgs/demo/users?q={email}"),
        format!("/v1/orgs/demo/groups/{red}/members"),
    ] {
        let listed = b.gateway.get(&path, Some(&b.admin_token)).await;
        assert_eq!(listed.json["items"], json!([]), "{path}: {listed:?}");
    }
    let invitations = b
        .gateway
        .get("/v1/orgs/demo/invitations?limit=100", Some(&b.admin_token))
        .await;
    let text = invitations.text.to_lowercase();
    for trace in ["dora", "explorer", "hola", email.as_str()] {
        assert!(!text.contains(trace), "{trace} in {}", invitations.text);
    }
    assert_eq!(
        invitations.json["items"].as_array().unwrap().len(),
        2,
        "kept, redacted"
    );
    // Her address is free again.
    assert_eq!(invite().await.status, 201);
    b.advance(Duration::from_secs(11));
    let log = b
        .gateway
        .get(
            "/v1/orgs/demo/events?type=user.deleted",
            Some(&b.admin_token),
        )
        .await;
    let items = log.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{log:?}");
    assert_eq!(
        items[0]["data"],
        json!({ "id": dora }),
        "the id, nothing else"
    );
    assert!(items[0]["actor"]["user_id"].is_string(), "an admin did it");
}

async fn a_person_erases_themselves_with_their_password(backend: Backend) {
    let b = Bundle::start(backend).await;
    let eli = b.account("eli", "member").await;
    let fox = b.account("fox", "member").await;
    let erase = |token: &str, body: Option<serde_json::Value>| {
        let b = &b;
        let path = user_path(&eli.id);
        let token = token.to_string();
        async move {
            b.gateway
                .send("DELETE", &path, Some(&token), body.map(|v| v.to_string()))
                .await
        }
    };
    erase(&fox.token, None)
        .await
        .assert_problem(403, "forbidden");
    erase(&eli.token, None)
        .await
        .assert_problem(422, "missing_current_password");
    erase(
        &eli.token,
        Some(json!({"current_password": "not it at all"})),
    )
    .await
    .assert_problem(422, "wrong_current_password");
    erase(&eli.token, Some(json!({"password": PASSWORD})))
        .await
        .assert_problem(422, "invalid_body");
    let gone = erase(&eli.token, Some(json!({"current_password": PASSWORD}))).await;
    assert_eq!(gone.status, 200, "{gone:?}");
    b.sign_in(&eli.email, PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    // The organisation's only admin cannot be erased, by themselves or anyone.
    let root = b
        .gateway
        .get("/v1/orgs/demo/session", Some(&b.admin_token))
        .await;
    let root = root.json["user"]["id"].as_str().unwrap().to_string();
    let own = json!({ "current_password": ADMIN_PASSWORD }).to_string();
    b.gateway
        .send("DELETE", &user_path(&root), Some(&b.admin_token), Some(own))
        .await
        .assert_problem(409, "last_admin");
}
