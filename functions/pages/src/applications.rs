//! The console's Applications page: the applications people sign in to with their account
//! (OpenID Connect clients): registered, changed, their secret renewed (shown once), removed;
//! and the one people land in, signed in, after signing up.

use std::collections::HashMap;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::oidc::{Client, ClientKind, RedirectUri};
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::types::{ClientId, ClientName, OrgDomain};
use gatehouse_domain::usecase::clients::{
    change_client, list_clients, register_client, remove_client, rotate_client_secret,
    ClientChange, ClientRegistration, WithSecret,
};
use gatehouse_domain::usecase::openid::issuer;
use gatehouse_domain::usecase::settings::{update_settings, SettingsChange};
use minijinja::context;
use serde::Serialize;

use crate::invitations::{refused, session};
use crate::{date_of, Form, Page, Problems, Visit};

pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("nav_applications", "Applications", "Applications"),
    ("applications_title", "Applications", "Applications"),
    ("applications_intro", "The applications people sign in to with their account here (OpenID Connect). Their issuer:", "Les applications auxquelles on se connecte avec son compte d'ici (OpenID Connect). Leur émetteur\u{a0}:"),
    ("no_applications", "No application is registered yet.", "Aucune application n'est encore enregistrée."),
    ("app_register_title", "Register an application", "Enregistrer une application"),
    ("app_name", "Name people see when signing in", "Nom affiché à la connexion"),
    ("app_column_name", "Name", "Nom"),
    ("app_created", "Registered on", "Enregistrée le"),
    ("app_kind", "Kind", "Type"),
    ("app_confidential", "A server (it keeps a secret)", "Un serveur (il garde un secret)"),
    ("app_public", "A browser or mobile app (no secret; PKCE)", "Une application navigateur ou mobile (sans secret\u{202f}; PKCE)"),
    ("app_redirect_uris", "Redirect URIs, one a line (https, or http to localhost only)", "URI de redirection, une par ligne (https, ou http vers localhost seulement)"),
    ("app_logout_uris", "Where people may be sent after signing out, one a line (optional)", "Où renvoyer après la déconnexion, une par ligne (facultatif)"),
    ("app_initiate_login_uri", "Its page that starts a sign-in (https, optional; needed to land people there after they sign up)", "Sa page qui lance une connexion (https, facultatif\u{202f}; nécessaire pour y accueillir les personnes après leur inscription)"),
    ("app_register", "Register", "Enregistrer"),
    ("app_client_id", "Client ID", "Identifiant client"),
    ("app_public_kind", "public", "publique"),
    ("app_confidential_kind", "confidential", "confidentielle"),
    ("app_registered", "{name} is registered.", "{name} est enregistrée."),
    ("app_saved", "{name} is saved.", "{name} est enregistrée."),
    ("app_removed", "{name} is removed: its tokens are refused from now on.", "{name} est supprimée\u{a0}: ses jetons sont refusés dès maintenant."),
    ("app_secret_once", "The client secret of {name}, shown this once: put it in the application's configuration now.", "Le secret client de {name}, affiché cette seule fois\u{a0}: placez-le maintenant dans la configuration de l'application."),
    ("app_secret_label", "Client secret", "Secret client"),
    ("app_new_secret", "Make a new secret (the old one stops working at once)", "Créer un nouveau secret (l'ancien cesse aussitôt de fonctionner)"),
    ("app_remove", "Remove", "Supprimer"),
    ("app_change", "Change {name}", "Modifier {name}"),
    ("app_save", "Save", "Enregistrer"),
    ("app_landing", "After signing up, people land in", "Après leur inscription, les personnes arrivent dans"),
    ("app_landing_welcome", "the welcome page", "la page d'accueil"),
    ("app_landing_hint", "Only applications with a page that starts a sign-in can be chosen.", "Seules les applications ayant une page qui lance une connexion peuvent être choisies."),
    ("app_landing_saved", "Saved: new members land in {name}.", "Enregistré\u{a0}: les nouveaux membres arrivent dans {name}."),
    ("err_redirect_uri", "Each address must be https (or http to localhost), whole, without a fragment: {detail}", "Chaque adresse doit être en https (ou http vers localhost), complète, sans fragment\u{a0}: {detail}"),
    ("err_redirect_uri_required", "At least one redirect URI.", "Au moins une URI de redirection."),
    ("err_initiate_login_uri", "This page must be an https address.", "Cette page doit être une adresse https."),
    ("err_app_name", "A name of 1 to 100 characters.", "Un nom de 1 à 100 caractères."),
];

#[derive(Serialize)]
struct Row {
    id: String,
    name: String,
    public: bool,
    redirect_uris: String,
    logout_uris: String,
    initiate_login_uri: String,
    since: String,
    landing: bool,
}

/// What the page shows besides the list: a notice, and a secret to copy this once.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    secret: Option<(String, String)>,
}

pub(crate) async fn applications_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let empty = HashMap::new();
        page(
            &visit,
            &domain,
            &org,
            &token,
            Shown::default(),
            &empty,
            &Problems::default(),
        )
        .await
    })
}

