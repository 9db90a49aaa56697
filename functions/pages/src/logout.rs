//! RP-initiated logout, `/{org}/oidc/logout`: an application's "sign out" ends the person's
//! Gatehouse session (asking first unless the application proved who is signed in) and sends
//! them back to the application's registered post-logout URI, or says they are signed out.

use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::usecase::logout::{
    check_logout, proven_by_the_application, LogoutError, LogoutRequest,
};
use gatehouse_domain::usecase::pages::sign_out;
use minijinja::context;

use crate::*;

/// The carried request's fields are named with this prefix in the confirmation form.
const CARRIED: &str = "oidc:";

/// (key, English, French).
pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("logout_title", "Sign out of {org}?", "Se déconnecter de {org}\u{202f}?"),
    ("logout_ask", "{app} asks to sign you out of {org}.", "{app} demande à vous déconnecter de {org}."),
    ("logout_ask_unnamed", "An application asks to sign you out of {org}.", "Une application demande à vous déconnecter de {org}."),
    ("logout_confirm", "Sign out", "Se déconnecter"),
    ("logout_done_title", "You are signed out", "Vous êtes déconnecté(e)"),
    ("logout_done", "You are signed out of {org}. You can close this page.", "Vous êtes déconnecté(e) de {org}. Vous pouvez fermer cette page."),
    ("logout_refused_title", "This sign-out link does not work", "Ce lien de déconnexion ne fonctionne pas"),
    ("logout_refused", "The application that sent you here asked for something Gatehouse does not do for it (an address it has not registered, or a token that is not its own). You are still signed in; sign out from Gatehouse's pages if you wish.", "L'application qui vous a envoyé ici a demandé ce que Gatehouse ne fait pas pour elle (une adresse non enregistrée, ou un jeton qui n'est pas le sien). Vous êtes toujours connecté(e)\u{202f}; déconnectez-vous depuis les pages de Gatehouse si vous le souhaitez."),
];

pub(crate) async fn logout_page(mut visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let params = visit.query.clone();
        let request = match check_logout(&visit.services, &domain, &params).await {
            Ok(request) => request,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let session = session_of(&visit);
        if session.is_none() {
            return Ok(after(&visit, &org, &request));
        }
        match proven_by_the_application(&visit.services, &request, session.as_ref()).await {
            Ok(true) => end_and_go(&mut visit, &org, &request).await,
            Ok(false) => ask(&visit, &org, &request),
            Err(e) => visit.trouble(&e),
        }
    })
}

pub(crate) async fn logout_submit(
    Form {
        mut visit, pairs, ..
    }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let carried: Vec<(String, String)> = pairs
            .iter()
            .filter_map(|(n, v)| n.strip_prefix(CARRIED).map(|n| (n.to_string(), v.clone())))
            .collect();
        match check_logout(&visit.services, &domain, &carried).await {
            Ok(request) => end_and_go(&mut visit, &org, &request).await,
            Err(e) => refused(&visit, &org, &e),
        }
    })
}

async fn end_and_go(visit: &mut Visit, org: &Org, request: &LogoutRequest) -> Response {
    if let Some(token) = session_of(visit) {
        if let Err(e) = sign_out(&visit.services, &org.domain, &token).await {
            return visit.trouble(&e);
        }
    }
    let cleared = visit.cookie(SESSION_COOKIE, "", Some(0));
    visit.set_cookies.push(cleared);
    after(visit, org, request)
}

/// Back to the application's registered post-logout URI, or the signed-out page.
fn after(visit: &Visit, org: &Org, request: &LogoutRequest) -> Response {
    match &request.then {
        Some(to) => visit.see_other(to.as_str()),
        None => visit.message(
            StatusCode::OK,
            org.name(),
            &visit.say("logout_done_title", &[]),
            &visit.say("logout_done", &[("org", org.name())]),
            &[],
        ),
    }
}

fn ask(visit: &Visit, org: &Org, request: &LogoutRequest) -> Response {
    let carried: Vec<(String, String)> = request
        .params
        .iter()
        .map(|(n, v)| (format!("{CARRIED}{n}"), v.clone()))
        .collect();
    let text = match &request.client {
        Some(client) => visit.say(
            "logout_ask",
            &[("app", client.name.as_str()), ("org", org.name())],
        ),
        None => visit.say("logout_ask_unnamed", &[("org", org.name())]),
    };
    visit.render(
        StatusCode::OK,
        "logout.html",
        org.name(),
        &visit.say("logout_title", &[("org", org.name())]),
        context! {
            text => text,
            action => format!("/{}/oidc/logout", visit.slug),
            carried => carried,
        },
    )
}

fn refused(visit: &Visit, org: &Org, e: &LogoutError) -> Response {
    if e.class() == RejectionClass::Internal {
        return visit.trouble(e);
    }
    visit.message(
        StatusCode::BAD_REQUEST,
        org.name(),
        &visit.say("logout_refused_title", &[]),
        &visit.say("logout_refused", &[]),
        &[],
    )
}
