//! After sign-up, into the application the organisation chose (third-party-initiated login).

use gatehouse_e2e::pages::Browser;
use gatehouse_e2e::{Backend, Bundle, Reply};
use serde_json::{json, Value};

use super::{authorize_path, back_at_app, claims, exchange, param, register, App, CALLBACK};

/// An organisation names the application people land in after signing up: the invitee who
/// follows the emailed link and creates their account is sent to its `initiate_login_uri` with
/// `iss` and `login_hint` (OpenID Connect third-party-initiated login), and the authorization
/// request the application then makes comes straight back with a code for them. Only an
/// application of the organisation with an `initiate_login_uri` can be named.
pub(super) async fn a_new_member_lands_in_the_chosen_application_signed_in(backend: Backend) {
    let b = Bundle::start(backend).await;
    const LOGIN: &str = "https://app.acme.test/login?from=gatehouse";
    let made = b
        .gateway
        .post(
            "/v1/orgs/demo/clients",
            Some(&b.admin_token),
            json!({"name": "Acme web", "type": "confidential", "redirect_uris": [CALLBACK],
                   "initiate_login_uri": LOGIN}),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    let app = App {
        id: made.json["client_id"].as_str().unwrap().into(),
        secret: made.json["client_secret"].as_str().map(str::to_string),
    };
    let without = register(&b, "public").await;
    let b = &b;
    let settings = |client: Value| async move {
        b.gateway
            .send(
                "PATCH",
                "/v1/orgs/demo/settings",
                Some(&b.admin_token),
                Some(json!({ "sign_up_client": client }).to_string()),
            )
            .await
    };
    // No initiate_login_uri, no such application, not an id: refused, nothing changed.
    for (client, code) in [
        (json!(without.id), "invalid_sign_up_client"),
        (json!("0".repeat(32)), "invalid_sign_up_client"),
        (json!("web"), "invalid_client_id"),
    ] {
        let refused = settings(client).await;
        assert_eq!(refused.status, 422, "{refused:?}");
        assert_eq!(refused.json["code"], code, "{refused:?}");
    }
    let chosen = settings(json!(app.id)).await;
    assert_eq!(chosen.status, 200, "{chosen:?}");
    assert_eq!(chosen.json["sign_up_client"], json!(app.id));

    let alice = b.email("alice");
    let mut browser = Browser::new(b);
    let done = invited_signs_up(&mut browser, &alice, "Alice", "through the looking glass").await;
    let location = done.header("location").expect("a Location");
    let query = location
        .strip_prefix(&format!("{LOGIN}&"))
        .unwrap_or_else(|| panic!("sent to the application's initiate_login_uri: {location}"));
    let query: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    assert_eq!(
        param(&query, "iss"),
        Some("https://app.gatehouse.test/demo")
    );
    assert_eq!(param(&query, "login_hint"), Some(alice.as_str()));
    // The application asks; the new session answers at once, for Alice.
    let back = browser
        .get(&authorize_path(&app, &[("login_hint", &alice)]))
        .await;
    let query = back_at_app(&back);
    let code = param(&query, "code").expect("a code").to_string();
    let tokens = exchange(b, &app, &code).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    let id = claims(tokens.json["id_token"].as_str().unwrap());
    assert_eq!(id["email"], json!(alice));

    // Unset again: the welcome page, as before.
    assert_eq!(
        settings(Value::Null).await.json["sign_up_client"],
        Value::Null
    );
    let bob = b.email("bob");
    let mut browser = Browser::new(b);
    let done = invited_signs_up(&mut browser, &bob, "Bob", "happy little accidents").await;
    let location = done.header("location").unwrap_or_default();
    assert!(!location.starts_with("https://app.acme.test"), "{location}");
}

/// `email` is invited by the admin, follows the emailed link and creates their account: the
/// answer to the form (a 303 to wherever they land).
async fn invited_signs_up(
    browser: &mut Browser<'_>,
    email: &str,
    first_name: &str,
    password: &str,
) -> Reply {
    let b = browser.b;
    let invited = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": email, "role": "member", "first_name": first_name, "last_name": "Doe"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    let link = b
        .mailbox
        .messages_to(email)
        .await
        .last()
        .and_then(|m| m.link_path())
        .expect("the invitation's link");
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200, "{page:?}");
    let done = browser
        .submit(
            &page,
            "/demo/sign-up",
            &[
                ("first_name", first_name),
                ("last_name", "Doe"),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    done
}
