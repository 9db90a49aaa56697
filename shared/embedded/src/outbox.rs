use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use std::path::{Path, PathBuf};

use gatehouse_domain::ports::{MailError, Mailer, OutgoingEmail};

/// Writes every message to a folder as an RFC 5322 `.eml` file (multipart/alternative: text and
/// HTML), named so that files sort by sending time. Optionally prints each message's link, which
/// is how the local run shows sign-up links.
pub struct FileOutbox {
    dir: PathBuf,
    from: Mailbox,
    print_links: bool,
}

impl FileOutbox {
    pub fn new(dir: &Path, from: &str, print_links: bool) -> Result<Self, MailError> {
        std::fs::create_dir_all(dir)
            .map_err(failed(format!("cannot create outbox {}", dir.display())))?;
        let from = from
            .parse()
            .map_err(failed(format!("the sender address {from:?} is invalid")))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            from,
            print_links,
        })
    }
}

/// The RFC 5322 form of a message, as both the outbox and raw senders need it.
pub fn rfc5322(from: &Mailbox, email: &OutgoingEmail) -> Result<Vec<u8>, MailError> {
    let to: Mailbox = email
        .to
        .as_str()
        .parse()
        .map_err(failed("recipient not addressable".into()))?;
    // Sent in the organisation's name from the configured address; replies to the inviter.
    let from = match &email.sender_name {
        Some(name) => Mailbox::new(Some(name.clone()), from.email.clone()),
        None => from.clone(),
    };
    let mut message = Message::builder().from(from).to(to);
    if let Some(reply_to) = &email.reply_to {
        message = message.reply_to(
            reply_to
                .as_str()
                .parse()
                .map_err(failed("reply-to address not addressable".into()))?,
        );
    }
    let message = message
        .subject(email.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| MailError(e.into()))?;
    Ok(message.formatted())
}

/// What the outbox was doing, with the error that stopped it kept as the source.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
struct OutboxError {
    what: String,
    #[source]
    source: gatehouse_domain::Cause,
}

fn failed<E: Into<gatehouse_domain::Cause>>(what: String) -> impl FnOnce(E) -> MailError {
    move |e| {
        MailError(Box::new(OutboxError {
            what,
            source: e.into(),
        }))
    }
}

#[async_trait]
impl Mailer for FileOutbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let bytes = rfc5322(&self.from, email)?;
        let stamp = micros_since_epoch();
        let name = format!("{stamp:020}-{}.eml", uuid::Uuid::new_v4().simple());
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let path = self.dir.join(&name);
        tokio::fs::write(&tmp, &bytes)
            .await
            .map_err(failed(format!("cannot write {}", tmp.display())))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(failed(format!("cannot move {} into place", path.display())))?;
        if self.print_links {
            println!("✉  to {} — {}", email.to, email.subject);
            if let Some(link) = &email.action_link {
                println!("   link: {link}");
            }
            println!("   saved: {}", path.display());
        }
        Ok(())
    }
}

/// Only names outbox files so that a folder listing sorts by sending time; no rule depends on it.
#[allow(clippy::disallowed_methods)]
fn micros_since_epoch() -> u128 {
    std::time::UNIX_EPOCH
        .elapsed()
        .map(|d| d.as_micros())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::types::EmailAddress;
    use proptest::prelude::*;

    fn message_to(to: EmailAddress) -> String {
        let email = OutgoingEmail {
            to,
            sender_name: None,
            reply_to: None,
            subject: "s".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
            action_link: None,
            about: None,
        };
        let from: Mailbox = "Gatehouse <no-reply@gatehouse.localhost>".parse().unwrap();
        String::from_utf8(rfc5322(&from, &email).unwrap()).unwrap()
    }

    proptest! {
        /// For every address Gatehouse accepts, the message's one recipient is exactly the stored
        /// address: no header can be injected and no other mailbox reached.
        #[test]
        fn the_recipient_is_exactly_the_stored_address(
            s in prop_oneof![
                "[a-zA-Z0-9'+_{}|~!#$%&*=?^`-]{1,30}@[a-zA-Z0-9-]{1,10}\\.[a-zA-Z]{2,5}",
                "[\"\\\\a-zA-Z0-9.,<>()@ \r\n'+_{}|~!#$%&*=?^`-]{1,30}@[a-zA-Z0-9-]{1,10}\\.[a-zA-Z]{2,5}",
            ]
        ) {
            if let Ok(address) = EmailAddress::parse(&s) {
                let stored = address.as_str().to_string();
                let message = message_to(address);
                let to_lines: Vec<&str> = message
                    .split("\r\n")
                    .filter(|l| l.to_ascii_lowercase().starts_with("to:"))
                    .collect();
                prop_assert_eq!(to_lines, vec![format!("To: {stored}")]);
                prop_assert!(!message.to_ascii_lowercase().contains("\r\nbcc:"));
                prop_assert!(!message.to_ascii_lowercase().contains("\r\ncc:"));
            }
        }
    }
}