fn uris_text(uris: &[RedirectUri]) -> String {
    uris.iter()
        .map(RedirectUri::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

#[allow(clippy::too_many_arguments)]
async fn page(
    visit: &Visit,
    domain: &OrgDomain,
    org: &Org,
    token: &SessionToken,
    shown: Shown,
    typed: &HashMap<String, String>,
    problems: &Problems,
) -> Response {
    let clients = match list_clients(&visit.services, domain, Some(token)).await {
        Ok(clients) => clients,
        Err(e) => return refused(visit, org, &e),
    };
    let rows: Vec<Row> = clients.iter().map(|c| row(visit, org, c)).collect();
    let typed_value = |name: &str| typed.get(name).cloned().unwrap_or_default();
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "admin_applications.html",
        org.name(),
        &visit.say("applications_title", &[]),
        context! {
            wide => true,
            nav => "applications",
            issuer => issuer(&visit.services, domain),
            rows => rows,
            landing_none => org.settings.sign_up_client.is_none(),
            notice => shown.notice,
            secret => shown.secret.map(|(name, secret)| context! { name, secret }),
            name => typed_value("name"),
            kind => typed.get("kind").map_or("confidential", String::as_str),
            redirect_uris => typed_value("redirect_uris"),
            logout_uris => typed_value("logout_uris"),
            initiate_login_uri => typed_value("initiate_login_uri"),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

fn row(visit: &Visit, org: &Org, client: &Client) -> Row {
    Row {
        id: client.id.to_string(),
        name: client.name.to_string(),
        public: client.kind == ClientKind::Public,
        redirect_uris: uris_text(&client.redirect_uris),
        logout_uris: uris_text(&client.post_logout_redirect_uris),
        initiate_login_uri: client
            .initiate_login_uri
            .as_ref()
            .map(|u| u.as_str().to_string())
            .unwrap_or_default(),
        since: date_of(visit, client.created_at),
        landing: org.settings.sign_up_client.as_ref() == Some(&client.id),
    }
}

/// The URIs of a text area, one a line; the first that does not parse is a problem at `field`.
fn uris_field(
    visit: &Visit,
    problems: &mut Problems,
    fields: &HashMap<String, String>,
    field: &'static str,
) -> Vec<RedirectUri> {
    let mut uris = Vec::new();
    for line in fields
        .get(field)
        .map(String::as_str)
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        match RedirectUri::parse(line) {
            Ok(uri) => uris.push(uri),
            Err(_) => {
                problems.at(field, visit.say("err_redirect_uri", &[("detail", line)]));
                break;
            }
        }
    }
    uris
}

/// What the form describes of an application, each part checked.
struct Described {
    name: ClientName,
    redirect_uris: Vec<RedirectUri>,
    post_logout_redirect_uris: Vec<RedirectUri>,
    initiate_login_uri: Option<RedirectUri>,
}

/// The name, URIs and start page of the form; `None` with the problems when one is wrong.
fn described(
    visit: &Visit,
    problems: &mut Problems,
    fields: &HashMap<String, String>,
) -> Option<Described> {
    let name = ClientName::parse(fields.get("name").map(String::as_str).unwrap_or(""))
        .map_err(|_| problems.at("name", visit.say("err_app_name", &[])))
        .ok();
    let redirect_uris = uris_field(visit, problems, fields, "redirect_uris");
    let logout_uris = uris_field(visit, problems, fields, "logout_uris");
    let start = fields
        .get("initiate_login_uri")
        .map(|s| s.trim())
        .unwrap_or("");
    let initiate_login_uri = match start {
        "" => None,
        raw => match RedirectUri::parse(raw).ok().filter(RedirectUri::is_https) {
            Some(uri) => Some(uri),
            None => {
                problems.at(
                    "initiate_login_uri",
                    visit.say("err_initiate_login_uri", &[]),
                );
                None
            }
        },
    };
    if !problems.is_empty() {
        return None;
    }
    Some(Described {
        name: name?,
        redirect_uris,
        post_logout_redirect_uris: logout_uris,
        initiate_login_uri,
    })
}

/// A refusal of the use case: at the form when it is about what was typed, else as a page.
fn refusal(
    visit: &Visit,
    org: &Org,
    e: &(dyn Rejection + 'static),
    problems: &mut Problems,
) -> Option<Response> {
    match e.code() {
        "redirect_uri_required" => {
            problems.at("redirect_uris", visit.say("err_redirect_uri_required", &[]))
        }
        "invalid_initiate_login_uri" => problems.at(
            "initiate_login_uri",
            visit.say("err_initiate_login_uri", &[]),
        ),
        _ if e.class() == RejectionClass::Invalid || e.class() == RejectionClass::Conflict => {
            problems.general.push(e.detail())
        }
        _ => return Some(refused(visit, org, e)),
    }
    None
}

pub(crate) async fn register_submit(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let mut problems = Problems::default();
        let kind = if fields.get("kind").map(String::as_str) == Some("public") {
            ClientKind::Public
        } else {
            ClientKind::Confidential
        };
        let mut shown = Shown::default();
        if let Some(described) = described(&visit, &mut problems, &fields) {
            let registration = ClientRegistration {
                name: described.name,
                kind,
                redirect_uris: described.redirect_uris,
                post_logout_redirect_uris: described.post_logout_redirect_uris,
                initiate_login_uri: described.initiate_login_uri,
            };
            match register_client(&visit.services, &domain, Some(&token), registration).await {
                Ok(made) => {
                    shown = made_shown(&visit, made, "app_registered");
                }
                Err(e) => {
                    if let Some(page) = refusal(&visit, &org, &e, &mut problems) {
                        return Ok(page);
                    }
                }
            }
        }
        // Registered: an empty form again; refused: the form as typed, with what to correct.
        let typed = if problems.is_empty() {
            HashMap::new()
        } else {
            fields
        };
        page(&visit, &domain, &org, &token, shown, &typed, &problems).await
    })
}

fn made_shown(visit: &Visit, made: WithSecret, said: &str) -> Shown {
    let name = made.client.name.to_string();
    Shown {
        notice: Some(visit.say(said, &[("name", &name)])),
        secret: made.secret.map(|s| (name, s.expose().to_string())),
    }
}

/// `change`, `secret` (a new one) or `remove`, for one application.
pub(crate) async fn application_action(
    Path((_, id, action)): Path<(String, String, String)>,
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let not_found = gatehouse_domain::usecase::clients::ClientsError::NotFound;
        let Ok(id) = ClientId::parse(&id) else {
            return Ok(refused(&visit, &org, &not_found));
        };
        let services = &visit.services;
        let mut problems = Problems::default();
        let mut shown = Shown::default();
        let outcome = match action.as_str() {
            "secret" => rotate_client_secret(services, &domain, Some(&token), &id)
                .await
                .map(|made| shown = made_shown(&visit, made, "app_saved")),
            "remove" => {
                let name = fields.get("name").cloned().unwrap_or_default();
                remove_client(services, &domain, Some(&token), &id)
                    .await
                    .map(|()| shown.notice = Some(visit.say("app_removed", &[("name", &name)])))
            }
            "change" => {
                let Some(described) = described(&visit, &mut problems, &fields) else {
                    return Ok(page(
                        &visit,
                        &domain,
                        &org,
                        &token,
                        shown,
                        &HashMap::new(),
                        &problems,
                    )
                    .await);
                };
                let change = ClientChange {
                    name: Some(described.name),
                    redirect_uris: Some(described.redirect_uris),
                    post_logout_redirect_uris: Some(described.post_logout_redirect_uris),
                    initiate_login_uri: Some(described.initiate_login_uri),
                };
                change_client(services, &domain, Some(&token), &id, change)
                    .await
                    .map(|c| {
                        shown.notice = Some(visit.say("app_saved", &[("name", c.name.as_ref())]))
                    })
            }
            _ => return Ok(refused(&visit, &org, &not_found)),
        };
        answer(&visit, &domain, &org, &token, shown, outcome.err()).await
    })
}

