//! Passkeys on the pages, with a little JavaScript (`assets/gatehouse.js`): the sign-in page's
//! "Sign in with a passkey", and My account's list of passkeys, "Add a passkey" and "Remove".
//! The script asks for the ceremony's options (a POST answered in JSON), lets the browser make or
//! use the passkey, and sends the form with the credential in it: the answer is an ordinary page.
//! Without the script the buttons stay hidden, and the password (and code) path is the same.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::{Org, User};
use gatehouse_domain::passkey::PasskeyName;
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::usecase::pages::signed_in_user;
use gatehouse_domain::usecase::passkeys::{
    begin_registration, finish_registration, remove_passkey, PasskeyFlow,
};
use gatehouse_domain::usecase::sign_in_passkey::{
    begin_passkey_sign_in, finish_passkey_sign_in, PasskeySignInError,
};
use gatehouse_http::Client;

use crate::authorize::carried_fields;
use crate::invitations::{refused, session};
use crate::{Form, Page, Problems, Visit};

/// (key, English, French).
pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("passkeys_heading", "Passkeys", "Clés d'accès"),
    ("passkeys_lead", "A passkey signs you in without your password: your phone, computer or security key asks for your fingerprint, face or PIN.", "Une clé d'accès vous connecte sans mot de passe\u{a0}: votre téléphone, votre ordinateur ou votre clé de sécurité vous demande votre empreinte, votre visage ou votre code."),
    ("passkeys_none", "You have no passkey yet.", "Vous n'avez pas encore de clé d'accès."),
    ("passkey_name", "Name of the new passkey", "Nom de la nouvelle clé d'accès"),
    ("passkey_name_hint", "So that you can tell it from others: “Work laptop”, “Phone”.", "Pour la distinguer des autres\u{a0}: «\u{a0}Ordinateur du travail\u{a0}», «\u{a0}Téléphone\u{a0}»."),
    ("passkey_add", "Add a passkey", "Ajouter une clé d'accès"),
    ("passkey_remove", "Remove", "Retirer"),
    ("passkey_remove_label", "Remove the passkey {name}", "Retirer la clé d'accès {name}"),
    ("passkey_added_on", "added {date}", "ajoutée le {date}"),
    ("passkey_used_on", "last used {date}", "utilisée pour la dernière fois le {date}"),
    ("passkey_added", "Your passkey “{name}” is added: next time, sign in with it.", "Votre clé d'accès «\u{a0}{name}\u{a0}» est ajoutée\u{a0}: la prochaine fois, connectez-vous avec elle."),
    ("passkey_removed", "The passkey “{name}” is removed.", "La clé d'accès «\u{a0}{name}\u{a0}» est retirée."),
    ("passkey_sign_in", "Use a passkey", "Utiliser une clé d'accès"),
    ("passkey_or", "or", "ou"),
    ("passkey_failed", "The passkey was not used (cancelled, or none for this site). Try again, or sign in with your password.", "La clé d'accès n'a pas servi (annulé, ou aucune pour ce site). Réessayez, ou connectez-vous avec votre mot de passe."),
    ("err_passkey", "That passkey was not accepted. Try again, or sign in with your password.", "Cette clé d'accès n'a pas été acceptée. Réessayez, ou connectez-vous avec votre mot de passe."),
    ("err_passkey_flow", "This passkey sign-in took too long or was already finished. Try again.", "Cette connexion par clé d'accès a pris trop de temps ou est déjà terminée. Réessayez."),
    ("err_passkey_name", "Give the passkey a name of 1 to 64 characters.", "Donnez à la clé d'accès un nom de 1 à 64 caractères."),
    ("err_too_many_passkeys", "You have 10 passkeys already: remove one first.", "Vous avez déjà 10 clés d'accès\u{a0}: retirez-en une d'abord."),
    ("err_passkey_registered", "That passkey is yours already.", "Cette clé d'accès est déjà la vôtre."),
    ("passkey_password", "Your password, if asked", "Votre mot de passe, s'il est demandé"),
    ("passkey_password_hint", "Asked when you signed in more than 10 minutes ago.", "Demandé si vous vous êtes connecté il y a plus de 10\u{a0}minutes."),
    ("err_passkey_password", "You signed in more than 10 minutes ago: type your password to add a passkey.", "Vous vous êtes connecté il y a plus de 10\u{a0}minutes\u{a0}: tapez votre mot de passe pour ajouter une clé d'accès."),
];

