//! The console's Settings page: every setting (authorisations, the organisation, invitations, limits), and the invitation link with a copy button;
//! the words of the console's second half (users, settings, one's own password).

use std::collections::HashMap;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::types::{
    EmailDomain, GroupId, InviteeRole, OrgDomain, OrgName, PersonalMessage, TrustedNetwork,
};
use gatehouse_domain::usecase::groups::list_groups;
use gatehouse_domain::usecase::invitation_link::{
    activate_link, deactivate_link, link_status, LinkError, LinkOptions,
};
use gatehouse_domain::usecase::settings::{get_settings, update_settings, SettingsChange};
use minijinja::context;
use serde::Serialize;

use crate::invitations::{refused, session};
use crate::{date_of, Form, Page, Problems, Visit};

pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("nav_users", "Users", "Utilisateurs"),
    ("nav_settings", "Settings", "Paramètres"),
    ("users_title", "Users", "Utilisateurs"),
    ("set_password", "Set a new password", "Définir un nouveau mot de passe"),
    ("set_password_for", "New password for {name}", "Nouveau mot de passe pour {name}"),
    ("password_set", "{name}'s password is changed; their sessions are signed out. Tell them the new one.", "Le mot de passe de {name} est modifié\u{202f}; ses sessions sont fermées. Communiquez-lui le nouveau."),
    ("resets_own", "resets it by email", "le réinitialise par e-mail"),
    ("settings_title", "Settings", "Paramètres"),
    ("s_authorisations", "Authorisations: who may join and who may invite", "Autorisations\u{a0}: qui peut rejoindre et qui peut inviter"),
    ("s_organisation", "The organisation", "L'organisation"),
    ("s_invitations", "Invitations", "Invitations"),
    ("settings_saved", "Saved.", "Enregistré."),
    ("save", "Save", "Enregistrer"),
    ("s_sign_up_without_email", "People without email sign up with an identifier and an access code", "Les personnes sans e-mail s'inscrivent avec un identifiant et un code d'accès"),
    ("s_self_registration", "Anyone may register (their address is confirmed by email)", "Tout le monde peut s'inscrire (l'adresse est confirmée par e-mail)"),
    ("s_members_can_invite", "Members may invite (by email)", "Les membres peuvent inviter (par e-mail)"),
    ("s_group_admins_can_invite", "Group admins may invite into their groups", "Les administrateurs de groupe peuvent inviter dans leurs groupes"),
    ("s_display_name", "The organisation's name as people read it", "Le nom de l'organisation tel que les gens le lisent"),
    ("s_allowed_email_domains", "Member invitations by email only to these domains (comma-separated; empty: any)", "Invitations de membres par e-mail seulement vers ces domaines (séparés par des virgules\u{202f}; vide\u{a0}: tous)"),
    ("s_invitation_ttl_days", "Days an invitation stays valid", "Jours de validité d'une invitation"),
    ("s_password_min_length", "Minimum password length (8 to 64)", "Longueur minimale des mots de passe (8 à 64)"),
    ("s_reminder_days", "Remind pending invitations after these days (comma-separated; empty: never)", "Relancer les invitations en attente après ces jours (séparés par des virgules\u{202f}; vide\u{a0}: jamais)"),
    ("s_invitation_message", "Default message in invitation emails", "Message par défaut des e-mails d'invitation"),
    ("s_default_groups", "Groups every new member joins", "Groupes que rejoint chaque nouveau membre"),
    ("link_title", "Invitation link", "Lien d'invitation"),
    ("link_off", "There is no active invitation link.", "Il n'y a pas de lien d'invitation actif."),
    ("link_on", "Anyone with this link can register; {uses} registered through it so far.", "Toute personne ayant ce lien peut s'inscrire\u{202f}; {uses} se sont inscrites par ce lien jusqu'ici."),
    ("link_url", "The link", "Le lien"),
    ("copy", "Copy", "Copier"),
    ("copied", "Copied.", "Copié."),
    ("link_expires", "Works until {date}.", "Fonctionne jusqu'au {date}."),
    ("link_max_uses", "At most {n} registrations.", "Au plus {n} inscriptions."),
    ("activate", "Make a new link", "Créer un nouveau lien"),
    ("activate_hint", "A new link replaces the old one, which stops working.", "Un nouveau lien remplace l'ancien, qui cesse de fonctionner."),
    ("deactivate", "Turn the link off", "Désactiver le lien"),
    ("link_role", "Registrations join as", "Les inscrits rejoignent en tant que"),
    ("link_days", "Expires after (days, optional)", "Expire après (jours, facultatif)"),
    ("link_uses", "Maximum registrations (optional)", "Nombre maximal d'inscriptions (facultatif)"),
    ("link_groups", "Groups they join", "Groupes rejoints"),
    ("account_password_title", "Change your password", "Changer votre mot de passe"),
    ("current_password", "Current password", "Mot de passe actuel"),
    ("password_changed", "Your password is changed. Your other sessions are signed out.", "Votre mot de passe est modifié. Vos autres sessions sont fermées."),
    ("err_wrong_current_password", "The current password is wrong.", "Le mot de passe actuel est incorrect."),
    ("err_invalid_number", "Give a whole number.", "Indiquez un nombre entier."),
    ("s_limits", "Limits", "Limites"),
    ("s_security", "Second factors", "Seconds facteurs"),
    ("s_mfa_required_for", "Require an authenticator app of", "Exiger une application d'authentification des"),
    ("s_mfa_hint", "People with a role ticked here set one up right after their password the next time they sign in.", "Les personnes dont le rôle est coché ici en configurent une juste après leur mot de passe à leur prochaine connexion."),
    ("s_mfa_admin", "Admins", "Administrateurs"),
    ("s_mfa_member", "Members", "Membres"),
    ("s_mfa_guest", "Guests", "Invités"),
    ("s_invitations_per_hour", "Invitations a member or group admin may send in an hour (1 to 1000)", "Invitations qu'un membre ou administrateur de groupe peut envoyer par heure (1 à 1000)"),
    ("s_admin_invitations_per_hour", "Invitations an administrator may send in an hour (1 to 10000; imports not counted)", "Invitations qu'un administrateur peut envoyer par heure (1 à 10000\u{202f}; imports non comptés)"),
    ("s_invitations_per_address_per_day", "Times one address may be invited in a day (1 to 20)", "Nombre d'invitations par jour à une même adresse (1 à 20)"),
    ("s_trusted_networks", "Trusted networks: your offices' addresses, whose sign-ins share a larger allowance of typos (CIDRs, comma-separated, e.g. 203.0.113.0/24)", "Réseaux de confiance\u{a0}: les adresses de vos bureaux, dont les connexions partagent une plus grande marge d'erreurs (CIDR séparés par des virgules, par ex. 203.0.113.0/24)"),
    ("err_invalid_network", "Give networks as CIDRs, such as 203.0.113.0/24 (at most a /8).", "Indiquez des réseaux au format CIDR, par ex. 203.0.113.0/24 (au plus un /8)."),
    ("err_invalid_domain", "Give domains like example.com, separated by commas.", "Indiquez des domaines comme exemple.fr, séparés par des virgules."),
    ("err_invalid_days", "Give whole numbers of days, separated by commas.", "Indiquez des nombres de jours entiers, séparés par des virgules."),
    ("change_password_link", "Change your password", "Changer votre mot de passe"),
    ("s_language", "Language of emails (an invitation may choose its own)", "Langue des e-mails (une invitation peut choisir la sienne)"),
    ("lang_en", "English", "Anglais"),
    ("lang_fr", "French", "Français"),
];

