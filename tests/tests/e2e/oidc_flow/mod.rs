//! The OpenID Connect code flow through the hosted sign-in page and the token endpoint, on both
//! backends, with what a careful provider refuses: codes used twice or late, wrong PKCE
//! verifiers, public clients without PKCE, unregistered redirect URIs, spent refresh tokens,
//! `alg: none` and HS256 forgeries. (A relying party nobody here wrote drives the same flow in
//! the browser stories; this checks Gatehouse's side of each rule.)

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use gatehouse_e2e::pages::Browser;
use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, ADMIN_PASSWORD};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

mod landing;
mod second_factor;
use landing::a_new_member_lands_in_the_chosen_application_signed_in;
use second_factor::{
    a_passkey_reaches_the_application_as_amr_and_acr,
    a_second_factor_reaches_the_application_as_amr_and_acr,
};

on_both_backends!(
    a_person_signs_in_to_an_application_and_it_learns_who_they_are,
    refresh_tokens_rotate_and_a_spent_one_ends_the_grant,
    a_code_works_once_within_a_minute_for_its_client_and_verifier,
    bad_authorization_requests_are_refused_where_they_belong,
    a_signed_in_person_goes_straight_back_and_prompt_and_max_age_are_honoured,
    forged_and_revoked_tokens_do_not_count,
    an_application_signs_the_person_out_and_is_sent_back_only_where_registered,
    a_new_member_lands_in_the_chosen_application_signed_in,
    a_second_factor_reaches_the_application_as_amr_and_acr,
    a_passkey_reaches_the_application_as_amr_and_acr,
);

const CALLBACK: &str = "https://app.acme.test/callback";
const VERIFIER: &str = "a-long-random-pkce-verifier-0123456789-abcdefghijklmnop";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

struct App {
    id: String,
    secret: Option<String>,
}

