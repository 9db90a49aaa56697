//! The page at the link mailed to a new address: it says which address and account the link is
//! for and asks to confirm (a link opened by a mail scanner changes nothing); confirming makes it
//! the account's address.

use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::model::Org;
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::usecase::email_change::{
    confirm_email_change, pending_email_change, EmailChangeError,
};
use minijinja::context;

use crate::{Form, Page, Visit};

/// (key, English, French).
pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("email_change_title", "Confirm your new email address", "Confirmez votre nouvelle adresse e-mail"),
    ("email_change_text", "Once you confirm, {name} signs in to {org} with {email}, and the current address no longer works.", "Une fois confirmée, {name} se connecte à {org} avec {email}, et l'adresse actuelle ne fonctionne plus."),
    ("email_change_submit", "Confirm this address", "Confirmer cette adresse"),
    ("email_changed_title", "Your email address is changed", "Votre adresse e-mail est modifiée"),
    ("email_changed", "Sign in with {email} from now on; the old address no longer works.", "Connectez-vous désormais avec {email}\u{202f}; l'ancienne adresse ne fonctionne plus."),
    ("email_change_invalid_title", "This link cannot be used", "Ce lien ne peut pas être utilisé"),
    ("email_change_invalid", "It has been used already, was replaced by a newer request, has expired (links work for 24 hours) or was copied incompletely. Ask for the change again from your account.", "Il a déjà servi, a été remplacé par une demande plus récente, a expiré (les liens fonctionnent 24 heures) ou a été mal copié. Redemandez le changement depuis votre compte."),
    ("email_change_taken", "Someone else has taken this address meanwhile. Ask for the change again with another address.", "Quelqu'un d'autre a pris cette adresse entre-temps. Redemandez le changement avec une autre adresse."),
];

pub(crate) async fn email_change_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let raw = visit.param("token").unwrap_or("").to_string();
        let Ok(token) = SecretToken::parse(&raw) else {
            return Ok(unusable(&visit, &org, "email_change_invalid"));
        };
        match pending_email_change(&visit.services, &domain, &token).await {
            Ok((change, user)) => {
                let name = format!("{} {}", user.first_name, user.last_name);
                let text = visit.say(
                    "email_change_text",
                    &[
                        ("name", &name),
                        ("org", org.name()),
                        ("email", change.to.as_str()),
                    ],
                );
                visit.render(
                    StatusCode::OK,
                    "email_change.html",
                    org.name(),
                    &visit.say("email_change_title", &[]),
                    context! { token => raw, text => text },
                )
            }
            Err(e) => refusal(&visit, &org, &e),
        }
    })
}

pub(crate) async fn email_change_submit(
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let raw = fields.get("token").cloned().unwrap_or_default();
        let Ok(token) = SecretToken::parse(&raw) else {
            return Ok(unusable(&visit, &org, "email_change_invalid"));
        };
        match confirm_email_change(&visit.services, &domain, &token).await {
            Ok(user) => {
                let email = user.email.map(|e| e.to_string()).unwrap_or_default();
                visit.message(
                    StatusCode::OK,
                    org.name(),
                    &visit.say("email_changed_title", &[]),
                    &visit.say("email_changed", &[("email", &email)]),
                    &[visit.sign_in_link()],
                )
            }
            Err(e) => refusal(&visit, &org, &e),
        }
    })
}

fn refusal(visit: &Visit, org: &Org, e: &EmailChangeError) -> Response {
    match e {
        EmailChangeError::InvalidToken | EmailChangeError::Expired => {
            unusable(visit, org, "email_change_invalid")
        }
        EmailChangeError::EmailTaken => unusable(visit, org, "email_change_taken"),
        e => visit.trouble(e),
    }
}

fn unusable(visit: &Visit, org: &Org, why: &str) -> Response {
    visit.message(
        StatusCode::GONE,
        org.name(),
        &visit.say("email_change_invalid_title", &[]),
        &visit.say(why, &[]),
        &[(
            format!("/{}/account", visit.slug),
            visit.say("account_link", &[]),
        )],
    )
}
