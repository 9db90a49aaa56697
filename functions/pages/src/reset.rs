//! Forgotten passwords: asking for a link, and setting a new password with it.

use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::Rejection;
use gatehouse_domain::model::Org;
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::usecase::password::{
    confirm_password_reset, request_password_reset, PasswordChangeError,
};
use gatehouse_http::Client;
use minijinja::context;

use crate::*;
use gatehouse_http::at_the_mail_floor;

// ---------------------------------------------------------------------------------------------
// Forgotten passwords

pub(crate) async fn forgot_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (_, org) = visit.org().await?;
        forgot_form(&visit, &org, "", &Problems::default())
    })
}

pub(crate) fn forgot_form(visit: &Visit, org: &Org, email: &str, problems: &Problems) -> Response {
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "forgot.html",
        org.name(),
        &visit.say("forgot_title", &[]),
        context! { email => email, errors => problems.errors(), summary => problems.summary() },
    )
}

pub(crate) async fn forgot_submit(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let mut problems = Problems::default();
        let Some(email) = email_field(&visit, &mut problems, &fields) else {
            let typed = fields.get("email").map(String::as_str).unwrap_or("");
            return Ok(forgot_form(&visit, &org, typed, &problems));
        };
        // Sending mail takes time; not sending takes less. Answer at the same moment either way.
        let outcome = at_the_mail_floor(
            &visit.services,
            request_password_reset(
                &visit.services,
                &domain,
                &email,
                Some(visit.lang.language()),
            ),
        )
        .await;
        match outcome {
            Ok(()) => visit.message(
                StatusCode::OK,
                org.name(),
                &visit.say("check_inbox_title", &[]),
                &visit.say("forgot_sent", &[("email", email.as_str())]),
                &[visit.sign_in_link()],
            ),
            Err(e) => visit.trouble(&e),
        }
    })
}

pub(crate) async fn reset_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (_, org) = visit.org().await?;
        let token = visit.param("token").unwrap_or("").to_string();
        if SecretToken::parse(&token).is_err() {
            return Ok(reset_refused(&visit, &org));
        }
        reset_form(&visit, &org, &token, &Problems::default())
    })
}

pub(crate) fn reset_form(visit: &Visit, org: &Org, token: &str, problems: &Problems) -> Response {
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "reset.html",
        org.name(),
        &visit.say("reset_title", &[]),
        context! {
            token => token,
            avoid => org.domain.as_str(),
            min => org.settings.password_min_length.to_string(),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

pub(crate) fn reset_refused(visit: &Visit, org: &Org) -> Response {
    visit.message(
        StatusCode::GONE,
        org.name(),
        &visit.say("reset_invalid_title", &[]),
        &visit.say("reset_invalid", &[]),
        &[(
            format!("/{}/forgot-password", visit.slug),
            visit.say("go_forgot", &[]),
        )],
    )
}

pub(crate) async fn reset_submit(
    Client(client): Client,
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = fields.get("token").cloned().unwrap_or_default();
        let Ok(secret) = SecretToken::parse(&token) else {
            return Ok(reset_refused(&visit, &org));
        };
        let password = fields.get("password").cloned().unwrap_or_default();
        match confirm_password_reset(&visit.services, &domain, &secret, &password, &client).await {
            Ok(()) => visit.message(
                StatusCode::OK,
                org.name(),
                &visit.say("reset_done_title", &[]),
                &visit.say("reset_done", &[]),
                &[visit.sign_in_link()],
            ),
            Err(PasswordChangeError::InvalidToken | PasswordChangeError::Expired) => {
                reset_refused(&visit, &org)
            }
            Err(e) if is_password_problem(e.code()) => {
                let mut problems = Problems::default();
                problems.at("password", refusal_text(&visit, &org, &e));
                reset_form(&visit, &org, &token, &problems)
            }
            Err(e) => visit.trouble(&e),
        }
    })
}