/// What My account lists of the person's passkeys.
pub(crate) fn passkeys_view(visit: &Visit, user: &User) -> Vec<minijinja::Value> {
    user.passkeys
        .iter()
        .map(|p| {
            let when = match p.last_used_at {
                Some(at) => visit.say("passkey_used_on", &[("date", &crate::date_of(visit, at))]),
                None => visit.say(
                    "passkey_added_on",
                    &[("date", &crate::date_of(visit, p.created_at))],
                ),
            };
            minijinja::context! {
                id => p.id,
                name => p.name.as_str(),
                when => when,
                remove_label => visit.say("passkey_remove_label", &[("name", p.name.as_str())]),
            }
        })
        .collect()
}

/// The options and the flow, for the page's script.
fn ceremony(flow: PasskeyFlow) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(gatehouse_http::PasskeyFlowView::from(flow)),
    )
        .into_response()
}

/// A refusal the script reads as one (it then says the passkey was not used).
fn ceremony_refused(e: &dyn Rejection) -> Response {
    said_refused(e, None)
}

/// A refusal with what the script says instead of "the passkey was not used" (`message`).
fn said_refused(e: &dyn Rejection, message: Option<String>) -> Response {
    let status = match e.class() {
        RejectionClass::Internal => StatusCode::SERVICE_UNAVAILABLE,
        RejectionClass::Unauthenticated => StatusCode::UNAUTHORIZED,
        RejectionClass::NotFound => StatusCode::NOT_FOUND,
        RejectionClass::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        RejectionClass::Throttled => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::CONFLICT,
    };
    let body = match message {
        Some(message) => serde_json::json!({ "code": e.code(), "message": message }),
        None => serde_json::json!({ "code": e.code() }),
    };
    (status, Json(body)).into_response()
}

/// `POST /{org}/sign-in/passkey/options`: a passkey sign-in begins.
pub(crate) async fn passkey_sign_in_options(
    Client(client): Client,
    Form { visit, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, _) = visit.org().await?;
        match begin_passkey_sign_in(&visit.services, &domain, &client).await {
            Ok(flow) => ceremony(flow),
            Err(e) => ceremony_refused(&e),
        }
    })
}

/// `POST /{org}/sign-in/passkey {flow, credential}`: the passkey signs the person in, then on
/// as after any sign-in (back to the application whose request it began at, if one).
pub(crate) async fn passkey_sign_in_submit(
    Client(client): Client,
    Form {
        visit,
        fields,
        pairs,
    }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let carried = carried_fields(&pairs);
        let flow = fields.get("flow").map(String::as_str).unwrap_or("");
        let credential = fields
            .get("credential")
            .and_then(|raw| serde_json::from_str(raw).ok())
            .unwrap_or_default();
        let finished = match SecretToken::parse(flow) {
            Ok(flow) => {
                finish_passkey_sign_in(&visit.services, &domain, &flow, &credential, &client).await
            }
            Err(_) => Err(PasskeySignInError::InvalidFlow),
        };
        match finished {
            Ok(signed) => crate::second_step::finished(visit, &org, carried, &signed).await,
            Err(PasskeySignInError::Internal(cause)) => visit.trouble(&*cause),
            Err(e) => {
                let (status, text) = match &e {
                    PasskeySignInError::InvalidFlow => {
                        (StatusCode::UNAUTHORIZED, visit.say("err_passkey_flow", &[]))
                    }
                    PasskeySignInError::InvalidPasskey(_) => {
                        (StatusCode::UNAUTHORIZED, visit.say("err_passkey", &[]))
                    }
                    other => (
                        StatusCode::FORBIDDEN,
                        crate::refusal_text(&visit, &org, other),
                    ),
                };
                visit.message(
                    status,
                    org.name(),
                    &visit.say("passkey_sign_in", &[]),
                    &text,
                    &[(
                        format!("/{}/sign-in", visit.slug),
                        visit.say("go_sign_in", &[]),
                    )],
                )
            }
        }
    })
}

