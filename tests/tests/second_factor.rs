//! An authenticator app as a second factor, through the use cases on both backends (the routes
//! and pages come next): enrolled with the password, confirmed by a code that `pyotp` (an
//! implementation nobody here wrote) computes from our otpauth URI, recovery codes shown once,
//! removed by the person or an admin; others refused; wrong codes counted.

use std::time::Duration;

use gatehouse_domain::clock::Clock;
use gatehouse_domain::error::Rejection;
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::types::UserId;
use gatehouse_domain::usecase::second_factor::{confirm_totp, remove_totp, start_totp};
use gatehouse_e2e::{on_both_backends, Backend, Bundle, PASSWORD};

on_both_backends!(
    a_person_enrols_an_app_and_an_admin_removes_it,
    wrong_codes_are_counted_per_account,
);

/// The code an authenticator app holding `uri` shows at `at` (unix seconds), from pyotp.
fn app_code(uri: &str, at: i64) -> String {
    let python = std::env::var("GATEHOUSE_TEST_PYTHON").expect(
        "GATEHOUSE_TEST_PYTHON is not set: run the tests with ./scripts/test, which installs pyotp",
    );
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, pyotp; print(pyotp.parse_uri(sys.argv[1]).at(int(sys.argv[2])))",
            uri,
            &at.to_string(),
        ])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn session(token: &str) -> SessionToken {
    SessionToken::parse(token).expect("a session token")
}

async fn a_person_enrols_an_app_and_an_admin_removes_it(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let bob = b.account("bob", "member").await;
    let (org, id) = (&b.org, UserId::parse(&alice.id).unwrap());
    let own = session(&alice.token);

    // Her password first; nobody else may enrol for her.
    let wrong = start_totp(&b.services, org, Some(&own), &id, Some("not my password")).await;
    assert_eq!(wrong.unwrap_err().code(), "wrong_current_password");
    let other = start_totp(
        &b.services,
        org,
        Some(&session(&bob.token)),
        &id,
        Some(PASSWORD),
    )
    .await;
    assert_eq!(other.unwrap_err().code(), "forbidden");

    let enrolment = start_totp(&b.services, org, Some(&own), &id, Some(PASSWORD))
        .await
        .unwrap();
    assert!(enrolment.otpauth_uri.starts_with("otpauth://totp/"));
    assert!(
        enrolment.otpauth_uri.contains("issuer=demo&"),
        "the app names the organisation: {}",
        enrolment.otpauth_uri
    );
    assert_eq!(enrolment.secret.len(), 32, "160 bits in base32");
    assert!(enrolment.qr_svg.contains("<svg"));
    let stored = b.services.store.user(org, &id).await.unwrap().unwrap();
    assert!(
        !stored.has_second_factor(),
        "not a factor before a first code"
    );

    // A wrong code does not confirm it; the app's code does, once.
    let wrong = confirm_totp(&b.services, org, Some(&own), &id, "000000").await;
    assert_eq!(wrong.unwrap_err().code(), "invalid_mfa_code");
    let now = b.clock.now().unix_seconds();
    let code = app_code(&enrolment.otpauth_uri, now);
    let recovery = confirm_totp(&b.services, org, Some(&own), &id, &code)
        .await
        .unwrap();
    assert_eq!(recovery.len(), 10);
    let distinct: std::collections::HashSet<_> = recovery.iter().collect();
    assert_eq!(distinct.len(), 10, "{recovery:?}");
    let stored = b.services.store.user(org, &id).await.unwrap().unwrap();
    assert!(stored.has_second_factor());
    let factor = stored.totp.unwrap();
    // Kept sealed and hashed: neither the secret nor a recovery code is stored as given.
    let record = serde_json::to_string(&factor).unwrap();
    assert!(!record.contains(&enrolment.secret));
    for c in &recovery {
        assert!(!record.contains(c.as_str()) && !record.contains(&c.replace('-', "")));
    }
    let again = confirm_totp(&b.services, org, Some(&own), &id, &code).await;
    assert_eq!(again.unwrap_err().code(), "totp_already_enrolled");
    let restart = start_totp(&b.services, org, Some(&own), &id, Some(PASSWORD)).await;
    assert_eq!(restart.unwrap_err().code(), "totp_already_enrolled");

    // Bob may not remove it; an admin may (she lost her phone), without her password.
    let refused = remove_totp(&b.services, org, Some(&session(&bob.token)), &id, None).await;
    assert_eq!(refused.unwrap_err().code(), "forbidden");
    remove_totp(&b.services, org, Some(&session(&b.admin_token)), &id, None)
        .await
        .unwrap();
    assert!(b
        .services
        .store
        .user(org, &id)
        .await
        .unwrap()
        .unwrap()
        .totp
        .is_none());
    // She enrols a new phone; removing it herself takes her password.
    start_totp(&b.services, org, Some(&own), &id, Some(PASSWORD))
        .await
        .unwrap();
    let without = remove_totp(&b.services, org, Some(&own), &id, None).await;
    assert_eq!(without.unwrap_err().code(), "missing_current_password");
    remove_totp(&b.services, org, Some(&own), &id, Some(PASSWORD))
        .await
        .unwrap();
}

async fn wrong_codes_are_counted_per_account(backend: Backend) {
    let b = Bundle::start(backend).await;
    let alice = b.account("alice", "member").await;
    let (org, id) = (&b.org, UserId::parse(&alice.id).unwrap());
    let own = session(&alice.token);
    let enrolment = start_totp(&b.services, org, Some(&own), &id, Some(PASSWORD))
        .await
        .unwrap();
    for _ in 0..5 {
        let wrong = confirm_totp(&b.services, org, Some(&own), &id, "000000").await;
        assert_eq!(wrong.unwrap_err().code(), "invalid_mfa_code");
    }
    // Past the free five the account waits, whatever the code: even the right one.
    let code = app_code(&enrolment.otpauth_uri, b.clock.now().unix_seconds());
    let held = confirm_totp(&b.services, org, Some(&own), &id, &code)
        .await
        .unwrap_err();
    assert_eq!(held.code(), "too_many_attempts");
    let wait = held.retry_after().expect("a wait");
    // Once waited out (the app has moved on a step), the right code gets in.
    b.clock.advance(wait + Duration::from_secs(30));
    let code = app_code(&enrolment.otpauth_uri, b.clock.now().unix_seconds());
    let recovery = confirm_totp(&b.services, org, Some(&own), &id, &code)
        .await
        .unwrap();
    assert_eq!(recovery.len(), 10);
}
