//! The sign-in's second step on the pages: after the right password, the code of the person's
//! authenticator app (or a recovery code); or, when the organisation requires a second factor the
//! person lacks, enrolling an app (its QR code, drawn here) and then the recovery codes to keep.
//! Begun on the sign-in page or at an application's authorization request, whose fields are
//! carried along so that the person lands where they were going.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use gatehouse_domain::challenge::ChallengeToken;
use gatehouse_domain::error::Rejection;
use gatehouse_domain::model::Org;
use gatehouse_domain::usecase::sign_in::SecondStep;
use gatehouse_domain::usecase::sign_in_mfa::{
    finish_enrolment, finish_sign_in, pending_enrolment, start_enrolment, MfaError, Proof,
};
use gatehouse_domain::usecase::ClientAddress;
use gatehouse_domain::usecase::SignedIn;
use gatehouse_http::Client;
use minijinja::context;

use crate::authorize::{authorize_link, carried_fields, continue_authorization};
use crate::*;

/// (key, English, French).
pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("mfa_title", "Two-step sign-in", "Connexion en deux étapes"),
    ("mfa_lead", "Enter the 6-digit code your authenticator app shows for {org}.", "Saisissez le code à 6 chiffres que votre application d'authentification affiche pour {org}."),
    ("mfa_code", "Code", "Code"),
    ("mfa_verify", "Verify", "Vérifier"),
    ("mfa_lost_phone", "Lost your phone? Use a recovery code", "Téléphone perdu\u{a0}? Utilisez un code de secours"),
    ("mfa_recovery_code", "Recovery code", "Code de secours"),
    ("mfa_recovery_hint", "One of the codes you kept when you set up the app, like K7QMX-4XTPW. Each works once.", "L'un des codes conservés lors de la configuration de l'application, par exemple K7QMX-4XTPW. Chacun ne sert qu'une fois."),
    ("mfa_enrol_title", "Set up an authenticator app", "Configurez une application d'authentification"),
    ("mfa_enrol_lead", "{org} asks for a second step at sign-in. Scan this code with an authenticator app (such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis), then enter the 6-digit code it shows.", "{org} demande une seconde étape à la connexion. Scannez ce code avec une application d'authentification (Google Authenticator, Microsoft Authenticator, 1Password ou Aegis, par exemple), puis saisissez le code à 6 chiffres qu'elle affiche."),
    ("mfa_qr_alt", "QR code for your authenticator app", "Code QR pour votre application d'authentification"),
    ("mfa_secret", "Cannot scan? Type this key into the app:", "Impossible de scanner\u{a0}? Saisissez cette clé dans l'application\u{a0}:"),
    ("mfa_recovery_title", "Keep your recovery codes", "Conservez vos codes de secours"),
    ("mfa_recovery_lead", "If you lose your phone, each of these codes signs you in once instead of the app's code. Keep them somewhere safe, apart from your phone: they are shown only now.", "Si vous perdez votre téléphone, chacun de ces codes vous connecte une fois à la place du code de l'application. Gardez-les en lieu sûr, à part de votre téléphone\u{a0}: ils ne sont affichés que maintenant."),
    ("mfa_download", "Download them", "Les télécharger"),
    ("mfa_passkey_lead", "{org} asks for your passkey too: use it to finish signing in.", "{org} demande aussi votre clé d'accès\u{a0}: utilisez-la pour terminer la connexion."),
    ("mfa_passkey_unusable", "This browser cannot use passkeys, or its JavaScript is off. Open this page in a browser that can, or ask an admin to remove your passkey, then sign in again.", "Ce navigateur ne sait pas utiliser les clés d'accès, ou son JavaScript est désactivé. Ouvrez cette page dans un navigateur qui le sait, ou demandez à un administrateur de retirer votre clé d'accès, puis reconnectez-vous."),
    ("mfa_kept", "I have kept them: continue", "Je les ai conservés\u{a0}: continuer"),
    ("err_mfa_code", "That is not the app's current code (or it was used already). Enter the code it shows now.", "Ce n'est pas le code actuel de l'application (ou il a déjà servi). Saisissez celui qu'elle affiche maintenant."),
    ("err_mfa_token", "This sign-in took too long or was already finished. Sign in again.", "Cette connexion a pris trop de temps ou est déjà terminée. Connectez-vous de nouveau."),
    ("err_mfa_locked", "Too many wrong codes: this account is locked. Ask an administrator to remove your authenticator app, then sign in again.", "Trop de codes erronés\u{a0}: ce compte est verrouillé. Demandez à un administrateur de retirer votre application d'authentification, puis connectez-vous de nouveau."),
];

