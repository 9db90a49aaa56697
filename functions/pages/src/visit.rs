//! One request for a page (`Visit`, an extractor every page handler takes): its organisation,
//! language, cookies and CSRF token; how it renders, redirects and signs people in.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::types::OrgDomain;
use gatehouse_domain::usecase::pages::organisation;
use gatehouse_domain::usecase::SignedIn;
use gatehouse_domain::Services;
use gatehouse_http::AppState;
use minijinja::{context, Value};
use subtle::ConstantTimeEq;

use crate::*;

/// Every page handler takes its visit from the request: the `{org}` segment of the route (the
/// same as the router decoded it), the headers and the URI, with the shared services.
impl axum::extract::FromRequestParts<AppState> for Visit {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(params) =
            axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
        let org = params.get("org").cloned().unwrap_or_default();
        Ok(Visit::new(state.clone(), org, &parts.headers, &parts.uri))
    }
}

pub(crate) const CSRF_COOKIE: &str = "gh_csrf";
pub(crate) const SESSION_COOKIE: &str = "gh_session";
pub(crate) const LANG_COOKIE: &str = "gh_lang";

/// A form posted to a page: its visit and its fields, only once it came from this site with the
/// visit's CSRF token ([`Visit::form`]); otherwise the page saying the form expired is the
/// answer and the handler never runs.
pub(crate) struct Form {
    pub(crate) visit: Visit,
    /// The fields by name (the last of a repeated name).
    pub(crate) fields: HashMap<String, String>,
    /// Every field in order, repeated names included (lists of checkboxes).
    pub(crate) pairs: Vec<(String, String)>,
}

impl axum::extract::FromRequest<AppState> for Form {
    type Rejection = Response;

    async fn from_request(
        request: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = request.into_parts();
        let visit = Visit::from_request_parts(&mut parts, state).await?;
        let request = axum::extract::Request::from_parts(parts, body);
        let bytes = <Bytes as axum::extract::FromRequest<AppState>>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields = visit.form(&visit.slug, &bytes).map_err(|page| *page)?;
        let pairs = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        Ok(Self {
            visit,
            fields,
            pairs,
        })
    }
}

/// A page that ends the request early: the redirect to sign in, the page saying the organisation
/// or the form is not right. Page handlers answer `Result<Response, Page>` and use `?` on each
/// step that may end it.
pub(crate) struct Page(Box<Response>);

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Box<Response>> for Page {
    fn from(page: Box<Response>) -> Self {
        Self(page)
    }
}

impl From<Response> for Page {
    fn from(page: Response) -> Self {
        Self(Box::new(page))
    }
}

/// A cookie's name as sent. Over https every page cookie is `__Host-` prefixed: a browser keeps
/// such a cookie only if it is `Secure`, has `Path=/` and no `Domain`, so neither a sibling
/// subdomain nor a plain-http page can plant or overwrite it. The session cookie, scoped to its
/// organisation's path over plain http, is then one per organisation by name instead
/// (`__Host-gh_session-acme`). Over plain http (the local run) the names are bare.
pub(crate) fn cookie_name(base: &str, secure: bool, slug: &str) -> String {
    match (secure, base == SESSION_COOKIE) {
        (false, _) => base.to_string(),
        (true, false) => format!("__Host-{base}"),
        (true, true) => format!("__Host-{base}-{slug}"),
    }
}

