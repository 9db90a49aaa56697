//! The console's page of one person: who they are (role, groups, status, last sign-in) and what
//! an admin does about them after they joined: change their role, add them to a group or take them
//! out, send a link to a new email address, sign them out everywhere, deactivate and erase (each
//! after a confirmation step) and reactivate.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::{Org, User};
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::types::{EmailAddress, GroupId, OrgDomain, Role, UserId};
use gatehouse_domain::usecase::accounts::{
    change_user, get_user, set_active, sign_out_everywhere, UserChange,
};
use gatehouse_domain::usecase::email_change::request_email_change;
use gatehouse_domain::usecase::erasure::erase_user;
use gatehouse_domain::usecase::groups::list_groups;
use gatehouse_domain::usecase::members::set_member;
use gatehouse_domain::usecase::passkeys::remove_passkey;
use gatehouse_domain::usecase::second_factor::remove_totp;
use gatehouse_http::at_the_mail_floor;
use minijinja::context;
use serde::Serialize;

use crate::invitations::{refused, session};
use crate::{date_of, refusal_text, Form, Page, Problems, Visit};

/// (key, English, French).
pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("role_admin", "admin", "administrateur"),
    ("user_status_active", "active", "actif"),
    ("user_status_deactivated", "deactivated", "désactivé"),
    ("deactivated_since", "deactivated since {date}", "désactivé depuis le {date}"),
    ("last_sign_in", "Last sign-in", "Dernière connexion"),
    ("joined", "Joined", "Arrivé(e) le"),
    ("back_to_users", "Back to the users", "Retour aux utilisateurs"),
    ("never", "never", "jamais"),
    ("no_groups", "In no group.", "Dans aucun groupe."),
    ("remove_from_group", "Remove from {group}", "Retirer de {group}"),
    ("add_to_group", "Add to a group", "Ajouter à un groupe"),
    ("add", "Add", "Ajouter"),
    ("change_role", "Change the role", "Changer le rôle"),
    ("role_changed", "{name} is now {role}.", "{name} est maintenant {role}."),
    ("added_to_group", "{name} joined {group}.", "{name} a rejoint {group}."),
    ("removed_from_group", "{name} left {group}.", "{name} a quitté {group}."),
    ("email_heading", "Email address", "Adresse e-mail"),
    ("new_email", "New email address", "Nouvelle adresse e-mail"),
    ("send_confirmation", "Send a confirmation link", "Envoyer un lien de confirmation"),
    ("email_change_sent", "If {email} is free, a link to confirm it is on its way there; the current address works until it is followed.", "Si {email} est libre, un lien pour la confirmer y est envoyé\u{202f}; l'adresse actuelle fonctionne jusqu'à ce qu'il soit suivi."),
    ("sessions_heading", "Sessions", "Sessions"),
    ("sign_out_everywhere", "Sign out everywhere", "Déconnecter partout"),
    ("signed_out_everywhere", "{count} session(s) ended.", "{count} session(s) fermée(s)."),
    ("account_heading", "Account", "Compte"),
    ("deactivate_user", "Deactivate…", "Désactiver…"),
    ("deactivate_confirm_title", "Deactivate {name}?", "Désactiver {name}\u{202f}?"),
    ("deactivate_confirm", "They are signed out everywhere at once and cannot sign in until an admin reactivates the account. Invitations they sent stay valid.", "La personne est déconnectée partout aussitôt et ne peut plus se connecter avant qu'un administrateur ne réactive le compte. Les invitations qu'elle a envoyées restent valables."),
    ("deactivate_yes", "Yes, deactivate", "Oui, désactiver"),
    ("cancel", "Cancel", "Annuler"),
    ("deactivated", "{name} is deactivated and signed out everywhere.", "{name} est désactivé(e) et déconnecté(e) partout."),
    ("reactivate", "Reactivate", "Réactiver"),
    ("reactivated", "{name} may sign in again.", "{name} peut de nouveau se connecter."),
    ("erase_user", "Erase…", "Effacer…"),
    ("erase_confirm_title", "Erase {name}?", "Effacer {name}\u{202f}?"),
    ("erase_confirm", "Their account, sessions, group memberships and invitations' details are erased for good, and their address is free again. The activity log keeps only that an account was erased. This cannot be undone.", "Le compte, les sessions, les appartenances aux groupes et le détail des invitations sont effacés pour de bon, et l'adresse redevient libre. Le journal d'activité garde seulement qu'un compte a été effacé. C'est irréversible."),
    ("erase_yes", "Yes, erase", "Oui, effacer"),
    ("erased_title", "{name} is erased", "{name} est effacé(e)"),
    ("erased", "Nothing of them is left in the organisation's records.", "Il ne reste rien de cette personne dans les données de l'organisation."),
    ("err_last_admin", "The organisation's last active admin must stay one: make someone else an admin first.", "Le dernier administrateur actif de l'organisation doit le rester\u{a0}: nommez d'abord quelqu'un d'autre administrateur."),
    ("second_factor", "Second factor", "Second facteur"),
    ("factor_totp", "authenticator app", "application d'authentification"),
    ("factor_passkey", "passkey", "clé d'accès"),
    ("passkeys_of", "Passkeys", "Clés d'accès"),
    ("remove_passkey", "Remove…", "Retirer…"),
    ("remove_passkey_label", "Remove the passkey {passkey}…", "Retirer la clé d'accès {passkey}…"),
    ("remove_passkey_confirm_title", "Remove a passkey of {name}?", "Retirer une clé d'accès de {name}\u{a0}?"),
    ("remove_passkey_confirm", "For a lost or stolen device: it no longer signs them in. They are told by mail.", "Pour un appareil perdu ou volé\u{a0}: il ne la connecte plus. Elle en est avertie par e-mail."),
    ("remove_passkey_yes", "Yes, remove it", "Oui, la retirer"),
    ("passkey_removed_by_admin", "The passkey of {name} is removed.", "La clé d'accès de {name} est retirée."),
    ("factor_none", "none (password alone)", "aucun (mot de passe seul)"),
    ("remove_totp", "Remove the authenticator app…", "Retirer l'application d'authentification…"),
    ("remove_totp_hint", "For someone who lost their phone: they sign in with their password alone until they set up a new app (or, if the settings require one, set it up at their next sign-in). They are told by mail.", "Pour une personne qui a perdu son téléphone\u{a0}: elle se connecte avec son seul mot de passe jusqu'à ce qu'elle configure une nouvelle application (ou, si les paramètres l'exigent, la configure à sa prochaine connexion). Elle en est avertie par e-mail."),
    ("remove_totp_confirm_title", "Remove the authenticator app of {name}?", "Retirer l'application d'authentification de {name}\u{a0}?"),
    ("remove_totp_confirm", "Do this only when you are sure the request comes from them (call them): whoever knows their password then signs in without a code.", "Ne le faites que si vous êtes sûr que la demande vient d'elle (appelez-la)\u{a0}: quiconque connaît son mot de passe se connecte alors sans code."),
    ("remove_totp_yes", "Yes, remove it", "Oui, la retirer"),
    ("totp_removed", "The authenticator app of {name} is removed.", "L'application d'authentification de {name} est retirée."),
    ("search_people", "Name or email begins with", "Le nom ou l'e-mail commence par"),
    ("any", "any", "tous"),
    ("any_group", "any group", "tous les groupes"),
];

