//! Emails in the invitee's language, end to end on both backends: an invitation may choose
//! French, the organisation's `language` is the default for the others (imports, resets asked
//! through the API), and what people ask for on a French page comes back in French.

use gatehouse_e2e::{on_both_backends, Backend, Bundle};
use serde_json::json;

on_both_backends!(
    an_invitation_in_french_is_mailed_in_french,
    the_organisation_s_language_is_the_default,
    a_french_page_asks_for_french_mail,
    an_unknown_language_is_refused,
);

async fn subject_to(b: &Bundle, email: &str) -> String {
    let mails = b.mailbox.messages_to(email).await;
    mails
        .last()
        .unwrap_or_else(|| panic!("no mail to {email}"))
        .subject
        .clone()
}

async fn an_invitation_in_french_is_mailed_in_french(backend: Backend) {
    let b = Bundle::start(backend).await;
    let zoe = b.email("zoe");
    let invited = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": zoe, "role": "guest", "first_name": "Zoé", "last_name": "Lefèvre", "language": "fr"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    assert_eq!(
        subject_to(&b, &zoe).await,
        "Ada Admin vous invite à rejoindre demo"
    );
    let mail = b.mailbox.messages_to(&zoe).await.pop().unwrap();
    let body = mail
        .text
        .clone()
        .or(mail.html.as_deref().map(gatehouse_e2e::unescape_html))
        .unwrap();
    assert!(
        body.contains("Bonjour Zoé") && body.contains("en tant qu'invité"),
        "{body}"
    );
    // Its link signs up as any other.
    let token = b.sign_up_token(&zoe).await;
    assert_eq!(
        b.sign_up(&token, "un mot de passe assez long").await.status,
        201
    );
    // Others stay in English.
    let ann = b.email("ann");
    b.invite(&ann, "member", &[]).await;
    assert_eq!(
        subject_to(&b, &ann).await,
        "Ada Admin invited you to join demo"
    );
}

async fn the_organisation_s_language_is_the_default(backend: Backend) {
    let b = Bundle::start(backend).await;
    let set = b
        .gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(json!({"language": "fr"}).to_string()),
        )
        .await;
    assert_eq!(set.status, 200, "{set:?}");
    assert_eq!(set.json["language"], "fr");
    let bea = b.email("bea");
    b.invite(&bea, "member", &[]).await;
    assert_eq!(
        subject_to(&b, &bea).await,
        "Ada Admin vous invite à rejoindre demo"
    );
    // One invitation may still choose English.
    let cal = b.email("cal");
    b.gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": cal, "role": "member", "first_name": "Cal", "last_name": "E", "language": "en"}),
        )
        .await;
    assert_eq!(
        subject_to(&b, &cal).await,
        "Ada Admin invited you to join demo"
    );
    // A reset asked through the API is in the organisation's language.
    let reset = b
        .gateway
        .post(
            "/v1/orgs/demo/password-reset",
            None,
            json!({"email": b.admin_email}),
        )
        .await;
    assert_eq!(reset.status, 202);
    assert_eq!(
        subject_to(&b, &b.admin_email).await,
        "Réinitialisez votre mot de passe pour demo"
    );
}

async fn a_french_page_asks_for_french_mail(backend: Backend) {
    let b = Bundle::start(backend).await;
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
    let french = vec![("accept-language".to_string(), "fr-FR,fr;q=0.9".to_string())];
    let form = b
        .gateway
        .raw_from(
            "198.51.100.9",
            "GET",
            "/demo/register",
            french.clone(),
            None,
        )
        .await;
    assert_eq!(form.status, 200);
    let cookie = form
        .headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.starts_with("__Host-gh_csrf="))
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .expect("a CSRF cookie");
    let csrf = cookie.trim_start_matches("__Host-gh_csrf=").to_string();
    let dan = b.email("dan");
    let mut headers = french.clone();
    headers.push(("cookie".into(), cookie));
    headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    let body = serde_urlencoded::to_string([
        ("csrf", csrf.as_str()),
        ("email", dan.as_str()),
        ("first_name", "Dan"),
        ("last_name", "Durand"),
    ])
    .unwrap();
    let sent = b
        .gateway
        .raw_from(
            "198.51.100.9",
            "POST",
            "/demo/register",
            headers,
            Some(body),
        )
        .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(
        subject_to(&b, &dan).await,
        "Confirmez votre adresse pour rejoindre demo"
    );
}

async fn an_unknown_language_is_refused(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": b.email("x"), "role": "member", "first_name": "X", "last_name": "Y", "language": "de"}),
        )
        .await
        .assert_problem(422, "invalid_language");
    b.gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(json!({"language": "klingon"}).to_string()),
        )
        .await
        .assert_problem(422, "invalid_language");
    assert_eq!(b.invitation_count().await, 0);
}
