//! The second step on the hosted pages, as a person meets it in a browser without JavaScript:
//! the code page after the password (a wrong code said at the field, a recovery code behind "Lost
//! your phone?"), and, when the organisation requires a second factor, the enrolment page with
//! the QR code and the key to type, then the recovery codes to keep before going on. Codes come
//! from `pyotp`, fed what the page shows.

use gatehouse_domain::clock::Clock;
use gatehouse_e2e::authenticator::{app_code, enrolled_app};
use gatehouse_e2e::pages::{heading, Browser};
use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, PASSWORD};
use serde_json::json;

on_both_backends!(
    the_code_page_follows_the_password,
    the_policy_enrols_an_app_on_the_pages,
    my_account_sets_up_and_removes_an_app_and_an_admin_removes_one,
);

const SESSION: &str = "__Host-gh_session-demo";

async fn password_step(browser: &mut Browser<'_>, email: &str) -> Reply {
    let page = browser.get("/demo/sign-in").await;
    browser
        .submit(
            &page,
            "/demo/sign-in",
            &[("identifier", email), ("password", PASSWORD)],
        )
        .await
}

async fn the_code_page_follows_the_password(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let (uri, recovery) = enrolled_app(&b, &alice).await;

    let mut browser = Browser::new(&b);
    let step = password_step(&mut browser, &alice.email).await;
    assert_eq!(step.status, 200, "{step:?}");
    assert_eq!(heading(&step), "Two-step sign-in");
    assert!(!browser.cookies.contains_key(SESSION), "no session yet");
    assert!(step.text.contains("autocomplete=\"one-time-code\""));
    assert!(
        step.text.contains("<details"),
        "the recovery code is one click away"
    );

    let wrong = browser
        .submit(&step, "/demo/sign-in/mfa", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(wrong.text.contains("id=\"code-error\""), "{}", wrong.text);
    assert!(!browser.cookies.contains_key(SESSION));
    let code = app_code(&uri, b.clock.now().unix_seconds());
    let done = browser
        .submit(&wrong, "/demo/sign-in/mfa", &[("code", &code)])
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    assert_eq!(done.header("location"), Some("/demo/welcome"));
    assert!(browser.cookies.contains_key(SESSION), "signed in");
    assert_eq!(browser.get("/demo/welcome").await.status, 200);

    // Another browser, the phone lost: a recovery code instead.
    let mut other = Browser::new(&b);
    let step = password_step(&mut other, &alice.email).await;
    let done = other
        .submit(
            &step,
            "/demo/sign-in/mfa",
            &[("code", ""), ("recovery_code", &recovery[0])],
        )
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    assert!(other.cookies.contains_key(SESSION));

    // A finished step cannot be finished again, from any browser: back to the sign-in.
    let spent = gatehouse_e2e::pages::hidden_fields(&step.text)
        .into_iter()
        .find(|(n, _)| n == "mfa_token")
        .map(|(_, v)| v)
        .unwrap();
    let mut third = Browser::new(&b);
    let form = third.get("/demo/sign-in").await;
    let again = third
        .submit(
            &form,
            "/demo/sign-in/mfa",
            &[("mfa_token", &spent), ("recovery_code", &recovery[1])],
        )
        .await;
    assert_eq!(again.status, 401, "{again:?}");
    assert!(again.text.contains("Sign in again"), "{}", again.text);
    assert!(
        again.text.contains("href=\"/demo/sign-in\""),
        "{}",
        again.text
    );
    assert!(!third.cookies.contains_key(SESSION));
}

/// The key the enrolment page shows, as typed into an app (groups of four, spaces left out).
fn shown_key(page: &Reply) -> String {
    let start = page.text.find("id=\"secret\">").expect("the key is shown") + 12;
    let end = page.text[start..].find('<').unwrap();
    page.text[start..start + end].replace(' ', "")
}

async fn the_policy_enrols_an_app_on_the_pages(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    b.change_settings(json!({ "mfa_required_for": ["member"] }))
        .await;
    let mut browser = Browser::new(&b);
    let page = password_step(&mut browser, &alice.email).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(heading(&page), "Set up an authenticator app");
    assert!(
        page.text.contains("<svg"),
        "the QR code is drawn in the page"
    );
    assert!(!page.text.contains("<?xml"), "{}", &page.text[..200]);
    assert!(!browser.cookies.contains_key(SESSION), "no session yet");
    let key = shown_key(&page);
    assert_eq!(key.len(), 32, "{key}");
    // What a person types into their app: the key alone.
    let uri = format!("otpauth://totp/demo:alice?secret={key}&issuer=demo");

    let wrong = browser
        .submit(&page, "/demo/sign-in/mfa/totp", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert_eq!(shown_key(&wrong), key, "the same key, shown again");
    let code = app_code(&uri, b.clock.now().unix_seconds());
    let kept = browser
        .submit(&wrong, "/demo/sign-in/mfa/totp", &[("code", &code)])
        .await;
    assert_eq!(kept.status, 200, "{kept:?}");
    assert_eq!(heading(&kept), "Keep your recovery codes");
    assert_eq!(kept.text.matches("<li><code>").count(), 10, "{}", kept.text);
    assert!(kept.text.contains("download=\"recovery-codes.txt\""));
    assert!(browser.cookies.contains_key(SESSION), "signed in");
    assert!(
        kept.text.contains("href=\"/demo/welcome\""),
        "{}",
        kept.text
    );
    assert_eq!(browser.get("/demo/welcome").await.status, 200);
    let user = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/users/{}", alice.id),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(user.json["second_factors"], json!(["totp"]));
}

async fn my_account_sets_up_and_removes_an_app_and_an_admin_removes_one(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let mut browser = Browser::new(&b);
    let done = password_step(&mut browser, &alice.email).await;
    assert_eq!(done.status, 303, "her password alone, for now: {done:?}");
    let account = browser.get("/demo/account").await;
    assert!(
        account.text.contains("Add an authenticator app"),
        "{}",
        account.text
    );

    // Her password first.
    let wrong = browser
        .submit(
            &account,
            "/demo/account/totp",
            &[("totp_password", "not it")],
        )
        .await;
    assert_eq!(wrong.status, 422, "{wrong:?}");
    assert!(
        wrong.text.contains("id=\"totp_password-error\""),
        "{}",
        wrong.text
    );
    let page = browser
        .submit(
            &account,
            "/demo/account/totp",
            &[("totp_password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(heading(&page), "Set up an authenticator app");
    let key = shown_key(&page);
    let uri = format!("otpauth://totp/demo:alice?secret={key}&issuer=demo");
    let again = browser
        .submit(&page, "/demo/account/totp/confirm", &[("code", "000000")])
        .await;
    assert_eq!(again.status, 401, "{again:?}");
    assert_eq!(shown_key(&again), key, "the same key, shown again");
    let code = app_code(&uri, b.clock.now().unix_seconds());
    let kept = browser
        .submit(&again, "/demo/account/totp/confirm", &[("code", &code)])
        .await;
    assert_eq!(heading(&kept), "Keep your recovery codes", "{kept:?}");
    assert!(kept.text.contains("href=\"/demo/account\""));
    let account = browser.get("/demo/account").await;
    assert!(
        account.text.contains("Recovery codes left: 10"),
        "{}",
        account.text
    );

    // The admin sees it on her page and in the list, and removes it after a confirmation.
    let mut admin = Browser::new(&b);
    let form = admin.get("/demo/sign-in").await;
    admin
        .submit(
            &form,
            "/demo/sign-in",
            &[
                ("identifier", &b.admin_email),
                ("password", gatehouse_e2e::ADMIN_PASSWORD),
            ],
        )
        .await;
    let list = admin.get("/demo/admin/users").await;
    assert!(
        list.text.contains(">authenticator app</td>"),
        "{}",
        list.text
    );
    let person = admin.get(&format!("/demo/admin/users/{}", alice.id)).await;
    assert!(
        person.text.contains("Remove the authenticator app"),
        "{}",
        person.text
    );
    let action = format!("/demo/admin/users/{}/remove-totp", alice.id);
    let confirm = admin.submit(&person, &action, &[]).await;
    assert_eq!(
        heading(&confirm),
        "Remove the authenticator app of Alice Liddell?"
    );
    let removed = admin.submit(&confirm, &action, &[("confirm", "yes")]).await;
    assert_eq!(removed.status, 200, "{removed:?}");
    assert!(removed.text.contains("is removed"), "{}", removed.text);
    let mails = b.mailbox.messages_to(&alice.email).await;
    assert!(mails
        .last()
        .unwrap()
        .subject
        .contains("second factor was removed"));

    // She sets up a new one, and removes it herself with her password.
    let account = browser.get("/demo/account").await;
    assert!(
        account.text.contains("Add an authenticator app"),
        "{}",
        account.text
    );
    let page = browser
        .submit(
            &account,
            "/demo/account/totp",
            &[("totp_password", PASSWORD)],
        )
        .await;
    let uri = format!(
        "otpauth://totp/demo:alice?secret={}&issuer=demo",
        shown_key(&page)
    );
    b.clock.advance(std::time::Duration::from_secs(30));
    let code = app_code(&uri, b.clock.now().unix_seconds());
    browser
        .submit(&page, "/demo/account/totp/confirm", &[("code", &code)])
        .await;
    let account = browser.get("/demo/account").await;
    let gone = browser
        .submit(
            &account,
            "/demo/account/totp/remove",
            &[("totp_password", PASSWORD)],
        )
        .await;
    assert_eq!(gone.status, 200, "{gone:?}");
    assert!(
        gone.text.contains("Your authenticator app is removed"),
        "{}",
        gone.text
    );
}
