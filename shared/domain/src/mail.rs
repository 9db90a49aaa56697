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
        env.add_template("invitation.txt", include_str!("templates/invitation.txt"))
            .expect("invitation.txt parses");
        env.add_template("invitation.html", include_str!("templates/invitation.html"))
            .expect("invitation.html parses");
        env.add_template(
            "link_confirmation.txt",
            include_str!("templates/link_confirmation.txt"),
        )
        .expect("link_confirmation.txt parses");
        env.add_template(
            "link_confirmation.html",
            include_str!("templates/link_confirmation.html"),
        )
        .expect("link_confirmation.html parses");
        env.add_template(
            "password_reset.txt",
            include_str!("templates/password_reset.txt"),
        )
        .expect("password_reset.txt parses");
        env.add_template(
            "password_reset.html",
            include_str!("templates/password_reset.html"),
        )
        .expect("password_reset.html parses");
        for (name, source) in [
            (
                "invitation.fr.txt",
                include_str!("templates/invitation.fr.txt"),
            ),
            (
                "invitation.fr.html",
                include_str!("templates/invitation.fr.html"),
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
    pub role: Role,
    pub message: Option<&'a PersonalMessage>,
    pub link: String,
    pub expires_at: Timestamp,
    /// A reminder of an invitation sent before.
    pub reminder: bool,
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
                "Rappel : ",
            ),
        };
        let subject = if self.reminder {
            format!("{reminder}{subject}")
        } else {
            subject
        };
        let ctx = context! {
            subject => subject,
            reminder => self.reminder,
            first_name => self.first_name.as_str(),
            inviter => self.inviter,
            org => self.org,
            role => role_in(self.role, self.language),
            message => self.message.map(|m| m.as_str()),
            link => self.link,
            expires_at => self.expires_at.to_human(self.language),
        };
        Ok(OutgoingEmail {
            to: self.to.clone(),
            subject,
            text: render(&name("invitation", "txt", self.language), &ctx)?,
            html: render(&name("invitation", "html", self.language), &ctx)?,
            action_link: Some(self.link.clone()),
            about: None,
        })
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
            subject => subject,
            first_name => self.first_name.as_str(),
            org => self.org,
            role => role_in(self.role, self.language),
            via_link => self.via_link,
            link => self.link,
            expires_at => self.expires_at.to_human(self.language),
        };
        Ok(OutgoingEmail {
            to: self.to.clone(),
            subject,
            text: render(&name("link_confirmation", "txt", self.language), &ctx)?,
            html: render(&name("link_confirmation", "html", self.language), &ctx)?,
            action_link: Some(self.link.clone()),
            about: None,
        })
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
            subject => subject,
            first_name => self.first_name.as_str(),
            org => self.org,
            link => self.link,
            expires_at => self.expires_at.to_human(self.language),
        };
        Ok(OutgoingEmail {
            to: self.to.clone(),
            text: render(&name("password_reset", "txt", self.language), &ctx)?,
            html: render(&name("password_reset", "html", self.language), &ctx)?,
            subject,
            action_link: Some(self.link.clone()),
            about: None,
        })
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
            Language::Fr => format!("Un webhook de {} a été désactivé", self.org),
        };
        let ctx = context! {
            subject => subject,
            first_name => self.first_name.as_str(),
            org => self.org,
            url => self.url,
            failing_since => self.failing_since.to_human(self.language),
        };
        Ok(OutgoingEmail {
            to: self.to.clone(),
            text: render(&name("webhook_disabled", "txt", self.language), &ctx)?,
            html: render(&name("webhook_disabled", "html", self.language), &ctx)?,
            subject,
            action_link: None,
            about: None,
        })
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
            subject => subject,
            first_name => self.first_name.as_str(),
            org => self.org,
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
        Ok(OutgoingEmail {
            to: self.to.clone(),
            text: render(&name(base, "txt", self.language), &ctx)?,
            html: render(&name(base, "html", self.language), &ctx)?,
            subject,
            action_link: self.link.clone(),
            about: None,
        })
    }
}

/// A template's name in `language` (`invitation.txt`, `invitation.fr.txt`).
fn name(base: &str, extension: &str, language: Language) -> String {
    match language {
        Language::En => format!("{base}.{extension}"),
        other => format!("{base}.{}.{extension}", other.as_str()),
    }
}

/// A role as the mail's reader says it.
fn role_in(role: Role, language: Language) -> &'static str {
    match (language, role) {
        (Language::Fr, Role::Admin) => "administrateur",
        (Language::Fr, Role::Member) => "membre",
        (Language::Fr, Role::Guest) => "invité",
        (Language::En, role) => role.as_str(),
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
            role: Role::Member,
            message: Some(&message),
            link: "https://app.example/demo/sign-up?token=abc".into(),
            expires_at: Timestamp::from_unix_seconds(0),
            reminder: false,
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
            role: Role::Guest,
            message: None,
            link: "https://app.example/acme/sign-up?token=abc".into(),
            expires_at: at,
            reminder: true,
            language: Language::Fr,
        }
        .render()
        .unwrap();
        assert_eq!(
            invitation.subject,
            "Rappel : Ada Admin vous invite à rejoindre Acme"
        );
        for body in [&invitation.text, &invitation.html] {
            assert!(body.contains("Bonjour Zoé"), "{body}");
            assert!(body.contains("en tant que invité"), "{body}");
            assert!(
                body.contains("jeudi 31 décembre 2026, 14 h 05 UTC"),
                "{body}"
            );
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
