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
mod i18n;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::secret::{SecretToken, SessionToken};
use gatehouse_domain::types::{EmailAddress, InviteeRole, OrgDomain, PersonName};
use gatehouse_domain::usecase::invitation_link::{
    check_link, register_self, register_with_link, LinkRegistration, RegistrationError,
    SelfRegistration,
};
use gatehouse_domain::usecase::pages::{
    organisation, preview_invitation, sign_out, signed_in_user,
};
use gatehouse_domain::usecase::password::{
    confirm_password_reset, request_password_reset, PasswordChangeError,
};
use gatehouse_domain::usecase::sign_in::{sign_in, SignInError, SignInRequest};
use gatehouse_domain::usecase::sign_up::{
    check_access_code, sign_up_with_access_code, sign_up_with_email_invitation,
    AccessCodeSignUpRequest, EmailSignUpRequest, SignUpError,
};
use gatehouse_domain::usecase::SignedIn;
use gatehouse_domain::Services;
use gatehouse_http::{AppState, Client};
use minijinja::{context, Environment, Value};
use serde::Serialize;
use subtle::ConstantTimeEq;

pub use i18n::Lang;

const CSRF_COOKIE: &str = "gh_csrf";
const SESSION_COOKIE: &str = "gh_session";
const LANG_COOKIE: &str = "gh_lang";

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

pub(crate) const CSP: &str =
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn page_headers(request: Request, next: Next) -> Response {
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

async fn css() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../assets/gatehouse.css"),
    )
}

async fn js() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/gatehouse.js"),
    )
}

async fn favicon() -> impl IntoResponse {
    asset("image/svg+xml", include_str!("../assets/favicon.svg"))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
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
            "admin_settings.html",
            include_str!("../templates/admin_settings.html"),
        ),
        (
            "account_password.html",
            include_str!("../templates/account_password.html"),
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

/// Where people go once signed in: `GATEHOUSE_APP_URL`, else the welcome page.
fn app_url() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        std::env::var("GATEHOUSE_APP_URL")
            .ok()
            .map(|u| u.trim().to_string())
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    })
    .as_deref()
}

/// One request for a page: its organisation, language, CSRF token and cookies.
struct Visit {
    services: Arc<Services>,
    /// The organisation segment as typed, only ever shown as text (escaped).
    typed_org: String,
    /// The organisation segment if it is a valid domain (canonical), else `-`: every link and
    /// redirect is built from this, so none can be steered by the request's text (`%2F`, `%5C`).
    slug: String,
    lang: Lang,
    /// Chosen with `?lang=` on this request: remembered in a cookie.
    chose_lang: bool,
    /// The token this visit's forms carry: bound to the session when there is one.
    csrf: String,
    /// The anonymous token's cookie is to be set (none was sent).
    new_csrf: bool,
    /// The anonymous (double-submit) token, kept in `gh_csrf`.
    anonymous_csrf: String,
    secure: bool,
    /// Where the request says it comes from (`Origin`, `Sec-Fetch-Site`) and the host it was
    /// sent to: a form posted from another site is refused whatever its token.
    origin: Option<String>,
    fetch_site: Option<String>,
    host: Option<String>,
    path: String,
    query: Vec<(String, String)>,
    cookies: HashMap<String, String>,
    /// Cookies to set with the answer.
    set_cookies: Vec<String>,
}

fn cookies_of(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}

impl Visit {
    fn new(services: Arc<Services>, typed_org: String, headers: &HeaderMap, uri: &Uri) -> Self {
        let slug = OrgDomain::parse(&typed_org).map_or_else(|_| "-".to_string(), |d| d.to_string());
        let cookies = cookies_of(headers);
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
        let asked = query
            .iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(v));
        let lang = asked
            .or_else(|| cookies.get(LANG_COOKIE).and_then(|v| Lang::parse(v)))
            .unwrap_or_else(|| {
                Lang::from_accept_language(
                    headers
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or(""),
                )
            });
        let existing = cookies
            .get(CSRF_COOKIE)
            .filter(|c| {
                c.len() >= 32
                    && c.len() <= 128
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .cloned();
        let (anonymous_csrf, new_csrf) = match existing {
            Some(c) => (c, false),
            None => (
                SecretToken::generate(services.random.as_ref())
                    .expose()
                    .to_string(),
                true,
            ),
        };
        let csrf = cookies
            .get(SESSION_COOKIE)
            .filter(|s| !s.is_empty())
            .map(|session| session_csrf(session))
            .unwrap_or_else(|| anonymous_csrf.clone());
        let secure = services.config.public_url.starts_with("https://");
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_ascii_lowercase())
        };
        Self {
            services,
            typed_org,
            slug,
            lang,
            chose_lang: asked.is_some(),
            csrf,
            new_csrf,
            anonymous_csrf,
            secure,
            origin: header("origin"),
            fetch_site: header("sec-fetch-site"),
            host: header("host"),
            path: same_origin_path(uri.path()).unwrap_or("/").to_string(),
            query,
            cookies,
            set_cookies: Vec::new(),
        }
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn say(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.lang.say(key, args)
    }

