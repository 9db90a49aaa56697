//! The emails Gatehouse sends, rendered from templates. The HTML part escapes everything that
//! came from a user (names, personal messages).

use minijinja::{context, Environment};
use std::sync::OnceLock;

use crate::clock::Timestamp;
use crate::ports::OutgoingEmail;
use crate::types::{EmailAddress, OrgDomain, PersonName, PersonalMessage, Role};

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html` templates auto-escape; `.txt` ones do not.
        env.set_auto_escape_callback(minijinja::default_auto_escape_callback);
        env.add_template("invitation.txt", include_str!("templates/invitation.txt"))
            .expect("invitation.txt parses");
        env.add_template("invitation.html", include_str!("templates/invitation.html"))
            .expect("invitation.html parses");
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
        env
    })
}

pub struct InvitationMail<'a> {
    pub to: &'a EmailAddress,
    pub org: &'a OrgDomain,
    pub first_name: &'a PersonName,
    pub inviter: String,
    pub role: Role,
    pub message: Option<&'a PersonalMessage>,
    pub link: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
#[error("a mail template failed to render: {0}")]
pub struct RenderError(String);

impl InvitationMail<'_> {
    pub fn render(&self) -> Result<OutgoingEmail, RenderError> {
        let subject = format!(
            "{} invited you to join {} on Gatehouse",
            self.inviter, self.org
        );
        let ctx = context! {
            subject => subject,
            first_name => self.first_name.as_str(),
            inviter => self.inviter,
            org => self.org.as_str(),
            role => self.role.as_str(),
            message => self.message.map(|m| m.as_str()),
            link => self.link,
            expires_at => self.expires_at.to_rfc3339(),
        };
        Ok(OutgoingEmail {
            to: self.to.clone(),
            subject,
            text: render("invitation.txt", &ctx)?,
            html: render("invitation.html", &ctx)?,
            action_link: Some(self.link.clone()),
        })
    }
}

pub struct PasswordResetMail<'a> {
    pub to: &'a EmailAddress,
    pub org: &'a OrgDomain,
    pub first_name: &'a PersonName,
    pub link: String,
    pub expires_at: Timestamp,
}

impl PasswordResetMail<'_> {
    pub fn render(&self) -> Result<OutgoingEmail, RenderError> {
        let subject = format!("Reset your password for {}", self.org);
        let ctx = context! {
            subject => subject,
            first_name => self.first_name.as_str(),
            org => self.org.as_str(),
            link => self.link,
            expires_at => self.expires_at.to_rfc3339(),
        };
        Ok(OutgoingEmail {
            to: self.to.clone(),
            text: render("password_reset.txt", &ctx)?,
            html: render("password_reset.html", &ctx)?,
            subject,
            action_link: Some(self.link.clone()),
        })
    }
}

fn render(name: &str, ctx: &minijinja::Value) -> Result<String, RenderError> {
    templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| RenderError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_in_html_and_kept_in_text() {
        let to = EmailAddress::parse("alice@example.com").unwrap();
        let org = OrgDomain::parse("demo").unwrap();
        let name = PersonName::parse("<b>Alice</b>").unwrap();
        let message = PersonalMessage::parse("Welcome! <script>alert(1)</script> & more").unwrap();
        let mail = InvitationMail {
            to: &to,
            org: &org,
            first_name: &name,
            inviter: "Ada <Admin>".into(),
            role: Role::Member,
            message: Some(&message),
            link: "https://app.example/demo/sign-up?token=abc".into(),
            expires_at: Timestamp::from_unix_seconds(0),
        }
        .render()
        .unwrap();
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(
            mail.html
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
                || mail.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{}",
            mail.html
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
}
