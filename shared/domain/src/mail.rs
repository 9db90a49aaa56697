//! The emails Gatehouse sends, rendered from templates. The HTML part escapes everything that
//! came from a user (names, personal messages).

use minijinja::{context, Environment};
use std::sync::OnceLock;

use crate::clock::Timestamp;
use crate::ports::OutgoingEmail;
use crate::types::{EmailAddress, Language, PersonName, PersonalMessage, Role};

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html` templates auto-escape; `.txt` ones do not.
        env.set_auto_escape_callback(minijinja::default_auto_escape_callback);
        // HTML escaping of `& < > " '` only: minijinja's default also writes `/` as `&#x2f;`,
        // which leaves links in the HTML part unreadable to people and suspicious to spam filters.
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() {
                if let Some(text) = value.as_str() {
                    return out.write_str(&escape_html(text)).map_err(|_| {
                        minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write")
                    });
                }
            }
            minijinja::escape_formatter(out, state, value)
        });
        for (name, source) in [
            ("layout.html", include_str!("templates/layout.html")),
            ("parts.html", include_str!("templates/parts.html")),
            ("invitation.txt", include_str!("templates/invitation.txt")),
            ("invitation.html", include_str!("templates/invitation.html")),
            (
                "invitation.fr.txt",
                include_str!("templates/invitation.fr.txt"),
            ),
            (
                "invitation.fr.html",
                include_str!("templates/invitation.fr.html"),
            ),
            (
                "link_confirmation.txt",
                include_str!("templates/link_confirmation.txt"),
            ),
            (
                "link_confirmation.html",
                include_str!("templates/link_confirmation.html"),
            ),
            (
                "link_confirmation.fr.txt",
                include_str!("templates/link_confirmation.fr.txt"),
            ),
            (
                "link_confirmation.fr.html",
                include_str!("templates/link_confirmation.fr.html"),
            ),
            (
                "password_reset.txt",
                include_str!("templates/password_reset.txt"),
            ),
            (
                "password_reset.html",
                include_str!("templates/password_reset.html"),
            ),
            (
                "password_reset.fr.txt",
                include_str!("templates/password_reset.fr.txt"),
            ),
            (
                "password_reset.fr.html",
                include_str!("templates/password_reset.fr.html"),
            ),
            (
                "webhook_disabled.txt",
                include_str!("templates/webhook_disabled.txt"),
            ),
            (
                "webhook_disabled.html",
                include_str!("templates/webhook_disabled.html"),
            ),
            (
                "webhook_disabled.fr.txt",
                include_str!("templates/webhook_disabled.fr.txt"),
            ),
            (
                "webhook_disabled.fr.html",
                include_str!("templates/webhook_disabled.fr.html"),
            ),
            (
                "email_change.txt",
                include_str!("templates/email_change.txt"),
            ),
            (
                "email_change.html",
                include_str!("templates/email_change.html"),
            ),
            (
                "email_change.fr.txt",
                include_str!("templates/email_change.fr.txt"),
            ),
            (
                "email_change.fr.html",
                include_str!("templates/email_change.fr.html"),
            ),
            (
                "email_change_notice.txt",
                include_str!("templates/email_change_notice.txt"),
            ),
            (
                "email_change_notice.html",
                include_str!("templates/email_change_notice.html"),
            ),
            (
                "email_change_notice.fr.txt",
                include_str!("templates/email_change_notice.fr.txt"),
            ),
            (
                "email_change_notice.fr.html",
                include_str!("templates/email_change_notice.fr.html"),
            ),
            (
                "second_factor_removed.txt",
                include_str!("templates/second_factor_removed.txt"),
            ),
            (
                "second_factor_removed.html",
                include_str!("templates/second_factor_removed.html"),
            ),
            (
                "second_factor_removed.fr.txt",
                include_str!("templates/second_factor_removed.fr.txt"),
            ),
            (
                "second_factor_removed.fr.html",
                include_str!("templates/second_factor_removed.fr.html"),
            ),
        ] {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name} parses: {e}"));
        }
        env
    })
}

