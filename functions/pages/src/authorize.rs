//! The OpenID Connect authorization endpoint, `/{org}/oidc/authorize`: an application sends the
//! person here; signed in (recently enough), they go straight back with a code; otherwise the
//! sign-in page asks for their password, carrying the request along, and sends them back once
//! signed in. An unknown application or an unregistered redirect URI is answered here (400),
//! never redirected to.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::usecase::authorize::{
    after_sign_in, check_authorization, decide, AuthorizationRequest, AuthorizeError, Checked,
    ClientRedirect, Decision,
};
use gatehouse_domain::usecase::sign_in::{sign_in, SignInError, SignInOutcome, SignInRequest};
use gatehouse_domain::usecase::SignedIn;
use gatehouse_http::Client;

use crate::*;

/// The carried request's fields are named with this prefix in the sign-in form.
const CARRIED: &str = "oidc:";

/// (key, English, French).
pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("continue_to_app", "to continue to {app}", "pour continuer vers {app}"),
    ("authorize_refused_title", "This sign-in link does not work", "Ce lien de connexion ne fonctionne pas"),
    ("authorize_unknown_client", "The application that sent you here is not registered with {org}. Go back to it and try again, or tell its administrators.", "L'application qui vous a envoyé ici n'est pas enregistrée auprès de {org}. Revenez-y et réessayez, ou prévenez ses administrateurs."),
    ("authorize_bad_redirect", "The application that sent you here asked to be answered at an address it has not registered with {org}, so you are not sent back there. Tell its administrators.", "L'application qui vous a envoyé ici a demandé une réponse à une adresse qu'elle n'a pas enregistrée auprès de {org}\u{a0}: vous n'y êtes donc pas renvoyé. Prévenez ses administrateurs."),
    ("authorize_malformed", "The request from the application is malformed (a parameter is given twice). Go back to it and try again.", "La demande de l'application est mal formée (un paramètre est donné deux fois). Revenez-y et réessayez."),
];

pub(crate) async fn authorize_page(mut visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let params = visit.query.clone();
        let request = match check_authorization(&visit.services, &domain, &params).await {
            Ok(Checked::Valid(request)) => request,
            Ok(Checked::Refused(to)) => return Ok(to_client(&visit, &to)),
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        prefer_asked_language(&mut visit, &request);
        match decide(&visit.services, *request, session_of(&visit).as_ref()).await {
            Ok(Decision::Redirect(to)) => to_client(&visit, &to),
            Ok(Decision::SignIn(request)) => {
                let hint = request.login_hint.clone().unwrap_or_default();
                sign_in_here(&visit, &org, &request, &hint, &Problems::default())
            }
            Err(e) => refused(&visit, &org, &e),
        }
    })
}

pub(crate) async fn authorize_submit(
    Client(client): Client,
    Form {
        mut visit,
        fields,
        pairs,
    }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let carried = unprefixed(&carried_fields(&pairs));
        let request = match check_authorization(&visit.services, &domain, &carried).await {
            Ok(Checked::Valid(request)) => request,
            Ok(Checked::Refused(to)) => return Ok(to_client(&visit, &to)),
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
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
            return Ok(sign_in_here(&visit, &org, &request, &identifier, &problems));
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
            Ok(SignInOutcome::SignedIn(signed)) => {
                visit.keep_session(&signed);
                match after_sign_in(&visit.services, &request, &signed).await {
                    Ok(to) => to_client(&visit, &to),
                    Err(e) => refused(&visit, &org, &e),
                }
            }
            Ok(SignInOutcome::SecondFactor(pending)) => {
                let carried = prefixed(&request);
                crate::second_step::second_step_page(&visit, &org, &pending, &client, carried).await
            }
            Err(SignInError::Internal(cause)) => visit.trouble(&*cause),
            Err(e) => {
                problems.general.push(refusal_text(&visit, &org, &e));
                let mut page = sign_in_here(&visit, &org, &request, &identifier, &problems);
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

/// `ui_locales`, when the visitor has not chosen a language here.
fn prefer_asked_language(visit: &mut Visit, request: &AuthorizationRequest) {
    if visit.chose_lang {
        return;
    }
    let asked = request
        .ui_locales
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .find_map(|tag| Lang::parse(tag.split('-').next().unwrap_or_default()));
    if let Some(lang) = asked {
        visit.lang = lang;
    }
}

/// Back to the application: a registered redirect URI, matched exactly by the domain (the one
/// redirect that leaves the origin).
fn to_client(visit: &Visit, to: &ClientRedirect) -> Response {
    visit.see_other(to.as_str())
}

fn refused(visit: &Visit, org: &Org, e: &AuthorizeError) -> Response {
    if e.class() == RejectionClass::Internal {
        return visit.trouble(e);
    }
    let key = match e {
        AuthorizeError::UnknownClient => "authorize_unknown_client",
        AuthorizeError::UnregisteredRedirectUri => "authorize_bad_redirect",
        _ => "authorize_malformed",
    };
    visit.message(
        StatusCode::BAD_REQUEST,
        org.name(),
        &visit.say("authorize_refused_title", &[]),
        &visit.say(key, &[("org", org.name())]),
        &[],
    )
}

/// The fields of a form that carry an authorization request (still prefixed).
pub(crate) fn carried_fields(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(n, _)| n.starts_with(CARRIED))
        .cloned()
        .collect()
}

/// The request's parameters as the carried fields name them.
fn unprefixed(carried: &[(String, String)]) -> Vec<(String, String)> {
    carried
        .iter()
        .filter_map(|(n, v)| n.strip_prefix(CARRIED).map(|n| (n.to_string(), v.clone())))
        .collect()
}

/// A request's parameters as fields to carry.
fn prefixed(request: &AuthorizationRequest) -> Vec<(String, String)> {
    request
        .params
        .iter()
        .map(|(n, v)| (format!("{CARRIED}{n}"), v.clone()))
        .collect()
}

/// The authorization request carried in `carried`, asked again (here, on this origin): signed in
/// by now, the person goes straight back to the application with a fresh code.
pub(crate) fn authorize_link(visit: &Visit, carried: &[(String, String)]) -> String {
    let query = serde_urlencoded::to_string(unprefixed(carried)).unwrap_or_default();
    format!("/{}/oidc/authorize?{query}", visit.slug)
}

/// A sign-in begun at an authorization request, finished by its second step: back to the
/// application with a code (the request checked again: it travelled through the person's form).
pub(crate) async fn continue_authorization(
    mut visit: Visit,
    org: &Org,
    carried: &[(String, String)],
    signed: &SignedIn,
) -> Response {
    let params = unprefixed(carried);
    let request = match check_authorization(&visit.services, &org.domain, &params).await {
        Ok(Checked::Valid(request)) => request,
        Ok(Checked::Refused(to)) => {
            visit.keep_session(signed);
            return to_client(&visit, &to);
        }
        Err(e) => return refused(&visit, org, &e),
    };
    visit.keep_session(signed);
    match after_sign_in(&visit.services, &request, signed).await {
        Ok(to) => to_client(&visit, &to),
        Err(e) => refused(&visit, org, &e),
    }
}

/// The sign-in page, posting to the authorization endpoint with the request carried along.
fn sign_in_here(
    visit: &Visit,
    org: &Org,
    request: &AuthorizationRequest,
    identifier: &str,
    problems: &Problems,
) -> Response {
    let carried = prefixed(request);
    sign_in_form_for(
        visit,
        org,
        identifier,
        problems,
        SignInTarget {
            action: format!("/{}/oidc/authorize", visit.slug),
            carried,
            app: Some(request.client.name.to_string()),
        },
    )
}
