//! Passkeys through the API on both backends, short of an authenticator (the ceremonies
//! themselves are made by Chromium's virtual authenticator in `browser/passkeys.mjs`): the
//! options say what a careful relying party asks for (this RP ID, a discoverable credential,
//! user verification, the person's keys excluded), and what is not a ceremony of the caller's is
//! refused without a change: another person's flow, a spent or made-up one, a credential that is
//! none, a name too long, someone else's account. A session older than 10 minutes adds a
//! passkey only with the person's password.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::time::Duration;

use gatehouse_e2e::pages::{signed_in, with_csrf, Browser};
use gatehouse_e2e::passkey::SoftKey;
use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, PASSWORD, PUBLIC_URL};
use serde_json::{json, Value};

on_both_backends!(
    a_passkey_signs_in_alone_once_per_flow,
    a_passkey_is_the_second_factor_and_satisfies_the_policy,
    registration_options_ask_for_a_discoverable_verified_passkey,
    registrations_that_are_not_the_callers_are_refused,
    a_session_older_than_ten_minutes_adds_a_passkey_only_with_the_password,
    sign_in_options_name_no_account_and_bad_assertions_are_refused,
);

fn passkeys(id: &str) -> String {
    format!("/v1/orgs/demo/users/{id}/passkeys")
}

async fn begin(b: &Bundle, id: &str, token: Option<&str>) -> Reply {
    b.gateway
        .post(&format!("{}/registration", passkeys(id)), token, json!({}))
        .await
}

async fn register(b: &Bundle, id: &str, token: &str, body: Value) -> Reply {
    b.gateway.post(&passkeys(id), Some(token), body).await
}

/// Something shaped like `PublicKeyCredential.toJSON()` of a creation, signed by nobody.
fn made_up_creation() -> Value {
    json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": { "clientDataJSON": "e30", "attestationObject": "oA" },
        "clientExtensionResults": {}
    })
}

