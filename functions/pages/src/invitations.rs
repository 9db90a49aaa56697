//! The console's invitations: the list with filters, one invitation with its
//! access code and history, resend and revoke, and the invite form (by email or identifier). Its
//! pages need the page session (`gh_session`); the use cases decide who may do what, as they do
//! for the API, and a refusal is a page that says so.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::{Invitation, InvitationKind, InvitationStatus, Org};
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::types::{
    GroupId, InvitationId, InviteeRole, OrgDomain, PersonalMessage, Uid,
};
use gatehouse_domain::usecase::groups::list_groups;
use gatehouse_domain::usecase::invitations::{
    get_invitation, list_invitations, revoke_invitation, InvitationFilter,
};
use gatehouse_domain::usecase::invite::{
    invite, resend_invitation, InvitationRequest, InviteeRequest,
};
use gatehouse_domain::usecase::pages::signed_in_user;
use minijinja::context;
use serde::Serialize;

use crate::{date_of, name_field, session_of, Form, Page, Problems, Visit};

/// The console's pages in the page's language.
pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("console", "Administration", "Administration"),
    ("nav_invitations", "Invitations", "Invitations"),
    ("nav_invite", "Invite", "Inviter"),
    ("invitations_title", "Invitations", "Invitations"),
    ("filter", "Show", "Afficher"),
    ("all", "All", "Toutes"),
    ("status", "Status", "État"),
    ("kind", "Kind", "Type"),
    ("role", "Role", "Rôle"),
    ("person", "Person", "Personne"),
    ("address", "Email or identifier", "E-mail ou identifiant"),
    ("delivery", "Delivery", "Envoi"),
    ("created", "Invited on", "Invité le"),
    ("actions", "Actions", "Actions"),
    ("apply", "Apply", "Appliquer"),
    ("next_page", "Next page", "Page suivante"),
    ("none_listed", "No invitation matches.", "Aucune invitation ne correspond."),
    ("status_pending", "pending", "en attente"),
    ("status_accepted", "accepted", "acceptée"),
    ("status_revoked", "withdrawn", "retirée"),
    ("status_expired", "expired", "expirée"),
    ("kind_email", "by email", "par e-mail"),
    ("kind_uid", "by identifier", "par identifiant"),
    ("role_member", "member", "membre"),
    ("role_guest", "guest", "invité"),
    ("open", "Open", "Ouvrir"),
    ("resend", "Resend", "Renvoyer"),
    ("revoke", "Withdraw", "Retirer"),
    ("invite_title", "Invite someone", "Inviter quelqu'un"),
    ("by_email", "By email: they receive a link", "Par e-mail\u{a0}: la personne reçoit un lien"),
    ("by_uid", "By identifier, for people without email: you hand over an access code", "Par identifiant, pour les personnes sans e-mail\u{a0}: vous remettez un code d'accès"),
    ("how", "How", "Comment"),
    ("uid", "Identifier (letters and digits, e.g. an employee number)", "Identifiant (lettres et chiffres, par exemple un matricule)"),
    ("groups", "Groups", "Groupes"),
    ("members_join", "Members join {groups} in any case.", "Les membres rejoignent {groups} dans tous les cas."),
    ("invite_language", "Language of the emails", "Langue des e-mails"),
    ("message", "Personal message (optional)", "Message personnel (facultatif)"),
    ("send_invitation", "Invite", "Inviter"),
    ("invited_email", "{name} is invited; the email went to {email}.", "{name} est invité(e)\u{202f}; l'e-mail est parti à {email}."),
    ("invited_queued", "{name} is invited; the email to {email} will be retried shortly.", "{name} est invité(e)\u{202f}; l'e-mail à {email} sera renvoyé sous peu."),
    ("invited_uid", "{name} is invited. Hand over this access code; they sign up with it at {url}, then sign in as {identifier}.", "{name} est invité(e). Remettez ce code d'accès\u{202f}; la personne s'inscrit avec sur {url}, puis se connecte en tant que {identifier}."),
    ("access_code_is", "Access code", "Code d'accès"),
    ("invitation_title", "Invitation", "Invitation"),
    ("history", "History", "Historique"),
    ("expires", "Valid until", "Valable jusqu'au"),
    ("resent", "Sent again.", "Renvoyée."),
    ("revoked", "Withdrawn: its link or code no longer works.", "Retirée\u{a0}: son lien ou son code ne fonctionne plus."),
    ("back_to_list", "Back to the invitations", "Retour aux invitations"),
    ("forbidden_title", "Not for you", "Accès refusé"),
    ("forbidden", "Only administrators of {org} can do this.", "Seuls les administrateurs de {org} peuvent faire cela."),
    ("cannot_invite", "{org} lets only its administrators invite people.", "Dans {org}, seuls les administrateurs invitent des personnes."),
    ("not_found_invitation", "There is no such invitation.", "Cette invitation n'existe pas."),
    ("err_email_taken", "This address already has an account or a pending invitation here.", "Cette adresse a déjà un compte ou une invitation en attente ici."),
    ("err_uid_taken", "This identifier already has an account or a pending invitation here.", "Cet identifiant a déjà un compte ou une invitation en attente ici."),
    ("err_invalid_uid", "Use 1 to 64 letters and digits.", "Utilisez de 1 à 64 lettres et chiffres."),
    ("err_invalid_message", "At most 1,000 characters.", "1 000 caractères au plus."),
    ("console_link", "Open the administration", "Ouvrir l'administration"),
];