/// Where people go once signed in: `GATEHOUSE_APP_URL`, else the welcome page.
pub(crate) fn app_url() -> Option<&'static str> {
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
pub(crate) struct Visit {
    pub(crate) services: Arc<Services>,
    /// The organisation segment as typed, only ever shown as text (escaped).
    pub(crate) typed_org: String,
    /// The organisation segment if it is a valid domain (canonical), else `-`: every link and
    /// redirect is built from this, so none can be steered by the request's text (`%2F`, `%5C`).
    pub(crate) slug: String,
    pub(crate) lang: Lang,
    /// Chosen with `?lang=` on this request: remembered in a cookie.
    pub(crate) chose_lang: bool,
    /// The token this visit's forms carry: bound to the session when there is one.
    pub(crate) csrf: String,
    /// The anonymous token's cookie is to be set (none was sent).
    pub(crate) new_csrf: bool,
    /// The anonymous (double-submit) token, kept in `gh_csrf`.
    pub(crate) anonymous_csrf: String,
    pub(crate) secure: bool,
    /// Where the request says it comes from (`Origin`, `Sec-Fetch-Site`) and the host it was
    /// sent to: a form posted from another site is refused whatever its token.
    pub(crate) origin: Option<String>,
    pub(crate) fetch_site: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) cookies: HashMap<String, String>,
    /// Cookies to set with the answer.
    pub(crate) set_cookies: Vec<String>,
}

/// The request's cookies, by name (the `cookie` crate's reading of each `Cookie` header; a
/// pair it cannot read is skipped).
pub(crate) fn cookies_of(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .map(|c| (c.name().to_string(), c.value().to_string()))
        .collect()
}