pub struct InvitationMail<'a> {
    pub to: &'a EmailAddress,
    /// The organisation's name as people read it (its display name, else its domain).
    pub org: &'a str,
    pub first_name: &'a PersonName,
    pub inviter: String,
    /// The inviter's own address, where a reply goes (none for an import's or a link's).
    pub reply_to: Option<&'a EmailAddress>,
    pub role: Role,
    pub message: Option<&'a PersonalMessage>,
    pub link: String,
    pub expires_at: Timestamp,
    /// A reminder of an invitation sent before.
    pub reminder: bool,
    /// In a reminder: when the last of the reminders still to come is due (none: this is the last).
    pub last_reminder: Option<Timestamp>,
    pub language: Language,
}

#[derive(Debug, thiserror::Error)]
#[error("a mail template failed to render")]
pub struct RenderError(#[source] crate::Cause);

impl RenderError {
    /// An invitation without an email address has no email.
    pub(crate) fn not_mailed() -> Self {
        Self("an identifier invitation is not mailed".into())
    }
}

impl InvitationMail<'_> {
    pub fn render(&self) -> Result<OutgoingEmail, RenderError> {
        let (subject, reminder) = match self.language {
            Language::En => (
                format!("{} invited you to join {}", self.inviter, self.org),
                "Reminder: ",
            ),
            Language::Fr => (
                format!("{} vous invite à rejoindre {}", self.inviter, self.org),
                "Rappel\u{a0}: ",
            ),
        };
        let subject = if self.reminder {
            format!("{reminder}{subject}")
        } else {
            subject
        };
        let ctx = context! {
            reminder => self.reminder,
            last_reminder => self.last_reminder.map(|t| t.to_human(self.language)),
            first_name => self.first_name.as_str(),
            inviter => self.inviter,
            reply_to => self.reply_to.is_some(),
            as_role => as_role(self.role, self.language),
            message => self.message.map(|m| m.as_str()),
            link => self.link,
            expires_at => self.expires_at.to_human(self.language),
        };
        let mut email = Letter {
            to: self.to,
            org: self.org,
            language: self.language,
            subject,
            action_link: Some(self.link.clone()),
        }
        .written("invitation", ctx)?;
        email.reply_to = self.reply_to.cloned();
        Ok(email)
    }
}

/// The confirmation of a registration through the invitation link: its link signs up.
pub struct LinkConfirmationMail<'a> {
    pub to: &'a EmailAddress,
    /// Through the invitation link (else self-registration).
    pub via_link: bool,
    pub org: &'a str,
    pub first_name: &'a PersonName,
    pub role: Role,
    pub link: String,
    pub expires_at: Timestamp,
    pub language: Language,
}

impl LinkConfirmationMail<'_> {
    pub fn render(&self) -> Result<OutgoingEmail, RenderError> {
        let subject = match self.language {
            Language::En => format!("Confirm your email to join {}", self.org),
            Language::Fr => format!("Confirmez votre adresse pour rejoindre {}", self.org),
        };
        let ctx = context! {
            first_name => self.first_name.as_str(),
            as_role => as_role(self.role, self.language),
            via_link => self.via_link,
            link => self.link,
            expires_at => self.expires_at.to_human(self.language),
        };
        Letter {
            to: self.to,
            org: self.org,
            language: self.language,
            subject,
            action_link: Some(self.link.clone()),
        }
        .written("link_confirmation", ctx)
    }
}

pub struct PasswordResetMail<'a> {
    pub to: &'a EmailAddress,
    pub org: &'a str,
    pub first_name: &'a PersonName,
    pub link: String,
    pub expires_at: Timestamp,
    pub language: Language,
}

impl PasswordResetMail<'_> {
    pub fn render(&self) -> Result<OutgoingEmail, RenderError> {
        let subject = match self.language {
            Language::En => format!("Reset your password for {}", self.org),
            Language::Fr => format!("Réinitialisez votre mot de passe pour {}", self.org),
        };
        let ctx = context! {
            first_name => self.first_name.as_str(),
            link => self.link,
            expires_at => self.expires_at.to_human(self.language),
        };
        Letter {
            to: self.to,
            org: self.org,
            language: self.language,
            subject,
            action_link: Some(self.link.clone()),
        }
        .written("password_reset", ctx)
    }
}

