//! DynamoDB requests per operation, counted by an SDK interceptor on the client. The figures
//! are recorded in BENCHMARKS.md next to the minimum the key design allows; a change that adds
//! requests to a hot path fails here and must update both.

use std::collections::HashMap;

use gatehouse_e2e::{Backend, Bundle, ADMIN_PASSWORD};
use serde_json::json;

fn counts(b: &Bundle) -> HashMap<String, usize> {
    b.dynamo_requests
        .as_ref()
        .expect("the AWS backend counts")
        .take()
}

fn expect(actual: HashMap<String, usize>, expected: &[(&str, usize)]) {
    let expected: HashMap<String, usize> =
        expected.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(actual, expected);
}

#[tokio::test]
async fn requests_per_operation() {
    let b = Bundle::start(Backend::Aws).await;
    let group = b.group("Counted").await;
    counts(&b);

    // Invite: org, session, inviter's name and the groups named, in one batch; one transaction
    // (email claim, invitation, token, list copies); one transaction marking the email sent
    // (invitation and its copies).
    let alice = b.email("alice");
    assert_eq!(b.invite(&alice, "member", &[group]).await.status, 201);
    expect(
        counts(&b),
        &[("BatchGetItem", 1), ("TransactWriteItems", 2)],
    );

    // Sign-up: org and token in one batch, then the invitation; one transaction (spend token,
    // accept invitation, create user, move the email claim, first session).
    let token = b.sign_up_token(&alice).await;
    let reply = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-up/email",
            None,
            json!({"token": token, "password": "a fine passphrase"}),
        )
        .await;
    assert_eq!(reply.status, 201);
    expect(
        counts(&b),
        &[
            ("BatchGetItem", 1),
            ("GetItem", 1),
            ("TransactWriteItems", 1),
        ],
    );

    // Sign-in from an address the account is familiar with (the admin signed in from it when
    // the bundle started), four requests in three round trips: org, email claim, the address's
    // familiarity and the failure counters (the account's two kinds, the client's) in one
    // batch; the account's familiar counter charged (an addition; a familiar address's own
    // limits never hold its owner back) before the password is checked, sent while the user is
    // read; then, as it matched, one transaction: the session, the account's counter cleared,
    // the address marked familiar again.
    let reply = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-in",
            None,
            json!({"identifier": b.admin_email, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, 200);
    expect(
        counts(&b),
        &[
            ("BatchGetItem", 1),
            ("GetItem", 1),
            ("UpdateItem", 1),
            ("TransactWriteItems", 1),
        ],
    );

    // Identifier invitation (no groups): org, session and inviter in one batch; one transaction
    // (uid claim, invitation, access code); no mail, so no second write.
    b.set_without_email(true).await;
    counts(&b);
    let invited = b.invite_uid("E1", "member", &[]).await;
    assert_eq!(invited.status, 201);
    expect(
        counts(&b),
        &[("BatchGetItem", 1), ("TransactWriteItems", 1)],
    );
    let code = invited.json["access_code"].as_str().unwrap().to_string();

    // Access-code sign-up: org, the two counters and the code in one batch; the charge (to the
    // client's counter only: a client that has not guessed wrong is not charged to the
    // organisation's), one update sent while the invitation is read; the charge taken back, one
    // update; one transaction (spend the code, accept, user, uid claim, session).
    let reply = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-up/access-code",
            None,
            json!({"access_code": code, "password": "a fine passphrase"}),
        )
        .await;
    assert_eq!(reply.status, 201);
    expect(
        counts(&b),
        &[
            ("BatchGetItem", 1),
            ("GetItem", 1),
            ("UpdateItem", 2),
            ("TransactWriteItems", 1),
        ],
    );

    // A failed sign-in costs the same reads and the charge, and then its record in the event log
    // (the audit trail's "failed sign-in", known only once the password is checked): four
    // requests in three round trips (from a stranger's address, the charge is one transaction of
    // the account's counter and the client's).
    let reply = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-in",
            None,
            json!({"identifier": b.admin_email, "password": "wrong password here"}),
        )
        .await;
    assert_eq!(reply.status, 401);
    expect(
        counts(&b),
        &[
            ("BatchGetItem", 1),
            ("GetItem", 1),
            ("UpdateItem", 1),
            ("PutItem", 1),
        ],
    );
}

/// Issue 8's budget: a 500-row import is at most 60 DynamoDB requests — one batched read of the
/// organisation, the import and who holds the 500 addresses (6 × BatchGetItem of up to 100
/// keys), the import taken (PutItem), the invitations 16 per transaction (32) and their
/// deliveries 24 per transaction, the last one completing the import (21). In a region of its
/// own; the 500 mails are counted, not handed to moto (whose SES store every mail check reads).
#[tokio::test]
async fn a_500_row_import_costs_at_most_60_requests() {
    let mails = std::sync::Arc::new(CountingMailer::default());
    let counted = mails.clone();
    let b = Bundle::start_in("eu-west-2", Backend::Aws, move |_| counted, |items| items).await;
    let emails: Vec<String> = (0..500).map(|n| b.email(&format!("bulk{n}"))).collect();
    let file = gatehouse_e2e::import_sheet(&emails);
    let (id, url) = b.start_import(false).await;
    let key = b.upload_to_s3(&url, file.clone()).await;
    counts(&b);
    b.deliver_upload_event(&key, file.len()).await.unwrap();
    let used = counts(&b);
    expect(
        used.clone(),
        &[
            ("BatchGetItem", 6),
            ("PutItem", 1),
            ("TransactWriteItems", 32 + 21),
        ],
    );
    assert!(used.values().sum::<usize>() <= 60);
    let done = b.finished_import(&id).await;
    assert_eq!(done.json["counts"]["created"], 500, "{done:?}");
    let sent = mails.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 500, "one mail each");
    assert!(sent.contains(&emails[499].to_lowercase()));
}