impl Visit {
    pub(crate) fn new(
        services: Arc<Services>,
        typed_org: String,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Self {
        let slug = OrgDomain::parse(&typed_org).map_or_else(|_| "-".to_string(), |d| d.to_string());
        let secure = services.config.public_url.starts_with("https://");
        let cookies = cookies_of(headers);
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
        let asked = query
            .iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(v));
        let lang = asked
            .or_else(|| {
                cookies
                    .get(&cookie_name(LANG_COOKIE, secure, &slug))
                    .and_then(|v| Lang::parse(v))
            })
            .unwrap_or_else(|| {
                Lang::from_accept_language(
                    headers
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or(""),
                )
            });
        let existing = cookies
            .get(&cookie_name(CSRF_COOKIE, secure, &slug))
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
            .get(&cookie_name(SESSION_COOKIE, secure, &slug))
            .filter(|s| !s.is_empty())
            .map(|session| session_csrf(session))
            .unwrap_or_else(|| anonymous_csrf.clone());
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

    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn say(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.lang.say(key, args)
    }

    /// A page cookie to set: `base`'s name as sent ([`cookie_name`]), `HttpOnly`, `SameSite=Lax`,
    /// and over https `Secure` with `Path=/` (what `__Host-` demands); over plain http the
    /// session cookie keeps to its organisation's path.
    pub(crate) fn cookie(&self, base: &str, value: &str, max_age: Option<i64>) -> String {
        let path = if base == SESSION_COOKIE && !self.secure {
            format!("/{}", self.slug)
        } else {
            "/".to_string()
        };
        let mut cookie = cookie::Cookie::build((cookie_name(base, self.secure, &self.slug), value))
            .path(path)
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .secure(self.secure);
        if let Some(age) = max_age {
            cookie = cookie.max_age(cookie::time::Duration::seconds(age));
        }
        cookie.build().to_string()
    }

    /// The session cookie's value, if the request sent one.
    pub(crate) fn session_cookie(&self) -> Option<&str> {
        self.cookies
            .get(&cookie_name(SESSION_COOKIE, self.secure, &self.slug))
            .map(String::as_str)
    }

    /// The same page in the other language.
    pub(crate) fn switch_href(&self) -> String {
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
    pub(crate) async fn org(&self) -> Result<(OrgDomain, Org), Box<Response>> {
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
            Err(e) => Err(Box::new(self.trouble(&e))),
        }
    }

    /// A page from `template` with the base context and `extra`.
    pub(crate) fn render(
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
                tracing::error!(template, cause = %gatehouse_domain::Chain(&e), "a page did not render");
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

    pub(crate) fn attach_cookies(&self, response: &mut Response) {
        let mut cookies = self.set_cookies.clone();
        if self.new_csrf {
            cookies.push(self.cookie(CSRF_COOKIE, &self.anonymous_csrf, None));
        }
        if self.chose_lang {
            cookies.push(self.cookie(LANG_COOKIE, self.lang.code(), Some(31_536_000)));
        }
        for c in cookies {
            if let Ok(v) = HeaderValue::from_str(&c) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
    }

    pub(crate) fn message(
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
    pub(crate) fn trouble(&self, cause: &(dyn std::error::Error + 'static)) -> Response {
        tracing::error!(cause = %gatehouse_domain::Chain(cause), "a page failed");
        self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Gatehouse",
            &self.say("server_error_title", &[]),
            &self.say("server_error", &[]),
            &[],
        )
    }

    pub(crate) fn sign_in_link(&self) -> (String, String) {
        (
            format!("/{}/sign-in", self.slug),
            self.say("go_sign_in", &[]),
        )
    }

    /// Whether the request was sent by a page of another site: the browser says `Sec-Fetch-Site:
    /// cross-site` (or `same-site`: a sibling subdomain is another party), or its `Origin` is
    /// neither the public URL's nor the host's it was sent to.
    pub(crate) fn cross_site(&self) -> bool {
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
    pub(crate) fn form(
        &self,
        org_name: &str,
        body: &Bytes,
    ) -> Result<HashMap<String, String>, Box<Response>> {
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
    pub(crate) fn signed_in(mut self, signed: &SignedIn) -> Response {
        self.keep_session(signed);
        match app_url() {
            Some(platform) => self.see_other(platform),
            None => self.redirect(&format!("/{}/welcome", self.slug)),
        }
    }

    /// After a sign-up: into the application the organisation chose, asked to sign the person
    /// in (third-party-initiated login; their new session answers its authorization request at
    /// once), else as after a sign-in. A failed read of the application loses nothing: the
    /// account exists and the person is signed in here either way.
    pub(crate) async fn signed_up(mut self, org: &Org, signed: &SignedIn) -> Response {
        let services = self.services.clone();
        match gatehouse_domain::usecase::authorize::after_sign_up(&services, org, &signed.user)
            .await
        {
            Ok(Some(application)) => {
                self.keep_session(signed);
                // A URL the organisation's admins registered for this application (https).
                self.see_other(application.as_str())
            }
            Ok(None) => self.signed_in(signed),
            Err(e) => {
                tracing::error!(cause = %gatehouse_domain::Chain(&e), "the sign-up application could not be read");
                self.signed_in(signed)
            }
        }
    }

    /// The session cookie of a sign-in, sent with the answer.
    pub(crate) fn keep_session(&mut self, signed: &SignedIn) {
        let age =
            (signed.expires_at.unix_seconds() - self.services.clock.now().unix_seconds()).max(0);
        let cookie = self.cookie(SESSION_COOKIE, &signed.token.expose(), Some(age));
        self.set_cookies.push(cookie);
        // A new anonymous token too: one known before signing in (planted, or read over a
        // shoulder) is worth nothing after.
        self.anonymous_csrf = SecretToken::generate(self.services.random.as_ref())
            .expose()
            .to_string();
        self.new_csrf = true;
    }

    /// A redirect to `to`, a path on this origin built from known routes and the validated
    /// organisation. Anything else goes to `/` instead (and is logged as our bug).
    pub(crate) fn redirect(&self, to: &str) -> Response {
        let to = same_origin_path(to).unwrap_or_else(|| {
            tracing::error!("a page tried to redirect off the origin; sent to / instead");
            "/"
        });
        self.see_other(to)
    }

    /// A redirect to `location` as given: only for places that are not request text (the
    /// configured platform URL, a download URL the file store signed).
    pub(crate) fn see_other(&self, location: &str) -> Response {
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
pub(crate) fn session_csrf(session: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(session.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"gatehouse page forms");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// `path` if a browser reads it as a path on this origin: it starts with one `/` (not `//` or
/// `/\`, which browsers take for another host) and holds no control character or backslash.
pub(crate) fn same_origin_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let bad = rest.starts_with('/')
        || path.contains('\\')
        || path.chars().any(|c| c.is_control() || c.is_whitespace());
    (!bad).then_some(path)
}
