//! The pages' templates, assets and security headers.

use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use minijinja::Environment;

pub(crate) const CSP: &str =
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key("content-security-policy") {
        headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

pub(crate) async fn css() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../assets/gatehouse.css"),
    )
}

pub(crate) async fn js() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/gatehouse.js"),
    )
}

pub(crate) async fn favicon() -> impl IntoResponse {
    asset("image/svg+xml", include_str!("../assets/favicon.svg"))
}

pub(crate) fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

pub(crate) static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Links stay readable: `/` is not escaped (minijinja's default writes `&#x2f;`).
    env.set_formatter(|out, state, value| {
        if state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() {
            if let Some(text) = value.as_str() {
                return out
                    .write_str(&gatehouse_domain::mail::escape_html(text))
                    .map_err(|_| {
                        minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write")
                    });
            }
        }
        minijinja::escape_formatter(out, state, value)
    });
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("macros.html", include_str!("../templates/macros.html")),
        ("sign_up.html", include_str!("../templates/sign_up.html")),
        ("code.html", include_str!("../templates/code.html")),
        ("join.html", include_str!("../templates/join.html")),
        ("sign_in.html", include_str!("../templates/sign_in.html")),
        (
            "sign_in_mfa.html",
            include_str!("../templates/sign_in_mfa.html"),
        ),
        (
            "totp_enrol.html",
            include_str!("../templates/totp_enrol.html"),
        ),
        (
            "recovery_codes.html",
            include_str!("../templates/recovery_codes.html"),
        ),
        ("logout.html", include_str!("../templates/logout.html")),
        ("forgot.html", include_str!("../templates/forgot.html")),
        ("reset.html", include_str!("../templates/reset.html")),
        ("message.html", include_str!("../templates/message.html")),
        ("welcome.html", include_str!("../templates/welcome.html")),
        (
            "admin_invitations.html",
            include_str!("../templates/admin_invitations.html"),
        ),
        (
            "admin_invitation.html",
            include_str!("../templates/admin_invitation.html"),
        ),
        (
            "admin_invite.html",
            include_str!("../templates/admin_invite.html"),
        ),
        (
            "admin_users.html",
            include_str!("../templates/admin_users.html"),
        ),
        (
            "admin_activity.html",
            include_str!("../templates/admin_activity.html"),
        ),
        (
            "admin_settings.html",
            include_str!("../templates/admin_settings.html"),
        ),
        (
            "admin_applications.html",
            include_str!("../templates/admin_applications.html"),
        ),
        (
            "account_password.html",
            include_str!("../templates/account_password.html"),
        ),
        ("account.html", include_str!("../templates/account.html")),
        (
            "admin_user.html",
            include_str!("../templates/admin_user.html"),
        ),
        (
            "admin_confirm.html",
            include_str!("../templates/admin_confirm.html"),
        ),
        (
            "email_change.html",
            include_str!("../templates/email_change.html"),
        ),
        (
            "admin_imports.html",
            include_str!("../templates/admin_imports.html"),
        ),
        (
            "admin_import.html",
            include_str!("../templates/admin_import.html"),
        ),
    ] {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("{name} parses: {e}"));
    }
    env
});