/// The action removing one of a person's passkeys: `remove-passkey.{its id}` (base64url).
const REMOVE_PASSKEY: &str = "remove-passkey.";

/// One person as the page shows them.
#[derive(Serialize)]
pub(crate) struct PersonView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) address: String,
    pub(crate) has_email: bool,
    pub(crate) role: String,
    pub(crate) role_key: &'static str,
    pub(crate) status: String,
    pub(crate) active: bool,
    pub(crate) created: String,
    pub(crate) last_sign_in: String,
    /// Their second factors as people read them.
    pub(crate) second_factor: String,
    pub(crate) has_totp: bool,
    /// Their passkeys: the removal's action, the name, the removal button's label.
    pub(crate) passkeys: Vec<(String, String, String)>,
}

impl PersonView {
    pub(crate) fn of(visit: &Visit, domain: &OrgDomain, user: &User) -> Self {
        let status = match user.deactivated_at {
            Some(at) => visit.say("deactivated_since", &[("date", &date_of(visit, at))]),
            None => visit.say(&format!("user_status_{}", user.status.as_str()), &[]),
        };
        Self {
            id: user.id.to_string(),
            name: format!("{} {}", user.first_name, user.last_name),
            address: match (&user.email, &user.uid) {
                (Some(email), _) => email.to_string(),
                (None, Some(uid)) => uid.sign_in_identifier(domain),
                (None, None) => String::new(),
            },
            has_email: user.email.is_some(),
            role: visit.say(&format!("role_{}", user.role.as_str()), &[]),
            role_key: user.role.as_str(),
            status,
            active: user.is_active(),
            created: date_of(visit, user.created_at),
            last_sign_in: user
                .last_sign_in_at
                .map_or_else(|| visit.say("never", &[]), |at| date_of(visit, at)),
            second_factor: match user.second_factors().as_slice() {
                [] => visit.say("factor_none", &[]),
                kinds => kinds
                    .iter()
                    .map(|k| visit.say(&format!("factor_{k}"), &[]))
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            has_totp: user.totp.is_some(),
            passkeys: user
                .passkeys
                .iter()
                .map(|p| {
                    let name = p.name.as_str();
                    let label = visit.say("remove_passkey_label", &[("passkey", name)]);
                    (format!("{REMOVE_PASSKEY}{}", p.id), name.to_string(), label)
                })
                .collect(),
        }
    }
}

fn user_id(visit: &Visit, org: &Org, raw: &str) -> Result<UserId, Box<Response>> {
    UserId::parse(raw).map_err(|_| {
        Box::new(refused(
            visit,
            org,
            &gatehouse_domain::usecase::accounts::AccountError::NotFound,
        ))
    })
}

pub(crate) async fn person_page(
    Path((_, id)): Path<(String, String)>,
    visit: Visit,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let id = user_id(&visit, &org, &id)?;
        person(
            &visit,
            &domain,
            &org,
            &token,
            &id,
            None,
            &Problems::default(),
        )
        .await
    })
}