/// The page after the right password: the code step, or (the organisation requires a second
/// factor the person lacks) the enrolment of an app. `carried`: an authorization request's
/// fields, prefixed, when the sign-in began at one.
pub(crate) async fn second_step_page(
    visit: &Visit,
    org: &Org,
    pending: &SecondStep,
    client: &ClientAddress,
    carried: Vec<(String, String)>,
) -> Response {
    let token = pending.token.expose();
    if pending.enrolment_required {
        match start_enrolment(&visit.services, &org.domain, &pending.token, client).await {
            Ok(enrolment) => {
                let lead = visit.say("mfa_enrol_lead", &[("org", org.name())]);
                let target = EnrolTarget::sign_in(visit, &token, carried);
                return enrol_form(visit, org, &lead, &enrolment, target, None);
            }
            Err(e) => return refused_step(visit, org, &e),
        }
    }
    let methods = Methods {
        code: pending.methods.contains(&"totp"),
        passkey: pending.methods.contains(&"passkey") && visit.services.passkeys.offered(),
    };
    code_form(visit, org, &token, carried, None, StatusCode::OK, methods)
}

/// What the second step's page offers: the app's code (and recovery codes), a passkey.
#[derive(Clone, Copy)]
struct Methods {
    code: bool,
    passkey: bool,
}

fn code_form(
    visit: &Visit,
    org: &Org,
    token: &str,
    carried: Vec<(String, String)>,
    error: Option<String>,
    status: StatusCode,
    methods: Methods,
) -> Response {
    visit.render(
        status,
        "sign_in_mfa.html",
        org.name(),
        &visit.say("mfa_title", &[]),
        context! {
            lead => if methods.code {
                visit.say("mfa_lead", &[("org", org.name())])
            } else {
                visit.say("mfa_passkey_lead", &[("org", org.name())])
            },
            mfa_token => token,
            code => methods.code,
            passkey => methods.passkey,
            carried => carried,
            ..problems_at_code(error)
        },
    )
}

/// Where the enrolment page's code goes, with the fields it carries.
pub(crate) struct EnrolTarget {
    pub(crate) action: String,
    pub(crate) carried: Vec<(String, String)>,
}

impl EnrolTarget {
    /// The sign-in's own enrolment: its token, and any authorization request carried along.
    fn sign_in(visit: &Visit, token: &str, carried: Vec<(String, String)>) -> Self {
        let mut fields = vec![("mfa_token".to_string(), token.to_string())];
        fields.extend(carried);
        Self {
            action: format!("/{}/sign-in/mfa/totp", visit.slug),
            carried: fields,
        }
    }
}

/// The page that shows a new app's QR code and key and asks for its first code.
pub(crate) fn enrol_form(
    visit: &Visit,
    org: &Org,
    lead: &str,
    enrolment: &gatehouse_domain::usecase::second_factor::TotpEnrolment,
    target: EnrolTarget,
    error: Option<String>,
) -> Response {
    visit.render(
        if error.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        },
        "totp_enrol.html",
        org.name(),
        &visit.say("mfa_enrol_title", &[]),
        context! {
            lead => lead,
            action => target.action,
            // Drawn here from the URI (no user text in it); without its XML declaration, which
            // has no place inside HTML.
            qr_svg => minijinja::Value::from_safe_string(
                enrolment.qr_svg[enrolment.qr_svg.find("<svg").unwrap_or(0)..].to_string()
            ),
            secret => spaced(&enrolment.secret),
            carried => target.carried,
            ..problems_at_code(error)
        },
    )
}

/// A refused code, said at the code field and in the page's summary.
fn problems_at_code(error: Option<String>) -> minijinja::Value {
    let mut problems = Problems::default();
    if let Some(error) = error {
        problems.at("code", error);
    }
    context! { errors => problems.errors(), summary => problems.summary() }
}

