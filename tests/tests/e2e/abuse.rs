//! The caps on guessing, attacked, on both backends: strangers' guesses never hold back an
//! account's owner at an address they sign in from; an IPv6 /64 is one client; an outsider
//! guessing access codes from many addresses cannot make employees wait for theirs. And the
//! answers about someone who has an account and someone who has none are the same, byte for
//! byte (their timing is `enumeration_timing` in the bench crate).

use std::time::Duration;

use gatehouse_domain::access_code::AccessCode;
use gatehouse_domain::secret::OsRandomness;
use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, ADMIN_PASSWORD, DEFAULT_CLIENT};
use serde_json::json;

on_both_backends!(
    strangers_guesses_never_hold_back_the_owner_at_a_familiar_address,
    an_ipv6_slash_64_is_one_client_when_spraying_passwords,
    an_outsider_guessing_codes_cannot_make_employees_wait,
    answers_about_existing_and_unknown_people_are_identical,
);

/// Asserts two answers the same in status, every header and every byte of the body.
#[track_caller]
fn assert_same(what: &str, known: &Reply, unknown: &Reply) {
    assert_eq!(
        known.status, unknown.status,
        "{what}: {known:?} {unknown:?}"
    );
    assert_eq!(known.headers, unknown.headers, "{what}");
    assert_eq!(known.bytes, unknown.bytes, "{what}: {known:?} {unknown:?}");
}

async fn check_code_from(b: &Bundle, client: &str, code: &str) -> Reply {
    b.gateway
        .post_from(
            client,
            "/v1/orgs/demo/sign-up/access-code/check",
            None,
            json!({ "access_code": code }),
        )
        .await
}

async fn strangers_guesses_never_hold_back_the_owner_at_a_familiar_address(backend: Backend) {
    let b = Bundle::start(backend).await;
    // The owner signed in from DEFAULT_CLIENT when the bundle started. An attacker guesses from
    // a thousand other addresses, IPv4 and IPv6, waiting out every wait, until the account is
    // locked for strangers.
    let mut locked = false;
    for i in 0..1000u32 {
        let client = if i % 2 == 0 {
            format!("203.0.{}.{}", i / 256, i % 256)
        } else {
            format!("2001:db8:{i:x}::1")
        };
        let reply = b
            .sign_in_from(&client, &b.admin_email, &format!("guess {i}"))
            .await;
        match (reply.status, reply.header("retry-after")) {
            (401, _) => {}
            (429, Some(wait)) => b.advance(Duration::from_secs(wait.parse().unwrap())),
            (429, None) => {
                locked = true;
                break;
            }
            other => panic!("unexpected {other:?}: {reply:?}"),
        }
    }
    assert!(locked, "strangers' guesses lock the account for strangers");
    // The owner, at home, with the right password: in.
    let home = b
        .sign_in_from(DEFAULT_CLIENT, &b.admin_email, ADMIN_PASSWORD)
        .await;
    assert_eq!(home.status, 200, "{home:?}");
    // A typo at home is a plain wrong password, not a wait.
    b.sign_in_from(DEFAULT_CLIENT, &b.admin_email, "fat fingers")
        .await
        .assert_problem(401, "invalid_credentials");
    // The trade-off: from a new address the owner is held back like the attacker...
    let travelling = "192.0.2.200";
    let away = b
        .sign_in_from(travelling, &b.admin_email, ADMIN_PASSWORD)
        .await;
    away.assert_problem(429, "too_many_attempts");
    assert!(away.header("retry-after").is_none(), "locked: {away:?}");
    // ...until a password reset, asked for and confirmed from there.
    let asked = b
        .gateway
        .post_from(
            travelling,
            "/v1/orgs/demo/password-reset",
            None,
            json!({"email": b.admin_email}),
        )
        .await;
    assert_eq!(asked.status, 202, "{asked:?}");
    let token = b.sign_up_token(&b.admin_email).await;
    let confirmed = b
        .gateway
        .post_from(
            travelling,
            "/v1/orgs/demo/password-reset/confirm",
            None,
            json!({"token": token, "password": "new places new passphrase"}),
        )
        .await;
    assert_eq!(confirmed.status, 204, "{confirmed:?}");
    let after = b
        .sign_in_from(travelling, &b.admin_email, "new places new passphrase")
        .await;
    assert_eq!(after.status, 200, "{after:?}");
    // The address the owner last signed in from is familiar now: a stranger's guesses do not
    // reach it either.
    for i in 0..60u32 {
        let reply = b
            .sign_in_from(&format!("203.0.113.{i}"), &b.admin_email, "nope")
            .await;
        assert!(matches!(reply.status, 401 | 429), "{reply:?}");
    }
    let again = b
        .sign_in_from(travelling, &b.admin_email, "new places new passphrase")
        .await;
    assert_eq!(again.status, 200, "{again:?}");
}

async fn an_ipv6_slash_64_is_one_client_when_spraying_passwords(backend: Backend) {
    let b = Bundle::start(backend).await;
    let before = b.services.passwords.verifications();
    // Password spraying: one password tried on 300 accounts (existing or not), each request
    // from a different address inside one /64, with no waiting.
    let mut throttled = 0;
    for i in 0..300u32 {
        let target = if i == 0 {
            b.admin_email.clone()
        } else {
            b.email(&format!("person{i}"))
        };
        let client = format!("2001:db8:77:1:{:x}:{:x}::{:x}", i, i * 7, i + 1);
        let reply = b.sign_in_from(&client, &target, "Summer2026!").await;
        match reply.status {
            401 => {}
            429 => {
                reply.assert_problem(429, "too_many_attempts");
                throttled += 1;
            }
            other => panic!("unexpected {other}: {reply:?}"),
        }
    }
    let verifications = b.services.passwords.verifications() - before;
    assert!(
        verifications <= 20,
        "the /64 got its free allowance only: {verifications} verifications"
    );
    assert_eq!(verifications + throttled, 300);
    // The next /64 is somebody else.
    let neighbour = b
        .sign_in_from("2001:db8:77:2::1", &b.admin_email, ADMIN_PASSWORD)
        .await;
    assert_eq!(neighbour.status, 200, "{neighbour:?}");
}

