use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
use aws_sdk_sesv2::Client;

use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::ports::{MailError, Mailer, OutgoingEmail};

/// Sends mail with SES v2 `SendEmail`, as simple content with a text and an HTML part, no
/// faster than the account's sending rate when one is set. Throttling and transient failures are
/// retried by the SDK's standard retry mode (exponential backoff with jitter), up to the client's
/// attempts ([`SES_ATTEMPTS`] as [`crate::services_from_env`] builds it).
#[derive(Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
    configuration_set: Option<String>,
    pace: Option<Arc<Pace>>,
}

/// The message tags naming the invitation a message is about: SES hands them back with the
/// message's bounces and complaints (`mail-events`). Organisation slugs and invitation ids are
/// within the characters tags allow (letters, digits, `-`, `_`).
pub const ORG_TAG: &str = "gatehouse-org";
pub const INVITATION_TAG: &str = "gatehouse-invitation";

/// The tags for `email`: none unless it is about an invitation.
pub fn tags_of(email: &OutgoingEmail) -> Result<Vec<MessageTag>, MailError> {
    let Some(about) = &email.about else {
        return Ok(Vec::new());
    };
    [
        (ORG_TAG, about.org.as_str()),
        (INVITATION_TAG, about.invitation.as_str()),
    ]
    .into_iter()
    .map(|(name, value)| {
        MessageTag::builder()
            .name(name)
            .value(value)
            .build()
            .map_err(|e| MailError(e.into()))
    })
    .collect()
}

/// How many times a send is tried before its invitation is left queued.
pub const SES_ATTEMPTS: u32 = 5;
/// How long one attempt may take before it is given up (and tried again)…
pub const SES_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// …and all of a send's attempts together: a send that hangs leaves its invitation queued well
/// within API Gateway's 29 seconds, instead of holding the request (or the cleanup) until the
/// function times out.
pub const SES_SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// An SES v2 client from `config`, making up to [`SES_ATTEMPTS`] attempts per send (with the
/// configuration's back-off), each within [`SES_ATTEMPT_TIMEOUT`], all within
/// [`SES_SEND_TIMEOUT`].
pub fn ses_client(config: &aws_config::SdkConfig) -> Client {
    let retries = config
        .retry_config()
        .cloned()
        .unwrap_or_else(aws_config::retry::RetryConfig::standard)
        .with_max_attempts(SES_ATTEMPTS);
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(SES_ATTEMPT_TIMEOUT)
        .operation_timeout(SES_SEND_TIMEOUT)
        .build();
    Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(config)
            .retry_config(retries)
            .timeout_config(timeouts)
            .build(),
    )
}

impl SesMailer {
    /// `from` is a verified SES identity, e.g. `Gatehouse <no-reply@example.com>`.
    pub fn new(client: Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        Self {
            client,
            from: from.into(),
            configuration_set,
            pace: None,
        }
    }

    /// At most `per_second` sends a second from this mailer (SES's maximum send rate), spread
    /// evenly. Ignored unless positive and finite.
    pub fn with_max_send_rate(mut self, per_second: f64) -> Self {
        self.pace = Pace::new(per_second).map(Arc::new);
        self
    }
}

/// Sends start at least `gap` apart: each takes the next free slot.
#[derive(Debug)]
pub struct Pace {
    gap: Duration,
    next: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Pace {
    pub fn new(per_second: f64) -> Option<Self> {
        (per_second.is_finite() && per_second > 0.0).then(|| Self {
            gap: Duration::from_secs_f64(1.0 / per_second),
            next: tokio::sync::Mutex::new(None),
        })
    }

    /// Waits for this send's slot.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.gap);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

fn content(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError(e.into()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        if let Some(pace) = &self.pace {
            pace.wait().await;
        }
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .text(content(&email.text)?)
                    .html(content(&email.html)?)
                    .build(),
            )
            .build();
        // Sent in the organisation's name from the verified address; replies to the inviter.
        let from = match &email.sender_name {
            Some(name) => gatehouse_domain::mail::mailbox(
                name,
                gatehouse_domain::mail::sender_address(&self.from),
            ),
            None => self.from.clone(),
        };
        self.client
            .send_email()
            .from_email_address(from)
            .set_reply_to_addresses(
                email
                    .reply_to
                    .as_ref()
                    .map(|r| vec![r.as_str().to_string()]),
            )
            .destination(
                Destination::builder()
                    .to_addresses(email.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags(Some(tags_of(email)?).filter(|t| !t.is_empty()))
            .send()
            .await
            .map(|_| ())
            // The error names the service's reason; it never carries the message body.
            .map_err(|e| MailError(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::Pace;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn sends_are_spread_to_the_rate() {
        let pace = std::sync::Arc::new(Pace::new(10.0).unwrap());
        let start = tokio::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..21 {
            let pace = pace.clone();
            tasks.spawn(async move {
                pace.wait().await;
                tokio::time::Instant::now()
            });
        }
        let mut times = Vec::new();
        while let Some(t) = tasks.join_next().await {
            times.push(t.unwrap() - start);
        }
        times.sort();
        assert_eq!(times[0], Duration::ZERO);
        // 21 sends at 10 a second: the last starts 2 s after the first, none closer than 100 ms.
        assert_eq!(*times.last().unwrap(), Duration::from_secs(2));
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(99), "{times:?}");
        }
        assert!(Pace::new(0.0).is_none() && Pace::new(f64::NAN).is_none());
    }
}