#[derive(Serialize)]
struct GroupChoice {
    id: String,
    name: String,
    checked: bool,
}

fn typed_values<'a>(typed: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    typed
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Settings

pub(crate) async fn settings_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        settings_form(
            &visit,
            &domain,
            &org,
            &token,
            None,
            None,
            &Problems::default(),
        )
        .await
    })
}

#[allow(clippy::too_many_arguments)]
async fn settings_form(
    visit: &Visit,
    domain: &OrgDomain,
    org: &Org,
    token: &SessionToken,
    typed: Option<&[(String, String)]>,
    notice: Option<String>,
    problems: &Problems,
) -> Response {
    let settings = match get_settings(&visit.services, domain, Some(token)).await {
        Ok(s) => s,
        Err(e) => return refused(visit, org, &e),
    };
    let groups = match list_groups(&visit.services, domain, Some(token), false).await {
        Ok(groups) => groups,
        Err(e) => return refused(visit, org, &e),
    };
    let link = match link_status(&visit.services, domain, Some(token)).await {
        Ok(view) => Some(view),
        Err(LinkError::NoLink) => None,
        Err(e) => return refused(visit, org, &e),
    };
    let join = |v: Vec<String>| v.join(", ");
    let mut values: HashMap<&str, String> = HashMap::from([
        (
            "display_name",
            settings
                .display_name
                .as_ref()
                .map(|n| n.to_string())
                .unwrap_or_default(),
        ),
        (
            "allowed_email_domains",
            join(
                settings
                    .allowed_email_domains
                    .iter()
                    .map(|d| d.to_string())
                    .collect(),
            ),
        ),
        (
            "invitation_ttl_days",
            settings.invitation_ttl_days.to_string(),
        ),
        (
            "password_min_length",
            settings.password_min_length.to_string(),
        ),
        (
            "reminder_days",
            join(
                settings
                    .reminder_days
                    .iter()
                    .map(|d| d.to_string())
                    .collect(),
            ),
        ),
        (
            "invitation_message",
            settings
                .invitation_message
                .as_ref()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        ),
        (
            "invitations_per_hour",
            settings.invitations_per_hour.to_string(),
        ),
        (
            "admin_invitations_per_hour",
            settings.admin_invitations_per_hour.to_string(),
        ),
        (
            "invitations_per_address_per_day",
            settings.invitations_per_address_per_day.to_string(),
        ),
        (
            "trusted_networks",
            join(
                settings
                    .trusted_networks
                    .iter()
                    .map(|n| n.to_string())
                    .collect(),
            ),
        ),
    ]);
    let mut switches: HashMap<&str, bool> = HashMap::from([
        ("sign_up_without_email", settings.sign_up_without_email),
        ("self_registration", settings.self_registration),
        ("members_can_invite", settings.members_can_invite),
        ("group_admins_can_invite", settings.group_admins_can_invite),
    ]);
    let mut mfa_roles: Vec<String> = settings
        .mfa_required_for
        .iter()
        .map(|r| r.as_str().to_string())
        .collect();
    let mut default_groups: Vec<String> = settings
        .default_groups
        .iter()
        .map(|g| g.to_string())
        .collect();
    if let Some(typed) = typed {
        for key in values.clone().keys() {
            let v = typed_values(typed, key)
                .first()
                .map(|s| s.to_string())
                .unwrap_or_default();
            values.insert(key, v);
        }
        for key in switches.clone().keys() {
            switches.insert(key, !typed_values(typed, key).is_empty());
        }
        default_groups = typed_values(typed, "default_groups")
            .iter()
            .map(|s| s.to_string())
            .collect();
        mfa_roles = typed_values(typed, "mfa_required_for")
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    let mfa_choices: Vec<minijinja::Value> = ["admin", "member", "guest"]
        .iter()
        .map(|role| {
            context! {
                role => role,
                label => visit.say(&format!("s_mfa_{role}"), &[]),
                checked => mfa_roles.iter().any(|r| r == role),
            }
        })
        .collect();
    let group_choices = |chosen: &[String]| -> Vec<GroupChoice> {
        groups
            .iter()
            .map(|g| GroupChoice {
                id: g.id.to_string(),
                name: g.name.to_string(),
                checked: chosen.contains(&g.id.to_string()),
            })
            .collect()
    };
    let link_view = link.as_ref().and_then(|view| {
        view.url.as_ref().map(|url| {
            context! {
                url => url,
                status => visit.say("link_on", &[("uses", &view.link.uses.to_string())]),
                expires => view.link.expires_at.map(|t| visit.say("link_expires", &[("date", &date_of(visit, t))])),
                max_uses => view.link.max_uses.map(|n| visit.say("link_max_uses", &[("n", &n.to_string())])),
                role => view.link.role.as_role().as_str(),
            }
        })
    });
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "admin_settings.html",
        org.name(),
        &visit.say("settings_title", &[]),
        context! {
            nav => "settings",
            notice => notice,
            values => values,
            switches => switches,
            default_groups => group_choices(&default_groups),
            mfa_choices => mfa_choices,
            link_groups => group_choices(&[]),
            link => link_view,
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

pub(crate) async fn settings_submit(Form { visit, pairs, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let typed: Vec<(String, String)> = pairs;
        let one = |k: &str| {
            typed_values(&typed, k)
                .first()
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let on = |k: &str| !typed_values(&typed, k).is_empty();
        let mut problems = Problems::default();
        let list = |k: &str| -> Vec<String> {
            one(k)
                .split([',', ';', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let domains: Result<Vec<EmailDomain>, _> = list("allowed_email_domains")
            .iter()
            .map(|d| EmailDomain::parse(d))
            .collect();
        let domains = domains
            .map_err(|_| {
                problems.at(
                    "allowed_email_domains",
                    visit.say("err_invalid_domain", &[]),
                )
            })
            .ok();
        let number = |k: &'static str, problems: &mut Problems| match one(k).parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                problems.at(k, visit.say("err_invalid_number", &[]));
                None
            }
        };
        let ttl = number("invitation_ttl_days", &mut problems);
        let min = number("password_min_length", &mut problems);
        // The limits: a form without them (or left empty) changes none of them.
        let limit = |k: &'static str, problems: &mut Problems| {
            (!one(k).is_empty()).then(|| number(k, problems)).flatten()
        };
        let per_hour = limit("invitations_per_hour", &mut problems);
        let admin_per_hour = limit("admin_invitations_per_hour", &mut problems);
        let per_address = limit("invitations_per_address_per_day", &mut problems);
        let networks = if typed_values(&typed, "trusted_networks").is_empty() {
            None
        } else {
            let parsed: Result<Vec<TrustedNetwork>, _> = list("trusted_networks")
                .iter()
                .map(|n| TrustedNetwork::parse(n))
                .collect();
            parsed
                .map_err(|_| problems.at("trusted_networks", visit.say("err_invalid_network", &[])))
                .ok()
        };
        let days: Result<Vec<u32>, _> = list("reminder_days")
            .iter()
            .map(|d| d.parse::<u32>())
            .collect();
        let days = days
            .map_err(|_| problems.at("reminder_days", visit.say("err_invalid_days", &[])))
            .ok();
        let display = one("display_name");
        let display = if display.is_empty() {
            Some(None)
        } else {
            match OrgName::parse(&display) {
                Ok(n) => Some(Some(n)),
                Err(e) => {
                    problems.at("display_name", e.to_string());
                    None
                }
            }
        };
        let message = one("invitation_message");
        let message = if message.is_empty() {
            Some(None)
        } else {
            match PersonalMessage::parse(&message) {
                Ok(m) => Some(Some(m)),
                Err(e) => {
                    problems.at("invitation_message", e.to_string());
                    None
                }
            }
        };
        let groups: Vec<GroupId> = typed_values(&typed, "default_groups")
            .iter()
            .filter_map(|g| GroupId::parse(g).ok())
            .collect();
        if !problems.is_empty() {
            return Ok(
                settings_form(&visit, &domain, &org, &token, Some(&typed), None, &problems).await,
            );
        }
        let change = SettingsChange {
            sign_up_without_email: Some(on("sign_up_without_email")),
            allowed_email_domains: domains,
            default_groups: Some(groups),
            invitation_message: message,
            invitation_ttl_days: ttl,
            password_min_length: min,
            display_name: display,
            members_can_invite: Some(on("members_can_invite")),
            group_admins_can_invite: Some(on("group_admins_can_invite")),
            self_registration: Some(on("self_registration")),
            reminder_days: days,
            language: Some(if one("language") == "fr" {
                gatehouse_domain::types::Language::Fr
            } else {
                gatehouse_domain::types::Language::En
            }),
            invitations_per_hour: per_hour,
            admin_invitations_per_hour: admin_per_hour,
            invitations_per_address_per_day: per_address,
            trusted_networks: networks,
            // Chosen on the Applications page; this form leaves it as it is.
            sign_up_client: None,
            mfa_required_for: Some(
                typed_values(&typed, "mfa_required_for")
                    .iter()
                    .filter_map(|r| gatehouse_domain::types::Role::parse(r).ok())
                    .collect(),
            ),
        };
        match update_settings(&visit.services, &domain, Some(&token), change).await {
            Ok(_) => {
                // The organisation as it is now (its name may have changed).
                let org = match visit.org().await {
                    Ok((_, org)) => org,
                    Err(page) => return Ok(*page),
                };
                let notice = visit.say("settings_saved", &[]);
                settings_form(
                    &visit,
                    &domain,
                    &org,
                    &token,
                    None,
                    Some(notice),
                    &Problems::default(),
                )
                .await
            }
            Err(e) if e.class() == RejectionClass::Invalid => {
                problems.general.push(e.detail());
                settings_form(&visit, &domain, &org, &token, Some(&typed), None, &problems).await
            }
            Err(e) => refused(&visit, &org, &e),
        }
    })
}

/// `POST …/admin/link/activate` and `…/deactivate`.
pub(crate) async fn link_action(
    Path((_, action)): Path<(String, String)>,
    Form { visit, pairs, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let typed: Vec<(String, String)> = pairs;
        let one = |k: &str| {
            typed_values(&typed, k)
                .first()
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let mut problems = Problems::default();
        let outcome = match action.as_str() {
            "activate" => {
                let optional = |k: &'static str, problems: &mut Problems| {
                    let raw = one(k);
                    if raw.is_empty() {
                        return None;
                    }
                    match raw.parse::<u32>() {
                        Ok(n) => Some(n),
                        Err(_) => {
                            problems.at(k, visit.say("err_invalid_number", &[]));
                            None
                        }
                    }
                };
                let expires_in_days = optional("link_days", &mut problems);
                let max_uses = optional("link_uses", &mut problems);
                if !problems.is_empty() {
                    return Ok(
                        settings_form(&visit, &domain, &org, &token, None, None, &problems).await,
                    );
                }
                let options = LinkOptions {
                    role: if one("link_role") == "guest" {
                        InviteeRole::Guest
                    } else {
                        InviteeRole::Member
                    },
                    groups: typed_values(&typed, "link_groups")
                        .iter()
                        .filter_map(|g| GroupId::parse(g).ok())
                        .collect(),
                    expires_in_days,
                    max_uses,
                };
                activate_link(&visit.services, &domain, Some(&token), options)
                    .await
                    .map(|_| ())
            }
            "deactivate" => deactivate_link(&visit.services, &domain, Some(&token))
                .await
                .map(|_| ()),
            _ => {
                return Ok(refused(
                    &visit,
                    &org,
                    &gatehouse_domain::usecase::invitations::InvitationsError::NotFound,
                ))
            }
        };
        match outcome {
            Ok(()) => {
                let notice = visit.say("settings_saved", &[]);
                settings_form(
                    &visit,
                    &domain,
                    &org,
                    &token,
                    None,
                    Some(notice),
                    &Problems::default(),
                )
                .await
            }
            Err(e) if e.class() == RejectionClass::Invalid => {
                problems.general.push(e.detail());
                settings_form(&visit, &domain, &org, &token, None, None, &problems).await
            }
            Err(e) => refused(&visit, &org, &e),
        }
    })
}