async fn an_outsider_guessing_codes_cannot_make_employees_wait(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    let employee = b.invite_uid("E77", "member", &[]).await.json["access_code"]
        .as_str()
        .unwrap()
        .to_string();
    // The outsider: three wrong codes from each of 150 addresses, without waiting.
    let (mut looked_up, mut refused) = (0, 0);
    for i in 0..150u32 {
        let client = format!("198.18.{}.{}", i / 200, i % 200);
        for _ in 0..3 {
            let wrong = AccessCode::generate(&OsRandomness).grouped();
            let reply = check_code_from(&b, &client, &wrong).await;
            match reply.status {
                422 => looked_up += 1,
                429 => {
                    reply.assert_problem(429, "too_many_attempts");
                    refused += 1;
                }
                other => panic!("unexpected {other}: {reply:?}"),
            }
        }
    }
    assert_eq!(looked_up + refused, 450);
    // Each address's first guess, then the organisation's free 100 of the others.
    assert!(
        looked_up <= 150 + 100,
        "{looked_up} of 450 wrong codes were looked up"
    );
    assert!(refused >= 200, "the organisation-wide cap held: {refused}");
    // An outsider's address that guessed wrong waits, even with a right code...
    check_code_from(&b, "198.18.0.1", &employee)
        .await
        .assert_problem(429, "too_many_attempts");
    // ...but the employee, from the office, is not held back, and signs up.
    let office = "192.0.2.44";
    let checked = check_code_from(&b, office, &employee).await;
    assert_eq!(checked.status, 200, "{checked:?}");
    let signed_up = b
        .gateway
        .post_from(
            office,
            "/v1/orgs/demo/sign-up/access-code",
            None,
            json!({"access_code": employee, "password": "first day at the office"}),
        )
        .await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
}

async fn answers_about_existing_and_unknown_people_are_identical(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    b.change_settings(json!({"self_registration": true})).await;
    // Someone with an account by identifier, whose code is spent.
    let code = b.invite_uid("K9", "member", &[]).await.json["access_code"]
        .as_str()
        .unwrap()
        .to_string();
    let joined = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-up/access-code",
            None,
            json!({"access_code": code, "password": "known person passphrase"}),
        )
        .await;
    assert_eq!(joined.status, 201, "{joined:?}");
    let nobody = b.email("nobody");
    let (newcomer, visitor) = (b.email("newcomer"), b.email("visitor"));
    // Each pair from two fresh addresses, so that no counter differs between them.
    let mut n = 0;
    let mut pair = |path: &'static str, known: serde_json::Value, unknown: serde_json::Value| {
        n += 2;
        let (a, c) = (format!("198.51.100.{n}"), format!("198.51.100.{}", n + 1));
        let b = &b;
        async move {
            let k = b.gateway.post_from(&a, path, None, known).await;
            let u = b.gateway.post_from(&c, path, None, unknown).await;
            assert_same(path, &k, &u);
            k
        }
    };
    pair(
        "/v1/orgs/demo/sign-in",
        json!({"identifier": b.admin_email, "password": "not the password"}),
        json!({"identifier": nobody, "password": "not the password"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    pair(
        "/v1/orgs/demo/sign-in",
        json!({"identifier": "K9:demo", "password": "not the password"}),
        json!({"identifier": "K8:demo", "password": "not the password"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    let reset = pair(
        "/v1/orgs/demo/password-reset",
        json!({"email": b.admin_email}),
        json!({"email": nobody}),
    )
    .await;
    assert_eq!(reset.status, 202);
    let registered = pair(
        "/v1/orgs/demo/sign-up/self",
        json!({"email": b.admin_email, "first_name": "Ada", "last_name": "Again"}),
        json!({"email": newcomer, "first_name": "New", "last_name": "Comer"}),
    )
    .await;
    assert_eq!(registered.status, 202);
    let link = b
        .gateway
        .post(
            "/v1/orgs/demo/invitation-link",
            Some(&b.admin_token),
            json!({}),
        )
        .await;
    assert_eq!(link.status, 201, "{link:?}");
    let token = link.json["url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    let through_link = pair(
        "/v1/orgs/demo/sign-up/link",
        json!({"token": token, "email": b.admin_email, "first_name": "Ada", "last_name": "Again"}),
        json!({"token": token, "email": visitor, "first_name": "Vi", "last_name": "Sitor"}),
    )
    .await;
    assert_eq!(through_link.status, 202);
    pair(
        "/v1/orgs/demo/sign-up/access-code/check",
        json!({"access_code": code}),
        json!({"access_code": AccessCode::generate(&OsRandomness).grouped()}),
    )
    .await
    .assert_problem(422, "invalid_access_code");
    // Only the unknown people were mailed (a confirmation each); the known ones got nothing
    // from the registrations, and the admin one reset link.
    assert_eq!(b.mailbox.messages_to(&b.admin_email).await.len(), 1);
    assert_eq!(b.mailbox.messages_to(&newcomer).await.len(), 1);
    assert_eq!(b.mailbox.messages_to(&visitor).await.len(), 1);
}