/// Tells an admin that a webhook endpoint failing for five days was disabled.
pub struct WebhookDisabledMail<'a> {
    pub to: &'a EmailAddress,
    pub org: &'a str,
    pub first_name: &'a PersonName,
    pub url: &'a str,
    pub failing_since: Timestamp,
    pub language: Language,
}

impl WebhookDisabledMail<'_> {
    pub fn render(&self) -> Result<OutgoingEmail, RenderError> {
        let subject = match self.language {
            Language::En => format!("A webhook of {} was disabled", self.org),
            Language::Fr => format!("Un webhook {}{} a été désactivé", de(self.org), self.org),
        };
        let ctx = context! {
            first_name => self.first_name.as_str(),
            url => self.url,
            failing_since => self.failing_since.to_human(self.language),
        };
        Letter {
            to: self.to,
            org: self.org,
            language: self.language,
            subject,
            action_link: None,
        }
        .written("webhook_disabled", ctx)
    }
}

/// A change of email: the confirmation link to the new address (`notice: false`), or the notice
/// to the address in use that a change was asked for (`notice: true`).
pub struct EmailChangeMail<'a> {
    pub to: &'a EmailAddress,
    pub notice: bool,
    pub org: &'a str,
    pub first_name: &'a PersonName,
    /// The new address.
    pub new_email: &'a EmailAddress,
    /// Asked for by an admin rather than by the person.
    pub by_admin: bool,
    /// The confirmation link (in the mail to the new address only).
    pub link: Option<String>,
    pub expires_at: Timestamp,
    pub language: Language,
}

impl EmailChangeMail<'_> {
    pub fn render(&self) -> Result<OutgoingEmail, RenderError> {
        let subject = match (self.language, self.notice) {
            (Language::En, false) => format!("Confirm your new email address for {}", self.org),
            (Language::En, true) => format!("A change of your email address for {}", self.org),
            (Language::Fr, false) => format!("Confirmez votre nouvelle adresse pour {}", self.org),
            (Language::Fr, true) => format!("Un changement de votre adresse pour {}", self.org),
        };
        let ctx = context! {
            first_name => self.first_name.as_str(),
            to => self.new_email.as_str(),
            by_admin => self.by_admin,
            link => self.link.as_deref().unwrap_or(""),
            expires_at => self.expires_at.to_human(self.language),
        };
        let base = if self.notice {
            "email_change_notice"
        } else {
            "email_change"
        };
        Letter {
            to: self.to,
            org: self.org,
            language: self.language,
            subject,
            action_link: self.link.clone(),
        }
        .written(base, ctx)
    }
}

/// Tells a person that an admin removed one of their second factors (they lost their phone, or
/// somebody else did this).
pub struct SecondFactorRemovedMail<'a> {
    pub to: &'a EmailAddress,
    pub org: &'a str,
    pub first_name: &'a PersonName,
    pub factor: RemovedFactor<'a>,
    /// The organisation asks them for a second factor: they set up a new one at their next
    /// sign-in.
    pub required: bool,
    pub language: Language,
}

/// Which second factor went.
#[derive(Debug, Clone, Copy)]
pub enum RemovedFactor<'a> {
    AuthenticatorApp,
    Passkey(&'a str),
}

impl SecondFactorRemovedMail<'_> {
    pub fn render(&self) -> Result<OutgoingEmail, RenderError> {
        let subject = match self.language {
            Language::En => format!("A second factor was removed from your {} account", self.org),
            Language::Fr => format!(
                "Un second facteur a été retiré de votre compte {}",
                self.org
            ),
        };
        let what = match (self.language, self.factor) {
            (Language::En, RemovedFactor::AuthenticatorApp) => "your authenticator app".into(),
            (Language::En, RemovedFactor::Passkey(name)) => format!("your passkey “{name}”"),
            (Language::Fr, RemovedFactor::AuthenticatorApp) => {
                "votre application d'authentification".into()
            }
            (Language::Fr, RemovedFactor::Passkey(name)) => format!("votre clé d'accès « {name} »"),
        };
        let ctx = context! {
            first_name => self.first_name.as_str(),
            what,
            required => self.required,
        };
        Letter {
            to: self.to,
            org: self.org,
            language: self.language,
            subject,
            action_link: None,
        }
        .written("second_factor_removed", ctx)
    }
}

