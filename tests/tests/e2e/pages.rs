//! The hosted pages, end to end on both backends, driven as a browser would: following the
//! links in the emails really sent, keeping cookies, reading the CSRF token out of each form.

use gatehouse_e2e::pages::{heading, hidden_fields, signed_in, with_csrf, Browser};
use gatehouse_e2e::{on_both_backends, Backend, Bundle};
use serde_json::json;

on_both_backends!(
    an_invitee_follows_the_emailed_link_and_signs_up,
    an_employee_signs_up_by_code_then_signs_in_with_the_identifier,
    used_expired_and_withdrawn_links_say_what_to_do,
    a_french_browser_sees_french_pages_and_may_switch,
    a_forgotten_password_is_reset_through_the_pages,
    visitors_register_through_the_link_and_confirm_by_email,
    forms_without_their_csrf_token_change_nothing,
    an_admin_invites_lists_resends_and_withdraws_in_the_console,
    the_console_is_for_signed_in_admins,
    admins_change_authorisations_and_the_link_in_the_console,
    passwords_are_set_by_admins_and_changed_by_their_owners,
    an_admin_imports_a_spreadsheet_and_exports_in_the_console,
    an_operators_set_password_link_opens_a_new_organisations_console,
);

async fn last_link_to(b: &Bundle, email: &str) -> String {
    let mails = b.mailbox.messages_to(email).await;
    mails
        .last()
        .and_then(|m| m.link_path())
        .unwrap_or_else(|| panic!("a link mailed to {email}"))
}

