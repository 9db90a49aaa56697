//! Signing in and out, and the welcome page.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::usecase::pages::{sign_out, signed_in_user};
use gatehouse_domain::usecase::sign_in::{sign_in, SignInError, SignInOutcome, SignInRequest};
use gatehouse_http::Client;
use minijinja::context;

use crate::*;

// ---------------------------------------------------------------------------------------------
// Signing in and out

pub(crate) async fn sign_in_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (_, org) = visit.org().await?;
        sign_in_form(&visit, &org, "", &Problems::default())
    })
}

pub(crate) fn sign_in_form(
    visit: &Visit,
    org: &Org,
    identifier: &str,
    problems: &Problems,
) -> Response {
    sign_in_form_for(visit, org, identifier, problems, SignInTarget::default())
}

/// Where the sign-in form posts, and what it carries: the sign-in page's own, or an
/// application's authorization request (`crate::authorize`).
#[derive(Default)]
pub(crate) struct SignInTarget {
    pub(crate) action: String,
    pub(crate) carried: Vec<(String, String)>,
    /// The application the person signs in to.
    pub(crate) app: Option<String>,
}

pub(crate) fn sign_in_form_for(
    visit: &Visit,
    org: &Org,
    identifier: &str,
    problems: &Problems,
    target: SignInTarget,
) -> Response {
    let name = org.name();
    let action = if target.action.is_empty() {
        format!("/{}/sign-in", visit.slug)
    } else {
        target.action
    };
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        },
        "sign_in.html",
        name,
        &visit.say("sign_in_title", &[("org", name)]),
        context! {
            identifier => identifier,
            identifier_hint => org.settings.sign_up_without_email.then(|| visit.say("identifier_hint", &[("org", org.domain.as_str())])),
            codes => org.settings.sign_up_without_email,
            self_registration => org.settings.self_registration,
            errors => problems.errors(),
            summary => problems.summary(),
            action => action,
            carried => target.carried,
            passkeys => visit.services.passkeys.offered(),
            continue_to => target.app.map(|app| visit.say("continue_to_app", &[("app", &app)])),
        },
    )
}

pub(crate) async fn sign_in_submit(
    Client(client): Client,
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let identifier = fields
            .get("identifier")
            .map(|s| s.trim())
            .unwrap_or("")
            .to_string();
        let password = fields.get("password").cloned().unwrap_or_default();
        let mut problems = Problems::default();
        if identifier.is_empty() {
            problems.at("identifier", visit.say("err_required", &[]));
        }
        if password.is_empty() {
            problems.at("password", visit.say("err_required", &[]));
        }
        if !problems.is_empty() {
            return Ok(sign_in_form(&visit, &org, &identifier, &problems));
        }
        let outcome = sign_in(
            &visit.services,
            &domain,
            SignInRequest {
                identifier: identifier.clone(),
                password,
            },
            &client,
        )
        .await;
        match outcome {
            Ok(SignInOutcome::SignedIn(signed)) => visit.signed_in(&signed),
            Ok(SignInOutcome::SecondFactor(pending)) => {
                crate::second_step::second_step_page(&visit, &org, &pending, &client, Vec::new())
                    .await
            }
            Err(SignInError::Internal(cause)) => visit.trouble(&*cause),
            Err(e) => {
                problems.general.push(refusal_text(&visit, &org, &e));
                let mut page = sign_in_form(&visit, &org, &identifier, &problems);
                if let Some(wait) = e.retry_after() {
                    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                        page.headers_mut().insert(header::RETRY_AFTER, v);
                    }
                }
                page
            }
        }
    })
}

pub(crate) fn session_of(visit: &Visit) -> Option<SessionToken> {
    visit
        .session_cookie()
        .and_then(|raw| SessionToken::parse(raw).ok())
}

pub(crate) async fn welcome_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let sign_in_path = format!("/{}/sign-in", visit.slug);
        let Some(token) = session_of(&visit) else {
            return Ok(visit.redirect(&sign_in_path));
        };
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) if e.class() == RejectionClass::Internal => return Ok(visit.trouble(&e)),
            Err(_) => return Ok(visit.redirect(&sign_in_path)),
        };
        let identifier = match (&user.email, &user.uid) {
            (Some(email), _) => email.to_string(),
            (None, Some(uid)) => uid.sign_in_identifier(&domain),
            (None, None) => String::new(),
        };
        let person = format!("{} {}", user.first_name, user.last_name);
        visit.render(
        StatusCode::OK,
        "welcome.html",
        org.name(),
        &visit.say("welcome_title", &[]),
        context! {
            text => visit.say("signed_in_as", &[("org", org.name()), ("name", &person), ("identifier", &identifier)]),
            console => (user.role == gatehouse_domain::types::Role::Admin).then(|| format!("/{}/admin", visit.slug)),
            // Members the settings let invite (by email, or into the groups they administer).
            invite => (user.role == gatehouse_domain::types::Role::Member
                && (org.settings.members_can_invite || org.settings.group_admins_can_invite))
                .then(|| format!("/{}/admin/invite", visit.slug)),
        },
    )
    })
}

pub(crate) async fn sign_out_submit(Form { mut visit, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, _) = visit.org().await?;
        if let Some(token) = session_of(&visit) {
            if let Err(e) = sign_out(&visit.services, &domain, &token).await {
                return Ok(visit.trouble(&e));
            }
        }
        let cleared = visit.cookie(SESSION_COOKIE, "", Some(0));
        visit.set_cookies.push(cleared);
        visit.redirect(&format!("/{}/sign-in", visit.slug))
    })
}