/// `POST /{org}/account/passkeys/options {passkey_password?}`: the signed-in person begins adding
/// a passkey (their password, unless they signed in within 10 minutes).
pub(crate) async fn register_options(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) => return Ok(ceremony_refused(&e)),
        };
        let password = fields
            .get("passkey_password")
            .map(String::as_str)
            .filter(|p| !p.is_empty());
        match begin_registration(&visit.services, &domain, Some(&token), &user.id, password).await {
            Ok(flow) => ceremony(flow),
            Err(e) => {
                let message = match e.code() {
                    "missing_current_password" => visit.say("err_passkey_password", &[]),
                    "wrong_current_password" => visit.say("err_wrong_current_password", &[]),
                    "too_many_attempts" => crate::refusal_text(&visit, &org, &e),
                    _ => return Ok(ceremony_refused(&e)),
                };
                said_refused(&e, Some(message))
            }
        }
    })
}

/// `POST /{org}/account/passkeys {flow, credential, passkey_name}`: the new passkey is kept.
pub(crate) async fn register_submit(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let mut problems = Problems::default();
        let name = fields.get("passkey_name").map(String::as_str).unwrap_or("");
        let Ok(name) = PasskeyName::parse(name) else {
            problems.at("passkey_name", visit.say("err_passkey_name", &[]));
            return Ok(account(&visit, &org, &token, None, &problems).await);
        };
        let credential = fields
            .get("credential")
            .and_then(|raw| serde_json::from_str(raw).ok())
            .unwrap_or_default();
        let flow = fields.get("flow").map(String::as_str).unwrap_or("");
        let Ok(flow) = SecretToken::parse(flow) else {
            problems.general.push(visit.say("err_passkey_flow", &[]));
            return Ok(account(&visit, &org, &token, None, &problems).await);
        };
        let services = &visit.services;
        match finish_registration(
            services,
            &domain,
            Some(&token),
            &user.id,
            &flow,
            &credential,
            name,
        )
        .await
        {
            Ok(passkey) => {
                let notice = visit.say("passkey_added", &[("name", passkey.name.as_str())]);
                account(&visit, &org, &token, Some(notice), &problems).await
            }
            Err(e) => {
                let text = match e.code() {
                    "invalid_passkey_flow" => visit.say("err_passkey_flow", &[]),
                    "invalid_passkey" => visit.say("err_passkey", &[]),
                    "too_many_passkeys" => visit.say("err_too_many_passkeys", &[]),
                    "passkey_already_registered" => visit.say("err_passkey_registered", &[]),
                    _ if e.class() == RejectionClass::Internal => {
                        return Ok(refused(&visit, &org, &e))
                    }
                    _ => crate::refusal_text(&visit, &org, &e),
                };
                problems.general.push(text);
                account(&visit, &org, &token, None, &problems).await
            }
        }
    })
}

/// `POST /{org}/account/passkeys/remove {passkey}`: one of the person's passkeys goes.
pub(crate) async fn remove_submit(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let id = fields.get("passkey").map(String::as_str).unwrap_or("");
        let name = user
            .passkeys
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.as_str().to_string());
        match remove_passkey(&visit.services, &domain, Some(&token), &user.id, id).await {
            Ok(()) => {
                let name = name.unwrap_or_default();
                let notice = visit.say("passkey_removed", &[("name", &name)]);
                account(&visit, &org, &token, Some(notice), &Problems::default()).await
            }
            Err(e) => refused(&visit, &org, &e),
        }
    })
}

async fn account(
    visit: &Visit,
    org: &Org,
    token: &gatehouse_domain::secret::SessionToken,
    notice: Option<String>,
    problems: &Problems,
) -> Response {
    crate::account::account_form(visit, &org.domain, org, token, notice, problems).await
}
