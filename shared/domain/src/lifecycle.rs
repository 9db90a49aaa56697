//! The life of an invitation after it is saved: its history of events, its reminders, the
//! retries of an email that did not go out, its expiry and its removal. The cleanup job
//! ([`crate::usecase::cleanup`]) finds each invitation's next piece of work by the time it is due
//! ([`Invitation::next_due_at`]), which the store keeps in an index (see `KEYS.md`).

use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::access_code::SealedCode;
use crate::clock::Timestamp;
use crate::model::{Delivery, Invitation, InvitationState, Settings};
use crate::types::UserId;

/// How long an expired invitation stays listed (as `expired`) before the cleanup removes it and
/// its email or uid is free for good.
pub const REMOVAL_GRACE: Duration = Duration::from_secs(30 * 86_400);
/// The first retry of an email that did not go out; each further one waits twice as long, up to
/// [`RETRY_MAX_WAIT`].
pub const RETRY_FIRST_WAIT: Duration = Duration::from_secs(5 * 60);
pub const RETRY_MAX_WAIT: Duration = Duration::from_secs(6 * 3600);
/// The history keeps the first event (creation) and the latest ones up to this many.
pub const MAX_EVENTS: usize = 50;

/// What happened to an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Created,
    Sent,
    Resent,
    Reminded,
    DeliveryFailed,
    Bounced,
    Complained,
    Accepted,
    Revoked,
    Expired,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Sent => "sent",
            Self::Resent => "resent",
            Self::Reminded => "reminded",
            Self::DeliveryFailed => "delivery_failed",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

/// One entry of an invitation's history: what, when, and who did it (`None`: Gatehouse itself,
/// the mail service, or the invitee).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationEvent {
    pub kind: EventKind,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
}

/// The parts of an invitation its life after saving needs. Invitations stored before it existed
/// read as an empty one: no history, no reminders.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lifecycle {
    pub events: Vec<InvitationEvent>,
    /// The language of its emails.
    pub language: crate::types::Language,
    /// The reminders still to send, earliest first.
    pub reminders: Vec<Timestamp>,
    /// When a queued email is tried again.
    pub retry_at: Option<Timestamp>,
    /// Tries of the current email that failed.
    pub failed_sends: u32,
    /// The expiry is in the history (the cleanup noted it); removal follows after the grace.
    pub expiry_noted: bool,
    /// The link token, encrypted with the access-code key, so that a retry or a reminder mails
    /// the same link as the invitation (email invitations only).
    pub sealed_token: Option<SealedCode>,
    /// Which email the invitation's link goes out in.
    pub mail: MailKind,
    /// The inviter's name as the email gives it (read once, when inviting).
    pub inviter_name: Option<String>,
    /// The inviter's address, where a reply to the email goes (read once, when inviting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inviter_email: Option<crate::types::EmailAddress>,
}

/// The email an email invitation's link goes out in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// An invitation from a person (or an import).
    #[default]
    Invitation,
    /// The confirmation of a registration through the invitation link.
    LinkConfirmation,
    /// The confirmation of a self-registration.
    SelfConfirmation,
}

impl Lifecycle {
    /// A new invitation's: created (by `by`) at `now`; for an email invitation (a sealed token)
    /// its email is queued, to be retried if it does not go out now, and `reminders` follow.
    pub fn for_new(
        now: Timestamp,
        by: Option<UserId>,
        sealed_token: Option<SealedCode>,
        reminders: Vec<Timestamp>,
    ) -> Self {
        Self {
            mail: MailKind::Invitation,
            language: crate::types::Language::En,
            inviter_name: None,
            inviter_email: None,
            events: vec![InvitationEvent {
                kind: EventKind::Created,
                at: now,
                by,
            }],
            reminders,
            retry_at: sealed_token.as_ref().map(|_| now.plus(RETRY_FIRST_WAIT)),
            failed_sends: 0,
            expiry_noted: false,
            sealed_token,
        }
    }
}

/// The reminder times of an invitation sent at `from` that expires at `expires_at`.
pub fn reminder_times(
    settings: &Settings,
    from: Timestamp,
    expires_at: Timestamp,
) -> Vec<Timestamp> {
    settings
        .reminder_days
        .iter()
        .map(|d| from.plus(Duration::from_secs(u64::from(*d) * 86_400)))
        .filter(|t| *t < expires_at)
        .collect()
}

/// The cleanup's piece of work on one invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Send the queued email again.
    Retry,
    /// Send the next reminder.
    Remind,
    /// Reminders are off (or the email cannot be rebuilt): drop the ones left.
    DropReminders,
    /// Note the expiry in the history.
    NoteExpiry,
    /// Remove the invitation for good.
    Remove,
}

impl Invitation {
    /// Adds an event to the history, keeping the first and the latest [`MAX_EVENTS`].
    pub fn record(&mut self, kind: EventKind, at: Timestamp, by: Option<UserId>) {
        let events = &mut self.lifecycle.events;
        if events.len() >= MAX_EVENTS {
            events.remove(1);
        }
        events.push(InvitationEvent { kind, at, by });
    }

