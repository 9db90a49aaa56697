//! People after onboarding in the console and in "my account", as a browser would use them, on
//! both backends: the Users page filters and links to a person's page, where an admin changes
//! the role, adds and removes groups, signs them out everywhere, deactivates (after a confirmation
//! step) and reactivates; a person changes their email from their account and confirms it from
//! the mailed link's page, and signs out everywhere.

use gatehouse_e2e::pages::{hidden_fields, signed_in};
use gatehouse_e2e::{on_both_backends, Backend, Bundle, ADMIN_PASSWORD, PASSWORD};

on_both_backends!(
    an_admin_manages_a_person_from_their_page,
    a_person_changes_their_email_from_their_account,
);

async fn an_admin_manages_a_person_from_their_page(backend: Backend) {
    let b = Bundle::start(backend).await;
    let design = b.group("Design").await;
    let zoe = b.account("zoe", "member").await;
    let mut admin = signed_in(&b, &b.admin_email, ADMIN_PASSWORD).await;
    let list = admin.get("/demo/admin/users?q=zoe").await;
    assert_eq!(list.status, 200, "{list:?}");
    let link = format!("/demo/admin/users/{}", zoe.id);
    assert!(
        list.text.contains(&format!("href=\"{link}\"")),
        "{}",
        list.text
    );
    assert!(
        !list.text.contains(&b.admin_email),
        "the search keeps only Zoe: {}",
        list.text
    );
    let page = admin.get(&link).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.text.contains(&zoe.email));

    let action = |what: &str| format!("{link}/{what}");
    let guest = admin
        .submit(&page, &action("role"), &[("role", "guest")])
        .await;
    assert_eq!(guest.status, 200, "{guest:?}");
    assert!(guest.text.contains("is now guest"), "{}", guest.text);
    let joined = admin
        .submit(
            &guest,
            &action("join"),
            &[("group", &design), ("group_name", "Design")],
        )
        .await;
    assert!(joined.text.contains("joined Design"), "{}", joined.text);
    let read = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/users/{}", zoe.id),
            Some(&b.admin_token),
        )
        .await;
    assert_eq!(read.json["role"], "guest");
    assert_eq!(read.json["groups"], serde_json::json!([design.clone()]));
    let left = admin
        .submit(
            &joined,
            &action("leave"),
            &[("group", &design), ("group_name", "Design")],
        )
        .await;
    assert!(left.text.contains("left Design"), "{}", left.text);

    // Deactivating asks first; only the confirmation deactivates.
    let asked = admin.submit(&left, &action("deactivate"), &[]).await;
    assert_eq!(asked.status, 200, "{asked:?}");
    assert!(asked.text.contains("Yes, deactivate"), "{}", asked.text);
    me_is(&b, &zoe.token, 200).await;
    let fields: Vec<(String, String)> = hidden_fields(&asked.text);
    assert!(fields.contains(&("confirm".into(), "yes".into())));
    let done = admin.post(&action("deactivate"), &fields).await;
    assert!(done.text.contains("is deactivated"), "{}", done.text);
    me_is(&b, &zoe.token, 401).await;
    b.sign_in(&zoe.email, PASSWORD)
        .await
        .assert_problem(403, "account_deactivated");
    // On the sign-in page, the right password says why, in words.
    let mut zoe_browser = gatehouse_e2e::pages::Browser::new(&b);
    let form = zoe_browser.get("/demo/sign-in").await;
    let refused = zoe_browser
        .submit(
            &form,
            "/demo/sign-in",
            &[("identifier", &zoe.email), ("password", PASSWORD)],
        )
        .await;
    assert!(
        refused.text.contains("This account is deactivated."),
        "{}",
        refused.text
    );
    let again = admin.submit(&done, &action("reactivate"), &[]).await;
    assert!(again.text.contains("may sign in again"), "{}", again.text);
    assert_eq!(b.sign_in(&zoe.email, PASSWORD).await.status, 200);

    // Erasing asks first too; then the person is gone.
    let page = admin.get(&link).await;
    let asked = admin.submit(&page, &action("erase"), &[]).await;
    assert!(asked.text.contains("Yes, erase"), "{}", asked.text);
    let fields: Vec<(String, String)> = hidden_fields(&asked.text);
    let erased = admin.post(&action("erase"), &fields).await;
    assert_eq!(erased.status, 200, "{erased:?}");
    assert!(erased.text.contains("is erased"), "{}", erased.text);
    b.sign_in(&zoe.email, PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    assert_eq!(admin.get(&link).await.status, 404);

    // The last admin cannot step down from their own page.
    let root = b
        .gateway
        .get("/v1/orgs/demo/session", Some(&b.admin_token))
        .await;
    let own = format!(
        "/demo/admin/users/{}",
        root.json["user"]["id"].as_str().unwrap()
    );
    let own_page = admin.get(&own).await;
    let refused = admin
        .submit(&own_page, &format!("{own}/role"), &[("role", "member")])
        .await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert!(
        refused.text.contains("last active admin"),
        "{}",
        refused.text
    );
}

async fn me_is(b: &Bundle, token: &str, status: u16) {
    let me = b.gateway.get("/v1/orgs/demo/session", Some(token)).await;
    assert_eq!(me.status, status, "{me:?}");
}

async fn a_person_changes_their_email_from_their_account(backend: Backend) {
    let b = Bundle::start(backend).await;
    let yan = b.account("yan", "member").await;
    let mut browser = signed_in(&b, &yan.email, PASSWORD).await;
    let account = browser.get("/demo/account").await;
    assert_eq!(account.status, 200, "{account:?}");
    assert!(account.text.contains(&yan.email), "{}", account.text);
    let new = b.email("yannick");
    let wrong = browser
        .submit(
            &account,
            "/demo/account/email",
            &[("email", &new), ("current_password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, 422, "{wrong:?}");
    assert!(wrong.text.contains("id=\"current_password-error\""));
    let sent = browser
        .submit(
            &account,
            "/demo/account/email",
            &[("email", &new), ("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert!(
        sent.text.contains("a link to confirm it is on its way"),
        "{}",
        sent.text
    );
    // The link in the mail, followed as a person would: a page that asks to confirm.
    let mails = b.mailbox.messages_to(&new).await;
    let link = mails.last().unwrap().link_token().unwrap();
    let mut reader = gatehouse_e2e::pages::Browser::new(&b);
    let page = reader
        .get(&format!("/demo/email-change?token={link}"))
        .await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.text.contains(&new), "{}", page.text);
    assert_eq!(
        b.sign_in(&yan.email, PASSWORD).await.status,
        200,
        "opening the page changed nothing"
    );
    let done = reader.submit(&page, "/demo/email-change", &[]).await;
    assert_eq!(done.status, 200, "{done:?}");
    assert!(
        done.text.contains(&format!("Sign in with {new}")),
        "{}",
        done.text
    );
    let reused = reader.submit(&page, "/demo/email-change", &[]).await;
    assert_eq!(reused.status, 410, "{reused:?}");
    assert_eq!(b.sign_in(&new, PASSWORD).await.status, 200);

    // Signing out everywhere ends this browser's session too.
    let account = browser.get("/demo/account").await;
    let out = browser
        .submit(&account, "/demo/account/sign-out-everywhere", &[])
        .await;
    assert!(out.text.contains("signed out everywhere"), "{}", out.text);
    let after = browser.get("/demo/account").await;
    assert_eq!(after.status, 303, "{after:?}");
}
