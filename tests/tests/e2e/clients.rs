//! The applications people sign in to (OpenID Connect clients), registered by admins through
//! the API, and the session API bearer-token clients ask "who am I?" and sign out with. On both
//! backends.

use gatehouse_e2e::pages::{heading, signed_in, with_csrf, Browser};
use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, ADMIN_PASSWORD};
use serde_json::{json, Value};

on_both_backends!(
    an_admin_registers_reads_changes_rotates_and_removes_an_application,
    bad_registrations_are_refused_and_change_nothing,
    only_admins_of_the_organisation_see_its_applications,
    a_retried_registration_makes_one_application_and_answers_its_secret_again,
    a_bearer_learns_who_they_are_and_signs_out,
    each_organisation_is_an_issuer_with_its_discovery_document_and_keys,
    an_admin_manages_applications_in_the_console,
);

const CLIENTS: &str = "/v1/orgs/demo/clients";

fn web_app() -> Value {
    json!({
        "name": "Acme web",
        "type": "confidential",
        "redirect_uris": ["https://app.acme.test/callback", "http://localhost:5173/callback"],
        "post_logout_redirect_uris": ["https://app.acme.test/"],
        "initiate_login_uri": "https://app.acme.test/login"
    })
}

async fn clients(b: &Bundle, token: &str) -> Vec<Value> {
    let list = b.gateway.get(CLIENTS, Some(token)).await;
    assert_eq!(list.status, 200, "{list:?}");
    list.json["items"].as_array().expect("items").clone()
}