    /// When the cleanup has something to do with this invitation; `None` once it is accepted or
    /// revoked. Always at most its removal.
    pub fn next_due_at(&self) -> Option<Timestamp> {
        if !matches!(self.state, InvitationState::Pending) {
            return None;
        }
        let life = &self.lifecycle;
        let mut due = if life.expiry_noted {
            self.expires_at.plus(REMOVAL_GRACE)
        } else {
            self.expires_at
        };
        if !life.expiry_noted {
            let mailing = match self.delivery {
                Delivery::Queued => life.retry_at,
                Delivery::Sent => life.reminders.first().copied(),
                _ => None,
            };
            if let Some(t) = mailing {
                due = due.min(t);
            }
        }
        Some(due)
    }

    /// What the cleanup does with this invitation at `now`, if anything.
    pub fn work_at(&self, now: Timestamp, settings: &Settings) -> Option<Work> {
        if self.next_due_at().is_none_or(|d| d > now) {
            return None;
        }
        let life = &self.lifecycle;
        if now >= self.expires_at {
            return Some(if life.expiry_noted {
                Work::Remove
            } else {
                Work::NoteExpiry
            });
        }
        match self.delivery {
            Delivery::Queued if life.retry_at.is_some_and(|t| t <= now) => Some(Work::Retry),
            Delivery::Sent if life.reminders.first().is_some_and(|t| *t <= now) => {
                if settings.reminder_days.is_empty() || life.sealed_token.is_none() {
                    Some(Work::DropReminders)
                } else {
                    Some(Work::Remind)
                }
            }
            _ => None,
        }
    }

    /// Its email went out at `at`: no retry is due, reminders follow.
    pub fn mark_sent(&mut self, at: Timestamp) {
        self.delivery = Delivery::Sent;
        self.lifecycle.retry_at = None;
        self.lifecycle.failed_sends = 0;
        self.record(EventKind::Sent, at, None);
    }

    /// Its email failed to go out at `at`: tried again later, each time waiting longer.
    pub fn mark_failed(&mut self, at: Timestamp) {
        let life = &mut self.lifecycle;
        life.failed_sends = life.failed_sends.saturating_add(1);
        life.retry_at = Some(at.plus(Self::retry_wait(life.failed_sends)));
        self.record(EventKind::DeliveryFailed, at, None);
    }

