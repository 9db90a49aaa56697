//! `mail-events`: SES publishes the bounces and complaints of the messages sent with Gatehouse's
//! configuration set to an SNS topic, which invokes this function. Each notification names the
//! invitation its message was about (the message tags [`gatehouse_aws::ses::ORG_TAG`] and
//! [`gatehouse_aws::ses::INVITATION_TAG`] the mailer set) and the recipients concerned; the
//! domain marks the invitation (`gatehouse_domain::usecase::mail_feedback`).
//!
//! Anything else is logged and dropped: deliveries, opens, soft bounces, messages without
//! Gatehouse's tags (password resets), notifications that do not parse. Only a storage failure
//! fails the invocation, so that Lambda retries it; a retried or repeated notification changes
//! nothing twice. `gatehouse-local` takes the same notifications at `POST /_local/mail-events`.

use gatehouse_aws::ses::{INVITATION_TAG, ORG_TAG};
use gatehouse_domain::ports::MailTopic;
use gatehouse_domain::types::{EmailAddress, InvitationId, OrgDomain};
use gatehouse_domain::usecase::mail_feedback::{
    record_mail_feedback, FeedbackError, FeedbackKind, FeedbackOutcome, MailFeedback,
};
use gatehouse_domain::Services;
use serde::Deserialize;

/// The part of an SNS delivery this function reads: each record's message.
#[derive(Debug, Clone, Deserialize)]
pub struct SnsEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<SnsRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SnsRecord {
    #[serde(rename = "Sns")]
    pub sns: SnsMessage,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SnsMessage {
    #[serde(rename = "Message")]
    pub message: String,
}

/// Why a notification is dropped without a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// Not JSON, or not shaped as an SES notification.
    Unreadable(String),
    /// Another kind of event (delivery, open, send…), or a soft bounce.
    NotFeedback(String),
    /// No Gatehouse tags, or tags that are no organisation and invitation.
    NotAboutAnInvitation,
}

/// What a notification says, read from SES's JSON (event publishing's `eventType` or identity
/// notifications' `notificationType`).
pub fn read_notification(message: &str) -> Result<MailFeedback, Dropped> {
    let n: Notification =
        serde_json::from_str(message).map_err(|e| Dropped::Unreadable(e.to_string()))?;
    let kind_name = n.event_type.or(n.notification_type).unwrap_or_default();
    let (kind, recipients) = match (kind_name.as_str(), n.bounce, n.complaint) {
        ("Bounce", Some(b), _) if b.bounce_type == "Permanent" => {
            (FeedbackKind::Bounce, b.bounced_recipients)
        }
        ("Bounce", Some(b), _) => {
            return Err(Dropped::NotFeedback(format!("{} bounce", b.bounce_type)))
        }
        ("Complaint", _, Some(c)) => (FeedbackKind::Complaint, c.complained_recipients),
        (other, _, _) => return Err(Dropped::NotFeedback(other.to_owned())),
    };
    let tag = |name: &str| {
        n.mail
            .tags
            .get(name)
            .and_then(|values| values.first())
            .cloned()
    };
    let about = match (tag(ORG_TAG), tag(INVITATION_TAG)) {
        (Some(org), Some(invitation)) => MailTopic {
            org: OrgDomain::parse(&org).map_err(|_| Dropped::NotAboutAnInvitation)?,
            invitation: InvitationId::parse(&invitation)
                .map_err(|_| Dropped::NotAboutAnInvitation)?,
        },
        _ => return Err(Dropped::NotAboutAnInvitation),
    };
    Ok(MailFeedback {
        kind,
        about,
        // An address Gatehouse would not have sent to cannot be one of its invitees.
        recipients: recipients
            .iter()
            .filter_map(|r| EmailAddress::parse(&r.email_address).ok())
            .collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    event_type: Option<String>,
    notification_type: Option<String>,
    #[serde(default)]
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
}

#[derive(Debug, Default, Deserialize)]
struct Mail {
    #[serde(default)]
    tags: std::collections::HashMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
}

/// What became of one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Applied(FeedbackOutcome),
    Dropped(Dropped),
}

impl Handled {
    /// A short, greppable name for logs and the local run's answer.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Applied(outcome) => outcome.as_str(),
            Self::Dropped(Dropped::Unreadable(_)) => "unreadable",
            Self::Dropped(Dropped::NotFeedback(_)) => "not_feedback",
            Self::Dropped(Dropped::NotAboutAnInvitation) => "not_about_an_invitation",
        }
    }
}

