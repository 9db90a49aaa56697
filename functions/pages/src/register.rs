//! Registering through the organisation's invitation link, or by oneself.

use std::collections::HashMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use gatehouse_domain::error::Rejection;
use gatehouse_domain::model::Org;
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::types::InviteeRole;
use gatehouse_domain::usecase::invitation_link::{
    check_link, register_self, register_with_link, LinkRegistration, RegistrationError,
    SelfRegistration,
};
use gatehouse_http::Client;
use minijinja::context;

use crate::*;
use gatehouse_http::at_the_mail_floor;

// ---------------------------------------------------------------------------------------------
// Registering through the invitation link, or by oneself

pub(crate) async fn join_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let token = visit.param("token").unwrap_or("").to_string();
        registration_form(&visit, Some(&token), &HashMap::new(), &Problems::default()).await?
    })
}

pub(crate) async fn register_page(visit: Visit) -> Result<Response, Page> {
    registration_form(&visit, None, &HashMap::new(), &Problems::default()).await
}

/// The registration form, through the link `token` (or by oneself when `None`), or the page
/// saying why it is not available.
pub(crate) async fn registration_form(
    visit: &Visit,
    token: Option<&str>,
    typed: &HashMap<String, String>,
    problems: &Problems,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let role = match token {
            Some(token) => {
                let checked = match SecretToken::parse(token) {
                    Ok(secret) => check_link(&visit.services, &domain, &secret).await,
                    Err(_) => Err(RegistrationError::LinkInvalid),
                };
                match checked {
                    Ok((_, link)) => link.role,
                    Err(e) => return Ok(registration_refused(visit, &org, &e)),
                }
            }
            None if org.settings.self_registration => InviteeRole::Member,
            None => {
                return Ok(registration_refused(
                    visit,
                    &org,
                    &RegistrationError::SelfRegistrationOff,
                ))
            }
        };
        let value = |k: &str| typed.get(k).cloned().unwrap_or_default();
        let action = match token {
            Some(_) => format!("/{}/join", visit.slug),
            None => format!("/{}/register", visit.slug),
        };
        visit.render(
            if problems.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            "join.html",
            org.name(),
            &visit.say("join_title", &[("org", org.name())]),
            context! {
                action => action,
                token => token,
                role_text => role_text(visit, role),
                email => value("email"),
                first_name => value("first_name"),
                last_name => value("last_name"),
                errors => problems.errors(),
                summary => problems.summary(),
            },
        )
    })
}

pub(crate) fn registration_refused(visit: &Visit, org: &Org, e: &RegistrationError) -> Response {
    let name = org.name();
    let (status, title, text) = match e {
        RegistrationError::LinkInvalid => (StatusCode::GONE, "join_invalid_title", "join_invalid"),
        RegistrationError::LinkExpired => (StatusCode::GONE, "join_invalid_title", "join_expired"),
        RegistrationError::LinkUsedUp => (StatusCode::GONE, "join_invalid_title", "join_used_up"),
        RegistrationError::SelfRegistrationOff => {
            (StatusCode::FORBIDDEN, "unavailable_title", "register_off")
        }
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

pub(crate) async fn join_submit(
    Client(client): Client,
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    registration_submit(visit, fields, client, true).await
}

pub(crate) async fn register_submit(
    Client(client): Client,
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    registration_submit(visit, fields, client, false).await
}

pub(crate) async fn registration_submit(
    visit: Visit,
    fields: HashMap<String, String>,
    client: gatehouse_domain::usecase::ClientAddress,
    through_link: bool,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = fields.get("token").cloned().unwrap_or_default();
        let token_ref = through_link.then_some(token.as_str());
        let mut problems = Problems::default();
        let email = email_field(&visit, &mut problems, &fields);
        let first = name_field(&visit, &mut problems, &fields, "first_name");
        let last = name_field(&visit, &mut problems, &fields, "last_name");
        let (Some(email), Some(first_name), Some(last_name)) = (email, first, last) else {
            return registration_form(&visit, token_ref, &fields, &problems).await;
        };
        // Mailing a confirmation takes time; an address already here gets none. Answer at the same
        // moment either way.
        let outcome = at_the_mail_floor(&visit.services, async {
            if through_link {
                match SecretToken::parse(&token) {
                    Ok(secret) => {
                        register_with_link(
                            &visit.services,
                            &domain,
                            LinkRegistration {
                                token: secret,
                                email: email.clone(),
                                first_name,
                                last_name,
                                language: Some(visit.lang.language()),
                            },
                            &client,
                        )
                        .await
                    }
                    Err(_) => Err(RegistrationError::LinkInvalid),
                }
            } else {
                register_self(
                    &visit.services,
                    &domain,
                    SelfRegistration {
                        email: email.clone(),
                        first_name,
                        last_name,
                        language: Some(visit.lang.language()),
                    },
                    &client,
                )
                .await
            }
        })
        .await;
        match outcome {
            Ok(()) => visit.message(
                StatusCode::OK,
                org.name(),
                &visit.say("check_inbox_title", &[]),
                &visit.say("check_inbox", &[("email", email.as_str())]),
                &[],
            ),
            Err(
                e @ (RegistrationError::EmailDomainNotAllowed
                | RegistrationError::TooManyRegistrations(_)),
            ) => {
                let field = matches!(e, RegistrationError::EmailDomainNotAllowed);
                let text = refusal_text(&visit, &org, &e);
                if field {
                    problems.at("email", text);
                } else {
                    problems.general.push(text);
                }
                let mut page = registration_form(&visit, token_ref, &fields, &problems).await?;
                if let Some(wait) = e.retry_after() {
                    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                        page.headers_mut().insert(header::RETRY_AFTER, v);
                    }
                }
                page
            }
            Err(e) => registration_refused(&visit, &org, &e),
        }
    })
}