#[derive(Serialize)]
struct Row {
    id: String,
    name: String,
    address: String,
    kind: String,
    role: String,
    status: String,
    pending: bool,
    delivery: String,
    created: String,
}

#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct GroupChoice {
    id: String,
    name: String,
    checked: bool,
}

/// The signed-in caller's session, or the redirect to the sign-in page.
pub(crate) async fn session(
    visit: &Visit,
    domain: &OrgDomain,
) -> Result<SessionToken, Box<Response>> {
    let sign_in = || Box::new(visit.redirect(&format!("/{}/sign-in", visit.slug)));
    let token = session_of(visit).ok_or_else(sign_in)?;
    match signed_in_user(&visit.services, domain, &token).await {
        Ok(_) => Ok(token),
        Err(e) if e.class() == RejectionClass::Internal => Err(Box::new(visit.trouble(&e))),
        Err(_) => Err(sign_in()),
    }
}

/// A refusal of the console's use cases as a page: sign in again, not allowed, not found.
pub(crate) fn refused(visit: &Visit, org: &Org, e: &(dyn Rejection + 'static)) -> Response {
    let name = org.name();
    match e.class() {
        RejectionClass::Unauthenticated => visit.redirect(&format!("/{}/sign-in", visit.slug)),
        RejectionClass::Forbidden => visit.message(
            StatusCode::FORBIDDEN,
            name,
            &visit.say("forbidden_title", &[]),
            &visit.say("forbidden", &[("org", name)]),
            &[],
        ),
        RejectionClass::NotFound => visit.message(
            StatusCode::NOT_FOUND,
            name,
            &visit.say("not_found_title", &[]),
            &visit.say("not_found_invitation", &[]),
            &[list_link(visit)],
        ),
        RejectionClass::Internal => visit.trouble(e),
        _ => visit.message(
            StatusCode::CONFLICT,
            name,
            &visit.say("invitation_title", &[]),
            &e.detail(),
            &[list_link(visit)],
        ),
    }
}

fn list_link(visit: &Visit) -> (String, String) {
    (
        format!("/{}/admin/invitations", visit.slug),
        visit.say("back_to_list", &[]),
    )
}

fn status_word(visit: &Visit, status: InvitationStatus) -> String {
    visit.say(&format!("status_{}", status.as_str()), &[])
}

fn role_word(visit: &Visit, role: InviteeRole) -> String {
    visit.say(&format!("role_{}", role.as_role().as_str()), &[])
}

fn row(visit: &Visit, domain: &OrgDomain, i: &Invitation) -> Row {
    let now = visit.services.clock.now();
    let status = i.status_at(now);
    Row {
        id: i.id.to_string(),
        name: format!("{} {}", i.first_name, i.last_name),
        address: match (i.invitee.email(), i.invitee.uid()) {
            (Some(email), _) => email.to_string(),
            (None, Some(uid)) => uid.sign_in_identifier(domain),
            (None, None) => String::new(),
        },
        kind: visit.say(&format!("kind_{}", i.invitee.kind().as_str()), &[]),
        role: role_word(visit, i.role),
        status: status_word(visit, status),
        pending: status == InvitationStatus::Pending,
        delivery: i.delivery.as_str().to_string(),
        created: date_of(visit, i.created_at),
    }
}

pub(crate) async fn home(visit: Visit) -> Result<Response, Page> {
    Ok({
        visit.org().await?;
        visit.redirect(&format!("/{}/admin/invitations", visit.slug))
    })
}

pub(crate) async fn invitations_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let status = visit.param("status").and_then(InvitationStatus::parse);
        let kind = visit.param("kind").and_then(InvitationKind::parse);
        let role = visit.param("role").and_then(|r| InviteeRole::parse(r).ok());
        let cursor = visit.param("cursor").map(str::to_owned);
        let listed = list_invitations(
            &visit.services,
            &domain,
            Some(&token),
            InvitationFilter {
                status,
                kind,
                role,
                invited_by: None,
            },
            PageRequest { cursor, limit: 25 },
        )
        .await;
        let page = match listed {
            Ok(page) => page,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let choices =
            |values: &[&'static str], prefix: &str, chosen: Option<&str>| -> Vec<Choice> {
                std::iter::once(Choice {
                    value: "",
                    label: visit.say("all", &[]),
                    selected: chosen.is_none(),
                })
                .chain(values.iter().map(|v| Choice {
                    value: v,
                    label: visit.say(&format!("{prefix}_{v}"), &[]),
                    selected: chosen == Some(*v),
                }))
                .collect()
            };
        let next = page.next_cursor.map(|c| {
            let mut query: Vec<(&str, String)> = vec![("cursor", c)];
            for (k, v) in [
                ("status", status.map(|s| s.as_str())),
                ("kind", kind.map(|k| k.as_str())),
                ("role", role.map(|r| r.as_role().as_str())),
            ] {
                if let Some(v) = v {
                    query.push((k, v.to_string()));
                }
            }
            format!(
                "/{}/admin/invitations?{}",
                visit.slug,
                serde_urlencoded::to_string(&query).unwrap_or_default()
            )
        });
        let rows: Vec<Row> = page.items.iter().map(|i| row(&visit, &domain, i)).collect();
        visit.render(
        StatusCode::OK,
        "admin_invitations.html",
        org.name(),
        &visit.say("invitations_title", &[]),
        context! {
            wide => true,
            nav => "invitations",
            rows => rows,
            next => next,
            statuses => choices(&["pending", "expired", "accepted", "revoked"], "status", status.map(|s| s.as_str())),
            kinds => choices(&["email", "uid"], "kind", kind.map(|k| k.as_str())),
            roles => choices(&["member", "guest"], "role", role.map(|r| r.as_role().as_str())),
        },
    )
    })
}