/// Something shaped like an assertion by `user`'s passkey `credential_id`, signed by nobody.
fn made_up_assertion(user: &str, credential_id: &str) -> Value {
    let handle = uuid::Uuid::parse_str(user).unwrap();
    json!({
        "id": credential_id,
        "rawId": credential_id,
        "type": "public-key",
        "response": {
            "clientDataJSON": URL_SAFE_NO_PAD.encode(br#"{"type":"webauthn.get","challenge":"AAAA","origin":"https://app.gatehouse.test"}"#),
            "authenticatorData": URL_SAFE_NO_PAD.encode([0u8; 37]),
            "signature": "MEUCIQ",
            "userHandle": URL_SAFE_NO_PAD.encode(handle.as_bytes())
        },
        "clientExtensionResults": {}
    })
}

async fn options(b: &Bundle) -> Reply {
    let started = b
        .gateway
        .post("/v1/orgs/demo/sign-in/passkey/options", None, json!({}))
        .await;
    assert_eq!(started.status, 200, "{started:?}");
    started
}

async fn finish(b: &Bundle, flow: &Value, credential: &Value) -> Reply {
    b.gateway
        .post(
            "/v1/orgs/demo/sign-in/passkey",
            None,
            json!({ "flow": flow, "credential": credential }),
        )
        .await
}

async fn a_passkey_signs_in_alone_once_per_flow(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let mut key = SoftKey::registered(&b, &alice, "Laptop").await;
    let listed = b
        .gateway
        .get(&passkeys(&alice.id), Some(&alice.token))
        .await;
    assert_eq!(listed.json["passkeys"][0]["name"], "Laptop", "{listed:?}");
    assert!(listed.json["passkeys"][0].get("last_used_at").is_none());

    let started = options(&b).await;
    let assertion = key.assert(&started.json["publicKey"]);
    // The same flow finished twice at once: one session.
    let (one, two) = tokio::join!(
        finish(&b, &started.json["flow"], &assertion),
        finish(&b, &started.json["flow"], &assertion)
    );
    let (signed, refused) = if one.status == 200 {
        (one, two)
    } else {
        (two, one)
    };
    assert_eq!(signed.status, 200, "{signed:?}");
    refused.assert_problem(401, "invalid_passkey_flow");
    assert_eq!(signed.json["user"]["id"], alice.id.as_str());
    let token = signed.json["token"].as_str().unwrap();
    let who = b.gateway.get("/v1/orgs/demo/session", Some(token)).await;
    assert_eq!(who.status, 200, "the session works: {who:?}");
    // Replayed later: the flow is spent.
    finish(&b, &started.json["flow"], &assertion)
        .await
        .assert_problem(401, "invalid_passkey_flow");
    let used = b
        .gateway
        .get(&passkeys(&alice.id), Some(&alice.token))
        .await;
    assert!(
        used.json["passkeys"][0]["last_used_at"].is_string(),
        "{used:?}"
    );

    // An admin removes it (a lost laptop): Alice is told, and it signs nobody in any more.
    let id = used.json["passkeys"][0]["id"].as_str().unwrap().to_string();
    let removed = b
        .gateway
        .send(
            "DELETE",
            &format!("{}/{id}", passkeys(&alice.id)),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{removed:?}");
    let mails = b.mailbox.messages_to(&alice.email).await;
    let told = mails.last().expect("a mail to her");
    let body = told.text.as_ref().or(told.html.as_ref()).expect("a body");
    assert!(body.contains("Laptop"), "{body}");
    let again = options(&b).await;
    let assertion = key.assert(&again.json["publicKey"]);
    finish(&b, &again.json["flow"], &assertion)
        .await
        .assert_problem(401, "invalid_passkey");
}

async fn a_passkey_is_the_second_factor_and_satisfies_the_policy(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let mut key = SoftKey::registered(&b, &alice, "Phone").await;
    let user = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/users/{}", alice.id),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(user.json["second_factors"], json!(["passkey"]), "{user:?}");

    // Her password now asks for the passkey, and opens no session.
    let step = b.sign_in(&alice.email, PASSWORD).await;
    assert_eq!(step.json["mfa_required"], json!(true), "{step:?}");
    assert_eq!(step.json["methods"], json!(["passkey"]));
    assert!(step.json.get("token").is_none());
    // On the pages the step offers only the passkey, and says what to do where none can be used.
    let mut browser = Browser::new(&b);
    let form = browser.get("/demo/sign-in").await;
    let fields = [("identifier", alice.email.as_str()), ("password", PASSWORD)];
    let page = browser.submit(&form, "/demo/sign-in", &fields).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.text.contains("data-passkey=\"sign-in\""),
        "{}",
        page.text
    );
    assert!(
        !page.text.contains("name=\"code\""),
        "no code form: {}",
        page.text
    );
    assert!(
        page.text
            .contains("<p data-without-passkeys>This browser cannot use passkeys"),
        "{}",
        page.text
    );

    // Members must have a second factor: the passkey is one, and signs her in alone.
    let changed = b
        .change_settings(json!({ "mfa_required_for": ["member"] }))
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    let started = options(&b).await;
    let signed = finish(
        &b,
        &started.json["flow"],
        &key.assert(&started.json["publicKey"]),
    )
    .await;
    assert_eq!(signed.status, 200, "{signed:?}");

    // Deactivated, she is refused, and says so.
    let deactivated = b
        .gateway
        .post(
            &format!("/v1/orgs/demo/users/{}/deactivate", alice.id),
            Some(&b.admin_token),
            json!({}),
        )
        .await;
    assert_eq!(deactivated.status, 200, "{deactivated:?}");
    let started = options(&b).await;
    finish(
        &b,
        &started.json["flow"],
        &key.assert(&started.json["publicKey"]),
    )
    .await
    .assert_problem(403, "account_deactivated");
}

async fn registration_options_ask_for_a_discoverable_verified_passkey(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;

    begin(&b, &alice.id, None)
        .await
        .assert_problem(401, "unauthenticated");
    let started = begin(&b, &alice.id, Some(&alice.token)).await;
    assert_eq!(started.status, 200, "{started:?}");
    assert_eq!(started.header("cache-control"), Some("no-store"));
    let options = &started.json["publicKey"];
    let host = PUBLIC_URL.trim_start_matches("https://");
    assert_eq!(
        options["rp"]["id"], host,
        "the RP ID is the public URL's host"
    );
    let selection = &options["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(selection["userVerification"], "required");
    let handle = URL_SAFE_NO_PAD
        .decode(options["user"]["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        handle,
        uuid::Uuid::parse_str(&alice.id).unwrap().as_bytes(),
        "the user handle is the account's id, and nothing more about the person"
    );
    assert_eq!(options["user"]["name"], alice.email);
    let challenge = URL_SAFE_NO_PAD
        .decode(options["challenge"].as_str().unwrap())
        .unwrap();
    assert!(
        challenge.len() >= 16,
        "a challenge of {} bytes",
        challenge.len()
    );
    assert_eq!(started.json["flow"].as_str().unwrap().len(), 43);
    let again = begin(&b, &alice.id, Some(&alice.token)).await;
    assert_ne!(
        again.json["publicKey"]["challenge"], options["challenge"],
        "every ceremony has its own challenge"
    );

    let listed = b
        .gateway
        .get(&passkeys(&alice.id), Some(&alice.token))
        .await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.json["passkeys"], json!([]));
}

async fn a_session_older_than_ten_minutes_adds_a_passkey_only_with_the_password(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let mut browser = signed_in(&b, &alice.email, PASSWORD).await;
    let account = browser.get("/demo/account").await;
    assert!(
        account.text.contains("name=\"passkey_password\""),
        "the page asks for the password, in case: {}",
        account.text
    );
    let page_options = "/demo/account/passkeys/options";
    let fresh = browser.fetch(page_options, &with_csrf(&account, &[])).await;
    assert_eq!(fresh.status, 200, "just signed in, no password: {fresh:?}");

    b.advance(Duration::from_secs(10 * 60 + 1));
    begin(&b, &alice.id, Some(&alice.token))
        .await
        .assert_problem(422, "missing_current_password");
    let registration = format!("{}/registration", passkeys(&alice.id));
    let wrong = json!({ "current_password": "not the password" });
    b.gateway
        .post(&registration, Some(&alice.token), wrong)
        .await
        .assert_problem(422, "wrong_current_password");
    let refused = browser.fetch(page_options, &with_csrf(&account, &[])).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert_eq!(refused.json["code"], "missing_current_password");
    assert!(
        refused.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("more than 10 minutes ago")),
        "the page's script says why: {refused:?}"
    );
    let fields = with_csrf(&account, &[("passkey_password", "not the password")]);
    let wrong = browser.fetch(page_options, &fields).await;
    assert_eq!(wrong.status, 422, "{wrong:?}");
    assert_eq!(wrong.json["code"], "wrong_current_password");

    let right = json!({ "current_password": PASSWORD });
    let started = b
        .gateway
        .post(&registration, Some(&alice.token), right)
        .await;
    assert_eq!(started.status, 200, "{started:?}");
    assert!(started.json["publicKey"]["challenge"].is_string());
    let fields = with_csrf(&account, &[("passkey_password", PASSWORD)]);
    let started = browser.fetch(page_options, &fields).await;
    assert_eq!(started.status, 200, "{started:?}");
    assert!(started.json["publicKey"]["challenge"].is_string());
}

async fn registrations_that_are_not_the_callers_are_refused(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let bob = b.account("bob", "member").await;

    // Only the person registers their own; an admin may list them, another member may not.
    begin(&b, &alice.id, Some(&bob.token))
        .await
        .assert_problem(403, "forbidden");
    begin(&b, &alice.id, Some(&b.admin_token))
        .await
        .assert_problem(403, "forbidden");
    let by_admin = b
        .gateway
        .get(&passkeys(&alice.id), Some(&b.admin_token))
        .await;
    assert_eq!(by_admin.status, 200, "{by_admin:?}");
    b.gateway
        .get(&passkeys(&alice.id), Some(&bob.token))
        .await
        .assert_problem(403, "forbidden");

    let alices = begin(&b, &alice.id, Some(&alice.token)).await.json["flow"].clone();
    let bobs = begin(&b, &bob.id, Some(&bob.token)).await.json["flow"].clone();
    let body = |flow: &Value, name: &str| json!({ "flow": flow, "credential": made_up_creation(), "name": name });

    // Bob's flow does not end Alice's registration, nor a made-up one; a malformed one is no flow.
    register(&b, &alice.id, &alice.token, body(&bobs, "Phone"))
        .await
        .assert_problem(422, "invalid_passkey_flow");
    let made_up = "A".repeat(43);
    register(&b, &alice.id, &alice.token, body(&json!(made_up), "Phone"))
        .await
        .assert_problem(422, "invalid_passkey_flow");
    register(&b, &alice.id, &alice.token, body(&json!("short"), "Phone"))
        .await
        .assert_problem(422, "invalid_passkey_flow");
    // Her own flow with a credential nobody signed; a name that is no name; missing fields.
    register(&b, &alice.id, &alice.token, body(&alices, "Phone"))
        .await
        .assert_problem(422, "invalid_passkey");
    register(&b, &alice.id, &alice.token, body(&alices, &"x".repeat(65)))
        .await
        .assert_problem(422, "invalid_passkey_name");
    register(&b, &alice.id, &alice.token, json!({ "flow": alices }))
        .await
        .assert_problem(422, "missing_field");
    register(
        &b,
        &alice.id,
        &alice.token,
        json!({ "flow": alices, "credential": "text", "name": "Phone" }),
    )
    .await
    .assert_problem(422, "invalid_passkey");
    register(&b, &alice.id, &bob.token, body(&alices, "Phone"))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .send(
            "DELETE",
            &format!("{}/AAAA", passkeys(&alice.id)),
            Some(&alice.token),
            None,
        )
        .await
        .assert_problem(404, "passkey_not_found");

    // Nothing changed.
    let listed = b
        .gateway
        .get(&passkeys(&alice.id), Some(&alice.token))
        .await;
    assert_eq!(listed.json["passkeys"], json!([]));
    let user = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/users/{}", alice.id),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(user.json["second_factors"], json!([]), "{user:?}");
}

async fn sign_in_options_name_no_account_and_bad_assertions_are_refused(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let options = |client: &'static str| {
        let b = &b;
        async move {
            b.gateway
                .post_from(
                    client,
                    "/v1/orgs/demo/sign-in/passkey/options",
                    None,
                    json!({}),
                )
                .await
        }
    };

    let started = options("203.0.113.7").await;
    assert_eq!(started.status, 200, "{started:?}");
    let public_key = &started.json["publicKey"];
    assert_eq!(
        public_key["rpId"],
        PUBLIC_URL.trim_start_matches("https://")
    );
    assert_eq!(
        public_key["allowCredentials"],
        json!([]),
        "no account is named"
    );
    assert_eq!(public_key["userVerification"], "required");
    assert!(started.json.get("mediation").is_none());
    b.gateway
        .post("/v1/orgs/nowhere/sign-in/passkey/options", None, json!({}))
        .await
        .assert_problem(404, "org_not_found");

    let flow = started.json["flow"].clone();
    let finish = |client: &'static str, body: Value| {
        let b = &b;
        async move {
            b.gateway
                .post_from(client, "/v1/orgs/demo/sign-in/passkey", None, body)
                .await
        }
    };
    // A passkey Alice does not have; a credential that is none; missing parts.
    let assertion = made_up_assertion(&alice.id, "AAAA");
    finish(
        "203.0.113.7",
        json!({ "flow": flow, "credential": assertion }),
    )
    .await
    .assert_problem(401, "invalid_passkey");
    finish(
        "203.0.113.7",
        json!({ "flow": flow, "credential": { "id": "x" } }),
    )
    .await
    .assert_problem(401, "invalid_passkey");
    finish("203.0.113.7", json!({ "flow": flow }))
        .await
        .assert_problem(422, "missing_field");
    // The flow works from the address its options went to only, and is no made-up one.
    finish(
        "198.51.100.9",
        json!({ "flow": flow, "credential": assertion }),
    )
    .await
    .assert_problem(401, "invalid_passkey_flow");
    finish(
        "203.0.113.7",
        json!({ "flow": "A".repeat(43), "credential": assertion }),
    )
    .await
    .assert_problem(401, "invalid_passkey_flow");
    finish(
        "203.0.113.7",
        json!({ "flow": "nope", "credential": assertion }),
    )
    .await
    .assert_problem(401, "invalid_passkey_flow");
    // A registration's flow is no sign-in's.
    let registration = begin(&b, &alice.id, Some(&alice.token)).await.json["flow"].clone();
    finish(
        gatehouse_e2e::DEFAULT_CLIENT,
        json!({ "flow": registration, "credential": assertion }),
    )
    .await
    .assert_problem(401, "invalid_passkey_flow");
}