/// A base32 secret in groups of four, as people type it.
fn spaced(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `POST /{org}/sign-in/mfa`: the code (or a recovery code) finishes the sign-in.
pub(crate) async fn mfa_submit(
    Client(client): Client,
    Form {
        visit,
        fields,
        pairs,
    }: Form,
) -> Result<Response, Page> {
    Ok({
        let (_, org) = visit.org().await?;
        let carried = carried_fields(&pairs);
        let raw_token = fields.get("mfa_token").cloned().unwrap_or_default();
        let code = fields.get("code").map(|s| s.trim()).unwrap_or("");
        let recovery = fields.get("recovery_code").map(|s| s.trim()).unwrap_or("");
        let proof = if code.is_empty() && !recovery.is_empty() {
            Proof::RecoveryCode(recovery.to_string())
        } else {
            Proof::Code(code.to_string())
        };
        let Ok(token) = ChallengeToken::parse(&raw_token) else {
            return Ok(refused_step(&visit, &org, &MfaError::InvalidToken));
        };
        match finish_sign_in(&visit.services, &org.domain, &token, &proof, &client).await {
            Ok(signed) => finished(visit, &org, carried, &signed).await,
            Err(e @ (MfaError::InvalidCode | MfaError::TooManyAttempts(_))) => {
                let status =
                    if e.retry_after().is_some() || matches!(e, MfaError::TooManyAttempts(_)) {
                        StatusCode::TOO_MANY_REQUESTS
                    } else {
                        StatusCode::UNAUTHORIZED
                    };
                let mut page = code_form(
                    &visit,
                    &org,
                    &raw_token,
                    carried,
                    Some(step_error(&visit, &org, &e)),
                    status,
                    Methods {
                        code: true,
                        passkey: false,
                    },
                );
                with_retry_after(&mut page, &e);
                page
            }
            Err(e) => refused_step(&visit, &org, &e),
        }
    })
}

/// `POST /{org}/sign-in/mfa/totp`: the new app's first code finishes the enrolment and the
/// sign-in; the recovery codes are shown once.
pub(crate) async fn enrol_submit(
    Client(client): Client,
    Form {
        mut visit,
        fields,
        pairs,
    }: Form,
) -> Result<Response, Page> {
    Ok({
        let (_, org) = visit.org().await?;
        let carried = carried_fields(&pairs);
        let raw_token = fields.get("mfa_token").cloned().unwrap_or_default();
        let code = fields.get("code").map(|s| s.trim()).unwrap_or("");
        let Ok(token) = ChallengeToken::parse(&raw_token) else {
            return Ok(refused_step(&visit, &org, &MfaError::InvalidToken));
        };
        match finish_enrolment(&visit.services, &org.domain, &token, code, &client).await {
            Ok(done) => {
                visit.keep_session(&done.signed_in);
                let next = if carried.is_empty() {
                    match app_url() {
                        Some(platform) => platform.to_string(),
                        None => format!("/{}/welcome", visit.slug),
                    }
                } else {
                    authorize_link(&visit, &carried)
                };
                recovery_page(&visit, &org, &done.recovery_codes, &next)
            }
            Err(e @ (MfaError::InvalidCode | MfaError::TooManyAttempts(_))) => {
                // The same app, shown again: its secret is unchanged until another start.
                match pending_enrolment(&visit.services, &org.domain, &token, &client).await {
                    Ok(enrolment) => {
                        let error = Some(step_error(&visit, &org, &e));
                        let lead = visit.say("mfa_enrol_lead", &[("org", org.name())]);
                        let target = EnrolTarget::sign_in(&visit, &raw_token, carried);
                        let mut page = enrol_form(&visit, &org, &lead, &enrolment, target, error);
                        with_retry_after(&mut page, &e);
                        page
                    }
                    Err(e) => refused_step(&visit, &org, &e),
                }
            }
            Err(e) => refused_step(&visit, &org, &e),
        }
    })
}

/// Signed in after the second step: back to the application's authorization request it began
/// at, else on as after any sign-in.
pub(crate) async fn finished(
    visit: Visit,
    org: &Org,
    carried: Vec<(String, String)>,
    signed: &SignedIn,
) -> Response {
    if carried.is_empty() {
        visit.signed_in(signed)
    } else {
        continue_authorization(visit, org, &carried, signed).await
    }
}

/// The recovery codes, shown once, with the way on (`next`, on this origin).
pub(crate) fn recovery_page(visit: &Visit, org: &Org, codes: &[String], next: &str) -> Response {
    visit.render(
        StatusCode::OK,
        "recovery_codes.html",
        org.name(),
        &visit.say("mfa_recovery_title", &[]),
        context! {
            codes => codes,
            // Letters, digits and hyphens: only the line breaks need escaping.
            download => format!("data:text/plain;charset=utf-8,{}", codes.join("%0A")),
            next => next,
        },
    )
}

/// What a refused code says.
pub(crate) fn step_error(visit: &Visit, org: &Org, e: &dyn Rejection) -> String {
    match e.code() {
        "invalid_mfa_code" => visit.say("err_mfa_code", &[]),
        "too_many_attempts" if e.retry_after().is_none() => visit.say("err_mfa_locked", &[]),
        _ => refusal_text(visit, org, e),
    }
}

pub(crate) fn with_retry_after(page: &mut Response, e: &dyn Rejection) {
    if let Some(wait) = e.retry_after() {
        *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            page.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
}

/// A second step that cannot go on (its token spent or expired, the account deactivated): said
/// on a page that leads back to the sign-in.
fn refused_step(visit: &Visit, org: &Org, e: &MfaError) -> Response {
    let (status, text) = match e {
        MfaError::Internal(cause) => return visit.trouble(&**cause),
        MfaError::InvalidToken => (StatusCode::UNAUTHORIZED, visit.say("err_mfa_token", &[])),
        other => (StatusCode::CONFLICT, refusal_text(visit, org, other)),
    };
    visit.message(
        status,
        org.name(),
        &visit.say("mfa_title", &[]),
        &text,
        &[(
            format!("/{}/sign-in", visit.slug),
            visit.say("go_sign_in", &[]),
        )],
    )
}
