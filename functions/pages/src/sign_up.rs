//! Signing up: accepting an email invitation (or confirming a registration), and with an access code.

use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::usecase::pages::preview_invitation;
use gatehouse_domain::usecase::sign_up::{
    check_access_code, sign_up_with_access_code, sign_up_with_email_invitation,
    AccessCodeSignUpRequest, EmailSignUpRequest, SignUpError,
};
use gatehouse_http::Client;
use minijinja::context;

use crate::*;

// ---------------------------------------------------------------------------------------------
// Accepting an email invitation (or confirming a registration)

pub(crate) async fn sign_up_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let token = visit.param("token").unwrap_or("").to_string();
        invitation_form(&visit, &token, None, &Problems::default()).await?
    })
}

/// The sign-up form of the invitation `token` belongs to (with what was typed, and what was
/// wrong with it), or the page saying why the link cannot be used.
pub(crate) async fn invitation_form(
    visit: &Visit,
    token: &str,
    typed: Option<(&str, &str)>,
    problems: &Problems,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let preview = match SecretToken::parse(token) {
            Ok(secret) => preview_invitation(&visit.services, &domain, &secret).await,
            Err(_) => Err(SignUpError::InvalidToken),
        };
        let preview = match preview {
            Ok(p) => p,
            Err(e) => return Ok(link_refused(visit, &org, &e)),
        };
        let name = org.name();
        let headline = match (&preview.inviter, preview.confirmation) {
            (_, true) => visit.say("confirm_registration", &[("org", name)]),
            (Some(inviter), false) => {
                visit.say("invited_by", &[("inviter", inviter), ("org", name)])
            }
            (None, false) => visit.say("invited", &[("org", name)]),
        };
        let (first, last) =
            typed.unwrap_or((preview.first_name.as_str(), preview.last_name.as_str()));
        visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "sign_up.html",
        name,
        &visit.say("sign_up_title", &[]),
        context! {
            headline => headline,
            message => preview.message.as_ref().map(|m| m.as_str().to_string()),
            role_text => role_text(visit, preview.role),
            account_email => visit.say("account_email", &[("email", preview.email.as_str())]),
            valid_until => visit.say("link_valid_until", &[("date", &date_of(visit, preview.expires_at))]),
            token => token,
            first_name => first,
            last_name => last,
            // The names typed in the form are read as they change; these are the others.
            avoid => [domain.as_str(), preview.email.local_part(), first, last].join("\n"),
            min => org.settings.password_min_length.to_string(),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
    })
}

/// Why a sign-up link cannot be used, and what to do instead.
pub(crate) fn link_refused(visit: &Visit, org: &Org, e: &SignUpError) -> Response {
    let name = org.name();
    let (status, title, text) = match e {
        SignUpError::Expired => (StatusCode::GONE, "link_expired_title", "link_expired"),
        SignUpError::Revoked => (StatusCode::GONE, "link_revoked_title", "link_revoked"),
        SignUpError::Used => (StatusCode::GONE, "link_used_title", "link_used"),
        SignUpError::InvalidToken => (StatusCode::NOT_FOUND, "link_invalid_title", "link_invalid"),
        other => return visit.trouble(other),
    };
    visit.message(
        status,
        name,
        &visit.say(title, &[]),
        &visit.say(text, &[("org", name)]),
        &[visit.sign_in_link()],
    )
}