/// Reads one SES notification and marks its invitation. Only a storage failure is an error.
pub async fn handle_notification(
    services: &Services,
    message: &str,
) -> Result<Handled, FeedbackError> {
    let handled = match read_notification(message) {
        Ok(feedback) => Handled::Applied(record_mail_feedback(services, &feedback).await?),
        Err(dropped) => Handled::Dropped(dropped),
    };
    // Neither addresses nor tokens are logged; the invitation id names what changed.
    match &handled {
        Handled::Dropped(Dropped::Unreadable(why)) => {
            tracing::warn!(outcome = handled.as_str(), why = %why, "mail event dropped")
        }
        Handled::Dropped(Dropped::NotFeedback(kind)) => {
            tracing::info!(outcome = handled.as_str(), kind = %kind, "mail event dropped")
        }
        _ => tracing::info!(outcome = handled.as_str(), "mail event"),
    }
    Ok(handled)
}

/// Handles every record of an SNS delivery; the first storage failure fails it (the records
/// handled before it are not undone, and handling them again changes nothing).
pub async fn handle(services: &Services, event: &SnsEvent) -> Result<Vec<Handled>, FeedbackError> {
    let mut handled = Vec::with_capacity(event.records.len());
    for record in &event.records {
        handled.push(handle_notification(services, &record.sns.message).await?);
    }
    Ok(handled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounce(kind: &str, to: &str, tags: &str) -> String {
        format!(
            r#"{{"eventType":"Bounce","bounce":{{"bounceType":"{kind}","bounceSubType":"General",
            "bouncedRecipients":[{{"emailAddress":"{to}","action":"failed","status":"5.1.1"}}],
            "timestamp":"2026-12-02T10:00:00.000Z","feedbackId":"x"}},
            "mail":{{"messageId":"m","destination":["{to}"],"tags":{{{tags}}}}}}}"#
        )
    }

    const TAGS: &str = r#""ses:configuration-set":["gatehouse"],"gatehouse-org":["acme"],"gatehouse-invitation":["0123456789abcdef0123456789abcdef"]"#;

    #[test]
    fn a_permanent_bounce_names_its_invitation_and_recipient() {
        let feedback = read_notification(&bounce("Permanent", "Ann@Example.com", TAGS)).unwrap();
        assert_eq!(feedback.kind, FeedbackKind::Bounce);
        assert_eq!(feedback.about.org.as_str(), "acme");
        assert_eq!(
            feedback.about.invitation.as_str(),
            "0123456789abcdef0123456789abcdef"
        );
        assert_eq!(feedback.recipients.len(), 1);
        assert_eq!(feedback.recipients[0].as_str(), "ann@example.com");
    }

    #[test]
    fn a_complaint_in_the_identity_notification_format_is_read() {
        let message = format!(
            r#"{{"notificationType":"Complaint","complaint":{{"complainedRecipients":
            [{{"emailAddress":"bob@example.com"}}],"complaintFeedbackType":"abuse"}},
            "mail":{{"tags":{{{TAGS}}}}}}}"#
        );
        let feedback = read_notification(&message).unwrap();
        assert_eq!(feedback.kind, FeedbackKind::Complaint);
        assert_eq!(feedback.recipients[0].as_str(), "bob@example.com");
    }

    #[test]
    fn what_is_not_a_hard_bounce_or_complaint_about_an_invitation_is_dropped() {
        assert_eq!(
            read_notification(&bounce("Transient", "a@example.com", TAGS)),
            Err(Dropped::NotFeedback("Transient bounce".into()))
        );
        assert_eq!(
            read_notification(r#"{"eventType":"Delivery","mail":{"tags":{}}}"#),
            Err(Dropped::NotFeedback("Delivery".into()))
        );
        assert_eq!(
            read_notification(&bounce("Permanent", "a@example.com", r#""other":["x"]"#)),
            Err(Dropped::NotAboutAnInvitation)
        );
        let bad_id = r#""gatehouse-org":["acme"],"gatehouse-invitation":["../x"]"#;
        assert_eq!(
            read_notification(&bounce("Permanent", "a@example.com", bad_id)),
            Err(Dropped::NotAboutAnInvitation)
        );
        assert!(matches!(
            read_notification("not json"),
            Err(Dropped::Unreadable(_))
        ));
        assert!(matches!(
            read_notification("[1,2]"),
            Err(Dropped::Unreadable(_))
        ));
    }

    #[test]
    fn an_sns_delivery_is_read_from_its_records() {
        let event: SnsEvent = serde_json::from_str(
            r#"{"Records":[{"EventSource":"aws:sns","EventVersion":"1.0",
            "Sns":{"Type":"Notification","MessageId":"1","TopicArn":"arn:aws:sns:x",
            "Message":"{\"eventType\":\"Open\"}","Timestamp":"2026-12-02T10:00:00.000Z"}}]}"#,
        )
        .unwrap();
        assert_eq!(event.records.len(), 1);
        assert_eq!(event.records[0].sns.message, r#"{"eventType":"Open"}"#);
    }
}
