//! My account, Security: a person sets up an authenticator app (their password, then the app's
//! first code; the recovery codes to keep) and removes it (their password).

use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::types::OrgDomain;
use gatehouse_domain::usecase::pages::signed_in_user;
use gatehouse_domain::usecase::second_factor::{
    confirm_totp, pending_totp, remove_totp, start_totp,
};

use crate::invitations::{refused, session};
use crate::second_step::{enrol_form, recovery_page, step_error, with_retry_after, EnrolTarget};
use crate::{Form, Page, Problems, Visit};

/// (key, English, French).
pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("security_heading", "Security", "Sécurité"),
    ("totp_password", "Your password, to confirm it is you", "Votre mot de passe, pour confirmer que c'est vous"),
    ("totp_on", "Your authenticator app has been asked for at sign-in since {date}. Recovery codes left: {left}.", "Votre application d'authentification est demandée à la connexion depuis le {date}. Codes de secours restants\u{a0}: {left}."),
    ("totp_off", "Add an authenticator app: at sign-in, after your password, you then type the code it shows, so that your password alone is not enough to get in.", "Ajoutez une application d'authentification\u{a0}: à la connexion, après votre mot de passe, vous saisissez alors le code qu'elle affiche, si bien que votre mot de passe seul ne suffit plus pour entrer."),
    ("totp_set_up", "Set up an authenticator app", "Configurer une application d'authentification"),
    ("totp_remove", "Remove the authenticator app", "Retirer l'application d'authentification"),
    ("totp_own_lead", "Scan this code with an authenticator app (such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis), then enter the 6-digit code it shows.", "Scannez ce code avec une application d'authentification (Google Authenticator, Microsoft Authenticator, 1Password ou Aegis, par exemple), puis saisissez le code à 6 chiffres qu'elle affiche."),
    ("totp_removed_own", "Your authenticator app is removed: your password alone signs you in.", "Votre application d'authentification est retirée\u{a0}: votre mot de passe seul vous connecte."),
];

/// What My account says of the person's app.
pub(crate) fn security_view(
    visit: &Visit,
    user: &gatehouse_domain::model::User,
) -> minijinja::Value {
    let on = user
        .totp
        .as_ref()
        .and_then(|f| f.confirmed_at.map(|at| (at, f.recovery_hashes.len())));
    minijinja::context! {
        passkeys => crate::passkeys::passkeys_view(visit, user),
        passkeys_offered => visit.services.passkeys.offered(),
        totp_on => on.is_some(),
        totp_text => match on {
            Some((at, left)) => visit.say(
                "totp_on",
                &[("date", &crate::date_of(visit, at)), ("left", &left.to_string())],
            ),
            None => visit.say("totp_off", &[]),
        },
    }
}

/// `POST /{org}/account/totp`: with their password, a new app's QR code and key.
pub(crate) async fn start_submit(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let password = fields.get("totp_password").map(String::as_str);
        match start_totp(&visit.services, &domain, Some(&token), &user.id, password).await {
            Ok(enrolment) => {
                let target = EnrolTarget {
                    action: format!("/{}/account/totp/confirm", visit.slug),
                    carried: Vec::new(),
                };
                let lead = visit.say("totp_own_lead", &[]);
                enrol_form(&visit, &org, &lead, &enrolment, target, None)
            }
            Err(e) => account_with_problem(&visit, &domain, &org, &token, &e).await,
        }
    })
}

/// `POST /{org}/account/totp/confirm`: the app's first code; the recovery codes to keep.
pub(crate) async fn confirm_submit(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let code = fields.get("code").map(|s| s.trim()).unwrap_or("");
        let services = &visit.services;
        match confirm_totp(services, &domain, Some(&token), &user.id, code).await {
            Ok(codes) => {
                let next = format!("/{}/account", visit.slug);
                recovery_page(&visit, &org, &codes, &next)
            }
            Err(e) if matches!(e.code(), "invalid_mfa_code" | "too_many_attempts") => {
                match pending_totp(services, &domain, Some(&token), &user.id).await {
                    Ok(enrolment) => {
                        let target = EnrolTarget {
                            action: format!("/{}/account/totp/confirm", visit.slug),
                            carried: Vec::new(),
                        };
                        let lead = visit.say("totp_own_lead", &[]);
                        let error = Some(step_error(&visit, &org, &e));
                        let mut page = enrol_form(&visit, &org, &lead, &enrolment, target, error);
                        with_retry_after(&mut page, &e);
                        page
                    }
                    Err(e) => refused(&visit, &org, &e),
                }
            }
            Err(e) => refused(&visit, &org, &e),
        }
    })
}

/// `POST /{org}/account/totp/remove`: with their password, the app goes.
pub(crate) async fn remove_submit(Form { visit, fields, .. }: Form) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let password = fields.get("totp_password").map(String::as_str);
        match remove_totp(&visit.services, &domain, Some(&token), &user.id, password).await {
            Ok(()) => {
                let notice = Some(visit.say("totp_removed_own", &[]));
                crate::account::account_form(
                    &visit,
                    &domain,
                    &org,
                    &token,
                    notice,
                    &Problems::default(),
                )
                .await
            }
            Err(e) => account_with_problem(&visit, &domain, &org, &token, &e).await,
        }
    })
}

/// My account again, with a refusal said at the Security section's password (wrong or missing)
/// or above the forms (too many tries, an app enrolled meanwhile).
async fn account_with_problem(
    visit: &Visit,
    domain: &OrgDomain,
    org: &Org,
    token: &SessionToken,
    e: &(dyn Rejection + Send + Sync + 'static),
) -> Response {
    let field = "totp_password";
    let mut problems = Problems::default();
    match e.code() {
        "wrong_current_password" => {
            problems.at(field, visit.say("err_wrong_current_password", &[]));
        }
        "missing_current_password" => problems.at(field, visit.say("err_required", &[])),
        _ if e.class() == RejectionClass::Throttled || e.class() == RejectionClass::Conflict => {
            problems.general.push(crate::refusal_text(visit, org, e));
        }
        _ => return refused(visit, org, e),
    }
    let mut page = crate::account::account_form(visit, domain, org, token, None, &problems).await;
    if e.class() == RejectionClass::Throttled {
        *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    }
    page
}