async fn an_invitee_follows_the_emailed_link_and_signs_up(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.email("alice");
    let invited = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": alice, "role": "member", "first_name": "Alice", "last_name": "<Liddell>",
                   "message": "Welcome <script>alert(1)</script>"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    let link = last_link_to(&b, &alice).await;
    assert!(link.starts_with("/demo/sign-up?token="), "{link}");

    let mut browser = Browser::new(&b);
    // Opening it (twice: mail scanners follow links too) shows who invites and spends nothing.
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200, "{page:?}");
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(heading(&page), "Create your account");
    assert!(
        page.text.contains("Ada Admin invited you to join demo."),
        "{}",
        page.text
    );
    assert!(page
        .text
        .contains(&format!("Your account&#39;s address: {alice}")));
    // What people typed is text, never markup.
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
    assert!(page
        .text
        .contains("Welcome &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.text.contains("value=\"&lt;Liddell&gt;\""));
    // Labels belong to their inputs; the password's rules are shown and tied to it.
    for id in ["first_name", "last_name", "password"] {
        assert!(page.text.contains(&format!("<label for=\"{id}\">")), "{id}");
        assert!(page.text.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(page
        .text
        .contains("aria-describedby=\"password-hint password-count password-warn\""));
    assert!(page.text.contains("At least 12 characters"));
    // The names the password may not hold are there for the page to warn before it is sent:
    // the organisation's, the address's, and the invitee's (typed in the form, read as typed).
    assert!(page.text.contains("data-avoid=\"demo\n"), "{}", page.text);
    assert!(page
        .text
        .contains("data-warn=\"This password contains your name or the organisation&#39;s: it would be refused.\""));
    let csrf = browser
        .cookies
        .get("__Host-gh_csrf")
        .cloned()
        .expect("a CSRF cookie");
    assert!(csrf.len() >= 43);

    // A password too short: the form again, the error at its field, nothing spent.
    let short = browser
        .submit(&page, "/demo/sign-up", &[("password", "too short")])
        .await;
    assert_eq!(short.status, 422, "{short:?}");
    assert!(
        short.text.contains("id=\"password-error\""),
        "{}",
        short.text
    );
    assert!(short.text.contains("aria-invalid=\"true\""));
    assert!(short.text.contains("role=\"alert\""));
    assert!(short.text.contains("href=\"#password\""));

    let done = browser
        .submit(
            &short,
            "/demo/sign-up",
            &[
                ("first_name", "Alice"),
                ("last_name", "Liddell"),
                ("password", "through the looking glass"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    assert_eq!(done.header("location"), Some("/demo/welcome"));
    let session = done
        .headers
        .iter()
        .find(|(n, v)| {
            n.eq_ignore_ascii_case("set-cookie") && v.starts_with("__Host-gh_session-demo=")
        })
        .map(|(_, v)| v.clone())
        .expect("a session cookie");
    // `__Host-`: the browser keeps it only Secure, with Path=/ and no Domain, so no sibling
    // subdomain or plain-http page can plant or overwrite it; one per organisation by name.
    let attributes: Vec<&str> = session.split(';').map(str::trim).collect();
    assert!(
        !session.to_ascii_lowercase().contains("domain="),
        "{session}"
    );
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(attributes.contains(&attribute), "{session}");
    }
    let welcome = browser.get("/demo/welcome").await;
    assert_eq!(welcome.status, 200, "{welcome:?}");
    assert!(welcome
        .text
        .contains(&format!("Signed in to demo as Alice Liddell ({alice})")));
    // The session is an API session too.
    let token = browser.cookies["__Host-gh_session-demo"].clone();
    let groups = b.gateway.get("/v1/orgs/demo/groups", Some(&token)).await;
    assert_eq!(groups.status, 200, "{groups:?}");

    // The link is spent now, and says what to do.
    let again = browser.get(&link).await;
    assert_eq!(again.status, 410, "{again:?}");
    assert_eq!(heading(&again), "You already have an account");
    assert!(again.text.contains("href=\"/demo/sign-in\""));

    // Signing out ends the session.
    let out = browser.submit(&welcome, "/demo/sign-out", &[]).await;
    assert_eq!(out.status, 303, "{out:?}");
    assert_eq!(out.header("location"), Some("/demo/sign-in"));
    assert!(!browser.cookies.contains_key("__Host-gh_session-demo"));
    let gone = b.gateway.get("/v1/orgs/demo/groups", Some(&token)).await;
    gone.assert_problem(401, "unauthenticated");
    let welcome = browser.get("/demo/welcome").await;
    assert_eq!(welcome.status, 303);
    assert_eq!(welcome.header("location"), Some("/demo/sign-in"));
}

async fn an_employee_signs_up_by_code_then_signs_in_with_the_identifier(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    let invited = b.invite_uid("E1234", "member", &[]).await;
    assert_eq!(invited.status, 201, "{invited:?}");
    let code = invited.json["access_code"].as_str().unwrap().to_string();

    let mut browser = Browser::new(&b);
    let start = browser.get("/demo/sign-in").await;
    assert!(
        start.text.contains("href=\"/demo/sign-up/code\""),
        "{}",
        start.text
    );
    let page = browser.get("/demo/sign-up/code").await;
    assert_eq!(page.status, 200, "{page:?}");
    let wrong = browser
        .submit(
            &page,
            "/demo/sign-up/code",
            &[("access_code", "AAAA-BBBB-CCC")],
        )
        .await;
    assert_eq!(wrong.status, 422, "{wrong:?}");
    assert!(
        wrong.text.contains("This access code is not valid"),
        "{}",
        wrong.text
    );
    let checked = browser
        .submit(
            &page,
            "/demo/sign-up/code",
            &[("access_code", &code.to_lowercase())],
        )
        .await;
    assert_eq!(checked.status, 200, "{checked:?}");
    assert!(
        checked
            .text
            .contains("<strong id=\"identifier\">E1234:demo</strong>"),
        "{}",
        checked.text
    );
    let done = browser
        .submit(
            &checked,
            "/demo/sign-up/code",
            &[("password", "clockwork orange juice")],
        )
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    assert!(browser.cookies.contains_key("__Host-gh_session-demo"));

    // Later, in another browser, with `uid:domain`.
    let mut later = Browser::new(&b);
    let form = later.get("/demo/sign-in").await;
    let wrong = later
        .submit(
            &form,
            "/demo/sign-in",
            &[
                ("identifier", "E1234:demo"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(wrong
        .text
        .contains("The identifier or the password is wrong."));
    assert!(
        wrong.text.contains("value=\"E1234:demo\""),
        "the identifier stays typed"
    );
    let signed = later
        .submit(
            &form,
            "/demo/sign-in",
            &[
                ("identifier", "E1234:demo"),
                ("password", "clockwork orange juice"),
            ],
        )
        .await;
    assert_eq!(signed.status, 303, "{signed:?}");
    let welcome = later.get("/demo/welcome").await;
    assert!(welcome.text.contains("(E1234:demo)"), "{}", welcome.text);
}

async fn used_expired_and_withdrawn_links_say_what_to_do(backend: Backend) {
    let b = Bundle::start(backend).await;
    let mut browser = Browser::new(&b);
    // Withdrawn.
    let bob = b.email("bob");
    let invited = b.invite(&bob, "guest", &[]).await;
    let id = invited.json["id"].as_str().unwrap().to_string();
    let link = last_link_to(&b, &bob).await;
    let guest_page = browser.get(&link).await;
    assert!(guest_page.text.contains("You will join as a guest"));
    let revoked = b.revoke(&id).await;
    assert_eq!(revoked.status, 200, "{revoked:?}");
    let page = browser.get(&link).await;
    assert_eq!(page.status, 410);
    assert_eq!(heading(&page), "This invitation was withdrawn");
    // Submitting the page opened before it was withdrawn changes nothing.
    let late = browser
        .submit(
            &guest_page,
            "/demo/sign-up",
            &[("password", "a perfectly fine passphrase")],
        )
        .await;
    assert_eq!(late.status, 410, "{late:?}");
    assert!(!browser.cookies.contains_key("__Host-gh_session-demo"));
    // Expired.
    let cat = b.email("cat");
    b.invite(&cat, "member", &[]).await;
    let link = last_link_to(&b, &cat).await;
    b.advance(std::time::Duration::from_secs(31 * 86_400));
    let page = browser.get(&link).await;
    assert_eq!(page.status, 410);
    assert_eq!(heading(&page), "This link has expired");
    assert!(page
        .text
        .contains("Ask demo&#39;s administrator to send you a new invitation."));
    // Mangled, and an organisation that does not exist.
    let page = browser.get("/demo/sign-up?token=abc").await;
    assert_eq!(page.status, 404);
    assert_eq!(heading(&page), "This link is incomplete");
    assert!(page.text.contains("copy it whole"), "{}", page.text);
    let page = browser.get("/nowhere/sign-in").await;
    assert_eq!(page.status, 404);
    assert!(page.text.contains("There is no organisation nowhere here."));
    let page = browser.get("/demo/reset-password?token=nonsense").await;
    assert_eq!(page.status, 410);
    assert!(page.text.contains("href=\"/demo/forgot-password\""));
}

async fn a_french_browser_sees_french_pages_and_may_switch(backend: Backend) {
    let b = Bundle::start(backend).await;
    let mut browser = Browser::new(&b);
    browser.language = "fr-FR,fr;q=0.9,en;q=0.5";
    let page = browser.get("/demo/sign-in").await;
    assert!(page.text.contains("<html lang=\"fr\">"));
    assert_eq!(heading(&page), "Se connecter à demo");
    assert!(page.text.contains("Mot de passe oublié\u{202f}?"));
    assert!(
        page.text.contains("href=\"/demo/sign-in?lang=en\""),
        "{}",
        page.text
    );
    let wrong = browser
        .submit(
            &page,
            "/demo/sign-in",
            &[
                ("identifier", "nobody@example.com"),
                ("password", "wrong wrong wrong"),
            ],
        )
        .await;
    assert!(
        wrong
            .text
            .contains("L&#39;identifiant ou le mot de passe est incorrect."),
        "{}",
        wrong.text
    );
    // The switch is remembered.
    let english = browser.get("/demo/sign-in?lang=en").await;
    assert!(english.text.contains("<html lang=\"en\">"));
    assert_eq!(
        browser.cookies.get("__Host-gh_lang").map(String::as_str),
        Some("en")
    );
    let still = browser.get("/demo/forgot-password").await;
    assert_eq!(heading(&still), "Forgot your password?");
}

async fn a_forgotten_password_is_reset_through_the_pages(backend: Backend) {
    let b = Bundle::start(backend).await;
    let mut browser = Browser::new(&b);
    let form = browser.get("/demo/forgot-password").await;
    let bad = browser
        .submit(
            &form,
            "/demo/forgot-password",
            &[("email", "not an address")],
        )
        .await;
    assert_eq!(bad.status, 422);
    let nobody = b.email("nobody");
    let unknown = browser
        .submit(&form, "/demo/forgot-password", &[("email", &nobody)])
        .await;
    let known = browser
        .submit(&form, "/demo/forgot-password", &[("email", &b.admin_email)])
        .await;
    assert_eq!((unknown.status, known.status), (200, 200));
    assert_eq!(
        unknown.text.replace(&nobody, "X"),
        known.text.replace(&b.admin_email, "X"),
        "the same answer whether or not the account exists"
    );
    let link = last_link_to(&b, &b.admin_email).await;
    assert!(link.starts_with("/demo/reset-password?token="), "{link}");
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200, "{page:?}");
    let common = browser
        .submit(
            &page,
            "/demo/reset-password",
            &[("password", "password1234")],
        )
        .await;
    assert_eq!(common.status, 422, "{common:?}");
    assert!(
        common.text.contains("among the most common"),
        "{}",
        common.text
    );
    let done = browser
        .submit(
            &page,
            "/demo/reset-password",
            &[("password", "an entirely new passphrase")],
        )
        .await;
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(heading(&done), "Your password is changed");
    let again = browser
        .submit(
            &page,
            "/demo/reset-password",
            &[("password", "yet another passphrase")],
        )
        .await;
    assert_eq!(again.status, 410, "the link works once");
    let signed = b
        .sign_in(&b.admin_email, "an entirely new passphrase")
        .await;
    assert_eq!(signed.status, 200, "{signed:?}");
}

async fn visitors_register_through_the_link_and_confirm_by_email(backend: Backend) {
    let b = Bundle::start(backend).await;
    let activated = b
        .gateway
        .post(
            "/v1/orgs/demo/invitation-link",
            Some(&b.admin_token),
            json!({}),
        )
        .await;
    let url = activated.json["url"].as_str().unwrap();
    let path = url
        .strip_prefix(gatehouse_e2e::PUBLIC_URL)
        .expect("a public URL");
    assert!(path.starts_with("/demo/join?token="), "{path}");
    let mut browser = Browser::new(&b);
    let form = browser.get(path).await;
    assert_eq!(form.status, 200, "{form:?}");
    assert_eq!(heading(&form), "Join demo");
    let vera = b.email("vera");
    let sent = browser
        .submit(
            &form,
            "/demo/join",
            &[
                ("email", &vera),
                ("first_name", "Vera"),
                ("last_name", "Visitor"),
            ],
        )
        .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(heading(&sent), "Check your inbox");
    let confirm = last_link_to(&b, &vera).await;
    let page = browser.get(&confirm).await;
    assert!(
        page.text
            .contains("Confirm your address and choose a password to join demo."),
        "{}",
        page.text
    );
    let done = browser
        .submit(
            &page,
            "/demo/sign-up",
            &[("password", "visiting for good now")],
        )
        .await;
    assert_eq!(done.status, 303, "{done:?}");

    // Deactivated: the page says so.
    b.gateway
        .send(
            "DELETE",
            "/v1/orgs/demo/invitation-link",
            Some(&b.admin_token),
            None,
        )
        .await;
    let dead = browser.get(path).await;
    assert_eq!(dead.status, 410);
    assert_eq!(heading(&dead), "This invitation link is not valid");
    // Self-registration off, then on.
    let off = browser.get("/demo/register").await;
    assert_eq!(off.status, 403);
    let on = b
        .gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(json!({"self_registration": true}).to_string()),
        )
        .await;
    assert_eq!(on.status, 200);
    let sam = b.email("sam");
    let form = browser.get("/demo/register").await;
    assert_eq!(form.status, 200);
    let sent = browser
        .submit(
            &form,
            "/demo/register",
            &[
                ("email", &sam),
                ("first_name", "Sam"),
                ("last_name", "Self"),
            ],
        )
        .await;
    assert_eq!(heading(&sent), "Check your inbox");
    assert!(last_link_to(&b, &sam)
        .await
        .starts_with("/demo/sign-up?token="));
}

async fn forms_without_their_csrf_token_change_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    let dee = b.email("dee");
    b.invite(&dee, "member", &[]).await;
    let link = last_link_to(&b, &dee).await;
    let token = link.split("token=").nth(1).unwrap().to_string();
    let fields = |csrf: &str| {
        vec![
            ("csrf".to_string(), csrf.to_string()),
            ("token".into(), token.clone()),
            ("first_name".into(), "Dee".into()),
            ("last_name".into(), "Doe".into()),
            ("password".into(), "a forged request here".into()),
        ]
    };
    // A page elsewhere posting the form: no cookie, or a token that is not the cookie's.
    let mut attacker = Browser::new(&b);
    let forged = attacker.post("/demo/sign-up", &fields("guessed")).await;
    assert_eq!(forged.status, 403, "{forged:?}");
    assert_eq!(heading(&forged), "This form expired");
    let mut victim = Browser::new(&b);
    victim.get(&link).await;
    let forged = victim
        .post(
            "/demo/sign-up",
            &fields("not-the-cookie-value-at-all-0123456789abcdef"),
        )
        .await;
    assert_eq!(forged.status, 403);
    // A form body that is not a form at all.
    let odd = victim.post("/demo/sign-up", &[]).await;
    assert_eq!(odd.status, 403);
    // Nothing was spent: the link still signs up.
    let page = victim.get(&link).await;
    assert_eq!(page.status, 200);
    let done = victim
        .submit(
            &page,
            "/demo/sign-up",
            &[("password", "the real one at last")],
        )
        .await;
    assert_eq!(done.status, 303, "{done:?}");
}

async fn an_admin_invites_lists_resends_and_withdraws_in_the_console(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    b.set_without_email(true).await;
    let mut admin = signed_in(&b, &b.admin_email, gatehouse_e2e::ADMIN_PASSWORD).await;
    let welcome = admin.get("/demo/welcome").await;
    assert!(
        welcome.text.contains("href=\"/demo/admin\""),
        "admins see the console link"
    );
    let home = admin.get("/demo/admin").await;
    assert_eq!(home.header("location"), Some("/demo/admin/invitations"));

    // By email, into a group, with a message.
    let form = admin.get("/demo/admin/invite").await;
    assert_eq!(form.status, 200, "{form:?}");
    assert!(
        form.text.contains(&format!("value=\"{design}\"")),
        "the groups are offered"
    );
    let ann = b.email("ann");
    let mut fields: Vec<(String, String)> = hidden_fields(&form.text)
        .into_iter()
        .filter(|(k, _)| k == "csrf")
        .collect();
    for (k, v) in [
        ("how", "email"),
        ("email", ann.as_str()),
        ("first_name", "Ann"),
        ("last_name", "Example"),
        ("role", "guest"),
        ("groups", design.as_str()),
        ("message", "See you <soon>"),
    ] {
        fields.push((k.into(), v.into()));
    }
    let done = admin.post("/demo/admin/invite", &fields).await;
    assert_eq!(done.status, 200, "{done:?}");
    assert!(
        done.text
            .contains(&format!("Ann Example is invited; the email went to {ann}.")),
        "{}",
        done.text
    );
    let mail = b.mailbox.messages_to(&ann).await;
    assert_eq!(mail.len(), 1);
    // The same address again: the field says why.
    let again = admin.post("/demo/admin/invite", &fields).await;
    assert_eq!(again.status, 422, "{again:?}");
    assert!(again.text.contains("id=\"email-error\""), "{}", again.text);
    assert_eq!(
        b.mailbox.messages_to(&ann).await.len(),
        1,
        "nothing sent twice"
    );

    // By identifier: the access code is shown once made.
    let mut fields: Vec<(String, String)> = hidden_fields(&form.text)
        .into_iter()
        .filter(|(k, _)| k == "csrf")
        .collect();
    for (k, v) in [
        ("how", "uid"),
        ("uid", "E77"),
        ("first_name", "Emil"),
        ("last_name", "Seven"),
        ("role", "member"),
    ] {
        fields.push((k.into(), v.into()));
    }
    let coded = admin.post("/demo/admin/invite", &fields).await;
    assert_eq!(coded.status, 200, "{coded:?}");
    assert!(coded.text.contains("sign in as E77:demo"), "{}", coded.text);
    assert!(coded.text.contains("id=\"access-code\""), "{}", coded.text);

    // The list, filtered.
    let list = admin.get("/demo/admin/invitations?role=guest").await;
    assert_eq!(list.status, 200, "{list:?}");
    assert!(
        list.text.contains(&ann) && !list.text.contains("E77:demo"),
        "{}",
        list.text
    );
    let uids = admin.get("/demo/admin/invitations?kind=uid").await;
    assert!(uids.text.contains("E77:demo") && !uids.text.contains(&ann));
    let id = b
        .gateway
        .get("/v1/orgs/demo/invitations?role=guest", Some(&b.admin_token))
        .await
        .json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let one = admin.get(&format!("/demo/admin/invitations/{id}")).await;
    assert_eq!(one.status, 200);
    assert!(
        one.text.contains("created") && one.text.contains("sent"),
        "the history is shown"
    );

    // Resend, then withdraw.
    let resent = admin
        .submit(&one, &format!("/demo/admin/invitations/{id}/resend"), &[])
        .await;
    assert_eq!(resent.status, 200, "{resent:?}");
    assert!(resent.text.contains("Sent again."));
    assert_eq!(b.mailbox.messages_to(&ann).await.len(), 2);
    let withdrawn = admin
        .submit(
            &resent,
            &format!("/demo/admin/invitations/{id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{withdrawn:?}");
    assert!(withdrawn
        .text
        .contains("Withdrawn: its link or code no longer works."));
    let status = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/invitations/{id}"),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(status.json["status"], "revoked");
    // An action that is not one, and an id that is none.
    let odd = admin
        .submit(&one, &format!("/demo/admin/invitations/{id}/explode"), &[])
        .await;
    assert_eq!(odd.status, 404);
    let none = admin.get("/demo/admin/invitations/nonsense").await;
    assert_eq!(none.status, 404);
}

async fn the_console_is_for_signed_in_admins(backend: Backend) {
    let b = Bundle::start(backend).await;
    // Not signed in: to the sign-in page.
    let mut stranger = Browser::new(&b);
    for path in ["/demo/admin/invitations", "/demo/admin/invite"] {
        let page = stranger.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.header("location"), Some("/demo/sign-in"));
    }
    // A member: the list is refused; inviting too while members may not invite.
    let mia = b.email("mia");
    b.invite(&mia, "member", &[]).await;
    let token = b.sign_up_token(&mia).await;
    assert_eq!(b.sign_up(&token, "members only club").await.status, 201);
    let mut member = signed_in(&b, &mia, "members only club").await;
    let welcome = member.get("/demo/welcome").await;
    assert!(
        !welcome.text.contains("/demo/admin"),
        "no console link for members"
    );
    let list = member.get("/demo/admin/invitations").await;
    assert_eq!(list.status, 403, "{list:?}");
    assert!(list
        .text
        .contains("Only administrators of demo can do this."));
    // Members may not invite here: they are not shown the form (only what they may do), and a
    // form posted anyway is refused.
    let form = member.get("/demo/admin/invite").await;
    assert_eq!(form.status, 403, "{form:?}");
    assert!(
        !form.text.contains("name=\"email\""),
        "no form: {}",
        form.text
    );
    let friend = b.email("friend");
    let tried = member
        .post(
            "/demo/admin/invite",
            &with_csrf(
                &welcome,
                &[
                    ("email", &friend),
                    ("first_name", "F"),
                    ("last_name", "R"),
                    ("role", "member"),
                ],
            ),
        )
        .await;
    assert_eq!(tried.status, 403, "{tried:?}");
    assert_eq!(b.invitation_count().await, 1, "nothing made");
    // With members_can_invite, the welcome page offers the invite form, and it works.
    let on = b
        .gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(json!({"members_can_invite": true}).to_string()),
        )
        .await;
    assert_eq!(on.status, 200);
    let welcome = member.get("/demo/welcome").await;
    assert!(
        welcome.text.contains("href=\"/demo/admin/invite\""),
        "{}",
        welcome.text
    );
    let form = member.get("/demo/admin/invite").await;
    let friend = b.email("friend");
    let mut fields: Vec<(String, String)> = hidden_fields(&form.text)
        .into_iter()
        .filter(|(k, _)| k == "csrf")
        .collect();
    for (k, v) in [
        ("email", friend.as_str()),
        ("first_name", "Fay"),
        ("last_name", "Friend"),
        ("role", "member"),
    ] {
        fields.push((k.into(), v.into()));
    }
    let invited = member.post("/demo/admin/invite", &fields).await;
    assert_eq!(invited.status, 200, "{invited:?}");
    assert!(
        invited
            .text
            .contains(&format!("the email went to {friend}")),
        "{}",
        invited.text
    );
    assert_eq!(b.invitation_count().await, 2);
    // Another organisation's session is no session here.
    let other = b.other_org_admin().await;
    let mut foreign = Browser::new(&b);
    foreign
        .cookies
        .insert("__Host-gh_session-demo".into(), other);
    let page = foreign.get("/demo/admin/invitations").await;
    assert_eq!(page.status, 303);
}

async fn admins_change_authorisations_and_the_link_in_the_console(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    let mut admin = signed_in(&b, &b.admin_email, gatehouse_e2e::ADMIN_PASSWORD).await;
    let page = admin.get("/demo/admin/settings").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.text.contains("There is no active invitation link."));
    // Bad numbers are said at their fields, and nothing changes.
    let bad = admin
        .post(
            "/demo/admin/settings",
            &with_csrf(
                &page,
                &[
                    ("invitation_ttl_days", "30"),
                    ("password_min_length", "lots"),
                ],
            ),
        )
        .await;
    assert_eq!(bad.status, 422, "{bad:?}");
    assert!(
        bad.text.contains("id=\"password_min_length-error\""),
        "{}",
        bad.text
    );
    let too_low = admin
        .post(
            "/demo/admin/settings",
            &with_csrf(
                &page,
                &[("invitation_ttl_days", "30"), ("password_min_length", "4")],
            ),
        )
        .await;
    assert_eq!(too_low.status, 422, "{too_low:?}");
    assert!(too_low.text.contains("role=\"alert\""));
    let saved = admin
        .post(
            "/demo/admin/settings",
            &with_csrf(
                &page,
                &[
                    ("self_registration", "on"),
                    ("members_can_invite", "on"),
                    ("display_name", "Acme Corporation"),
                    ("allowed_email_domains", "example.com, example.org"),
                    ("invitation_ttl_days", "14"),
                    ("password_min_length", "14"),
                    ("reminder_days", "3, 10"),
                    ("invitation_message", "Welcome <aboard>"),
                    ("default_groups", &design),
                ],
            ),
        )
        .await;
    assert_eq!(saved.status, 200, "{saved:?}");
    assert!(saved.text.contains("Saved."));
    assert!(
        saved.text.contains("Acme Corporation · Administration"),
        "the new name is used"
    );
    let settings = b
        .gateway
        .get("/v1/orgs/demo/settings", Some(&b.admin_token))
        .await;
    assert_eq!(settings.json["self_registration"], true);
    assert_eq!(settings.json["members_can_invite"], true);
    assert_eq!(settings.json["sign_up_without_email"], false);
    assert_eq!(settings.json["display_name"], "Acme Corporation");
    assert_eq!(
        settings.json["allowed_email_domains"],
        json!(["example.com", "example.org"])
    );
    assert_eq!(settings.json["invitation_ttl_days"], 14);
    assert_eq!(settings.json["password_min_length"], 14);
    assert_eq!(settings.json["reminder_days"], json!([3, 10]));
    assert_eq!(settings.json["invitation_message"], "Welcome <aboard>");
    assert_eq!(settings.json["default_groups"], json!([design]));

    // The link: made for guests for a week, shown with its URL, then turned off.
    let made = admin
        .post(
            "/demo/admin/link/activate",
            &with_csrf(
                &saved,
                &[
                    ("link_role", "guest"),
                    ("link_days", "7"),
                    ("link_groups", &design),
                ],
            ),
        )
        .await;
    assert_eq!(made.status, 200, "{made:?}");
    let link = b
        .gateway
        .get("/v1/orgs/demo/invitation-link", Some(&b.admin_token))
        .await;
    assert_eq!(link.json["role"], "guest");
    assert_eq!(link.json["groups"], json!([design]));
    let url = link.json["url"].as_str().unwrap().to_string();
    assert!(
        made.text.contains(&format!("value=\"{url}\"")),
        "{}",
        made.text
    );
    assert!(made.text.contains("data-copy=\"link-url\""));
    let off = admin
        .post("/demo/admin/link/deactivate", &with_csrf(&made, &[]))
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    assert!(off.text.contains("There is no active invitation link."));
    let link = b
        .gateway
        .get("/v1/orgs/demo/invitation-link", Some(&b.admin_token))
        .await;
    assert_eq!(link.json["active"], false);
    // Members may not.
    let mia = b.email("mia");
    b.invite(&mia, "member", &[]).await;
    let token = b.sign_up_token(&mia).await;
    assert_eq!(b.sign_up(&token, "members only club").await.status, 201);
    let mut member = signed_in(&b, &mia, "members only club").await;
    assert_eq!(member.get("/demo/admin/settings").await.status, 403);
    let tried = member
        .post("/demo/admin/link/activate", &with_csrf(&made, &[]))
        .await;
    assert_eq!(tried.status, 403, "{tried:?}");
}

async fn passwords_are_set_by_admins_and_changed_by_their_owners(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    let invited = b.invite_uid("E5", "member", &[]).await;
    let code = invited.json["access_code"].as_str().unwrap().to_string();
    let joined = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-up/access-code",
            None,
            json!({"access_code": code, "password": "the first passphrase"}),
        )
        .await;
    assert_eq!(joined.status, 201, "{joined:?}");
    let e5 = joined.json["user"]["id"].as_str().unwrap().to_string();

    let mut admin = signed_in(&b, &b.admin_email, gatehouse_e2e::ADMIN_PASSWORD).await;
    let users = admin.get("/demo/admin/users").await;
    assert_eq!(users.status, 200, "{users:?}");
    assert!(users.text.contains("E5:demo"));
    assert!(users
        .text
        .contains(&format!("action=\"/demo/admin/users/{e5}/password\"")));
    assert_eq!(
        users
            .text
            .matches("/password\" class=\"inline-form\"")
            .count(),
        1,
        "only people without email get the form"
    );
    let short = admin
        .post(
            &format!("/demo/admin/users/{e5}/password"),
            &with_csrf(&users, &[("name", "E5"), ("password", "short")]),
        )
        .await;
    assert_eq!(short.status, 422, "{short:?}");
    let set = admin
        .post(
            &format!("/demo/admin/users/{e5}/password"),
            &with_csrf(
                &users,
                &[("name", "Emil Five"), ("password", "handed over in person")],
            ),
        )
        .await;
    assert_eq!(set.status, 200, "{set:?}");
    assert!(
        set.text.contains("Emil Five&#39;s password is changed"),
        "{}",
        set.text
    );
    assert_eq!(
        b.sign_in("E5:demo", "the first passphrase").await.status,
        401
    );
    assert_eq!(
        b.sign_in("E5:demo", "handed over in person").await.status,
        200
    );

    // The owner changes it.
    let mut owner = signed_in(&b, "E5:demo", "handed over in person").await;
    let form = owner.get("/demo/account/password").await;
    assert_eq!(form.status, 200, "{form:?}");
    let wrong = owner
        .post(
            "/demo/account/password",
            &with_csrf(
                &form,
                &[
                    ("current_password", "not it at all"),
                    ("password", "my very own secret"),
                ],
            ),
        )
        .await;
    assert_eq!(wrong.status, 422, "{wrong:?}");
    assert!(wrong.text.contains("id=\"current_password-error\""));
    let changed = owner
        .post(
            "/demo/account/password",
            &with_csrf(
                &form,
                &[
                    ("current_password", "handed over in person"),
                    ("password", "my very own secret"),
                ],
            ),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert!(changed.text.contains("Your password is changed."));
    assert_eq!(b.sign_in("E5:demo", "my very own secret").await.status, 200);
    // Not signed in: to the sign-in page.
    let mut stranger = Browser::new(&b);
    let page = stranger.get("/demo/account/password").await;
    assert_eq!(page.status, 303);
}

async fn an_admin_imports_a_spreadsheet_and_exports_in_the_console(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.group("Design").await;
    let mut admin = signed_in(&b, &b.admin_email, gatehouse_e2e::ADMIN_PASSWORD).await;
    let page = admin.get("/demo/admin/imports").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.text.contains("No import yet."));
    // The template, as a file.
    let template = b
        .gateway
        .raw_from(
            "198.51.100.7",
            "GET",
            "/demo/admin/imports/template",
            admin.headers(),
            None,
        )
        .await;
    assert_eq!(template.status, 200, "{template:?}");
    assert_eq!(
        template.content_type.as_deref(),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    assert!(template.bytes.starts_with(b"PK"), "an xlsx (zip)");

    // An import: started, its page offers the upload; the file goes to the upload URL.
    let started = admin.submit(&page, "/demo/admin/imports", &[]).await;
    assert_eq!(started.status, 303, "{started:?}");
    let location = started.header("location").unwrap().to_string();
    assert!(location.starts_with("/demo/admin/imports/"), "{location}");
    let waiting = admin.get(&location).await;
    assert_eq!(waiting.status, 200, "{waiting:?}");
    assert!(
        waiting.text.contains("Waiting for the file"),
        "{}",
        waiting.text
    );
    let start = waiting
        .text
        .find("data-upload-url=\"")
        .expect("an upload URL")
        + 17;
    let end = start + waiting.text[start..].find('"').unwrap();
    let url = gatehouse_e2e::unescape_html(&waiting.text[start..end]);
    // The page may send the file there: its CSP names the URL's origin.
    let csp = waiting.header("content-security-policy").unwrap();
    let origin: String = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    assert!(
        csp.contains(&format!("connect-src 'self' {origin}")),
        "{csp}"
    );
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["Email", "First name", "Last name", "Groups"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    let people = [b.email("uma"), b.email("vic")];
    for (r, email) in people.iter().enumerate() {
        for (col, value) in [email.as_str(), "Pat", "Row", "Design"].iter().enumerate() {
            sheet
                .write_string(r as u32 + 1, col as u16, *value)
                .unwrap();
        }
    }
    // Row 4: into a group that does not exist.
    let wes = b.email("wes");
    for (col, value) in [wes.as_str(), "Wes", "Row", "Marketing"].iter().enumerate() {
        sheet.write_string(3, col as u16, *value).unwrap();
    }
    let (put, _) = b.upload(&url, book.save_to_buffer().unwrap()).await;
    assert_eq!(put.status, 200, "{put:?}");
    let id = location.rsplit('/').next().unwrap().to_string();
    b.finished_import(&id).await;
    let done = admin.get(&location).await;
    assert!(
        done.text
            .contains("Done: 3 rows; 2 invited, 1 skipped, 0 failed."),
        "{}",
        done.text
    );
    // The skipped row is on the page with its reason, without opening the report.
    assert!(
        done.text.contains("Rows not invited, or not mailed yet")
            && done.text.contains(
                "<td data-label=\"Row\">4</td><td data-label=\"Reason\">A group named in it does not exist.</td>"
            ),
        "{}",
        done.text
    );
    assert!(b.mailbox.messages_to(&wes).await.is_empty());
    assert!(done.text.contains("Download the report"), "{}", done.text);
    assert!(
        !done.text.contains("data-follow"),
        "a finished import is not followed"
    );
    for email in &people {
        assert_eq!(
            b.mailbox.messages_to(email).await.len(),
            1,
            "{email} is invited once"
        );
    }
    let listed = admin.get("/demo/admin/imports").await;
    assert!(
        listed.text.contains(&format!("href=\"{location}\"")),
        "{}",
        listed.text
    );

    // The export: straight on to the file.
    let exported = admin.submit(&listed, "/demo/admin/export", &[]).await;
    assert_eq!(exported.status, 303, "{exported:?}");
    let file = b.download(exported.header("location").unwrap()).await;
    assert_eq!(file.status, 200);
    assert!(file.bytes.starts_with(b"PK"));

    // Members may not.
    let mia = b.email("mia");
    b.invite(&mia, "member", &[]).await;
    let token = b.sign_up_token(&mia).await;
    assert_eq!(b.sign_up(&token, "members only club").await.status, 201);
    let mut member = signed_in(&b, &mia, "members only club").await;
    assert_eq!(member.get("/demo/admin/imports").await.status, 403);
    assert_eq!(member.get("/demo/admin/imports/template").await.status, 403);
    assert_eq!(
        member
            .submit(&listed, "/demo/admin/export", &[])
            .await
            .status,
        403
    );
    assert_eq!(member.get(&location).await.status, 403);
}

/// `gatehouse-admin create-org` makes an organisation whose admin has no known password and hands
/// out a one-time link: the admin opens it, sets a password on the reset page, signs in and lands
/// in their console; the link then works no more.
async fn an_operators_set_password_link_opens_a_new_organisations_console(backend: Backend) {
    use gatehouse_domain::clock::Clock;
    use gatehouse_domain::types::{EmailAddress, OrgDomain, PersonName};
    use gatehouse_domain::usecase::bootstrap::{create_org_with_link, CreatedOrg, FirstAdmin};
    let b = Bundle::start(backend).await;
    let admin = "founder@acme.test";
    let created = create_org_with_link(
        &b.services,
        FirstAdmin {
            domain: OrgDomain::parse("acme").unwrap(),
            admin_email: EmailAddress::parse(admin).unwrap(),
            first_name: PersonName::parse("Grace").unwrap(),
            last_name: PersonName::parse("Founder").unwrap(),
            display_name: None,
        },
        std::time::Duration::from_secs(24 * 3600),
    )
    .await
    .unwrap();
    let CreatedOrg::Created { link, .. } = created else {
        panic!("created")
    };
    assert_eq!(
        link.expires_at,
        b.clock
            .now()
            .plus(std::time::Duration::from_secs(24 * 3600))
    );
    let path = link
        .link
        .strip_prefix(gatehouse_e2e::PUBLIC_URL)
        .expect("the link starts with the public URL");
    assert!(path.starts_with("/acme/reset-password?token="), "{path}");

    let mut browser = Browser::new(&b);
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{page:?}");
    let done = browser
        .submit(
            &page,
            "/acme/reset-password",
            &[("password", "a lighthouse keeper at midnight")],
        )
        .await;
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(heading(&done), "Your password is changed");
    let again = browser
        .submit(
            &page,
            "/acme/reset-password",
            &[("password", "someone else's passphrase")],
        )
        .await;
    assert_eq!(again.status, 410, "the link works once");

    let form = browser.get("/acme/sign-in").await;
    let signed = browser
        .submit(
            &form,
            "/acme/sign-in",
            &[
                ("identifier", admin),
                ("password", "a lighthouse keeper at midnight"),
            ],
        )
        .await;
    assert_eq!(signed.status, 303, "{signed:?}");
    let (_, welcome) = signed
        .headers
        .iter()
        .find(|(name, _)| name == "location")
        .expect("sent on");
    assert_eq!(welcome, "/acme/welcome");
    let welcome = browser.get(welcome).await;
    assert_eq!(welcome.status, 200, "{welcome:?}");
    assert!(
        welcome.text.contains("href=\"/acme/admin\""),
        "the welcome page leads an admin to the console: {}",
        welcome.text
    );
    let console = browser.get("/acme/admin/invitations").await;
    assert_eq!(console.status, 200, "{console:?}");
    assert!(console.text.contains("Invitations"), "{}", console.text);
    // The first organisation of the bundle is untouched, and both are listed for operators.
    let listed = gatehouse_domain::usecase::bootstrap::list_orgs(
        &b.services,
        &gatehouse_domain::ports::PageRequest {
            cursor: None,
            limit: 10,
        },
    )
    .await
    .unwrap();
    let domains: Vec<&str> = listed.items.iter().map(|o| o.domain.as_str()).collect();
    assert_eq!(domains, ["acme", "demo"]);
}