async fn person(
    visit: &Visit,
    domain: &OrgDomain,
    org: &Org,
    token: &SessionToken,
    id: &UserId,
    notice: Option<String>,
    problems: &Problems,
) -> Response {
    let user = match get_user(&visit.services, domain, Some(token), id).await {
        Ok(user) => user,
        Err(e) => return refused(visit, org, &e),
    };
    let groups = match list_groups(&visit.services, domain, Some(token), false).await {
        Ok(groups) => groups,
        Err(e) => return refused(visit, org, &e),
    };
    let (member_of, others): (Vec<_>, Vec<_>) =
        groups.iter().partition(|g| user.groups.contains(&g.id));
    let pair = |g: &&gatehouse_domain::model::Group| (g.id.to_string(), g.name.to_string());
    let view = PersonView::of(visit, domain, &user);
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "admin_user.html",
        org.name(),
        &view.name.clone(),
        context! {
            wide => true,
            nav => "users",
            person => view,
            member_of => member_of.iter().map(pair).collect::<Vec<_>>(),
            others => others.iter().map(pair).collect::<Vec<_>>(),
            roles => ["admin", "member", "guest"]
                .iter()
                .map(|r| (*r, visit.say(&format!("role_{r}"), &[])))
                .collect::<Vec<_>>(),
            notice => notice,
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

/// What one of the page's buttons asks for.
pub(crate) async fn person_action(
    Path((_, id, action)): Path<(String, String, String)>,
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let id = user_id(&visit, &org, &id)?;
        let services = &visit.services;
        let user = match get_user(services, &domain, Some(&token), &id).await {
            Ok(user) => user,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let name = format!("{} {}", user.first_name, user.last_name);
        let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
        let group = GroupId::parse(field("group")).ok();
        let group_name = fields.get("group_name").cloned().unwrap_or_default();
        let mut problems = Problems::default();
        let outcome: Result<String, Box<dyn Rejection + Send + Sync>> = match action.as_str() {
            "role" => match Role::parse(field("role")) {
                Ok(role) => {
                    let change = UserChange {
                        role: Some(role),
                        ..UserChange::default()
                    };
                    change_user(services, &domain, Some(&token), &id, change)
                        .await
                        .map(|u| {
                            let role = visit.say(&format!("role_{}", u.role.as_str()), &[]);
                            visit.say("role_changed", &[("name", &name), ("role", &role)])
                        })
                        .map_err(|e| Box::new(e) as _)
                }
                Err(_) => Ok(String::new()),
            },
            "join" | "leave" => match group {
                Some(group) => {
                    let joining = action == "join";
                    set_member(services, &domain, Some(&token), &group, &id, joining)
                        .await
                        .map(|_| {
                            let key = if joining {
                                "added_to_group"
                            } else {
                                "removed_from_group"
                            };
                            visit.say(key, &[("name", &name), ("group", &group_name)])
                        })
                        .map_err(|e| Box::new(e) as _)
                }
                None => Ok(String::new()),
            },
            "email" => match EmailAddress::parse(field("email")) {
                Ok(email) => {
                    let asked = request_email_change(
                        services,
                        &domain,
                        Some(&token),
                        &id,
                        &email,
                        None,
                        Some(visit.lang.language()),
                    );
                    at_the_mail_floor(services, asked)
                        .await
                        .map(|()| visit.say("email_change_sent", &[("email", email.as_str())]))
                        .map_err(|e| Box::new(e) as _)
                }
                Err(_) => {
                    problems.at("email", visit.say("err_invalid_email", &[]));
                    Ok(String::new())
                }
            },
            "sign-out" => sign_out_everywhere(services, &domain, Some(&token), &id)
                .await
                .map(|n| visit.say("signed_out_everywhere", &[("count", &n.to_string())]))
                .map_err(|e| Box::new(e) as _),
            "deactivate" if field("confirm") != "yes" => {
                let texts = [
                    "deactivate_confirm_title",
                    "deactivate_confirm",
                    "deactivate_yes",
                ];
                return Ok(confirmation(
                    &visit,
                    &org,
                    &user,
                    &name,
                    "deactivate",
                    texts,
                ));
            }
            "remove-totp" if field("confirm") != "yes" => {
                let texts = [
                    "remove_totp_confirm_title",
                    "remove_totp_confirm",
                    "remove_totp_yes",
                ];
                return Ok(confirmation(
                    &visit,
                    &org,
                    &user,
                    &name,
                    "remove-totp",
                    texts,
                ));
            }
            "remove-totp" => remove_totp(services, &domain, Some(&token), &id, None)
                .await
                .map(|()| visit.say("totp_removed", &[("name", &name)]))
                .map_err(|e| Box::new(e) as _),
            "erase" if field("confirm") != "yes" => {
                let texts = ["erase_confirm_title", "erase_confirm", "erase_yes"];
                return Ok(confirmation(&visit, &org, &user, &name, "erase", texts));
            }
            "erase" => match erase_user(services, &domain, Some(&token), &id, None).await {
                Ok(_) => {
                    return Ok(visit.message(
                        StatusCode::OK,
                        org.name(),
                        &visit.say("erased_title", &[("name", &name)]),
                        &visit.say("erased", &[]),
                        &[(
                            format!("/{}/admin/users", visit.slug),
                            visit.say("back_to_users", &[]),
                        )],
                    ))
                }
                Err(e) => Err(Box::new(e) as _),
            },
            "deactivate" | "reactivate" => {
                let active = action == "reactivate";
                set_active(services, &domain, Some(&token), &id, active)
                    .await
                    .map(|_| {
                        let key = if active { "reactivated" } else { "deactivated" };
                        visit.say(key, &[("name", &name)])
                    })
                    .map_err(|e| Box::new(e) as _)
            }
            other if other.starts_with(REMOVE_PASSKEY) && field("confirm") != "yes" => {
                let texts = [
                    "remove_passkey_confirm_title",
                    "remove_passkey_confirm",
                    "remove_passkey_yes",
                ];
                return Ok(confirmation(&visit, &org, &user, &name, other, texts));
            }
            other if other.starts_with(REMOVE_PASSKEY) => {
                let passkey = &other[REMOVE_PASSKEY.len()..];
                remove_passkey(services, &domain, Some(&token), &id, passkey)
                    .await
                    .map(|()| visit.say("passkey_removed_by_admin", &[("name", &name)]))
                    .map_err(|e| Box::new(e) as _)
            }
            _ => {
                let not_found = gatehouse_domain::usecase::accounts::AccountError::NotFound;
                return Ok(refused(&visit, &org, &not_found));
            }
        };
        let notice = match outcome {
            Ok(notice) => Some(notice).filter(|n| !n.is_empty()),
            Err(e) if e.code() == "last_admin" => {
                problems.general.push(visit.say("err_last_admin", &[]));
                None
            }
            Err(e)
                if matches!(
                    e.class(),
                    RejectionClass::Invalid | RejectionClass::Conflict
                ) =>
            {
                problems.general.push(refusal_text(&visit, &org, &*e));
                None
            }
            Err(e) => return Ok(refused(&visit, &org, &*e)),
        };
        person(&visit, &domain, &org, &token, &id, notice, &problems).await
    })
}

/// The confirmation step before a deactivation or an erasure: its title, explanation and
/// button's words.
fn confirmation(
    visit: &Visit,
    org: &Org,
    user: &User,
    name: &str,
    action: &str,
    [title, explanation, yes]: [&str; 3],
) -> Response {
    visit.render(
        StatusCode::OK,
        "admin_confirm.html",
        org.name(),
        &visit.say(title, &[("name", name)]),
        context! {
            nav => "users",
            explanation => visit.say(explanation, &[]),
            action => format!("/{}/admin/users/{}/{action}", visit.slug, user.id),
            yes => visit.say(yes, &[]),
            back => format!("/{}/admin/users/{}", visit.slug, user.id),
        },
    )
}