    fn cookie(&self, name: &str, value: &str, path: &str, max_age: Option<i64>) -> String {
        let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        c
    }

    /// The same page in the other language.
    fn switch_href(&self) -> String {
        let mut query: Vec<(&str, &str)> = self
            .query
            .iter()
            .filter(|(k, _)| k != "lang")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        query.push(("lang", self.lang.other().code()));
        format!(
            "{}?{}",
            self.path,
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    }

    /// The organisation, or the page saying there is none.
    async fn org(&self) -> Result<(OrgDomain, Org), Box<Response>> {
        let not_found = || {
            self.message(
                StatusCode::NOT_FOUND,
                "Gatehouse",
                &self.say("not_found_title", &[]),
                &self.say("org_not_found", &[("org", &self.typed_org)]),
                &[],
            )
        };
        let domain = OrgDomain::parse(&self.typed_org).map_err(|_| Box::new(not_found()))?;
        match organisation(&self.services, &domain).await {
            Ok(org) => Ok((domain, org)),
            Err(e) if e.class() == RejectionClass::NotFound => Err(Box::new(not_found())),
            Err(e) => Err(Box::new(self.trouble(&e.to_string()))),
        }
    }

    /// A page from `template` with the base context and `extra`.
    fn render(
        &self,
        status: StatusCode,
        template: &str,
        org_name: &str,
        title: &str,
        extra: Value,
    ) -> Response {
        let base = context! {
            lang => self.lang.code(),
            other_lang => self.lang.other().code(),
            t => self.lang.words(),
            org => &self.slug,
            org_name => org_name,
            title => title,
            switch_href => self.switch_href(),
            csrf => &self.csrf,
        };
        let html = TEMPLATES
            .get_template(template)
            .and_then(|t| t.render(context! { ..extra, ..base }));
        let body = match html {
            Ok(html) => html,
            Err(e) => {
                tracing::error!(template, cause = %e, "a page did not render");
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            }
        };
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response();
        self.attach_cookies(&mut response);
        response
    }

    fn attach_cookies(&self, response: &mut Response) {
        let mut cookies = self.set_cookies.clone();
        if self.new_csrf {
            cookies.push(self.cookie(CSRF_COOKIE, &self.anonymous_csrf, "/", None));
        }
        if self.chose_lang {
            cookies.push(self.cookie(LANG_COOKIE, self.lang.code(), "/", Some(31_536_000)));
        }
        for c in cookies {
            if let Ok(v) = HeaderValue::from_str(&c) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
    }

    fn message(
        &self,
        status: StatusCode,
        org_name: &str,
        title: &str,
        text: &str,
        actions: &[(String, String)],
    ) -> Response {
        let actions: Vec<Link> = actions
            .iter()
            .map(|(href, label)| Link {
                href: href.clone(),
                label: label.clone(),
            })
            .collect();
        self.render(
            status,
            "message.html",
            org_name,
            title,
            context! { text => text, actions => actions },
        )
    }

    /// Our failure, never the visitor's: nothing changed, try again.
    fn trouble(&self, cause: &str) -> Response {
        tracing::error!(cause, "a page failed");
        self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Gatehouse",
            &self.say("server_error_title", &[]),
            &self.say("server_error", &[]),
            &[],
        )
    }

    fn sign_in_link(&self) -> (String, String) {
        (
            format!("/{}/sign-in", self.slug),
            self.say("go_sign_in", &[]),
        )
    }

    /// Whether the request was sent by a page of another site: the browser says `Sec-Fetch-Site:
    /// cross-site` (or `same-site`: a sibling subdomain is another party), or its `Origin` is
    /// neither the public URL's nor the host's it was sent to.
    fn cross_site(&self) -> bool {
        if matches!(self.fetch_site.as_deref(), Some("cross-site" | "same-site")) {
            return true;
        }
        // Pages are sent with `Referrer-Policy: no-referrer`, so browsers post their own forms
        // with `Origin: null`: that says nothing, and `Sec-Fetch-Site` (above) decides.
        let Some(origin) = self.origin.as_deref().filter(|o| *o != "null") else {
            return false;
        };
        let public = self
            .services
            .config
            .public_url
            .trim_end_matches('/')
            .to_ascii_lowercase();
        let public_origin = match public.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or("")),
            None => public,
        };
        let own = self
            .host
            .as_deref()
            .map(|host| [format!("https://{host}"), format!("http://{host}")]);
        origin != public_origin && !own.is_some_and(|own| own.iter().any(|o| o == origin))
    }

    /// A form's fields, if it was posted from this site with this visit's CSRF token (bound to
    /// the session when signed in, else the `gh_csrf` cookie's); otherwise the page saying the
    /// form expired (nothing is done).
    fn form(&self, org_name: &str, body: &Bytes) -> Result<HashMap<String, String>, Box<Response>> {
        let fields: HashMap<String, String> =
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
                .unwrap_or_default()
                .into_iter()
                .rev()
                .collect();
        let sent = fields.get("csrf").map(String::as_str).unwrap_or("");
        // Without a `gh_csrf` cookie (or a session) the token is a fresh one nobody was shown.
        let matches = bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes()));
        if self.cross_site() || !matches {
            return Err(Box::new(self.message(
                StatusCode::FORBIDDEN,
                org_name,
                &self.say("form_expired_title", &[]),
                &self.say("form_expired", &[]),
                &[(self.path.clone(), self.say("try_again", &[]))],
            )));
        }
        Ok(fields)
    }

    /// Signed in: the session cookie, then on to the platform (or the welcome page).
    fn signed_in(mut self, signed: &SignedIn) -> Response {
        let age =
            (signed.expires_at.unix_seconds() - self.services.clock.now().unix_seconds()).max(0);
        let path = format!("/{}", self.slug);
        let cookie = self.cookie(SESSION_COOKIE, &signed.token.expose(), &path, Some(age));
        self.set_cookies.push(cookie);
        // A new anonymous token too: one known before signing in (planted, or read over a
        // shoulder) is worth nothing after.
        self.anonymous_csrf = SecretToken::generate(self.services.random.as_ref())
            .expose()
            .to_string();
        self.new_csrf = true;
        match app_url() {
            Some(platform) => self.see_other(platform),
            None => self.redirect(&format!("/{}/welcome", self.slug)),
        }
    }

    /// A redirect to `to`, a path on this origin built from known routes and the validated
    /// organisation. Anything else goes to `/` instead (and is logged as our bug).
    fn redirect(&self, to: &str) -> Response {
        let to = same_origin_path(to).unwrap_or_else(|| {
            tracing::error!("a page tried to redirect off the origin; sent to / instead");
            "/"
        });
        self.see_other(to)
    }

    /// A redirect to `location` as given: only for places that are not request text (the
    /// configured platform URL, a download URL the file store signed).
    fn see_other(&self, location: &str) -> Response {
        let mut response = (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, location.to_string())],
        )
            .into_response();
        self.attach_cookies(&mut response);
        response
    }
}

