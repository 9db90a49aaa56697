//! `pages`: the pages people reach from Gatehouse's emails and use to sign in, served as HTML
//! at the URLs the emails carry (`/{org}/sign-up?token=…`, `/{org}/join?token=…`,
//! `/{org}/reset-password?token=…`) and beside them (`/{org}/sign-in`, `/{org}/sign-up/code`,
//! `/{org}/register`, `/{org}/forgot-password`, `/{org}/welcome`), in English and French.
//!
//! Pages run the same use cases as the API. Opening a page never spends a token; only
//! submitting its form does. Forms carry a CSRF token: signed in, an HMAC of the session token
//! (so it is bound to the session and changes at sign-in); signed out, the `gh_csrf` cookie's
//! (double submit; the cookie is `HttpOnly`, `SameSite=Lax`, renewed at sign-in). A form posted
//! from another site (`Origin`, `Sec-Fetch-Site`) is refused whatever its token. A sign-in or sign-up puts the
//! session in the `gh_session` cookie (`HttpOnly`, `SameSite=Lax`) and sends the person on to
//! `GATEHOUSE_APP_URL`, or to `/{org}/welcome`. Over https every cookie is `__Host-` prefixed
//! (`Secure`, `Path=/`, no `Domain`: nothing on a sibling subdomain or plain http can plant or
//! overwrite it) and the session cookie is one per organisation by name
//! (`__Host-gh_session-{org}`); over plain http (the local run) the session cookie keeps to its
//! organisation's path. Cookies are read and written with the `cookie` crate. Every
//! page is sent with a strict Content-Security-Policy (no inline script or style), framing
//! refused, no referrer (the URL may hold a token) and `no-store`.

mod account;
mod activity;
mod applications;
mod authorize;
mod email_change;
mod forms;
mod i18n;
mod imports;
mod invitations;
mod logout;
mod passkeys;
mod people;
mod register;
mod reset;
mod second_step;
mod security;
mod settings;
mod sign_in;
mod sign_up;
mod templates;
mod users;
mod visit;

use axum::routing::{get, post};
use axum::Router;
use gatehouse_http::AppState;

pub use i18n::Lang;

pub(crate) use forms::*;
pub(crate) use register::*;
pub(crate) use reset::*;
pub(crate) use sign_in::*;
pub(crate) use sign_up::*;
pub(crate) use templates::*;
pub(crate) use visit::*;

/// The route table, written once: it makes both the router and [`PAGE_ROUTES`] (the paths API
/// Gateway must send here, which the deploy template's test checks).
macro_rules! page_routes {
    ($($method:ident $path:literal => $handler:path,)*) => {
        /// The pages' paths as API Gateway routes them (for the template and its check).
        pub const PAGE_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// Every page route, with the pages' security headers.
        pub fn routes() -> Router<AppState> {
            Router::new()
                $(.route($path, page_routes!(@method $method $handler)))*
                .layer(axum::middleware::from_fn(page_headers))
        }
    };
    (@method GET $handler:path) => { get($handler) };
    (@method POST $handler:path) => { post($handler) };
}

