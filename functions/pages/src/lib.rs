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
//! session in the `gh_session` cookie (`HttpOnly`, `SameSite=Lax`, `Secure` unless the public URL
//! is plain http) and sends the person on to `GATEHOUSE_APP_URL`, or to `/{org}/welcome`. Every
//! page is sent with a strict Content-Security-Policy (no inline script or style), framing
//! refused, no referrer (the URL may hold a token) and `no-store`.

/// The value of a page's step, or the page that ends the request (a redirect to sign in, the
/// page saying the organisation or the form is not right).
macro_rules! or_page {
    ($step:expr) => {
        match $step {
            Ok(value) => value,
            Err(page) => return *page,
        }
    };
}

mod console;
mod console_imports;
mod console_settings;
mod forms;
mod i18n;
mod register;
mod reset;
mod sign_in;
mod sign_up;
mod templates;
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

/// Every page route, with the pages' security headers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/gatehouse.css", get(css))
        .route("/assets/gatehouse.js", get(js))
        .route("/assets/favicon.svg", get(favicon))
        .route("/{org}/sign-up", get(sign_up_page).post(sign_up_submit))
        .route("/{org}/sign-up/code", get(code_page).post(code_submit))
        .route("/{org}/join", get(join_page).post(join_submit))
        .route("/{org}/register", get(register_page).post(register_submit))
        .route("/{org}/sign-in", get(sign_in_page).post(sign_in_submit))
        .route(
            "/{org}/forgot-password",
            get(forgot_page).post(forgot_submit),
        )
        .route("/{org}/reset-password", get(reset_page).post(reset_submit))
        .route("/{org}/welcome", get(welcome_page))
        .route("/{org}/sign-out", post(sign_out_submit))
        .route("/{org}/admin", get(console::home))
        .route("/{org}/admin/invitations", get(console::invitations_page))
        .route(
            "/{org}/admin/invitations/{id}",
            get(console::invitation_page),
        )
        .route(
            "/{org}/admin/invitations/{id}/{action}",
            post(console::invitation_action),
        )
        .route(
            "/{org}/admin/invite",
            get(console::invite_page).post(console::invite_submit),
        )
        .route("/{org}/admin/users", get(console_settings::users_page))
        .route(
            "/{org}/admin/users/{id}/password",
            post(console_settings::set_user_password),
        )
        .route(
            "/{org}/admin/settings",
            get(console_settings::settings_page).post(console_settings::settings_submit),
        )
        .route(
            "/{org}/admin/link/{action}",
            post(console_settings::link_action),
        )
        .route(
            "/{org}/admin/imports",
            get(console_imports::imports_page).post(console_imports::start_import),
        )
        .route(
            "/{org}/admin/imports/template",
            get(console_imports::template_download),
        )
        .route(
            "/{org}/admin/imports/{id}",
            get(console_imports::import_page),
        )
        .route("/{org}/admin/export", post(console_imports::export))
        .route(
            "/{org}/account/password",
            get(console_settings::own_password_page).post(console_settings::own_password_submit),
        )
        .layer(axum::middleware::from_fn(page_headers))
}

/// The pages' paths as API Gateway routes them (for the template and its check).
pub const PAGE_ROUTES: &[(&str, &str)] = &[
    ("GET", "/assets/gatehouse.css"),
    ("GET", "/assets/gatehouse.js"),
    ("GET", "/assets/favicon.svg"),
    ("GET", "/{org}/sign-up"),
    ("POST", "/{org}/sign-up"),
    ("GET", "/{org}/sign-up/code"),
    ("POST", "/{org}/sign-up/code"),
    ("GET", "/{org}/join"),
    ("POST", "/{org}/join"),
    ("GET", "/{org}/register"),
    ("POST", "/{org}/register"),
    ("GET", "/{org}/sign-in"),
    ("POST", "/{org}/sign-in"),
    ("GET", "/{org}/forgot-password"),
    ("POST", "/{org}/forgot-password"),
    ("GET", "/{org}/reset-password"),
    ("POST", "/{org}/reset-password"),
    ("GET", "/{org}/welcome"),
    ("POST", "/{org}/sign-out"),
    ("GET", "/{org}/admin"),
    ("GET", "/{org}/admin/invitations"),
    ("GET", "/{org}/admin/invitations/{id}"),
    ("POST", "/{org}/admin/invitations/{id}/{action}"),
    ("GET", "/{org}/admin/invite"),
    ("POST", "/{org}/admin/invite"),
    ("GET", "/{org}/admin/users"),
    ("POST", "/{org}/admin/users/{id}/password"),
    ("GET", "/{org}/admin/settings"),
    ("POST", "/{org}/admin/settings"),
    ("POST", "/{org}/admin/link/{action}"),
    ("GET", "/{org}/admin/imports"),
    ("POST", "/{org}/admin/imports"),
    ("GET", "/{org}/admin/imports/template"),
    ("GET", "/{org}/admin/imports/{id}"),
    ("POST", "/{org}/admin/export"),
    ("GET", "/{org}/account/password"),
    ("POST", "/{org}/account/password"),
];

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
            "account_password.html",
            "admin_imports.html",
            "admin_import.html",
        ] {
            assert!(TEMPLATES.get_template(name).is_ok(), "{name}");
        }
    }
}
