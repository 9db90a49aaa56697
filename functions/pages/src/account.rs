//! My account, for everyone signed in: their password, their email (changed through a link to
//! the new address) and signing out everywhere.

use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::usecase::accounts::sign_out_everywhere;
use gatehouse_domain::usecase::email_change::request_email_change;
use gatehouse_domain::usecase::pages::signed_in_user;
use gatehouse_domain::usecase::password::set_password;
use gatehouse_http::{at_the_mail_floor, Client};
use minijinja::context;

use crate::invitations::{refused, session};
use crate::{refusal_text, Form, Page, Problems, Visit};

// ---------------------------------------------------------------------------------------------
// One's own password

pub(crate) async fn own_password_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        if let Err(page) = session(&visit, &domain).await {
            return Ok(*page);
        }
        own_password_form(&visit, &org, None, &Problems::default())
    })
}

fn own_password_form(
    visit: &Visit,
    org: &Org,
    notice: Option<String>,
    problems: &Problems,
) -> Response {
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "account_password.html",
        org.name(),
        &visit.say("account_password_title", &[]),
        context! {
            notice => notice,
            avoid => org.domain.as_str(),
            min => org.settings.password_min_length.to_string(),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

pub(crate) async fn own_password_submit(
    Client(client): Client,
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let current = fields.get("current_password").cloned().unwrap_or_default();
        let new = fields.get("password").cloned().unwrap_or_default();
        let mut problems = Problems::default();
        match set_password(
            &visit.services,
            &domain,
            Some(&token),
            &user.id,
            &new,
            Some(&current),
            &client,
        )
        .await
        {
            Ok(()) => own_password_form(
                &visit,
                &org,
                Some(visit.say("password_changed", &[])),
                &problems,
            ),
            Err(e) if e.code() == "wrong_current_password" => {
                problems.at(
                    "current_password",
                    visit.say("err_wrong_current_password", &[]),
                );
                own_password_form(&visit, &org, None, &problems)
            }
            Err(e) if e.code().starts_with("password_") => {
                problems.at("password", refusal_text(&visit, &org, &e));
                own_password_form(&visit, &org, None, &problems)
            }
            Err(e) if e.class() == RejectionClass::Throttled => {
                problems.general.push(refusal_text(&visit, &org, &e));
                own_password_form(&visit, &org, None, &problems)
            }
            Err(e) => refused(&visit, &org, &e),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// My account: email and sessions

/// (key, English, French).
pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("account_title", "My account", "Mon compte"),
    ("account_link", "My account", "Mon compte"),
    ("back_to_account", "Back to my account", "Retour à mon compte"),
    ("current_email", "Your email address is {email}.", "Votre adresse e-mail est {email}."),
    ("own_email_sent", "If {email} is free, a link to confirm it is on its way there. Until you follow it, sign in with your current address.", "Si {email} est libre, un lien pour la confirmer y est envoyé. D'ici là, connectez-vous avec votre adresse actuelle."),
    ("sign_out_everywhere_hint", "Ends every session of your account, on every device and in every application, this one included.", "Ferme toutes les sessions de votre compte, sur tous les appareils et dans toutes les applications, y compris celle-ci."),
    ("signed_out_title", "You are signed out everywhere", "Vous êtes déconnecté(e) partout"),
    ("signed_out_text", "Every session of your account has ended. Sign in again where you need to.", "Toutes les sessions de votre compte sont fermées. Reconnectez-vous là où vous en avez besoin."),
];

pub(crate) async fn account_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        account_form(&visit, &domain, &org, &token, None, &Problems::default()).await
    })
}

pub(crate) async fn account_form(
    visit: &Visit,
    domain: &gatehouse_domain::types::OrgDomain,
    org: &Org,
    token: &gatehouse_domain::secret::SessionToken,
    notice: Option<String>,
    problems: &Problems,
) -> Response {
    let user = match signed_in_user(&visit.services, domain, token).await {
        Ok(user) => user,
        Err(e) => return refused(visit, org, &e),
    };
    let email = user.email.as_ref().map(|e| e.to_string());
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "account.html",
        org.name(),
        &visit.say("account_title", &[]),
        context! {
            current => email.map(|e| visit.say("current_email", &[("email", &e)])),
            security => crate::security::security_view(visit, &user),
            notice => notice,
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

pub(crate) async fn own_email_submit(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let mut problems = Problems::default();
        let Some(email) = crate::email_field(&visit, &mut problems, &fields) else {
            return Ok(account_form(&visit, &domain, &org, &token, None, &problems).await);
        };
        let current = fields.get("current_password").map(String::as_str);
        let asked = request_email_change(
            &visit.services,
            &domain,
            Some(&token),
            &user.id,
            &email,
            current,
            Some(visit.lang.language()),
        );
        let notice = match at_the_mail_floor(&visit.services, asked).await {
            Ok(()) => Some(visit.say("own_email_sent", &[("email", email.as_str())])),
            Err(e) if e.code() == "wrong_current_password" => {
                let text = visit.say("err_wrong_current_password", &[]);
                problems.at("current_password", text);
                None
            }
            Err(e) if e.code() == "missing_current_password" => {
                problems.at("current_password", visit.say("err_required", &[]));
                None
            }
            Err(e) if e.class() == RejectionClass::Throttled => {
                problems.general.push(refusal_text(&visit, &org, &e));
                None
            }
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        account_form(&visit, &domain, &org, &token, notice, &problems).await
    })
}

pub(crate) async fn sign_out_everywhere_submit(Form { visit, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        match sign_out_everywhere(&visit.services, &domain, Some(&token), &user.id).await {
            Ok(_) => visit.message(
                StatusCode::OK,
                org.name(),
                &visit.say("signed_out_title", &[]),
                &visit.say("signed_out_text", &[]),
                &[visit.sign_in_link()],
            ),
            Err(e) => refused(&visit, &org, &e),
        }
    })
}