async fn invitation_details(
    visit: &Visit,
    domain: &OrgDomain,
    org: &Org,
    token: &SessionToken,
    id: &InvitationId,
    notice: Option<String>,
) -> Response {
    let details = match get_invitation(&visit.services, domain, Some(token), id).await {
        Ok(d) => d,
        Err(e) => return refused(visit, org, &e),
    };
    let i = &details.invitation;
    let events: Vec<(String, String)> = i
        .lifecycle
        .events
        .iter()
        .map(|e| (date_of(visit, e.at), e.kind.as_str().to_string()))
        .collect();
    visit.render(
        StatusCode::OK,
        "admin_invitation.html",
        org.name(),
        &visit.say("invitation_title", &[]),
        context! {
            wide => true,
            nav => "invitations",
            notice => notice,
            row => row(visit, domain, i),
            expires => date_of(visit, i.expires_at),
            access_code => details.access_code.as_ref().map(|c| c.grouped()),
            events => events,
        },
    )
}

pub(crate) async fn invitation_page(
    visit: Visit,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let Ok(id) = InvitationId::parse(&id) else {
            return Ok(refused(
                &visit,
                &org,
                &gatehouse_domain::usecase::invitations::InvitationsError::NotFound,
            ));
        };
        invitation_details(&visit, &domain, &org, &token, &id, None).await
    })
}

