//! The pages' forms are the visitor's own: a form posted from another site is refused whatever
//! its token; a signed-in visitor's token is bound to their session (one made before signing
//! in, or for another session, does not pass); and people are shown only what they may do (a
//! guest gets no Invite form). Embedded backend: this is the edge's behaviour, not the store's.

use gatehouse_e2e::pages::{hidden_fields, signed_in, Browser};
use gatehouse_e2e::{Backend, Bundle, Reply, ADMIN_PASSWORD};
use serde_json::json;

fn csrf_of(page: &Reply) -> String {
    hidden_fields(&page.text)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .expect("a CSRF token")
        .1
}

/// Posts `fields` (with `csrf`) to `action` with the browser's cookies and `extra` headers.
async fn post_with(
    browser: &Browser<'_>,
    action: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Reply {
    let mut headers = browser.headers();
    headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    for (k, v) in extra {
        headers.push((k.to_string(), v.to_string()));
    }
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    let body = serde_urlencoded::to_string(&all).unwrap();
    browser
        .b
        .gateway
        .raw_from("198.51.100.7", "POST", action, headers, Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_form_posted_from_another_site_is_refused_whatever_its_token() {
    let b = Bundle::start(Backend::Embedded).await;
    let admin = signed_in(&b, &b.admin_email, ADMIN_PASSWORD).await;
    let page = admin
        .b
        .gateway
        .raw("GET", "/demo/admin/invite", admin.headers(), None)
        .await;
    assert_eq!(page.status, 200, "{page:?}");
    let csrf = csrf_of(&page);
    let fields = [
        ("how", "email"),
        ("email", "victim@outside.test"),
        ("first_name", "Vic"),
        ("last_name", "Tim"),
        ("role", "member"),
        ("language", "en"),
    ];
    for extra in [
        &[("origin", "http://evil.test")][..],
        &[("origin", "https://app.gatehouse.test.evil.test")][..],
        &[("origin", "null"), ("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")][..],
    ] {
        let reply = post_with(&admin, "/demo/admin/invite", &csrf, &fields, extra).await;
        assert_eq!(reply.status, 403, "{extra:?}: {reply:?}");
    }
    assert_eq!(b.invitation_count().await, 0, "nothing was done");
    // From the page itself, as a browser sends it, the same form works: with the page's origin,
    // or, as Chromium does from a page sent with `Referrer-Policy: no-referrer`, `Origin: null`.
    for (n, origin) in ["https://app.gatehouse.test", "null"].iter().enumerate() {
        let email = format!("victim{n}@outside.test");
        let mut fields = fields.to_vec();
        fields[1] = ("email", &email);
        let reply = post_with(
            &admin,
            "/demo/admin/invite",
            &csrf,
            &fields,
            &[("origin", origin), ("sec-fetch-site", "same-origin")],
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(b.invitation_count().await, n + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signed_in_visitors_token_is_bound_to_their_session_and_renewed_at_sign_in() {
    let b = Bundle::start(Backend::Embedded).await;
    // Before signing in: the anonymous token of the sign-in form.
    let mut browser = Browser::new(&b);
    let form = browser.get("/demo/sign-in").await;
    let before = csrf_of(&form);
    let done = browser
        .submit(
            &form,
            "/demo/sign-in",
            &[("identifier", &b.admin_email), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    assert!(
        done.headers
            .iter()
            .any(|(k, v)| k == "set-cookie" && v.starts_with("__Host-gh_csrf=")),
        "a new anonymous token is set at sign-in: {done:?}"
    );
    assert_ne!(browser.cookies["__Host-gh_csrf"], before);
    let page = browser.get("/demo/admin/invite").await;
    let after = csrf_of(&page);
    assert_ne!(after, before, "the forms' token changed at sign-in");
    assert_ne!(
        after, browser.cookies["__Host-gh_csrf"],
        "and is the session's, not the cookie's"
    );
    let fields = [
        ("how", "email"),
        ("email", "someone@outside.test"),
        ("first_name", "Some"),
        ("last_name", "One"),
        ("role", "member"),
        ("language", "en"),
    ];
    // The token known before signing in, even with its cookie sent back, does nothing now.
    let mut planted = Browser::new(&b);
    planted.cookies = browser.cookies.clone();
    planted
        .cookies
        .insert("__Host-gh_csrf".into(), before.clone());
    let reply = post_with(&planted, "/demo/admin/invite", &before, &fields, &[]).await;
    assert_eq!(reply.status, 403, "{reply:?}");
    // Another session's token does nothing in this one.
    let other = signed_in(&b, &b.admin_email, ADMIN_PASSWORD).await;
    let other_page = other
        .b
        .gateway
        .raw("GET", "/demo/admin/invite", other.headers(), None)
        .await;
    let reply = post_with(
        &browser,
        "/demo/admin/invite",
        &csrf_of(&other_page),
        &fields,
        &[],
    )
    .await;
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(b.invitation_count().await, 0, "nothing was done");
    let reply = post_with(&browser, "/demo/admin/invite", &after, &fields, &[]).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(b.invitation_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn people_are_shown_only_the_invitations_they_may_send() {
    let b = Bundle::start(Backend::Embedded).await;
    b.set_without_email(true).await;
    let sales = b.group("Sales").await;
    let design = b.group("Design").await;
    let mut people = Vec::new();
    for (name, role) in [("guest", "guest"), ("member", "member")] {
        let email = b.email(name);
        assert_eq!(b.invite(&email, role, &[]).await.status, 201);
        let token = b.sign_up_token(&email).await;
        let password = format!("the {name}'s long passphrase");
        assert_eq!(b.sign_up(&token, &password).await.status, 201);
        people.push((email, password));
    }
    let (guest, member) = (&people[0], &people[1]);
    // A guest never invites: no form, whatever the settings.
    b.change_settings(json!({"members_can_invite": true, "group_admins_can_invite": true}))
        .await;
    let guest_browser = signed_in(&b, &guest.0, &guest.1).await;
    let page = guest_browser
        .b
        .gateway
        .raw("GET", "/demo/admin/invite", guest_browser.headers(), None)
        .await;
    assert_eq!(page.status, 403, "{page:?}");
    assert!(
        !page.text.contains("name=\"email\""),
        "no form: {}",
        page.text
    );
    // A member who may invite gets the form: by email only, into no group they do not
    // administer, and no console navigation.
    let member_browser = signed_in(&b, &member.0, &member.1).await;
    let page = member_browser
        .b
        .gateway
        .raw("GET", "/demo/admin/invite", member_browser.headers(), None)
        .await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.text.contains("name=\"email\""));
    assert!(
        !page.text.contains("name=\"uid\""),
        "only admins invite by identifier"
    );
    assert!(
        !page.text.contains(&sales) && !page.text.contains(&design),
        "no groups of others"
    );
    assert!(
        !page.text.contains("/demo/admin/settings"),
        "no console navigation"
    );
    // With delegation off, the member is told so, and shown no form.
    b.change_settings(json!({"members_can_invite": false, "group_admins_can_invite": false}))
        .await;
    let page = member_browser
        .b
        .gateway
        .raw("GET", "/demo/admin/invite", member_browser.headers(), None)
        .await;
    assert_eq!(page.status, 403, "{page:?}");
    // The admin sees it all.
    let admin = signed_in(&b, &b.admin_email, ADMIN_PASSWORD).await;
    let page = admin
        .b
        .gateway
        .raw("GET", "/demo/admin/invite", admin.headers(), None)
        .await;
    assert!(page.text.contains("name=\"uid\"") && page.text.contains(&sales));
}

/// The limits are in the console's settings: an office's network is declared there, a bad one
/// is said at its field and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admins_declare_trusted_networks_and_limits_in_the_console() {
    let b = Bundle::start(Backend::Embedded).await;
    let mut admin = signed_in(&b, &b.admin_email, ADMIN_PASSWORD).await;
    let page = admin.get("/demo/admin/settings").await;
    assert!(
        page.text.contains("name=\"trusted_networks\""),
        "{}",
        page.text
    );
    let bad = admin
        .submit(
            &page,
            "/demo/admin/settings",
            &[
                ("trusted_networks", "the office"),
                ("invitations_per_hour", "5"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{bad:?}");
    assert!(
        bad.text.contains("id=\"trusted_networks-error\""),
        "{}",
        bad.text
    );
    let settings = b
        .gateway
        .get("/v1/orgs/demo/settings", Some(&b.admin_token))
        .await;
    assert_eq!(settings.json["trusted_networks"], json!([]));
    assert_eq!(settings.json["invitations_per_hour"], 20);
    let page = admin.get("/demo/admin/settings").await;
    let saved = admin
        .submit(
            &page,
            "/demo/admin/settings",
            &[
                ("trusted_networks", "203.0.113.0/24, 2001:db8:1::/48"),
                ("invitations_per_hour", "5"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{saved:?}");
    let settings = b
        .gateway
        .get("/v1/orgs/demo/settings", Some(&b.admin_token))
        .await;
    assert_eq!(
        settings.json["trusted_networks"],
        json!(["203.0.113.0/24", "2001:db8:1::/48"])
    );
    assert_eq!(settings.json["invitations_per_hour"], 5);
}