page_routes! {
    GET "/assets/gatehouse.css" => css,
    GET "/assets/gatehouse.js" => js,
    GET "/assets/favicon.svg" => favicon,
    GET "/{org}/sign-up" => sign_up_page,
    POST "/{org}/sign-up" => sign_up_submit,
    GET "/{org}/sign-up/code" => code_page,
    POST "/{org}/sign-up/code" => code_submit,
    GET "/{org}/join" => join_page,
    POST "/{org}/join" => join_submit,
    GET "/{org}/register" => register_page,
    POST "/{org}/register" => register_submit,
    GET "/{org}/sign-in" => sign_in_page,
    POST "/{org}/sign-in" => sign_in_submit,
    POST "/{org}/sign-in/mfa" => second_step::mfa_submit,
    POST "/{org}/sign-in/mfa/totp" => second_step::enrol_submit,
    POST "/{org}/sign-in/passkey/options" => passkeys::passkey_sign_in_options,
    POST "/{org}/sign-in/passkey" => passkeys::passkey_sign_in_submit,
    GET "/{org}/forgot-password" => forgot_page,
    POST "/{org}/forgot-password" => forgot_submit,
    GET "/{org}/reset-password" => reset_page,
    POST "/{org}/reset-password" => reset_submit,
    GET "/{org}/email-change" => email_change::email_change_page,
    POST "/{org}/email-change" => email_change::email_change_submit,
    GET "/{org}/welcome" => welcome_page,
    POST "/{org}/sign-out" => sign_out_submit,
    GET "/{org}/oidc/authorize" => authorize::authorize_page,
    POST "/{org}/oidc/authorize" => authorize::authorize_submit,
    GET "/{org}/oidc/logout" => logout::logout_page,
    POST "/{org}/oidc/logout" => logout::logout_submit,
    GET "/{org}/admin" => invitations::home,
    GET "/{org}/admin/invitations" => invitations::invitations_page,
    GET "/{org}/admin/invitations/{id}" => invitations::invitation_page,
    POST "/{org}/admin/invitations/{id}/{action}" => invitations::invitation_action,
    GET "/{org}/admin/invite" => invitations::invite_page,
    POST "/{org}/admin/invite" => invitations::invite_submit,
    GET "/{org}/admin/users" => users::users_page,
    GET "/{org}/admin/activity" => activity::activity_page,
    GET "/{org}/admin/activity/export" => activity::activity_download,
    POST "/{org}/admin/users/{id}/password" => users::set_user_password,
    GET "/{org}/admin/users/{id}" => people::person_page,
    POST "/{org}/admin/users/{id}/{action}" => people::person_action,
    GET "/{org}/admin/applications" => applications::applications_page,
    POST "/{org}/admin/applications" => applications::register_submit,
    POST "/{org}/admin/applications/landing" => applications::landing_submit,
    POST "/{org}/admin/applications/{id}/{action}" => applications::application_action,
    GET "/{org}/admin/settings" => settings::settings_page,
    POST "/{org}/admin/settings" => settings::settings_submit,
    POST "/{org}/admin/link/{action}" => settings::link_action,
    GET "/{org}/admin/imports" => imports::imports_page,
    POST "/{org}/admin/imports" => imports::start_import,
    GET "/{org}/admin/imports/template" => imports::template_download,
    GET "/{org}/admin/imports/{id}" => imports::import_page,
    POST "/{org}/admin/export" => imports::export,
    GET "/{org}/account" => account::account_page,
    POST "/{org}/account/email" => account::own_email_submit,
    POST "/{org}/account/sign-out-everywhere" => account::sign_out_everywhere_submit,
    POST "/{org}/account/totp" => security::start_submit,
    POST "/{org}/account/totp/confirm" => security::confirm_submit,
    POST "/{org}/account/totp/remove" => security::remove_submit,
    POST "/{org}/account/passkeys/options" => passkeys::register_options,
    POST "/{org}/account/passkeys" => passkeys::register_submit,
    POST "/{org}/account/passkeys/remove" => passkeys::remove_submit,
    GET "/{org}/account/password" => account::own_password_page,
    POST "/{org}/account/password" => account::own_password_submit,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page route is routed to this function by the deploy template.
    #[test]
    fn the_template_routes_every_page_here() {
        let template = include_str!("../../../infra/template.yaml");
        // The resource's lines: from its name to the next line indented as little.
        let function: String = template
            .lines()
            .skip_while(|l| *l != "  PagesFunction:")
            .enumerate()
            .take_while(|(i, l)| *i == 0 || l.is_empty() || l.starts_with("   "))
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        for (method, path) in PAGE_ROUTES {
            let event = format!("Method: {method}, Path: \"{path}\"");
            assert!(
                function.contains(&event),
                "{event} is not routed to PagesFunction"
            );
        }
        assert_eq!(
            function.matches("Type: HttpApi").count(),
            PAGE_ROUTES.len(),
            "PagesFunction routes no other path"
        );
    }

    #[test]
    fn every_template_parses() {
        for name in [
            "sign_up.html",
            "code.html",
            "join.html",
            "sign_in.html",
            "forgot.html",
            "reset.html",
            "message.html",
            "welcome.html",
            "admin_invitations.html",
            "admin_invitation.html",
            "admin_invite.html",
            "admin_users.html",
            "admin_settings.html",
            "admin_applications.html",
            "account_password.html",
            "account.html",
            "admin_user.html",
            "admin_confirm.html",
            "email_change.html",
            "admin_imports.html",
            "admin_import.html",
            "logout.html",
            "sign_in_mfa.html",
            "totp_enrol.html",
            "recovery_codes.html",
        ] {
            assert!(TEMPLATES.get_template(name).is_ok(), "{name}");
        }
    }
}
