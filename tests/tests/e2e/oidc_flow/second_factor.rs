//! A sign-in with a second factor through an application's authorization request: the code step
//! comes after the password with the request carried along, the application gets its code once
//! the code is right, and the ID token says how the person signed in (`amr`, `acr`); a passkey
//! used on the sign-in page of an authorization request does the same.

use gatehouse_domain::clock::Clock;
use gatehouse_e2e::authenticator::{app_code, enrolled_app};
use gatehouse_e2e::pages::{heading, with_csrf, Browser};
use gatehouse_e2e::passkey::SoftKey;
use gatehouse_e2e::{Backend, Bundle, PASSWORD};
use serde_json::json;

use super::{authorize_path, back_at_app, claims, exchange, param, refresh, register};

pub(super) async fn a_second_factor_reaches_the_application_as_amr_and_acr(backend: Backend) {
    let b = Bundle::start(backend).await;
    let app = register(&b, "confidential").await;
    let alice = b.account("alice", "member").await;
    let (uri, _) = enrolled_app(&b, &alice).await;

    let mut browser = Browser::new(&b);
    let page = browser.get(&authorize_path(&app, &[])).await;
    let step = browser
        .submit(
            &page,
            "/demo/oidc/authorize",
            &[("identifier", &alice.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(step.status, 200, "{step:?}");
    assert_eq!(heading(&step), "Two-step sign-in");
    assert!(
        step.text.contains("name=\"oidc:client_id\""),
        "the request is carried along: {}",
        step.text
    );
    let wrong = browser
        .submit(&step, "/demo/sign-in/mfa", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(
        wrong.text.contains("not the app&#39;s current code")
            || wrong.text.contains("not the app's current code"),
        "{}",
        wrong.text
    );
    let code = app_code(&uri, b.clock.now().unix_seconds());
    let done = browser
        .submit(&wrong, "/demo/sign-in/mfa", &[("code", &code)])
        .await;
    let query = back_at_app(&done);
    assert_eq!(param(&query, "state"), Some("st-123"));
    let tokens = exchange(&b, &app, param(&query, "code").unwrap()).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    let id = claims(tokens.json["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(id["acr"], "aal2");
    // A refresh keeps what the sign-in proved.
    let refreshed = refresh(&b, &app, tokens.json["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    if let Some(id_token) = refreshed.json["id_token"].as_str() {
        assert_eq!(claims(id_token)["acr"], "aal2");
    }
    // Signed in with both, the next authorization goes straight back, as strongly.
    let again = browser.get(&authorize_path(&app, &[])).await;
    let query = back_at_app(&again);
    let tokens = exchange(&b, &app, param(&query, "code").unwrap()).await;
    let id = claims(tokens.json["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "aal2");
}

pub(super) async fn a_passkey_reaches_the_application_as_amr_and_acr(backend: Backend) {
    let b = Bundle::start(backend).await;
    let app = register(&b, "confidential").await;
    let alice = b.account("alice", "member").await;
    let mut key = SoftKey::registered(&b, &alice, "Laptop").await;

    let mut browser = Browser::new(&b);
    let page = browser.get(&authorize_path(&app, &[])).await;
    assert!(
        page.text.contains("action=\"/demo/sign-in/passkey\""),
        "the sign-in page offers a passkey: {}",
        page.text
    );
    // What the page's script does: the options, the authenticator, the form sent.
    let options = browser
        .fetch("/demo/sign-in/passkey/options", &with_csrf(&page, &[]))
        .await;
    assert_eq!(options.status, 200, "{options:?}");
    let flow = options.json["flow"].as_str().unwrap().to_string();
    let credential = key.assert(&options.json["publicKey"]).to_string();
    let done = browser
        .submit(
            &page,
            "/demo/sign-in/passkey",
            &[("flow", &flow), ("credential", &credential)],
        )
        .await;
    let query = back_at_app(&done);
    assert_eq!(param(&query, "state"), Some("st-123"));
    let tokens = exchange(&b, &app, param(&query, "code").unwrap()).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    let id = claims(tokens.json["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], json!(["hwk", "user", "mfa"]));
    assert_eq!(id["acr"], "aal2");
    assert_eq!(id["sub"], alice.id.as_str());
}
