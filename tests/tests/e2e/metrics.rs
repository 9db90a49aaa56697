//! The counts operators see (CloudWatch metrics when deployed) follow what happened, on both
//! backends: invitations made, emails sent and failed, invitations accepted, sign-ins by outcome.

use std::sync::Arc;

use gatehouse_domain::metrics::Metric;
use gatehouse_e2e::{on_both_backends, Backend, Bundle};

on_both_backends!(
    invitations_emails_and_sign_ins_are_counted,
    an_email_the_mail_service_refuses_is_counted_as_failed,
);

async fn invitations_emails_and_sign_ins_are_counted(backend: Backend) {
    let b = Bundle::start(backend).await;
    // The bundle's admin signed in once to get its token.
    let signed_in_before = b.metrics.get(Metric::SignInsSucceeded);
    let alice = b.email("alice");
    let invited = b.invite(&alice, "member", &[]).await;
    assert_eq!(invited.status, 201, "{invited:?}");
    assert_eq!(b.metrics.get(Metric::InvitationsCreated), 1);
    assert_eq!(b.metrics.get(Metric::EmailsSent), 1);
    // Refused invitations are not counted.
    let again = b.invite(&alice, "member", &[]).await;
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(b.metrics.get(Metric::InvitationsCreated), 1);

    let token = b.sign_up_token(&alice).await;
    let signed_up = b.sign_up(&token, "a kettle of fish at noon").await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    assert_eq!(b.metrics.get(Metric::InvitationsAccepted), 1);

    let wrong = b.sign_in(&alice, "not the passphrase at all").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(b.metrics.get(Metric::SignInsFailed), 1);
    let right = b.sign_in(&alice, "a kettle of fish at noon").await;
    assert_eq!(right.status, 200);
    assert_eq!(
        b.metrics.get(Metric::SignInsSucceeded),
        signed_in_before + 1
    );
    // Wrong guesses until the account is throttled: the refusals are counted apart.
    let mut throttled = 0;
    for _ in 0..12 {
        if b.sign_in(&alice, "still not the passphrase").await.status == 429 {
            throttled += 1;
        }
    }
    assert!(throttled > 0, "the guesses were throttled");
    assert_eq!(b.metrics.get(Metric::SignInsThrottled), throttled);
    assert_eq!(b.metrics.get(Metric::SignInsFailed), 1 + 12 - throttled);
    assert_eq!(b.metrics.get(Metric::EmailsFailed), 0);
}

async fn an_email_the_mail_service_refuses_is_counted_as_failed(backend: Backend) {
    let b = Bundle::start_with(backend, |_| Arc::new(gatehouse_e2e::DownMailer)).await;
    let nina = b.email("nina");
    let invited = b.invite(&nina, "member", &[]).await;
    assert_eq!(invited.status, 201, "{invited:?}");
    assert_eq!(invited.json["delivery"], "queued");
    assert_eq!(b.metrics.get(Metric::InvitationsCreated), 1);
    assert_eq!(b.metrics.get(Metric::EmailsFailed), 1);
    assert_eq!(b.metrics.get(Metric::EmailsSent), 0);
}