/// The CSRF token of a signed-in visitor's forms: an HMAC of the session cookie's token, which
/// only the visitor's browser holds (`HttpOnly`). A token made for another session, or before
/// signing in, does not pass.
fn session_csrf(session: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(session.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"gatehouse page forms");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// `path` if a browser reads it as a path on this origin: it starts with one `/` (not `//` or
/// `/\`, which browsers take for another host) and holds no control character or backslash.
fn same_origin_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let bad = rest.starts_with('/')
        || path.contains('\\')
        || path.chars().any(|c| c.is_control() || c.is_whitespace());
    (!bad).then_some(path)
}

#[derive(Serialize)]
struct Link {
    href: String,
    label: String,
}

#[derive(Serialize)]
struct SummaryItem {
    field: Option<&'static str>,
    text: String,
}

/// Field errors of a form: shown at their fields and, linked, in a summary at the top.
#[derive(Default)]
struct Problems {
    fields: Vec<(&'static str, String)>,
    general: Vec<String>,
}

impl Problems {
    fn at(&mut self, field: &'static str, text: String) {
        self.fields.push((field, text));
    }
    fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }
    fn errors(&self) -> HashMap<&'static str, String> {
        self.fields.iter().cloned().collect()
    }
    fn summary(&self) -> Vec<SummaryItem> {
        self.general
            .iter()
            .map(|text| SummaryItem {
                field: None,
                text: text.clone(),
            })
            .chain(self.fields.iter().map(|(field, text)| SummaryItem {
                field: Some(field),
                text: text.clone(),
            }))
            .collect()
    }
}

fn name_field(
    visit: &Visit,
    problems: &mut Problems,
    fields: &HashMap<String, String>,
    field: &'static str,
) -> Option<PersonName> {
    let raw = fields.get(field).map(|s| s.trim()).unwrap_or("");
    if raw.is_empty() {
        problems.at(field, visit.say("err_required", &[]));
        return None;
    }
    match PersonName::parse(raw) {
        Ok(name) => Some(name),
        Err(_) => {
            problems.at(field, visit.say("err_invalid_name", &[]));
            None
        }
    }
}