async fn register(b: &Bundle, kind: &str) -> App {
    let made = b
        .gateway
        .post(
            "/v1/orgs/demo/clients",
            Some(&b.admin_token),
            json!({"name": "Acme web", "type": kind, "redirect_uris": [CALLBACK]}),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    App {
        id: made.json["client_id"].as_str().unwrap().into(),
        secret: made.json["client_secret"].as_str().map(str::to_string),
    }
}

fn authorize_path(app: &App, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code".to_string()),
        ("client_id", app.id.clone()),
        ("redirect_uri", CALLBACK.to_string()),
        ("scope", "openid profile email offline_access".to_string()),
        ("state", "st-123".to_string()),
        ("nonce", "no-456".to_string()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".to_string()),
    ];
    for (k, v) in extra {
        params.retain(|(n, _)| n != k);
        if !v.is_empty() {
            params.push((k, v.to_string()));
        }
    }
    format!(
        "/demo/oidc/authorize?{}",
        serde_urlencoded::to_string(&params).unwrap()
    )
}

/// The query of a redirect to the application.
fn back_at_app(reply: &Reply) -> Vec<(String, String)> {
    assert_eq!(reply.status, 303, "{reply:?}");
    let location = reply.header("location").expect("a Location");
    let query = location
        .strip_prefix(&format!("{CALLBACK}?"))
        .unwrap_or_else(|| panic!("back at the registered URI: {location}"));
    serde_urlencoded::from_str(query).unwrap()
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Through the sign-in page: the code the application gets.
async fn sign_in_for_code(browser: &mut Browser<'_>, app: &App, extra: &[(&str, &str)]) -> String {
    let page = browser.get(&authorize_path(app, extra)).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.text.contains("to continue to Acme web"),
        "{}",
        page.text
    );
    let admin = browser.b.admin_email.clone();
    let done = browser
        .submit(
            &page,
            "/demo/oidc/authorize",
            &[("identifier", &admin), ("password", ADMIN_PASSWORD)],
        )
        .await;
    let query = back_at_app(&done);
    assert_eq!(param(&query, "state"), Some("st-123"));
    assert_eq!(
        param(&query, "iss"),
        Some("https://app.gatehouse.test/demo")
    );
    param(&query, "code").expect("a code").to_string()
}

async fn token_request(b: &Bundle, app: &App, fields: &[(&str, &str)]) -> Reply {
    let mut headers = vec![(
        "content-type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    )];
    if let Some(secret) = &app.secret {
        headers.push((
            "authorization".into(),
            format!("Basic {}", STANDARD.encode(format!("{}:{secret}", app.id))),
        ));
    }
    let mut all: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if app.secret.is_none() {
        all.push(("client_id".into(), app.id.clone()));
    }
    b.gateway
        .raw(
            "POST",
            "/demo/oidc/token",
            headers,
            Some(serde_urlencoded::to_string(&all).unwrap()),
        )
        .await
}

async fn exchange(b: &Bundle, app: &App, code: &str) -> Reply {
    token_request(
        b,
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn refresh(b: &Bundle, app: &App, token: &str) -> Reply {
    token_request(
        b,
        app,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header(jwt: &str) -> Value {
    let part = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn userinfo(b: &Bundle, token: &str) -> Reply {
    b.gateway.get("/demo/oidc/userinfo", Some(token)).await
}

fn assert_oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(
        (reply.status, reply.json["error"].as_str()),
        (status, Some(error)),
        "{reply:?}"
    );
    assert_eq!(reply.json["code"], error);
}

async fn a_person_signs_in_to_an_application_and_it_learns_who_they_are(backend: Backend) {
    let b = Bundle::start(backend).await;
    let app = register(&b, "confidential").await;
    let mut browser = Browser::new(&b);
    let code = sign_in_for_code(&mut browser, &app, &[]).await;
    let tokens = exchange(&b, &app, &code).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    assert_eq!(tokens.header("cache-control"), Some("no-store"));
    assert_eq!(tokens.json["token_type"], "Bearer");
    let id_token = tokens.json["id_token"].as_str().unwrap();
    let access = tokens.json["access_token"].as_str().unwrap();
    assert!(
        tokens.json["refresh_token"].is_string(),
        "offline_access asked"
    );
    assert_eq!(header(id_token)["alg"], "RS256");
    assert_eq!(header(access)["typ"], "at+jwt");
    let id = claims(id_token);
    assert_eq!(id["iss"], "https://app.gatehouse.test/demo");
    assert_eq!(id["aud"], app.id.as_str());
    assert_eq!(id["nonce"], "no-456");
    assert_eq!(id["email"], b.admin_email.as_str());
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["role"], "admin");
    assert_eq!(id["org"], "demo");
    assert_eq!(id["preferred_username"], b.admin_email.as_str());
    assert!(id["groups"].is_array() && id["auth_time"].is_i64());
    assert_eq!(id["amr"], json!(["pwd"]), "a password alone");
    assert_eq!(id["acr"], "aal1");
    let at = claims(access);
    assert_eq!(at["client_id"], app.id.as_str());
    assert_eq!(at["scope"], "openid profile email offline_access");
    assert!(at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap() <= 15 * 60);
    assert_eq!(at["sub"], id["sub"]);

    let me = userinfo(&b, access).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.json["sub"], id["sub"]);
    assert_eq!(me.json["email"], b.admin_email.as_str());
    assert_eq!(me.json["given_name"], id["given_name"]);
    // The signing key is in the issuer's JWKS.
    let jwks = b.gateway.get("/demo/oidc/jwks", None).await;
    let kid = header(id_token)["kid"].clone();
    assert!(jwks.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == kid));
}

async fn refresh_tokens_rotate_and_a_spent_one_ends_the_grant(backend: Backend) {
    let b = Bundle::start(backend).await;
    let app = register(&b, "confidential").await;
    let code = sign_in_for_code(&mut Browser::new(&b), &app, &[]).await;
    let first = exchange(&b, &app, &code).await;
    let r1 = first.json["refresh_token"].as_str().unwrap().to_string();
    let second = refresh(&b, &app, &r1).await;
    assert_eq!(second.status, 200, "{second:?}");
    let r2 = second.json["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2, "rotated");
    assert_eq!(
        claims(second.json["id_token"].as_str().unwrap())["sub"],
        claims(first.json["id_token"].as_str().unwrap())["sub"]
    );
    // The spent token again (stolen, say): refused, and the whole grant ends with it.
    assert_oauth_error(&refresh(&b, &app, &r1).await, 400, "invalid_grant");
    assert_oauth_error(&refresh(&b, &app, &r2).await, 400, "invalid_grant");
    let access = second.json["access_token"].as_str().unwrap();
    assert_oauth_error(&userinfo(&b, access).await, 401, "invalid_token");

    // A password reset ends grants too.
    let code = sign_in_for_code(&mut Browser::new(&b), &app, &[]).await;
    let tokens = exchange(&b, &app, &code).await;
    let r = tokens.json["refresh_token"].as_str().unwrap().to_string();
    let asked = b
        .gateway
        .post(
            "/v1/orgs/demo/password-reset",
            None,
            json!({"email": b.admin_email}),
        )
        .await;
    assert_eq!(asked.status, 202, "{asked:?}");
    let token = b.sign_up_token(&b.admin_email).await;
    let reset = b
        .gateway
        .post(
            "/v1/orgs/demo/password-reset/confirm",
            None,
            json!({"token": token, "password": "an entirely new passphrase"}),
        )
        .await;
    assert!(reset.status < 300, "{reset:?}");
    assert_oauth_error(&refresh(&b, &app, &r).await, 400, "invalid_grant");
    let access = tokens.json["access_token"].as_str().unwrap();
    assert_oauth_error(&userinfo(&b, access).await, 401, "invalid_token");
}

async fn a_code_works_once_within_a_minute_for_its_client_and_verifier(backend: Backend) {
    let b = Bundle::start(backend).await;
    let app = register(&b, "confidential").await;
    let other = register(&b, "confidential").await;

    // Another client's code.
    let code = sign_in_for_code(&mut Browser::new(&b), &app, &[]).await;
    assert_oauth_error(&exchange(&b, &other, &code).await, 400, "invalid_grant");
    // The wrong verifier, or none.
    let wrong = token_request(
        &b,
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &"x".repeat(43)),
        ],
    )
    .await;
    assert_oauth_error(&wrong, 400, "invalid_grant");
    let none = token_request(
        &b,
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_oauth_error(&none, 400, "invalid_grant");
    // Another redirect URI.
    let elsewhere = token_request(
        &b,
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.acme.test/other"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_oauth_error(&elsewhere, 400, "invalid_grant");
    // A wrong secret.
    let impostor = App {
        id: app.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let refused = exchange(&b, &impostor, &code).await;
    assert_oauth_error(&refused, 401, "invalid_client");
    assert!(refused
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Basic")));

    // None of those spent it: the right exchange works, once.
    let tokens = exchange(&b, &app, &code).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    let refresh_token = tokens.json["refresh_token"].as_str().unwrap().to_string();
    // A second use: refused, and what the first one issued ends.
    assert_oauth_error(&exchange(&b, &app, &code).await, 400, "invalid_grant");
    assert_oauth_error(
        &refresh(&b, &app, &refresh_token).await,
        400,
        "invalid_grant",
    );

    // A minute late.
    let late = sign_in_for_code(&mut Browser::new(&b), &app, &[]).await;
    b.advance(Duration::from_secs(61));
    assert_oauth_error(&exchange(&b, &app, &late).await, 400, "invalid_grant");

    // Malformed requests.
    assert_oauth_error(
        &token_request(
            &b,
            &app,
            &[
                ("grant_type", "password"),
                ("username", "a"),
                ("password", "b"),
            ],
        )
        .await,
        400,
        "unsupported_grant_type",
    );
    assert_oauth_error(
        &token_request(&b, &app, &[("grant_type", "authorization_code")]).await,
        400,
        "invalid_request",
    );
    let twice = b
        .gateway
        .raw(
            "POST",
            "/demo/oidc/token",
            vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            Some(format!(
                "grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id={}",
                app.id
            )),
        )
        .await;
    assert_oauth_error(&twice, 400, "invalid_request");
    let json_body = b
        .gateway
        .post(
            "/demo/oidc/token",
            None,
            json!({"grant_type": "authorization_code"}),
        )
        .await;
    assert_oauth_error(&json_body, 400, "invalid_request");
}

async fn bad_authorization_requests_are_refused_where_they_belong(backend: Backend) {
    let b = Bundle::start(backend).await;
    let app = register(&b, "confidential").await;
    let public = register(&b, "public").await;
    let mut browser = Browser::new(&b);

    // Unknown client, unregistered or missing redirect URI: a page here, never a redirect.
    let unknown = App {
        id: "0".repeat(32),
        secret: None,
    };
    for path in [
        authorize_path(&unknown, &[]),
        authorize_path(&app, &[("redirect_uri", "https://evil.test/callback")]),
        authorize_path(&app, &[("redirect_uri", "https://app.acme.test/callback/")]),
        authorize_path(&app, &[("redirect_uri", "")]),
        authorize_path(&app, &[("client_id", "")]),
        format!("{}&state=again", authorize_path(&app, &[])),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 400, "{path}: {page:?}");
        assert!(page.header("location").is_none());
        assert!(!page.text.contains("\"https://evil.test"), "no link to it");
    }

    // Everything else goes back to the application with the error, the state and the issuer.
    for (extra, error) in [
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", "code id_token")],
            "unsupported_response_type",
        ),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("scope", "profile email")], "invalid_scope"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge", "short")], "invalid_request"),
        (vec![("prompt", "select_account")], "invalid_request"),
        (vec![("max_age", "soon")], "invalid_request"),
        (
            vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
        (vec![("response_mode", "fragment")], "invalid_request"),
    ] {
        let reply = browser.get(&authorize_path(&app, &extra)).await;
        let query = back_at_app(&reply);
        assert_eq!(param(&query, "error"), Some(error), "{extra:?}");
        assert_eq!(param(&query, "state"), Some("st-123"));
        assert_eq!(
            param(&query, "iss"),
            Some("https://app.gatehouse.test/demo")
        );
        assert_eq!(param(&query, "code"), None);
    }
    // A public client without PKCE.
    let reply = browser
        .get(&authorize_path(
            &public,
            &[("code_challenge", ""), ("code_challenge_method", "")],
        ))
        .await;
    assert_eq!(
        param(&back_at_app(&reply), "error"),
        Some("invalid_request")
    );
    // prompt=none without a session: no page, login_required.
    let reply = browser
        .get(&authorize_path(&app, &[("prompt", "none")]))
        .await;
    assert_eq!(param(&back_at_app(&reply), "error"), Some("login_required"));
    // The sign-in form is CSRF-checked like every form.
    let page = browser.get(&authorize_path(&app, &[])).await;
    let form = gatehouse_e2e::pages::form_of(&page.text, "/demo/oidc/authorize");
    let mut fields = gatehouse_e2e::pages::hidden_fields(form);
    fields.retain(|(n, _)| n != "csrf");
    fields.push(("csrf".into(), "forged".into()));
    fields.push(("identifier".into(), b.admin_email.clone()));
    fields.push(("password".into(), ADMIN_PASSWORD.into()));
    let forged = browser.post("/demo/oidc/authorize", &fields).await;
    assert_ne!(forged.status, 303, "{forged:?}");
    // A wrong password stays on the page.
    let wrong = browser
        .submit(
            &page,
            "/demo/oidc/authorize",
            &[
                ("identifier", &b.admin_email),
                ("password", "wrong wrong wrong"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(wrong.header("location").is_none());
}

async fn a_signed_in_person_goes_straight_back_and_prompt_and_max_age_are_honoured(
    backend: Backend,
) {
    let b = Bundle::start(backend).await;
    let app = register(&b, "public").await;
    let mut browser = Browser::new(&b);
    sign_in_for_code(&mut browser, &app, &[]).await;
    // The session the sign-in made: straight back with a code, no page.
    let again = browser.get(&authorize_path(&app, &[])).await;
    let code = param(&back_at_app(&again), "code")
        .expect("a code")
        .to_string();
    let tokens = exchange(&b, &app, &code).await;
    assert_eq!(tokens.status, 200, "a public client with PKCE: {tokens:?}");
    let none = browser
        .get(&authorize_path(&app, &[("prompt", "none")]))
        .await;
    assert!(param(&back_at_app(&none), "code").is_some());
    // prompt=login asks again; so does a max_age the session is older than.
    let login = browser
        .get(&authorize_path(&app, &[("prompt", "login")]))
        .await;
    assert_eq!(login.status, 200, "{login:?}");
    b.advance(Duration::from_secs(120));
    let stale = browser
        .get(&authorize_path(&app, &[("max_age", "60")]))
        .await;
    assert_eq!(stale.status, 200, "{stale:?}");
    let stale_none = browser
        .get(&authorize_path(
            &app,
            &[("max_age", "60"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(
        param(&back_at_app(&stale_none), "error"),
        Some("login_required")
    );
    let fresh = browser
        .get(&authorize_path(&app, &[("max_age", "3600")]))
        .await;
    assert!(param(&back_at_app(&fresh), "code").is_some());
    // The page cannot be framed.
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
}

async fn forged_and_revoked_tokens_do_not_count(backend: Backend) {
    let b = Bundle::start(backend).await;
    let app = register(&b, "confidential").await;
    let code = sign_in_for_code(&mut Browser::new(&b), &app, &[]).await;
    let tokens = exchange(&b, &app, &code).await;
    let access = tokens.json["access_token"].as_str().unwrap().to_string();
    let refresh_token = tokens.json["refresh_token"].as_str().unwrap().to_string();

    // alg: none, and HS256 signed with the public key as the HMAC secret.
    let mut forged_claims = claims(&access);
    forged_claims["role"] = json!("admin");
    let body = URL_SAFE_NO_PAD.encode(forged_claims.to_string());
    let kid = header(&access)["kid"].clone();
    let none = format!(
        "{}.{body}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "at+jwt", "kid": kid}).to_string())
    );
    let hs_header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}).to_string());
    let jwks = b.gateway.get("/demo/oidc/jwks", None).await;
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<Sha256>::new_from_slice(jwks.json["keys"][0].to_string().as_bytes()).unwrap();
    mac.update(format!("{hs_header}.{body}").as_bytes());
    let hs = format!(
        "{hs_header}.{body}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    for forged in [&none, &hs] {
        assert_oauth_error(&userinfo(&b, forged).await, 401, "invalid_token");
        let seen = introspect(&b, &app, forged).await;
        assert_eq!(seen.json, json!({"active": false}), "{seen:?}");
    }
    // The real ones are active.
    let seen = introspect(&b, &app, &access).await;
    assert_eq!(seen.json["active"], true, "{seen:?}");
    assert_eq!(seen.json["client_id"], app.id.as_str());
    let seen = introspect(&b, &app, &refresh_token).await;
    assert_eq!(seen.json["active"], true, "{seen:?}");
    // Another client sees nothing of them; a public client may not introspect.
    let other = register(&b, "confidential").await;
    assert_eq!(
        introspect(&b, &other, &access).await.json,
        json!({"active": false})
    );
    let public = register(&b, "public").await;
    assert_oauth_error(
        &introspect(&b, &public, &access).await,
        401,
        "invalid_client",
    );

    // Revoked: the refresh token is refused and the access token no longer counts here.
    let revoked = token_form(&b, &app, "/demo/oidc/revoke", &refresh_token).await;
    assert_eq!(revoked.status, 200, "{revoked:?}");
    assert_oauth_error(
        &refresh(&b, &app, &refresh_token).await,
        400,
        "invalid_grant",
    );
    assert_oauth_error(&userinfo(&b, &access).await, 401, "invalid_token");
    assert_eq!(
        introspect(&b, &app, &access).await.json,
        json!({"active": false})
    );
    // Revoking what is unknown is no error.
    let unknown = token_form(&b, &app, "/demo/oidc/revoke", "not-a-token").await;
    assert_eq!(unknown.status, 200);
}

async fn introspect(b: &Bundle, app: &App, token: &str) -> Reply {
    token_form(b, app, "/demo/oidc/introspect", token).await
}

async fn token_form(b: &Bundle, app: &App, path: &str, token: &str) -> Reply {
    let mut headers = vec![(
        "content-type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    )];
    let mut fields = vec![("token".to_string(), token.to_string())];
    match &app.secret {
        Some(secret) => headers.push((
            "authorization".into(),
            format!("Basic {}", STANDARD.encode(format!("{}:{secret}", app.id))),
        )),
        None => fields.push(("client_id".into(), app.id.clone())),
    }
    b.gateway
        .raw(
            "POST",
            path,
            headers,
            Some(serde_urlencoded::to_string(&fields).unwrap()),
        )
        .await
}

const GOODBYE: &str = "https://app.acme.test/goodbye";

async fn an_application_signs_the_person_out_and_is_sent_back_only_where_registered(
    backend: Backend,
) {
    let b = Bundle::start(backend).await;
    let made = b
        .gateway
        .post(
            "/v1/orgs/demo/clients",
            Some(&b.admin_token),
            json!({"name": "Acme web", "type": "confidential", "redirect_uris": [CALLBACK], "post_logout_redirect_uris": [GOODBYE]}),
        )
        .await;
    let app = App {
        id: made.json["client_id"].as_str().unwrap().into(),
        secret: made.json["client_secret"].as_str().map(str::to_string),
    };
    let mut browser = Browser::new(&b);
    let code = sign_in_for_code(&mut browser, &app, &[]).await;
    let id_token = exchange(&b, &app, &code).await.json["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let logout = |params: &[(&str, &str)]| {
        format!(
            "/demo/oidc/logout?{}",
            serde_urlencoded::to_string(params).unwrap()
        )
    };

    // Open redirects: an unregistered URI, or one of another client, is refused on the page;
    // the session stays.
    for path in [
        logout(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", "https://evil.test/"),
        ]),
        logout(&[("post_logout_redirect_uri", GOODBYE)]),
        logout(&[
            ("client_id", &"0".repeat(32)),
            ("post_logout_redirect_uri", GOODBYE),
        ]),
        logout(&[
            ("id_token_hint", "not.a.token"),
            ("post_logout_redirect_uri", GOODBYE),
        ]),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 400, "{path}: {page:?}");
        assert!(page.header("location").is_none());
    }
    let still = browser.get(&authorize_path(&app, &[])).await;
    assert!(
        param(&back_at_app(&still), "code").is_some(),
        "still signed in"
    );

    // Without proof of who is signed in: asked first (a link elsewhere cannot sign them out).
    let asked = browser
        .get(&logout(&[
            ("client_id", &app.id),
            ("post_logout_redirect_uri", GOODBYE),
            ("state", "s-9"),
        ]))
        .await;
    assert_eq!(asked.status, 200, "{asked:?}");
    assert!(
        asked.text.contains("Acme web asks to sign you out"),
        "{}",
        asked.text
    );
    let still = browser.get(&authorize_path(&app, &[])).await;
    assert!(
        param(&back_at_app(&still), "code").is_some(),
        "asking ended nothing"
    );

    // With the application's ID token of this person: at once, and back with the state.
    let out = browser
        .get(&logout(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", GOODBYE),
            ("state", "s-1"),
        ]))
        .await;
    assert_eq!(out.status, 303, "{out:?}");
    assert_eq!(
        out.header("location"),
        Some(format!("{GOODBYE}?state=s-1").as_str())
    );
    let again = browser.get(&authorize_path(&app, &[])).await;
    assert_eq!(again.status, 200, "signed out: the sign-in page again");

    // Confirming the question signs out too.
    let code = sign_in_for_code(&mut browser, &app, &[]).await;
    assert!(!code.is_empty());
    let asked = browser
        .get(&logout(&[
            ("client_id", &app.id),
            ("post_logout_redirect_uri", GOODBYE),
        ]))
        .await;
    let done = browser.submit(&asked, "/demo/oidc/logout", &[]).await;
    assert_eq!(done.status, 303, "{done:?}");
    assert_eq!(done.header("location"), Some(GOODBYE));
    let again = browser.get(&authorize_path(&app, &[])).await;
    assert_eq!(again.status, 200, "signed out");
    // Not signed in, no URI: the signed-out page.
    let page = browser.get(&logout(&[])).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("You are signed out"), "{}", page.text);
}