async fn an_admin_registers_reads_changes_rotates_and_removes_an_application(backend: Backend) {
    let b = Bundle::start(backend).await;
    let made = b
        .gateway
        .post(CLIENTS, Some(&b.admin_token), web_app())
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    assert_eq!(made.header("cache-control"), Some("no-store"));
    let id = made.json["client_id"]
        .as_str()
        .expect("client_id")
        .to_string();
    let secret = made.json["client_secret"]
        .as_str()
        .expect("a secret")
        .to_string();
    assert!(secret.len() >= 43, "256 random bits");
    assert_eq!(made.json["type"], "confidential");
    assert_eq!(
        made.json["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(
        made.json["redirect_uris"],
        json!([
            "https://app.acme.test/callback",
            "http://localhost:5173/callback"
        ])
    );

    // Listed and read without the secret.
    let listed = clients(&b, &b.admin_token).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["client_id"], id.as_str());
    let path = format!("{CLIENTS}/{id}");
    let read = b.gateway.get(&path, Some(&b.admin_token)).await;
    assert_eq!(read.status, 200);
    for view in [&listed[0], &read.json] {
        assert!(view.get("client_secret").is_none(), "{view}");
        assert!(!view.to_string().contains(&secret));
    }

    // Changed: a name, the redirect URIs, the initiate-login URI removed.
    let changed = b
        .gateway
        .send(
            "PATCH",
            &path,
            Some(&b.admin_token),
            Some(
                json!({"name": "Acme", "redirect_uris": ["https://app.acme.test/cb"], "initiate_login_uri": null})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.json["name"], "Acme");
    assert_eq!(
        changed.json["redirect_uris"],
        json!(["https://app.acme.test/cb"])
    );
    assert_eq!(changed.json["initiate_login_uri"], Value::Null);
    assert_eq!(
        changed.json["post_logout_redirect_uris"],
        json!(["https://app.acme.test/"]),
        "what the change did not name stays"
    );

    // A new secret, shown once; the old one is no longer the client's.
    let rotated = b
        .gateway
        .post(&format!("{path}/secret"), Some(&b.admin_token), json!({}))
        .await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    let new_secret = rotated.json["client_secret"].as_str().expect("new secret");
    assert_ne!(new_secret, secret);
    let stored = stored_client(&b, &id).await;
    assert!(stored.secret_matches(new_secret));
    assert!(!stored.secret_matches(&secret));

    // A public client has no secret to rotate.
    let public = b
        .gateway
        .post(
            CLIENTS,
            Some(&b.admin_token),
            json!({"name": "Acme mobile", "type": "public", "redirect_uris": ["https://app.acme.test/mobile"]}),
        )
        .await;
    assert_eq!(public.status, 201, "{public:?}");
    assert_eq!(public.json["client_secret"], Value::Null);
    assert_eq!(public.json["token_endpoint_auth_method"], "none");
    let public_id = public.json["client_id"].as_str().unwrap();
    b.gateway
        .post(
            &format!("{CLIENTS}/{public_id}/secret"),
            Some(&b.admin_token),
            json!({}),
        )
        .await
        .assert_problem(422, "client_has_no_secret");

    let removed = b
        .gateway
        .send("DELETE", &path, Some(&b.admin_token), None)
        .await;
    assert_eq!(removed.status, 204, "{removed:?}");
    b.gateway
        .get(&path, Some(&b.admin_token))
        .await
        .assert_problem(404, "client_not_found");
    b.gateway
        .send("DELETE", &path, Some(&b.admin_token), None)
        .await
        .assert_problem(404, "client_not_found");
    assert_eq!(clients(&b, &b.admin_token).await.len(), 1);
}

async fn stored_client(b: &Bundle, id: &str) -> gatehouse_domain::oidc::Client {
    use gatehouse_domain::types::ClientId;
    b.services
        .store
        .client(&b.org, &ClientId::parse(id).unwrap())
        .await
        .unwrap()
        .expect("stored")
}

async fn bad_registrations_are_refused_and_change_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    let with = |change: Value| {
        let mut body = web_app();
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    for (body, code) in [
        (
            with(json!({"redirect_uris": ["http://app.acme.test/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["https://*.acme.test/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["https://app.acme.test/cb#x"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["javascript:alert(1)"]})),
            "invalid_redirect_uri",
        ),
        (with(json!({"redirect_uris": []})), "redirect_uri_required"),
        (with(json!({"redirect_uris": null})), "missing_field"),
        (
            with(json!({"post_logout_redirect_uris": ["https://evil.test/x#y"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"initiate_login_uri": "http://localhost/login"})),
            "invalid_initiate_login_uri",
        ),
        (with(json!({"type": "implicit"})), "invalid_client_type"),
        (with(json!({"name": ""})), "invalid_client_name"),
        (
            with(json!({"name": "Acme\u{202E}gnp"})),
            "invalid_client_name",
        ),
        (
            with(
                json!({"redirect_uris": (0..11).map(|i| format!("https://app.acme.test/{i}")).collect::<Vec<_>>()}),
            ),
            "too_many_redirect_uris",
        ),
    ] {
        let reply = b
            .gateway
            .post(CLIENTS, Some(&b.admin_token), body.clone())
            .await;
        assert_eq!(reply.code(), code, "{body} -> {reply:?}");
        assert_eq!(reply.status, 422, "{body} -> {reply:?}");
    }
    let unknown = b
        .gateway
        .post(
            CLIENTS,
            Some(&b.admin_token),
            with(json!({"grant_types": ["implicit"]})),
        )
        .await;
    assert_eq!(
        unknown.status, 422,
        "unknown fields are refused: {unknown:?}"
    );
    assert!(
        clients(&b, &b.admin_token).await.is_empty(),
        "nothing was registered"
    );

    // A change that would break the client changes nothing either.
    let made = b
        .gateway
        .post(CLIENTS, Some(&b.admin_token), web_app())
        .await;
    let path = format!("{CLIENTS}/{}", made.json["client_id"].as_str().unwrap());
    for (change, code) in [
        (json!({"redirect_uris": []}), "redirect_uri_required"),
        (
            json!({"redirect_uris": ["https://ok.test/cb", "ftp://x.test/"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"initiate_login_uri": "http://127.0.0.1/login"}),
            "invalid_initiate_login_uri",
        ),
    ] {
        let reply = b
            .gateway
            .send(
                "PATCH",
                &path,
                Some(&b.admin_token),
                Some(change.to_string()),
            )
            .await;
        reply.assert_problem(422, code);
    }
    let read = b.gateway.get(&path, Some(&b.admin_token)).await;
    assert_eq!(read.json["redirect_uris"], web_app()["redirect_uris"]);
    assert_eq!(
        read.json["initiate_login_uri"],
        web_app()["initiate_login_uri"]
    );
}

async fn only_admins_of_the_organisation_see_its_applications(backend: Backend) {
    let b = Bundle::start(backend).await;
    let made = b
        .gateway
        .post(CLIENTS, Some(&b.admin_token), web_app())
        .await;
    let path = format!("{CLIENTS}/{}", made.json["client_id"].as_str().unwrap());

    // A member.
    let email = b.email("mia");
    b.invite(&email, "member", &[]).await;
    let token = b.sign_up_token(&email).await;
    let member = b.sign_up(&token, "a member's own passphrase").await;
    let member = member.json["token"].as_str().expect("token").to_string();
    for reply in [
        b.gateway.get(CLIENTS, Some(&member)).await,
        b.gateway.get(&path, Some(&member)).await,
        b.gateway.post(CLIENTS, Some(&member), web_app()).await,
        b.gateway.send("DELETE", &path, Some(&member), None).await,
    ] {
        reply.assert_problem(403, "forbidden");
    }
    // Nobody.
    for reply in [
        b.gateway.get(CLIENTS, None).await,
        b.gateway.post(CLIENTS, None, web_app()).await,
        b.gateway.get(&path, Some("not-a-token")).await,
    ] {
        reply.assert_problem(401, "unauthenticated");
    }
    // Another organisation's admin: no such application there, and none to see here.
    let other = b.other_org_admin().await;
    let elsewhere = path.replace("/demo/", "/other/");
    b.gateway
        .get(&elsewhere, Some(&other))
        .await
        .assert_problem(404, "client_not_found");
    b.gateway
        .send("DELETE", &elsewhere, Some(&other), None)
        .await
        .assert_problem(404, "client_not_found");
    b.gateway
        .get(CLIENTS, Some(&other))
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(clients(&b, &b.admin_token).await.len(), 1, "still there");
}

async fn keyed(b: &Bundle, key: &str) -> Reply {
    b.gateway
        .raw(
            "POST",
            CLIENTS,
            vec![
                ("content-type".into(), "application/json".into()),
                ("authorization".into(), format!("Bearer {}", b.admin_token)),
                ("idempotency-key".into(), key.into()),
            ],
            Some(web_app().to_string()),
        )
        .await
}

async fn a_retried_registration_makes_one_application_and_answers_its_secret_again(
    backend: Backend,
) {
    let b = Bundle::start(backend).await;
    let first = keyed(&b, "register-web").await;
    assert_eq!(first.status, 201, "{first:?}");
    let again = keyed(&b, "register-web").await;
    assert_eq!(again.status, 201, "{again:?}");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json, first.json, "the same client and secret");
    assert_eq!(clients(&b, &b.admin_token).await.len(), 1);
    let secret = first.json["client_secret"].as_str().unwrap();
    assert!(stored_client(&b, first.json["client_id"].as_str().unwrap())
        .await
        .secret_matches(secret));
}

async fn a_bearer_learns_who_they_are_and_signs_out(backend: Backend) {
    let b = Bundle::start(backend).await;
    let me = b
        .gateway
        .get("/v1/orgs/demo/session", Some(&b.admin_token))
        .await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.json["user"]["email"], b.admin_email.as_str());
    assert_eq!(me.json["user"]["role"], "admin");
    assert!(me.json["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(me.header("cache-control"), Some("no-store"));
    assert!(me.json.get("token").is_none(), "the token is not echoed");

    // Another organisation's session is none here.
    let other = b.other_org_admin().await;
    b.gateway
        .get("/v1/orgs/demo/session", Some(&other))
        .await
        .assert_problem(401, "unauthenticated");

    let out = b
        .gateway
        .send(
            "DELETE",
            "/v1/orgs/demo/session",
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(out.status, 204, "{out:?}");
    for reply in [
        b.gateway
            .get("/v1/orgs/demo/session", Some(&b.admin_token))
            .await,
        b.gateway.get(CLIENTS, Some(&b.admin_token)).await,
        b.gateway
            .send(
                "DELETE",
                "/v1/orgs/demo/session",
                Some(&b.admin_token),
                None,
            )
            .await,
        b.gateway.get("/v1/orgs/demo/session", None).await,
    ] {
        reply.assert_problem(401, "unauthenticated");
    }
    // The other organisation's admin is still signed in there.
    let theirs = b.gateway.get("/v1/orgs/other/session", Some(&other)).await;
    assert_eq!(theirs.status, 200, "{theirs:?}");
}

async fn each_organisation_is_an_issuer_with_its_discovery_document_and_keys(backend: Backend) {
    let b = Bundle::start(backend).await;
    let discovery = b
        .gateway
        .get("/demo/.well-known/openid-configuration", None)
        .await;
    assert_eq!(discovery.status, 200, "{discovery:?}");
    let doc = &discovery.json;
    let iss = "https://app.gatehouse.test/demo";
    assert_eq!(doc["issuer"], iss);
    for (name, path) in [
        ("authorization_endpoint", "/oidc/authorize"),
        ("token_endpoint", "/oidc/token"),
        ("userinfo_endpoint", "/oidc/userinfo"),
        ("jwks_uri", "/oidc/jwks"),
        ("revocation_endpoint", "/oidc/revoke"),
        ("introspection_endpoint", "/oidc/introspect"),
        ("end_session_endpoint", "/oidc/logout"),
    ] {
        assert_eq!(doc[name], format!("{iss}{path}"), "{name}");
    }
    // Only what a careful provider supports.
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(
        doc["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    assert_eq!(
        doc["grant_types_supported"],
        json!(["authorization_code", "refresh_token"]),
        "no implicit, no password grant"
    );
    assert_eq!(doc["response_modes_supported"], json!(["query"]));
    assert!(discovery
        .header("cache-control")
        .is_some_and(|c| c.starts_with("public, max-age=")));

    let jwks = b.gateway.get("/demo/oidc/jwks", None).await;
    assert_eq!(jwks.status, 200, "{jwks:?}");
    assert_eq!(
        jwks.header("content-type"),
        Some("application/jwk-set+json")
    );
    let keys = jwks.json["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    for key in keys {
        assert_eq!(
            (key["kty"].as_str(), key["alg"].as_str()),
            (Some("RSA"), Some("RS256"))
        );
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "no private member {private}");
        }
    }
    // No organisation, no issuer.
    b.gateway
        .get("/nowhere/.well-known/openid-configuration", None)
        .await
        .assert_problem(404, "org_not_found");
    b.gateway
        .get("/nowhere/oidc/jwks", None)
        .await
        .assert_problem(404, "org_not_found");
}

/// The value of the readonly input `id` on a page.
fn input_value(page: &Reply, id: &str) -> Option<String> {
    let at = page.text.find(&format!("id=\"{id}\""))?;
    let tag = &page.text[at..at + page.text[at..].find('>')?];
    let start = tag.find("value=\"")? + 7;
    Some(tag[start..start + tag[start..].find('"')?].to_string())
}

/// The console's Applications page: an admin registers an application (its secret shown once,
/// and it works at the token endpoint), is told what to correct, changes it, makes a new secret
/// (the old one refused from then on), chooses it as where people land after signing up, and
/// removes it; members are not shown the page.
async fn an_admin_manages_applications_in_the_console(backend: Backend) {
    let b = Bundle::start(backend).await;
    let mut admin = signed_in(&b, &b.admin_email, ADMIN_PASSWORD).await;
    let page = admin.get("/demo/admin/applications").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(heading(&page), "Applications");
    assert!(page.text.contains("No application is registered yet."));
    assert!(
        page.text.contains("https://app.gatehouse.test/demo"),
        "the issuer is shown"
    );

    // What to correct, at its field; nothing registered.
    let wrong = admin
        .post(
            "/demo/admin/applications",
            &with_csrf(
                &page,
                &[
                    ("name", "Acme web"),
                    ("kind", "confidential"),
                    ("redirect_uris", "http://app.acme.test/callback"),
                    ("initiate_login_uri", "http://app.acme.test/login"),
                ],
            ),
        )
        .await;
    assert_eq!(wrong.status, 422, "{wrong:?}");
    assert!(
        wrong.text.contains("id=\"redirect_uris-error\""),
        "{}",
        wrong.text
    );
    assert!(wrong.text.contains("This page must be an https address."));
    assert!(
        wrong.text.contains("http://app.acme.test/callback"),
        "what was typed stays"
    );
    assert!(clients(&b, &b.admin_token).await.is_empty());

    let made = admin
        .post(
            "/demo/admin/applications",
            &with_csrf(
                &page,
                &[
                    ("name", "Acme web"),
                    ("kind", "confidential"),
                    (
                        "redirect_uris",
                        "https://app.acme.test/callback\nhttp://localhost:5173/cb",
                    ),
                    ("logout_uris", ""),
                    ("initiate_login_uri", "https://app.acme.test/login"),
                ],
            ),
        )
        .await;
    assert_eq!(made.status, 200, "{made:?}");
    assert!(
        made.text.contains("Acme web is registered."),
        "{}",
        made.text
    );
    let listed = clients(&b, &b.admin_token).await;
    assert_eq!(listed.len(), 1);
    let id = listed[0]["client_id"].as_str().unwrap().to_string();
    assert_eq!(listed[0]["redirect_uris"].as_array().unwrap().len(), 2);
    assert!(made.text.contains(&id));
    let secret = input_value(&made, "client-secret").expect("the secret, shown once");
    let works = |secret: String| {
        let (b, id) = (&b, id.clone());
        async move {
            let basic = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{id}:{secret}"),
            );
            let reply = b
                .gateway
                .raw(
                    "POST",
                    "/demo/oidc/revoke",
                    vec![
                        ("authorization".into(), format!("Basic {basic}")),
                        (
                            "content-type".into(),
                            "application/x-www-form-urlencoded".into(),
                        ),
                    ],
                    Some("token=nothing".into()),
                )
                .await;
            reply.status
        }
    };
    assert_eq!(
        works(secret.clone()).await,
        200,
        "the shown secret authenticates"
    );
    let again = admin.get("/demo/admin/applications").await;
    assert!(
        input_value(&again, "client-secret").is_none(),
        "shown once only"
    );

    // Changed: its name and start page.
    let changed = admin
        .post(
            &format!("/demo/admin/applications/{id}/change"),
            &with_csrf(
                &again,
                &[
                    ("name", "Acme portal"),
                    ("redirect_uris", "https://app.acme.test/callback"),
                    ("logout_uris", "https://app.acme.test/"),
                    ("initiate_login_uri", "https://app.acme.test/start"),
                ],
            ),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert!(changed.text.contains("Acme portal is saved."));
    let read = b
        .gateway
        .get(&format!("{CLIENTS}/{id}"), Some(&b.admin_token))
        .await;
    assert_eq!(read.json["name"], "Acme portal");
    assert_eq!(
        read.json["initiate_login_uri"],
        "https://app.acme.test/start"
    );
    assert_eq!(
        read.json["post_logout_redirect_uris"],
        json!(["https://app.acme.test/"])
    );

    // A new secret: shown once; the old one is refused from then on.
    let renewed = admin
        .post(
            &format!("/demo/admin/applications/{id}/secret"),
            &with_csrf(&changed, &[]),
        )
        .await;
    assert_eq!(renewed.status, 200, "{renewed:?}");
    let fresh = input_value(&renewed, "client-secret").expect("the new secret");
    assert_ne!(fresh, secret);
    assert_eq!(works(secret).await, 401, "the old secret is refused");
    assert_eq!(works(fresh).await, 200);

    // Where people land after signing up.
    let landing = admin
        .post(
            "/demo/admin/applications/landing",
            &with_csrf(&renewed, &[("sign_up_client", &id)]),
        )
        .await;
    assert_eq!(landing.status, 200, "{landing:?}");
    assert!(
        landing.text.contains("new members land in Acme portal"),
        "{}",
        landing.text
    );
    let settings = b
        .gateway
        .get("/v1/orgs/demo/settings", Some(&b.admin_token))
        .await;
    assert_eq!(settings.json["sign_up_client"], json!(id));

    // A member is not shown the page.
    let member = b.email("member");
    b.gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": member, "role": "member", "first_name": "Mo", "last_name": "Member"}),
        )
        .await;
    let link = b
        .mailbox
        .messages_to(&member)
        .await
        .last()
        .and_then(|m| m.link_path())
        .expect("the invitation's link");
    let mut browser = Browser::new(&b);
    let form = browser.get(&link).await;
    let joined = browser
        .submit(
            &form,
            "/demo/sign-up",
            &[("password", "correct horse battery staple")],
        )
        .await;
    // Signed up: sent, signed in, to the application chosen above.
    assert_eq!(joined.status, 303, "{joined:?}");
    assert!(joined
        .header("location")
        .is_some_and(|l| l.starts_with("https://app.acme.test/start?iss=")));
    let refused = browser.get("/demo/admin/applications").await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(!refused.text.contains(&id));

    // Removed.
    let removed = admin
        .post(
            &format!("/demo/admin/applications/{id}/remove"),
            &with_csrf(&landing, &[("name", "Acme portal")]),
        )
        .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    assert!(removed.text.contains("Acme portal is removed"));
    assert!(clients(&b, &b.admin_token).await.is_empty());
}
