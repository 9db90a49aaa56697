//! What the mail service reports after a message left: a permanent bounce (the address takes no
//! mail) or a complaint (the invitee marked it as spam). The invitation it was about is marked
//! `bounced` or `complained`, its history says so and no reminder follows; a resend starts again.
//!
//! Reports arrive at least once and in any order. Each is checked against the invitation it names:
//! an unknown invitation, one no longer pending, or a report about another recipient than the
//! invitation's address changes nothing (a forged or stale report cannot touch someone else's
//! invitation), and a second report of the same kind changes nothing either.

use crate::events::of_invitation;
use crate::lifecycle::EventKind;
use crate::model::{Delivery, InvitationState};
use crate::ports::{MailTopic, StoreError, WriteError};
use crate::services::Services;
use crate::types::EmailAddress;

/// What the mail service said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackKind {
    /// A permanent (hard) bounce; soft bounces are the mail service's to retry.
    Bounce,
    Complaint,
}

/// One report about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFeedback {
    pub kind: FeedbackKind,
    /// The invitation the message was about, as the message carried it.
    pub about: MailTopic,
    /// The recipients the report names (bounced or complaining).
    pub recipients: Vec<EmailAddress>,
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackOutcome {
    /// The invitation is now marked.
    Marked,
    /// It was already marked so (the report came again).
    AlreadyMarked,
    /// It was accepted, revoked or removed: nothing to stop.
    NotPending,
    /// The report names other recipients than the invitation's address.
    OtherRecipient,
}

impl FeedbackOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Marked => "marked",
            Self::AlreadyMarked => "already_marked",
            Self::NotPending => "not_pending",
            Self::OtherRecipient => "other_recipient",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("the invitation kept changing")]
    Contended,
}

/// Tries made when the invitation changes between read and write.
const ATTEMPTS: usize = 4;

/// Marks the invitation `feedback` is about, unless the report does not apply to it.
pub async fn record_mail_feedback(
    services: &Services,
    feedback: &MailFeedback,
) -> Result<FeedbackOutcome, FeedbackError> {
    let (delivery, event) = match feedback.kind {
        FeedbackKind::Bounce => (Delivery::Bounced, EventKind::Bounced),
        FeedbackKind::Complaint => (Delivery::Complained, EventKind::Complained),
    };
    for _ in 0..ATTEMPTS {
        let Some(previous) = services
            .store
            .invitation(&feedback.about.org, &feedback.about.invitation)
            .await?
        else {
            return Ok(FeedbackOutcome::NotPending);
        };
        let Some(address) = previous.invitee.email() else {
            return Ok(FeedbackOutcome::OtherRecipient);
        };
        if !feedback.recipients.contains(address) {
            return Ok(FeedbackOutcome::OtherRecipient);
        }
        if !matches!(previous.state, InvitationState::Pending) {
            return Ok(FeedbackOutcome::NotPending);
        }
        if previous.delivery == delivery {
            return Ok(FeedbackOutcome::AlreadyMarked);
        }
        let mut marked = previous.clone();
        marked.delivery = delivery;
        marked.lifecycle.reminders.clear();
        marked.lifecycle.retry_at = None;
        marked.record(event, services.clock.now(), None);
        let events = of_invitation(services, Some(&previous), &marked);
        match services
            .store
            .update_invitation(&marked, &previous, &events)
            .await
        {
            Ok(()) => {
                services.metrics.count(
                    match feedback.kind {
                        FeedbackKind::Bounce => crate::metrics::Metric::InvitationsBounced,
                        FeedbackKind::Complaint => crate::metrics::Metric::InvitationsComplained,
                    },
                    1,
                );
                return Ok(FeedbackOutcome::Marked);
            }
            Err(WriteError::Stale) => continue,
            Err(WriteError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(StoreError::Unavailable(e.into()).into()),
        }
    }
    Err(FeedbackError::Contended)
}