fn email_field(
    visit: &Visit,
    problems: &mut Problems,
    fields: &HashMap<String, String>,
) -> Option<EmailAddress> {
    let raw = fields.get("email").map(|s| s.trim()).unwrap_or("");
    if raw.is_empty() {
        problems.at("email", visit.say("err_required", &[]));
        return None;
    }
    match EmailAddress::parse(raw) {
        Ok(email) => Some(email),
        Err(_) => {
            problems.at("email", visit.say("err_invalid_email", &[]));
            None
        }
    }
}

fn seconds(wait: Option<std::time::Duration>) -> String {
    wait.map_or(1, |d| d.as_secs().max(1)).to_string()
}

/// What a refused password, sign-in or code says on a page, in the page's language.
fn refusal_text(visit: &Visit, org: &Org, e: &dyn Rejection) -> String {
    let min = org.settings.password_min_length.to_string();
    match e.code() {
        "password_too_short" => visit.say("err_password_too_short", &[("min", &min)]),
        "password_too_long" => visit.say("err_password_too_long", &[]),
        "password_too_common" => visit.say("err_password_too_common", &[]),
        "password_contextual" => visit.say("err_password_contextual", &[]),
        "invalid_credentials" => visit.say("err_invalid_credentials", &[]),
        "too_many_attempts" if e.retry_after().is_none() => visit.say("err_locked", &[]),
        "too_many_attempts" => visit.say("err_too_many", &[("seconds", &seconds(e.retry_after()))]),
        "too_many_registrations" => visit.say(
            "err_too_many_registrations",
            &[("seconds", &seconds(e.retry_after()))],
        ),
        "invalid_access_code" => visit.say("err_invalid_access_code", &[]),
        "email_domain_not_allowed" => {
            visit.say("err_email_domain_not_allowed", &[("org", org.name())])
        }
        "sign_up_without_email_disabled" => {
            visit.say("err_without_email_off", &[("org", org.name())])
        }
        _ => e.detail(),
    }
}

fn is_password_problem(code: &str) -> bool {
    code.starts_with("password_")
}

fn role_text(visit: &Visit, role: InviteeRole) -> String {
    match role {
        InviteeRole::Member => visit.say("as_member", &[]),
        InviteeRole::Guest => visit.say("as_guest", &[]),
    }
}

/// The date a link stops working, as people read it.
fn date_of(visit: &Visit, at: gatehouse_domain::clock::Timestamp) -> String {
    let rfc = at.to_rfc3339();
    let (date, time) = rfc.split_once('T').unwrap_or((&rfc, ""));
    let time = time.get(..5).unwrap_or("");
    match visit.lang {
        Lang::En => format!("{date} {time} UTC"),
        Lang::Fr => format!("{date} à {time} UTC"),
    }
}

// ---------------------------------------------------------------------------------------------
// Accepting an email invitation (or confirming a registration)

async fn sign_up_page(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let token = visit.param("token").unwrap_or("").to_string();
    invitation_form(&visit, &token, None, &Problems::default()).await
}