/// What every message has: who it goes to, the organisation it comes from (its name is the
/// sender's), its language and subject, and the link it asks its reader to follow.
struct Letter<'a> {
    to: &'a EmailAddress,
    org: &'a str,
    language: Language,
    subject: String,
    action_link: Option<String>,
}

impl Letter<'_> {
    /// The message with its text and HTML parts rendered from the templates `base` in its
    /// language, from `ctx` with the organisation, language and subject added.
    fn written(self, base: &str, ctx: minijinja::Value) -> Result<OutgoingEmail, RenderError> {
        let ctx = context! {
            org => self.org,
            de => de(self.org),
            lang => self.language.as_str(),
            subject => &self.subject,
            ..ctx
        };
        Ok(OutgoingEmail {
            to: self.to.clone(),
            text: render(&name(base, "txt", self.language), &ctx)?,
            html: render(&name(base, "html", self.language), &ctx)?,
            subject: self.subject,
            sender_name: Some(self.org.to_string()),
            reply_to: None,
            action_link: self.action_link,
            about: None,
        })
    }
}

/// French "de" before a name: elided before a vowel ("d'Acme", "de Demo Organisation").
fn de(name: &str) -> &'static str {
    let vowel = name
        .chars()
        .next()
        .is_some_and(|c| "aeiouyàâäéèêëîïôöùûüAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜ".contains(c));
    if vowel {
        "d'"
    } else {
        "de "
    }
}

/// A template's name in `language` (`invitation.txt`, `invitation.fr.txt`).
fn name(base: &str, extension: &str, language: Language) -> String {
    match language {
        Language::En => format!("{base}.{extension}"),
        other => format!("{base}.{}.{extension}", other.as_str()),
    }
}

/// "As a member" as the mail's reader says it, the French eliding `que` before a vowel.
fn as_role(role: Role, language: Language) -> &'static str {
    match (language, role) {
        (Language::En, Role::Admin) => "as an admin",
        (Language::En, Role::Member) => "as a member",
        (Language::En, Role::Guest) => "as a guest",
        (Language::Fr, Role::Admin) => "en tant qu'administrateur",
        (Language::Fr, Role::Member) => "en tant que membre",
        (Language::Fr, Role::Guest) => "en tant qu'invité",
    }
}

/// The address part of a configured sender, `Gatehouse <no-reply@example.com>` or a bare
/// `no-reply@example.com`.
pub fn sender_address(configured: &str) -> &str {
    match (configured.rfind('<'), configured.rfind('>')) {
        (Some(open), Some(close)) if open < close => configured[open + 1..close].trim(),
        _ => configured.trim(),
    }
}

/// `"Display name" <address>` as a From header holds it (RFC 5322), the name written as an
/// RFC 2047 encoded word when it is not plain ASCII (as SES asks of a sender's name); control
/// characters (a line break among them) are left out, so no header can be added through a name.
pub fn mailbox(display_name: &str, address: &str) -> String {
    use base64::Engine;
    let name: String = display_name.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    if name.is_empty() {
        return address.to_string();
    }
    if name.is_ascii() {
        let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{quoted}\" <{address}>")
    } else {
        // Encoded words of at most 75 characters (RFC 2047 §2): 45 bytes of text each at most,
        // cut between characters.
        let mut words = Vec::new();
        let mut chunk = String::new();
        for c in name.chars() {
            if chunk.len() + c.len_utf8() > 45 {
                words.push(std::mem::take(&mut chunk));
            }
            chunk.push(c);
        }
        words.push(chunk);
        let encoded: Vec<String> = words
            .iter()
            .map(|w| {
                let b64 = base64::engine::general_purpose::STANDARD.encode(w.as_bytes());
                format!("=?UTF-8?B?{b64}?=")
            })
            .collect();
        format!("{} <{address}>", encoded.join(" "))
    }
}