#[derive(Default)]
struct CountingMailer {
    sent: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl gatehouse_domain::ports::Mailer for CountingMailer {
    async fn send(
        &self,
        email: &gatehouse_domain::ports::OutgoingEmail,
    ) -> Result<(), gatehouse_domain::ports::MailError> {
        self.sent.lock().unwrap().push(email.to.to_string());
        Ok(())
    }
}

/// The token endpoint's requests (BENCHMARKS.md, "OpenID Connect"): today each read is its own
/// GetItem; the key design allows two round trips for an exchange (one BatchGetItem of the
/// organisation, client, code and account, the code naming its account; one transaction) and
/// three for a refresh.
#[tokio::test]
async fn token_requests_per_exchange_and_refresh() {
    use base64::Engine;
    let b = Bundle::start(Backend::Aws).await;
    let app = b
        .gateway
        .post(
            "/v1/orgs/demo/clients",
            Some(&b.admin_token),
            json!({"name": "Counted", "type": "public", "redirect_uris": ["https://app.test/cb"]}),
        )
        .await;
    let client_id = app.json["client_id"].as_str().unwrap().to_string();
    let verifier = "v".repeat(43);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    let mut browser = gatehouse_e2e::pages::Browser::new(&b);
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", &client_id),
        ("redirect_uri", "https://app.test/cb"),
        ("scope", "openid offline_access"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let page = browser.get(&format!("/demo/oidc/authorize?{query}")).await;
    let done = browser
        .submit(
            &page,
            "/demo/oidc/authorize",
            &[("identifier", &b.admin_email), ("password", ADMIN_PASSWORD)],
        )
        .await;
    let location = done
        .header("location")
        .expect("back at the app")
        .to_string();
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    counts(&b);
    let form = |fields: &[(&str, &str)]| serde_urlencoded::to_string(fields).unwrap();
    let post = |body: String| {
        b.gateway.raw(
            "POST",
            "/demo/oidc/token",
            vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            Some(body),
        )
    };
    let tokens = post(form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "https://app.test/cb"),
        ("code_verifier", &verifier),
        ("client_id", &client_id),
    ]))
    .await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    // Organisation, client, code and account read together (the code names its account); one
    // transaction (code spent, grant and refresh token saved): the minimum, two round trips.
    expect(
        counts(&b),
        &[("BatchGetItem", 1), ("TransactWriteItems", 1)],
    );
    let refresh = tokens.json["refresh_token"].as_str().unwrap();
    let next = post(form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", &client_id),
    ]))
    .await;
    assert_eq!(next.status, 200, "{next:?}");
    // Organisation, client, refresh token, grant and account read together (the token names its
    // account and grant); one transaction (grant moved on, next token saved): two round trips.
    expect(
        counts(&b),
        &[("BatchGetItem", 1), ("TransactWriteItems", 1)],
    );
}

/// A sign-in with an authenticator app (issue 27): the password step costs what a sign-in costs,
/// its challenge written where the session would be; the code's step reads the organisation, the
/// account, its wrong-code counter and the challenge in one batch (the token names the account),
/// charges the counter, and opens the session in one transaction (the challenge spent, the
/// code's step recorded on the account, the counter cleared, the address made familiar).
#[tokio::test]
async fn requests_per_sign_in_with_a_second_factor() {
    use gatehouse_domain::clock::Clock;
    use gatehouse_e2e::authenticator::app_code;
    let b = Bundle::start(Backend::Aws).await;
    let alice = b.account("alice", "member").await;
    let (uri, _) = gatehouse_e2e::authenticator::enrolled_app(&b, &alice).await;
    counts(&b);

    let step = b.sign_in(&alice.email, gatehouse_e2e::PASSWORD).await;
    assert_eq!(step.json["mfa_required"], json!(true), "{step:?}");
    expect(
        counts(&b),
        &[
            ("BatchGetItem", 1),
            ("GetItem", 1),
            ("TransactWriteItems", 2),
        ],
    );
    let code = app_code(&uri, b.clock.now().unix_seconds());
    let done = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-in/mfa",
            None,
            json!({ "mfa_token": step.json["mfa_token"], "code": code }),
        )
        .await;
    assert_eq!(done.status, 200, "{done:?}");
    expect(
        counts(&b),
        &[
            ("BatchGetItem", 1),
            ("UpdateItem", 1),
            ("TransactWriteItems", 1),
        ],
    );
}

#[tokio::test]
async fn requests_per_sign_in_with_a_passkey() {
    let b = Bundle::start(Backend::Aws).await;
    let alice = b.account("alice", "member").await;
    let mut key = gatehouse_e2e::passkey::SoftKey::registered(&b, &alice, "Laptop").await;
    counts(&b);

    // The options: the organisation read, the ceremony kept.
    let started = b
        .gateway
        .post("/v1/orgs/demo/sign-in/passkey/options", None, json!({}))
        .await;
    assert_eq!(started.status, 200, "{started:?}");
    expect(counts(&b), &[("GetItem", 1), ("PutItem", 1)]);
    // The assertion: the organisation, the account its user handle names and the ceremony in one
    // batch; the session, the ceremony spent, the passkey's counter and last use and the event in
    // one transaction.
    let credential = key.assert(&started.json["publicKey"]);
    let signed = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-in/passkey",
            None,
            json!({ "flow": started.json["flow"], "credential": credential }),
        )
        .await;
    assert_eq!(signed.status, 200, "{signed:?}");
    expect(
        counts(&b),
        &[("BatchGetItem", 1), ("TransactWriteItems", 1)],
    );
}