/// The page after an action: what it did, or its refusal (at the form when it is about what
/// was typed, else as a page of its own).
async fn answer<E: Rejection + Send + 'static>(
    visit: &Visit,
    domain: &OrgDomain,
    org: &Org,
    token: &SessionToken,
    shown: Shown,
    failed: Option<E>,
) -> Response {
    let mut problems = Problems::default();
    if let Some(e) = failed {
        if let Some(page) = refusal(visit, org, &e, &mut problems) {
            return page;
        }
    }
    page(visit, domain, org, token, shown, &HashMap::new(), &problems).await
}

/// Which application people land in after signing up (`sign_up_client`), or the welcome page.
pub(crate) async fn landing_submit(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let chosen = fields
            .get("sign_up_client")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty());
        let client = match chosen.map(ClientId::parse) {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                let e = gatehouse_domain::usecase::settings::SettingsError::InvalidSignUpClient;
                return Ok(refused(&visit, &org, &e));
            }
        };
        let change = SettingsChange {
            sign_up_client: Some(client),
            ..SettingsChange::default()
        };
        let mut shown = Shown::default();
        let outcome = update_settings(&visit.services, &domain, Some(&token), change).await;
        if let Ok(settings) = &outcome {
            let clients = list_clients(&visit.services, &domain, Some(&token))
                .await
                .unwrap_or_default();
            let name = settings
                .sign_up_client
                .as_ref()
                .and_then(|id| clients.into_iter().find(|c| &c.id == id))
                .map_or_else(
                    || visit.say("app_landing_welcome", &[]),
                    |c| c.name.to_string(),
                );
            shown.notice = Some(visit.say("app_landing_saved", &[("name", &name)]));
        }
        // The organisation as it is now (the choice just made).
        let org = match visit.org().await {
            Ok((_, org)) => org,
            Err(page) => return Ok(*page),
        };
        answer(&visit, &domain, &org, &token, shown, outcome.err()).await
    })
}