/// `POST …/invitations/{id}/resend` and `…/revoke`.
pub(crate) async fn invitation_action(
    Path((_, id, action)): Path<(String, String, String)>,
    Form { visit, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let not_found = gatehouse_domain::usecase::invitations::InvitationsError::NotFound;
        let Ok(id) = InvitationId::parse(&id) else {
            return Ok(refused(&visit, &org, &not_found));
        };
        let notice = match action.as_str() {
            "resend" => {
                match resend_invitation(&visit.services, &domain, Some(&token), &id).await {
                    Ok(_) => visit.say("resent", &[]),
                    Err(e) => return Ok(refused(&visit, &org, &e)),
                }
            }
            "revoke" => {
                match revoke_invitation(&visit.services, &domain, Some(&token), &id).await {
                    Ok(_) => visit.say("revoked", &[]),
                    Err(e) => return Ok(refused(&visit, &org, &e)),
                }
            }
            _ => return Ok(refused(&visit, &org, &not_found)),
        };
        invitation_details(&visit, &domain, &org, &token, &id, Some(notice)).await
    })
}

pub(crate) async fn invite_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        invite_form(
            &visit,
            &domain,
            &org,
            &token,
            &[],
            &Problems::default(),
            None,
        )
        .await
    })
}

async fn invite_form(
    visit: &Visit,
    domain: &OrgDomain,
    org: &Org,
    token: &SessionToken,
    typed: &[(String, String)],
    problems: &Problems,
    done: Option<(String, Option<String>)>,
) -> Response {
    let groups = match list_groups(&visit.services, domain, Some(token), false).await {
        Ok(groups) => groups,
        Err(e) => return refused(visit, org, &e),
    };
    // Shown only what they may do: the form to those who may invite; to those who are not
    // admins, only the groups they administer and no invitation by identifier.
    let user = match signed_in_user(&visit.services, domain, token).await {
        Ok(user) => user,
        Err(e) => return refused(visit, org, &e),
    };
    let is_admin = user.role == gatehouse_domain::types::Role::Admin;
    let administers: Vec<_> = groups
        .iter()
        .filter(|g| g.admins.contains(&user.id))
        .map(|g| g.id.clone())
        .collect();
    let standing = gatehouse_domain::permissions::Standing {
        role: user.role,
        administers: &administers,
    };
    if !gatehouse_domain::permissions::may_invite(standing, &org.settings) {
        return visit.message(
            StatusCode::FORBIDDEN,
            org.name(),
            &visit.say("forbidden_title", &[]),
            &visit.say("cannot_invite", &[("org", org.name())]),
            &[(
                format!("/{}/welcome", visit.slug),
                visit.say("welcome_title", &[]),
            )],
        );
    }
    let groups: Vec<_> = groups
        .into_iter()
        .filter(|g| is_admin || administers.contains(&g.id))
        .collect();
    let value = |k: &str| {
        typed
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let checked: Vec<&str> = typed
        .iter()
        .filter(|(n, _)| n == "groups")
        .map(|(_, v)| v.as_str())
        .collect();
    // The groups every member joins are not offered: they are said instead.
    let defaults = &org.settings.default_groups;
    let everyone: Vec<String> = groups
        .iter()
        .filter(|g| defaults.contains(&g.id))
        .map(|g| g.name.to_string())
        .collect();
    let groups: Vec<GroupChoice> = groups
        .iter()
        .filter(|g| !defaults.contains(&g.id))
        .map(|g| GroupChoice {
            id: g.id.to_string(),
            name: g.name.to_string(),
            checked: checked.contains(&g.id.as_str()),
        })
        .collect();
    let how = if value("how") == "uid" {
        "uid"
    } else {
        "email"
    };
    let (done_text, access_code) = done.unzip();
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "admin_invite.html",
        org.name(),
        &visit.say("invite_title", &[]),
        context! {
            nav => if is_admin { "invite" } else { "" },
            done => done_text,
            access_code => access_code.flatten(),
            uid_allowed => is_admin && org.settings.sign_up_without_email,
            how => how,
            email => value("email"),
            uid => value("uid"),
            role => if value("role") == "guest" { "guest" } else { "member" },
            first_name => value("first_name"),
            last_name => value("last_name"),
            message => value("message"),
            language => match value("language").as_str() {
                "" => org.settings.language.as_str().to_string(),
                other => other.to_string(),
            },
            groups => groups,
            everyone => (!everyone.is_empty()).then(|| everyone.join(", ")),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

pub(crate) async fn invite_submit(
    Form {
        visit,
        fields,
        pairs,
    }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let typed: Vec<(String, String)> = pairs;
        let mut problems = Problems::default();
        let by_uid = fields.get("how").map(String::as_str) == Some("uid");
        let invitee = if by_uid {
            let raw = fields.get("uid").map(|s| s.trim()).unwrap_or("");
            match Uid::parse(raw) {
                Ok(uid) => Some(InviteeRequest::Uid(uid)),
                Err(_) => {
                    problems.at(
                        "uid",
                        visit.say(
                            if raw.is_empty() {
                                "err_required"
                            } else {
                                "err_invalid_uid"
                            },
                            &[],
                        ),
                    );
                    None
                }
            }
        } else {
            crate::email_field(&visit, &mut problems, &fields).map(InviteeRequest::Email)
        };
        let first = name_field(&visit, &mut problems, &fields, "first_name");
        let last = name_field(&visit, &mut problems, &fields, "last_name");
        let role = if fields.get("role").map(String::as_str) == Some("guest") {
            InviteeRole::Guest
        } else {
            InviteeRole::Member
        };
        let message = match fields
            .get("message")
            .map(|m| m.trim())
            .filter(|m| !m.is_empty())
        {
            None => Ok(None),
            Some(m) => PersonalMessage::parse(m).map(Some),
        };
        let message = match message {
            Ok(m) => m,
            Err(_) => {
                problems.at("message", visit.say("err_invalid_message", &[]));
                None
            }
        };
        let groups: Vec<GroupId> = typed
            .iter()
            .filter(|(n, _)| n == "groups")
            .filter_map(|(_, v)| GroupId::parse(v).ok())
            .collect();
        let (Some(invitee), Some(first_name), Some(last_name)) = (invitee, first, last) else {
            return Ok(invite_form(&visit, &domain, &org, &token, &typed, &problems, None).await);
        };
        if !problems.is_empty() {
            return Ok(invite_form(&visit, &domain, &org, &token, &typed, &problems, None).await);
        }
        let person = format!("{first_name} {last_name}");
        let outcome = invite(
            &visit.services,
            &domain,
            Some(&token),
            InvitationRequest {
                invitee,
                role,
                first_name,
                last_name,
                groups,
                message,
                language: match fields.get("language").map(String::as_str) {
                    Some("fr") => Some(gatehouse_domain::types::Language::Fr),
                    Some("en") => Some(gatehouse_domain::types::Language::En),
                    _ => None,
                },
            },
        )
        .await;
        match outcome {
            Ok(invited) => {
                let i = &invited.invitation;
                let text = match (i.invitee.email(), i.invitee.uid()) {
                    (Some(email), _) if i.delivery.as_str() == "sent" => visit.say(
                        "invited_email",
                        &[("name", &person), ("email", email.as_str())],
                    ),
                    (Some(email), _) => visit.say(
                        "invited_queued",
                        &[("name", &person), ("email", email.as_str())],
                    ),
                    (None, Some(uid)) => visit.say(
                        "invited_uid",
                        &[
                            ("name", &person),
                            (
                                "url",
                                &format!(
                                    "{}/{}/sign-up/code",
                                    visit.services.config.public_url, domain
                                ),
                            ),
                            ("identifier", &uid.sign_in_identifier(&domain)),
                        ],
                    ),
                    (None, None) => person.clone(),
                };
                let code = invited.access_code.map(|c| c.grouped());
                invite_form(
                    &visit,
                    &domain,
                    &org,
                    &token,
                    &[],
                    &Problems::default(),
                    Some((text, code)),
                )
                .await
            }
            Err(e) => {
                let field = match e.code() {
                    "email_taken" => Some(("email", visit.say("err_email_taken", &[]))),
                    "uid_taken" => Some(("uid", visit.say("err_uid_taken", &[]))),
                    "email_domain_not_allowed" => Some((
                        "email",
                        visit.say("err_email_domain_not_allowed", &[("org", org.name())]),
                    )),
                    _ => None,
                };
                match (field, e.class()) {
                    (Some((name, text)), _) => problems.at(name, text),
                    (None, RejectionClass::Internal) => return Ok(visit.trouble(&e)),
                    (None, RejectionClass::Unauthenticated) => {
                        return Ok(refused(&visit, &org, &e))
                    }
                    (None, _) => problems.general.push(e.detail()),
                }
                invite_form(&visit, &domain, &org, &token, &typed, &problems, None).await
            }
        }
    })
}