/// The sign-up form of the invitation `token` belongs to (with what was typed, and what was
/// wrong with it), or the page saying why the link cannot be used.
async fn invitation_form(
    visit: &Visit,
    token: &str,
    typed: Option<(&str, &str)>,
    problems: &Problems,
) -> Response {
    let (domain, org) = or_page!(visit.org().await);
    let preview = match SecretToken::parse(token) {
        Ok(secret) => preview_invitation(&visit.services, &domain, &secret).await,
        Err(_) => Err(SignUpError::InvalidToken),
    };
    let preview = match preview {
        Ok(p) => p,
        Err(e) => return link_refused(visit, &org, &e),
    };
    let name = org.name();
    let headline = match (&preview.inviter, preview.confirmation) {
        (_, true) => visit.say("confirm_registration", &[("org", name)]),
        (Some(inviter), false) => visit.say("invited_by", &[("inviter", inviter), ("org", name)]),
        (None, false) => visit.say("invited", &[("org", name)]),
    };
    let (first, last) = typed.unwrap_or((preview.first_name.as_str(), preview.last_name.as_str()));
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "sign_up.html",
        name,
        &visit.say("sign_up_title", &[]),
        context! {
            headline => headline,
            message => preview.message.as_ref().map(|m| m.as_str().to_string()),
            role_text => role_text(visit, preview.role),
            account_email => visit.say("account_email", &[("email", preview.email.as_str())]),
            valid_until => visit.say("link_valid_until", &[("date", &date_of(visit, preview.expires_at))]),
            token => token,
            first_name => first,
            last_name => last,
            min => org.settings.password_min_length.to_string(),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

/// Why a sign-up link cannot be used, and what to do instead.
fn link_refused(visit: &Visit, org: &Org, e: &SignUpError) -> Response {
    let name = org.name();
    let (status, title, text) = match e {
        SignUpError::Expired => (StatusCode::GONE, "link_expired_title", "link_expired"),
        SignUpError::Revoked => (StatusCode::GONE, "link_revoked_title", "link_revoked"),
        SignUpError::InvalidToken => (StatusCode::NOT_FOUND, "link_invalid_title", "link_invalid"),
        other => return visit.trouble(&other.to_string()),
    };
    visit.message(
        status,
        name,
        &visit.say(title, &[]),
        &visit.say(text, &[("org", name)]),
        &[visit.sign_in_link()],
    )
}

async fn sign_up_submit(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let fields = or_page!(visit.form(&visit.slug, &body));
    let token = fields.get("token").cloned().unwrap_or_default();
    let (domain, org) = or_page!(visit.org().await);
    let mut problems = Problems::default();
    let first = name_field(&visit, &mut problems, &fields, "first_name");
    let last = name_field(&visit, &mut problems, &fields, "last_name");
    let password = fields.get("password").cloned().unwrap_or_default();
    let typed = (
        fields.get("first_name").map(String::as_str).unwrap_or(""),
        fields.get("last_name").map(String::as_str).unwrap_or(""),
    );
    let Ok(secret) = SecretToken::parse(&token) else {
        return link_refused(&visit, &org, &SignUpError::InvalidToken);
    };
    if let (Some(first), Some(last)) = (first, last) {
        let outcome = sign_up_with_email_invitation(
            &visit.services,
            &domain,
            EmailSignUpRequest {
                token: secret,
                password,
                first_name: Some(first),
                last_name: Some(last),
            },
        )
        .await;
        match outcome {
            Ok(signed) => return visit.signed_in(&signed),
            Err(e) if is_password_problem(e.code()) => {
                problems.at("password", refusal_text(&visit, &org, &e));
            }
            Err(e) => return link_refused(&visit, &org, &e),
        }
    }
    invitation_form(&visit, &token, Some(typed), &problems).await
}

// ---------------------------------------------------------------------------------------------
// Signing up with an access code

async fn code_page(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let (_, org) = or_page!(visit.org().await);
    code_form(&visit, &org, "", None, &Problems::default())
}

fn code_form(
    visit: &Visit,
    org: &Org,
    code: &str,
    checked: Option<(&str, String)>,
    problems: &Problems,
) -> Response {
    let name = org.name();
    if !org.settings.sign_up_without_email {
        return visit.message(
            StatusCode::NOT_FOUND,
            name,
            &visit.say("unavailable_title", &[]),
            &visit.say("code_off", &[("org", name)]),
            &[visit.sign_in_link()],
        );
    }
    let (identifier, hello) = match checked {
        Some((identifier, person)) => (
            Some(identifier.to_string()),
            Some(visit.say("hello", &[("name", &person)])),
        ),
        None => (None, None),
    };
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "code.html",
        name,
        &visit.say("code_title", &[]),
        context! {
            access_code => code,
            identifier => identifier,
            hello => hello,
            min => org.settings.password_min_length.to_string(),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

async fn code_submit(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let fields = or_page!(visit.form(&visit.slug, &body));
    let (domain, org) = or_page!(visit.org().await);
    let typed = fields.get("access_code").map(|s| s.trim()).unwrap_or("");
    let mut problems = Problems::default();
    let code = match gatehouse_domain::access_code::AccessCode::parse(typed) {
        Ok(code) => code,
        Err(_) => {
            problems.at(
                "access_code",
                visit.say(
                    if typed.is_empty() {
                        "err_required"
                    } else {
                        "err_invalid_access_code"
                    },
                    &[],
                ),
            );
            return code_form(&visit, &org, typed, None, &problems);
        }
    };
    let checked = match check_access_code(&visit.services, &domain, &code, &client).await {
        Ok(checked) => checked,
        Err(e) if e.class() == RejectionClass::Internal => return visit.trouble(&e.to_string()),
        Err(e) => {
            problems.at("access_code", refusal_text(&visit, &org, &e));
            return code_form(&visit, &org, typed, None, &problems);
        }
    };
    let person = format!("{} {}", checked.first_name, checked.last_name);
    if fields.get("step").map(String::as_str) != Some("create") {
        return code_form(
            &visit,
            &org,
            typed,
            Some((&checked.identifier, person)),
            &problems,
        );
    }
    let password = fields.get("password").cloned().unwrap_or_default();
    match sign_up_with_access_code(
        &visit.services,
        &domain,
        AccessCodeSignUpRequest { code, password },
        &client,
    )
    .await
    {
        Ok(signed) => visit.signed_in(&signed),
        Err(e) if e.class() == RejectionClass::Internal => visit.trouble(&e.to_string()),
        Err(e) => {
            problems.at("password", refusal_text(&visit, &org, &e));
            code_form(
                &visit,
                &org,
                typed,
                Some((&checked.identifier, person)),
                &problems,
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Registering through the invitation link, or by oneself

async fn join_page(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let token = visit.param("token").unwrap_or("").to_string();
    registration_form(&visit, Some(&token), &HashMap::new(), &Problems::default()).await
}

async fn register_page(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    registration_form(&visit, None, &HashMap::new(), &Problems::default()).await
}

/// The registration form, through the link `token` (or by oneself when `None`), or the page
/// saying why it is not available.
async fn registration_form(
    visit: &Visit,
    token: Option<&str>,
    typed: &HashMap<String, String>,
    problems: &Problems,
) -> Response {
    let (domain, org) = or_page!(visit.org().await);
    let role = match token {
        Some(token) => {
            let checked = match SecretToken::parse(token) {
                Ok(secret) => check_link(&visit.services, &domain, &secret).await,
                Err(_) => Err(RegistrationError::LinkInvalid),
            };
            match checked {
                Ok((_, link)) => link.role,
                Err(e) => return registration_refused(visit, &org, &e),
            }
        }
        None if org.settings.self_registration => InviteeRole::Member,
        None => return registration_refused(visit, &org, &RegistrationError::SelfRegistrationOff),
    };
    let value = |k: &str| typed.get(k).cloned().unwrap_or_default();
    let action = match token {
        Some(_) => format!("/{}/join", visit.slug),
        None => format!("/{}/register", visit.slug),
    };
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "join.html",
        org.name(),
        &visit.say("join_title", &[("org", org.name())]),
        context! {
            action => action,
            token => token,
            role_text => role_text(visit, role),
            email => value("email"),
            first_name => value("first_name"),
            last_name => value("last_name"),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

fn registration_refused(visit: &Visit, org: &Org, e: &RegistrationError) -> Response {
    let name = org.name();
    let (status, title, text) = match e {
        RegistrationError::LinkInvalid => (StatusCode::GONE, "join_invalid_title", "join_invalid"),
        RegistrationError::LinkExpired => (StatusCode::GONE, "join_invalid_title", "join_expired"),
        RegistrationError::LinkUsedUp => (StatusCode::GONE, "join_invalid_title", "join_used_up"),
        RegistrationError::SelfRegistrationOff => {
            (StatusCode::FORBIDDEN, "unavailable_title", "register_off")
        }
        other => return visit.trouble(&other.to_string()),
    };
    visit.message(
        status,
        name,
        &visit.say(title, &[]),
        &visit.say(text, &[("org", name)]),
        &[visit.sign_in_link()],
    )
}

async fn join_submit(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    registration_submit(services, org, client, headers, uri, body, true).await
}

async fn register_submit(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    registration_submit(services, org, client, headers, uri, body, false).await
}

async fn registration_submit(
    services: AppState,
    org: String,
    client: gatehouse_domain::usecase::ClientAddress,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
    through_link: bool,
) -> Response {
    let started = tokio::time::Instant::now();
    let visit = Visit::new(services, org, &headers, &uri);
    let fields = or_page!(visit.form(&visit.slug, &body));
    let (domain, org) = or_page!(visit.org().await);
    let token = fields.get("token").cloned().unwrap_or_default();
    let token_ref = through_link.then_some(token.as_str());
    let mut problems = Problems::default();
    let email = email_field(&visit, &mut problems, &fields);
    let first = name_field(&visit, &mut problems, &fields, "first_name");
    let last = name_field(&visit, &mut problems, &fields, "last_name");
    let (Some(email), Some(first_name), Some(last_name)) = (email, first, last) else {
        return registration_form(&visit, token_ref, &fields, &problems).await;
    };
    let outcome = if through_link {
        match SecretToken::parse(&token) {
            Ok(secret) => {
                register_with_link(
                    &visit.services,
                    &domain,
                    LinkRegistration {
                        token: secret,
                        email: email.clone(),
                        first_name,
                        last_name,
                        language: Some(visit.lang.language()),
                    },
                    &client,
                )
                .await
            }
            Err(_) => Err(RegistrationError::LinkInvalid),
        }
    } else {
        register_self(
            &visit.services,
            &domain,
            SelfRegistration {
                email: email.clone(),
                first_name,
                last_name,
                language: Some(visit.lang.language()),
            },
            &client,
        )
        .await
    };
    // Mailing a confirmation takes time; an address already here gets none. Answer at the same
    // moment either way.
    tokio::time::sleep_until(started + visit.services.config.mail_response_floor).await;
    match outcome {
        Ok(()) => visit.message(
            StatusCode::OK,
            org.name(),
            &visit.say("check_inbox_title", &[]),
            &visit.say("check_inbox", &[("email", email.as_str())]),
            &[],
        ),
        Err(
            e @ (RegistrationError::EmailDomainNotAllowed
            | RegistrationError::TooManyRegistrations(_)),
        ) => {
            let field = matches!(e, RegistrationError::EmailDomainNotAllowed);
            let text = refusal_text(&visit, &org, &e);
            if field {
                problems.at("email", text);
            } else {
                problems.general.push(text);
            }
            let mut page = registration_form(&visit, token_ref, &fields, &problems).await;
            if let Some(wait) = e.retry_after() {
                *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                    page.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            page
        }
        Err(e) => registration_refused(&visit, &org, &e),
    }
}

// ---------------------------------------------------------------------------------------------
// Signing in and out

async fn sign_in_page(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let (_, org) = or_page!(visit.org().await);
    sign_in_form(&visit, &org, "", &Problems::default())
}

fn sign_in_form(visit: &Visit, org: &Org, identifier: &str, problems: &Problems) -> Response {
    let name = org.name();
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        },
        "sign_in.html",
        name,
        &visit.say("sign_in_title", &[("org", name)]),
        context! {
            identifier => identifier,
            identifier_hint => org.settings.sign_up_without_email.then(|| visit.say("identifier_hint", &[("org", org.domain.as_str())])),
            codes => org.settings.sign_up_without_email,
            self_registration => org.settings.self_registration,
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

async fn sign_in_submit(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let fields = or_page!(visit.form(&visit.slug, &body));
    let (domain, org) = or_page!(visit.org().await);
    let identifier = fields
        .get("identifier")
        .map(|s| s.trim())
        .unwrap_or("")
        .to_string();
    let password = fields.get("password").cloned().unwrap_or_default();
    let mut problems = Problems::default();
    if identifier.is_empty() {
        problems.at("identifier", visit.say("err_required", &[]));
    }
    if password.is_empty() {
        problems.at("password", visit.say("err_required", &[]));
    }
    if !problems.is_empty() {
        return sign_in_form(&visit, &org, &identifier, &problems);
    }
    let outcome = sign_in(
        &visit.services,
        &domain,
        SignInRequest {
            identifier: identifier.clone(),
            password,
        },
        &client,
    )
    .await;
    match outcome {
        Ok(signed) => visit.signed_in(&signed),
        Err(SignInError::Internal(cause)) => visit.trouble(&cause),
        Err(e) => {
            problems.general.push(refusal_text(&visit, &org, &e));
            let mut page = sign_in_form(&visit, &org, &identifier, &problems);
            if let Some(wait) = e.retry_after() {
                *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                    page.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            page
        }
    }
}

fn session_of(visit: &Visit) -> Option<SessionToken> {
    visit
        .cookies
        .get(SESSION_COOKIE)
        .and_then(|raw| SessionToken::parse(raw).ok())
}

async fn welcome_page(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let (domain, org) = or_page!(visit.org().await);
    let sign_in_path = format!("/{}/sign-in", visit.slug);
    let Some(token) = session_of(&visit) else {
        return visit.redirect(&sign_in_path);
    };
    let user = match signed_in_user(&visit.services, &domain, &token).await {
        Ok(user) => user,
        Err(e) if e.class() == RejectionClass::Internal => return visit.trouble(&e.to_string()),
        Err(_) => return visit.redirect(&sign_in_path),
    };
    let identifier = match (&user.email, &user.uid) {
        (Some(email), _) => email.to_string(),
        (None, Some(uid)) => uid.sign_in_identifier(&domain),
        (None, None) => String::new(),
    };
    let person = format!("{} {}", user.first_name, user.last_name);
    visit.render(
        StatusCode::OK,
        "welcome.html",
        org.name(),
        &visit.say("welcome_title", &[]),
        context! {
            text => visit.say("signed_in_as", &[("org", org.name()), ("name", &person), ("identifier", &identifier)]),
            console => (user.role == gatehouse_domain::types::Role::Admin).then(|| format!("/{}/admin", visit.slug)),
            // Members the settings let invite (by email, or into the groups they administer).
            invite => (user.role == gatehouse_domain::types::Role::Member
                && (org.settings.members_can_invite || org.settings.group_admins_can_invite))
                .then(|| format!("/{}/admin/invite", visit.slug)),
        },
    )
}

async fn sign_out_submit(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut visit = Visit::new(services, org, &headers, &uri);
    or_page!(visit.form(&visit.slug, &body));
    let (domain, _) = or_page!(visit.org().await);
    if let Some(token) = session_of(&visit) {
        if let Err(e) = sign_out(&visit.services, &domain, &token).await {
            return visit.trouble(&e.to_string());
        }
    }
    let path = format!("/{}", visit.slug);
    let cleared = visit.cookie(SESSION_COOKIE, "", &path, Some(0));
    visit.set_cookies.push(cleared);
    visit.redirect(&format!("/{}/sign-in", visit.slug))
}

// ---------------------------------------------------------------------------------------------
// Forgotten passwords

async fn forgot_page(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let (_, org) = or_page!(visit.org().await);
    forgot_form(&visit, &org, "", &Problems::default())
}

fn forgot_form(visit: &Visit, org: &Org, email: &str, problems: &Problems) -> Response {
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "forgot.html",
        org.name(),
        &visit.say("forgot_title", &[]),
        context! { email => email, errors => problems.errors(), summary => problems.summary() },
    )
}

async fn forgot_submit(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let started = tokio::time::Instant::now();
    let visit = Visit::new(services, org, &headers, &uri);
    let fields = or_page!(visit.form(&visit.slug, &body));
    let (domain, org) = or_page!(visit.org().await);
    let mut problems = Problems::default();
    let Some(email) = email_field(&visit, &mut problems, &fields) else {
        let typed = fields.get("email").map(String::as_str).unwrap_or("");
        return forgot_form(&visit, &org, typed, &problems);
    };
    let outcome = request_password_reset(
        &visit.services,
        &domain,
        &email,
        Some(visit.lang.language()),
    )
    .await;
    // Sending mail takes time; not sending takes less. Answer at the same moment either way.
    tokio::time::sleep_until(started + visit.services.config.mail_response_floor).await;
    match outcome {
        Ok(()) => visit.message(
            StatusCode::OK,
            org.name(),
            &visit.say("check_inbox_title", &[]),
            &visit.say("forgot_sent", &[("email", email.as_str())]),
            &[visit.sign_in_link()],
        ),
        Err(e) => visit.trouble(&e.to_string()),
    }
}

async fn reset_page(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let (_, org) = or_page!(visit.org().await);
    let token = visit.param("token").unwrap_or("").to_string();
    if SecretToken::parse(&token).is_err() {
        return reset_refused(&visit, &org);
    }
    reset_form(&visit, &org, &token, &Problems::default())
}

fn reset_form(visit: &Visit, org: &Org, token: &str, problems: &Problems) -> Response {
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "reset.html",
        org.name(),
        &visit.say("reset_title", &[]),
        context! {
            token => token,
            min => org.settings.password_min_length.to_string(),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

fn reset_refused(visit: &Visit, org: &Org) -> Response {
    visit.message(
        StatusCode::GONE,
        org.name(),
        &visit.say("reset_invalid_title", &[]),
        &visit.say("reset_invalid", &[]),
        &[(
            format!("/{}/forgot-password", visit.slug),
            visit.say("go_forgot", &[]),
        )],
    )
}

async fn reset_submit(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let visit = Visit::new(services, org, &headers, &uri);
    let fields = or_page!(visit.form(&visit.slug, &body));
    let (domain, org) = or_page!(visit.org().await);
    let token = fields.get("token").cloned().unwrap_or_default();
    let Ok(secret) = SecretToken::parse(&token) else {
        return reset_refused(&visit, &org);
    };
    let password = fields.get("password").cloned().unwrap_or_default();
    match confirm_password_reset(&visit.services, &domain, &secret, &password).await {
        Ok(()) => visit.message(
            StatusCode::OK,
            org.name(),
            &visit.say("reset_done_title", &[]),
            &visit.say("reset_done", &[]),
            &[visit.sign_in_link()],
        ),
        Err(PasswordChangeError::InvalidToken | PasswordChangeError::Expired) => {
            reset_refused(&visit, &org)
        }
        Err(e) if is_password_problem(e.code()) => {
            let mut problems = Problems::default();
            problems.at("password", refusal_text(&visit, &org, &e));
            reset_form(&visit, &org, &token, &problems)
        }
        Err(e) => visit.trouble(&e.to_string()),
    }
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
            "account_password.html",
            "admin_imports.html",
            "admin_import.html",
        ] {
            assert!(TEMPLATES.get_template(name).is_ok(), "{name}");
        }
    }
}