    /// The wait before the next try after `failed_sends` failures.
    pub fn retry_wait(failed_sends: u32) -> Duration {
        let doubled = RETRY_FIRST_WAIT
            .as_secs()
            .saturating_mul(1u64 << failed_sends.saturating_sub(1).min(16));
        Duration::from_secs(doubled.min(RETRY_MAX_WAIT.as_secs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Invitee;
    use crate::types::{EmailAddress, InvitationId, InviteeRole, OrgDomain, PersonName};

    fn at(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(s)
    }

    /// An email invitation created at 0, expiring at 10 days, reminded at days 1 and 2.
    fn invitation() -> Invitation {
        let day = 86_400;
        Invitation {
            id: InvitationId::parse(&"1".repeat(32)).unwrap(),
            org: OrgDomain::parse("demo").unwrap(),
            invitee: Invitee::Email {
                email: EmailAddress::parse("a@example.com").unwrap(),
                token_hash: serde_json::from_value(serde_json::json!("00")).unwrap(),
            },
            role: InviteeRole::Member,
            first_name: PersonName::parse("A").unwrap(),
            last_name: PersonName::parse("B").unwrap(),
            groups: vec![],
            message: None,
            invited_by: None,
            created_at: at(0),
            expires_at: at(10 * day),
            state: InvitationState::Pending,
            delivery: Delivery::Queued,
            lifecycle: Lifecycle {
                sealed_token: Some({
                    let random = crate::secret::OsRandomness;
                    let token = crate::secret::SecretToken::generate(&random);
                    crate::access_code::AccessCodeKeys::from_secret(&[7; 32])
                        .seal_link_token(&token, &random)
                }),
                ..Lifecycle::for_new(at(0), None, None, vec![at(day), at(2 * day)])
            },
            version: 0,
        }
    }

    #[test]
    fn each_new_history_entry_is_one_event_with_the_invitation_as_the_api_shows_it() {
        use crate::events::{ChangeEvents, EventType};
        let random = crate::secret::OsRandomness;
        let kinds = |events: &ChangeEvents| -> Vec<EventType> {
            events.events().iter().map(|e| e.kind).collect()
        };
        let new = invitation();
        let mut made = ChangeEvents::new(&random, at(0));
        made.invitation_history(None, &new);
        assert_eq!(kinds(&made), [EventType::InvitationCreated]);
        assert_eq!(made.events()[0].data["id"], new.id.to_string());
        assert!(made.events()[0].data["access_code"].is_null());

        let mut sent = new.clone();
        sent.mark_sent(at(5));
        let mut change = ChangeEvents::new(&random, at(5));
        change.invitation_history(Some(&new), &sent);
        assert_eq!(kinds(&change), [EventType::InvitationSent]);
        assert_eq!(change.events()[0].data["delivery"], "sent");

        // A history at its cap drops old entries; what is new is still found.
        let mut full = sent.clone();
        for n in 0..(2 * MAX_EVENTS as i64) {
            full.record(EventKind::Reminded, at(10 + n), None);
        }
        let mut next = full.clone();
        let admin = crate::types::UserId::parse(&"2".repeat(32)).unwrap();
        next.record(EventKind::Revoked, at(1_000), Some(admin.clone()));
        next.record(EventKind::Accepted, at(1_001), Some(admin.clone()));
        let mut change = ChangeEvents::new(&random, at(1_001));
        change.invitation_history(Some(&full), &next);
        assert_eq!(
            kinds(&change),
            [EventType::InvitationRevoked, EventType::InvitationAccepted]
        );
        assert_eq!(change.events()[0].actor.user_id, Some(admin));
        assert_eq!(
            change.events()[1].actor.user_id,
            None,
            "accepting is the invitee's own doing"
        );
        // Nothing new: no event.
        let mut none = ChangeEvents::new(&random, at(1_002));
        none.invitation_history(Some(&next), &next);
        assert!(none.is_empty());
    }

    #[test]
    fn reminders_fall_before_the_deadline_only() {
        let settings = Settings::default();
        let day = 86_400;
        let times = reminder_times(&settings, at(0), at(7 * day));
        assert_eq!(
            times,
            vec![at(day), at(2 * day)],
            "day 7 is the deadline itself"
        );
        let off = Settings {
            reminder_days: vec![],
            ..Settings::default()
        };
        assert!(reminder_times(&off, at(0), at(30 * day)).is_empty());
    }

    #[test]
    fn a_queued_email_is_retried_then_reminders_follow_then_expiry_then_removal() {
        let settings = Settings::default();
        let day = 86_400;
        let mut inv = invitation();
        inv.lifecycle.retry_at = Some(at(300));
        assert_eq!(inv.next_due_at(), Some(at(300)));
        assert_eq!(inv.work_at(at(299), &settings), None);
        assert_eq!(inv.work_at(at(300), &settings), Some(Work::Retry));

        inv.mark_failed(at(300));
        assert_eq!(inv.lifecycle.failed_sends, 1);
        assert_eq!(
            inv.next_due_at(),
            Some(at(600)),
            "5 minutes after the failure"
        );
        inv.mark_failed(at(600));
        assert_eq!(inv.next_due_at(), Some(at(1_200)), "then 10");

        inv.mark_sent(at(1_200));
        assert_eq!(inv.next_due_at(), Some(at(day)), "the first reminder");
        assert_eq!(inv.work_at(at(day), &settings), Some(Work::Remind));
        inv.lifecycle.reminders.remove(0);
        assert_eq!(inv.next_due_at(), Some(at(2 * day)));
        inv.lifecycle.reminders.clear();
        assert_eq!(inv.next_due_at(), Some(at(10 * day)), "the deadline");
        assert_eq!(inv.work_at(at(10 * day), &settings), Some(Work::NoteExpiry));
        inv.lifecycle.expiry_noted = true;
        let removal = at(10 * day).plus(REMOVAL_GRACE);
        assert_eq!(inv.next_due_at(), Some(removal));
        assert_eq!(inv.work_at(at(11 * day), &settings), None);
        assert_eq!(inv.work_at(removal, &settings), Some(Work::Remove));
    }

    #[test]
    fn reminders_stop_when_off_bounced_or_the_invitation_is_settled() {
        let day = 86_400;
        let mut inv = invitation();
        inv.mark_sent(at(10));
        let off = Settings {
            reminder_days: vec![],
            ..Settings::default()
        };
        assert_eq!(inv.work_at(at(day), &off), Some(Work::DropReminders));
        inv.delivery = Delivery::Bounced;
        assert_eq!(
            inv.next_due_at(),
            Some(at(10 * day)),
            "only the expiry is left"
        );
        inv.state = InvitationState::Revoked { at: at(20) };
        assert_eq!(inv.next_due_at(), None);
        assert_eq!(inv.work_at(at(99 * day), &Settings::default()), None);
    }

    #[test]
    fn the_wait_between_retries_doubles_up_to_six_hours() {
        assert_eq!(Invitation::retry_wait(1), Duration::from_secs(300));
        assert_eq!(Invitation::retry_wait(2), Duration::from_secs(600));
        assert_eq!(Invitation::retry_wait(3), Duration::from_secs(1_200));
        assert_eq!(Invitation::retry_wait(40), RETRY_MAX_WAIT);
    }

    #[test]
    fn the_history_keeps_the_first_and_the_latest_events() {
        let mut inv = invitation();
        for n in 0..100 {
            inv.record(EventKind::Resent, at(n), None);
        }
        let events = &inv.lifecycle.events;
        assert_eq!(events.len(), MAX_EVENTS);
        assert_eq!(events[0].kind, EventKind::Created);
        assert_eq!(events.last().unwrap().at, at(99));
        assert_eq!(events[1].at, at(100 - (MAX_EVENTS as i64 - 1)));
    }
}