/// HTML escaping of `& < > " '` (what minijinja escapes, but `/`, which links need as it is).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn render(name: &str, ctx: &minijinja::Value) -> Result<String, RenderError> {
    templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| RenderError(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_in_html_and_kept_in_text() {
        let to = EmailAddress::parse("alice@example.com").unwrap();
        let org = "Acme & <Co>";
        let name = PersonName::parse("<b>Alice</b>").unwrap();
        let message = PersonalMessage::parse("Welcome! <script>alert(1)</script> & more").unwrap();
        let mail = InvitationMail {
            to: &to,
            org,
            first_name: &name,
            inviter: "Ada <Admin>".into(),
            reply_to: None,
            role: Role::Member,
            message: Some(&message),
            link: "https://app.example/demo/sign-up?token=abc".into(),
            expires_at: Timestamp::from_unix_seconds(0),
            reminder: false,
            last_reminder: None,
            language: Language::En,
        }
        .render()
        .unwrap();
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(
            mail.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{}",
            mail.html
        );
        assert!(mail.html.contains("Acme &amp; &lt;Co&gt;"), "{}", mail.html);
        assert_eq!(mail.subject, "Ada <Admin> invited you to join Acme & <Co>");
        // Links are written plainly, with only `&` escaped as HTML requires.
        assert!(
            mail.html
                .contains(r#"href="https://app.example/demo/sign-up?token=abc""#),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("&#x2f;"), "{}", mail.html);
        assert!(
            mail.text.contains("Thursday 1 January 1970, 00:00 UTC"),
            "{}",
            mail.text
        );
        assert!(mail.html.contains("&lt;b&gt;Alice&lt;"));
        assert!(mail.html.contains("Ada &lt;Admin&gt;"));
        assert!(mail.text.contains("<script>alert(1)</script> & more"));
        assert!(mail
            .text
            .contains("https://app.example/demo/sign-up?token=abc"));
        assert_eq!(
            mail.action_link.as_deref(),
            Some("https://app.example/demo/sign-up?token=abc")
        );
    }

    #[test]
    fn every_mail_is_written_in_french_when_asked() {
        let to = EmailAddress::parse("zoe@example.com").unwrap();
        let name = PersonName::parse("Zoé").unwrap();
        let at = Timestamp::from_unix_seconds(1_798_725_900); // 2026-12-31 14:05 UTC
        let invitation = InvitationMail {
            to: &to,
            org: "Acme",
            first_name: &name,
            inviter: "Ada Admin".into(),
            reply_to: None,
            role: Role::Guest,
            message: None,
            link: "https://app.example/acme/sign-up?token=abc".into(),
            expires_at: at,
            reminder: true,
            last_reminder: None,
            language: Language::Fr,
        }
        .render()
        .unwrap();
        assert_eq!(
            invitation.subject,
            "Rappel\u{a0}: Ada Admin vous invite à rejoindre Acme"
        );
        for body in [&invitation.text, &invitation.html.replace("&#39;", "'")] {
            assert!(body.contains("Bonjour Zoé"), "{body}");
            assert!(body.contains("en tant qu'invité"), "{body}");
            assert!(body.contains("31 décembre 2026 à 14 h 05 UTC"), "{body}");
            assert!(body.contains("C'est le dernier rappel"), "{body}");
            assert!(!body.contains("invited you"), "{body}");
        }
        assert!(invitation.html.contains("<html lang=\"fr\">"));
        let confirmation = LinkConfirmationMail {
            to: &to,
            via_link: true,
            org: "Acme",
            first_name: &name,
            role: Role::Member,
            link: "https://app.example/acme/sign-up?token=abc".into(),
            expires_at: at,
            language: Language::Fr,
        }
        .render()
        .unwrap();
        assert_eq!(
            confirmation.subject,
            "Confirmez votre adresse pour rejoindre Acme"
        );
        assert!(confirmation.text.contains("par son lien d'invitation"));
        let reset = PasswordResetMail {
            to: &to,
            org: "Acme",
            first_name: &name,
            link: "https://app.example/acme/reset-password?token=abc".into(),
            expires_at: at,
            language: Language::Fr,
        }
        .render()
        .unwrap();
        assert_eq!(reset.subject, "Réinitialisez votre mot de passe pour Acme");
        assert!(reset.text.contains("votre mot de passe reste inchangé"));
        assert!(reset
            .html
            .contains("https://app.example/acme/reset-password?token=abc"));
    }
}
