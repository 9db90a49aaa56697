//! What operators count: a few business events, each a named counter. Deployed, they become
//! CloudWatch metrics (embedded metric format lines, `gatehouse_aws::EmfMetrics`); the local run
//! keeps none; tests record them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::ports::{MailError, Mailer, OutgoingEmail};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Invitations made by an admin or member (one by one or by import).
    InvitationsCreated,
    /// Emails handed to the mail service (invitations, reminders, confirmations, resets).
    EmailsSent,
    /// Emails the mail service refused after its retries (an invitation stays queued and is
    /// retried by the cleanup).
    EmailsFailed,
    InvitationsBounced,
    InvitationsComplained,
    /// Invitations that became accounts.
    InvitationsAccepted,
    SignInsSucceeded,
    /// Wrong identifier or password.
    SignInsFailed,
    /// Refused unverified: too many recent failures (429).
    SignInsThrottled,
    ImportRowsCreated,
    ImportRowsSkipped,
    /// Rows invited whose email could not be sent yet (queued, retried by the cleanup).
    ImportRowsFailed,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::InvitationsCreated,
        Metric::EmailsSent,
        Metric::EmailsFailed,
        Metric::InvitationsBounced,
        Metric::InvitationsComplained,
        Metric::InvitationsAccepted,
        Metric::SignInsSucceeded,
        Metric::SignInsFailed,
        Metric::SignInsThrottled,
        Metric::ImportRowsCreated,
        Metric::ImportRowsSkipped,
        Metric::ImportRowsFailed,
    ];

    /// The metric's name in CloudWatch (and in the alarms of `infra/template.yaml`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::InvitationsCreated => "InvitationsCreated",
            Metric::EmailsSent => "EmailsSent",
            Metric::EmailsFailed => "EmailsFailed",
            Metric::InvitationsBounced => "InvitationsBounced",
            Metric::InvitationsComplained => "InvitationsComplained",
            Metric::InvitationsAccepted => "InvitationsAccepted",
            Metric::SignInsSucceeded => "SignInsSucceeded",
            Metric::SignInsFailed => "SignInsFailed",
            Metric::SignInsThrottled => "SignInsThrottled",
            Metric::ImportRowsCreated => "ImportRowsCreated",
            Metric::ImportRowsSkipped => "ImportRowsSkipped",
            Metric::ImportRowsFailed => "ImportRowsFailed",
        }
    }
}

pub trait Metrics: Send + Sync {
    /// Adds `n` to `metric` (nothing when `n` is 0).
    fn count(&self, metric: Metric, n: u64);
}

/// Counts nothing (the local run, benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn count(&self, _: Metric, _: u64) {}
}

/// Keeps every count, for tests to read.
#[derive(Debug, Default)]
pub struct RecordedMetrics(Mutex<BTreeMap<Metric, u64>>);

impl RecordedMetrics {
    pub fn get(&self, metric: Metric) -> u64 {
        self.0
            .lock()
            .map(|m| m.get(&metric).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl Metrics for RecordedMetrics {
    fn count(&self, metric: Metric, n: u64) {
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(metric).or_default() += n;
        }
    }
}

/// A mailer that counts what it sends and what fails ([`Metric::EmailsSent`],
/// [`Metric::EmailsFailed`]), whatever the use case sending.
pub struct CountedMailer {
    inner: Arc<dyn Mailer>,
    metrics: Arc<dyn Metrics>,
}

impl CountedMailer {
    pub fn new(inner: Arc<dyn Mailer>, metrics: Arc<dyn Metrics>) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl Mailer for CountedMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let sent = self.inner.send(email).await;
        let metric = match sent {
            Ok(()) => Metric::EmailsSent,
            Err(_) => Metric::EmailsFailed,
        };
        self.metrics.count(metric, 1);
        sent
    }
}