pub(crate) async fn sign_up_submit(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let token = fields.get("token").cloned().unwrap_or_default();
        let (domain, org) = visit.org().await?;
        let mut problems = Problems::default();
        let first = name_field(&visit, &mut problems, &fields, "first_name");
        let last = name_field(&visit, &mut problems, &fields, "last_name");
        let password = fields.get("password").cloned().unwrap_or_default();
        let typed = (
            fields.get("first_name").map(String::as_str).unwrap_or(""),
            fields.get("last_name").map(String::as_str).unwrap_or(""),
        );
        let Ok(secret) = SecretToken::parse(&token) else {
            return Ok(link_refused(&visit, &org, &SignUpError::InvalidToken));
        };
        if let (Some(first), Some(last)) = (first, last) {
            let outcome = sign_up_with_email_invitation(
                &visit.services,
                &domain,
                EmailSignUpRequest {
                    token: secret,
                    password,
                    first_name: Some(first),
                    last_name: Some(last),
                },
            )
            .await;
            match outcome {
                Ok(signed) => return Ok(visit.signed_up(&org, &signed).await),
                Err(e) if is_password_problem(e.code()) => {
                    problems.at("password", refusal_text(&visit, &org, &e));
                }
                Err(e) => return Ok(link_refused(&visit, &org, &e)),
            }
        }
        invitation_form(&visit, &token, Some(typed), &problems).await?
    })
}

// ---------------------------------------------------------------------------------------------
// Signing up with an access code

pub(crate) async fn code_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (_, org) = visit.org().await?;
        code_form(&visit, &org, "", None, &Problems::default())
    })
}

pub(crate) fn code_form(
    visit: &Visit,
    org: &Org,
    code: &str,
    checked: Option<(&str, String)>,
    problems: &Problems,
) -> Response {
    let name = org.name();
    if !org.settings.sign_up_without_email {
        return visit.message(
            StatusCode::NOT_FOUND,
            name,
            &visit.say("unavailable_title", &[]),
            &visit.say("code_off", &[("org", name)]),
            &[visit.sign_in_link()],
        );
    }
    let (identifier, hello) = match checked {
        Some((identifier, person)) => (
            Some(identifier.to_string()),
            Some(visit.say("hello", &[("name", &person)])),
        ),
        None => (None, None),
    };
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "code.html",
        name,
        &visit.say("code_title", &[]),
        context! {
            access_code => code,
            identifier => identifier,
            hello => hello,
            avoid => org.domain.as_str(),
            min => org.settings.password_min_length.to_string(),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

pub(crate) async fn code_submit(
    Client(client): Client,
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let typed = fields.get("access_code").map(|s| s.trim()).unwrap_or("");
        let mut problems = Problems::default();
        let code = match gatehouse_domain::access_code::AccessCode::parse(typed) {
            Ok(code) => code,
            Err(_) => {
                problems.at(
                    "access_code",
                    visit.say(
                        if typed.is_empty() {
                            "err_required"
                        } else {
                            "err_invalid_access_code"
                        },
                        &[],
                    ),
                );
                return Ok(code_form(&visit, &org, typed, None, &problems));
            }
        };
        let checked = match check_access_code(&visit.services, &domain, &code, &client).await {
            Ok(checked) => checked,
            Err(e) if e.class() == RejectionClass::Internal => return Ok(visit.trouble(&e)),
            Err(e) => {
                problems.at("access_code", refusal_text(&visit, &org, &e));
                return Ok(code_form(&visit, &org, typed, None, &problems));
            }
        };
        let person = format!("{} {}", checked.first_name, checked.last_name);
        if fields.get("step").map(String::as_str) != Some("create") {
            return Ok(code_form(
                &visit,
                &org,
                typed,
                Some((&checked.identifier, person)),
                &problems,
            ));
        }
        let password = fields.get("password").cloned().unwrap_or_default();
        match sign_up_with_access_code(
            &visit.services,
            &domain,
            AccessCodeSignUpRequest { code, password },
            &client,
        )
        .await
        {
            Ok(signed) => visit.signed_up(&org, &signed).await,
            Err(e) if e.class() == RejectionClass::Internal => visit.trouble(&e),
            Err(e) => {
                problems.at("password", refusal_text(&visit, &org, &e));
                code_form(
                    &visit,
                    &org,
                    typed,
                    Some((&checked.identifier, person)),
                    &problems,
                )
            }
        }
    })
}
