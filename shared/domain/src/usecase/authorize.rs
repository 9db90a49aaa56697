//! The authorization endpoint (OpenID Connect code flow with PKCE): checks a request as RFC 6749
//! §4.1.2.1 orders it, then either sends the person back to the application with a code, sends
//! back an error, or asks them to sign in first.
//!
//! Nothing here ever redirects to a URI that is not one of the client's registered redirect URIs
//! matched character for character: an unknown client or an unregistered `redirect_uri` is
//! answered on Gatehouse's own page. [`ClientRedirect`] can only be made here.

use crate::clock::Timestamp;
use crate::error::{Rejection, RejectionClass};
use crate::oidc::grant::{AuthorizationCode, LocatedToken, CODE_LIFETIME};
use crate::oidc::{Client, ClientKind, RedirectUri};
use crate::ports::{StoreError, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{ClientId, OrgDomain};
use crate::usecase::openid::{issuer, SCOPES};
use crate::usecase::session::{authenticate, AuthError};
use crate::usecase::{load_org, OrgLookupError};

/// The longest `state` and `nonce` kept.
pub const MAX_OPAQUE: usize = 512;

/// Whether the person must (or must not) be asked for their password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Sign in if there is no session.
    Default,
    /// Never show a page: a code if there is a session, `login_required` if not.
    None,
    /// Always ask for the password again.
    Login,
}

/// A request that passed every check: the client, its redirect URI, and what it asked for.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub org: OrgDomain,
    pub client: Client,
    pub redirect_uri: RedirectUri,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// The request's parameters as received, carried through the sign-in form.
    pub params: Vec<(String, String)>,
}

/// Where the person goes back to the application: one of its registered redirect URIs with a
/// code or an error, `state` and `iss` (RFC 9207).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRedirect(String);

impl ClientRedirect {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `redirect_uri` (one of a client's registered URIs, as the caller checked) with `params`.
    pub(crate) fn to(redirect_uri: &RedirectUri, params: &[(&str, &str)]) -> Self {
        let mut uri = redirect_uri.as_str().to_string();
        let mut separator = if uri.contains('?') { '&' } else { '?' };
        for (name, value) in params {
            uri.push(separator);
            uri.push_str(name);
            uri.push('=');
            uri.push_str(&percent_encode(value));
            separator = '&';
        }
        Self(uri)
    }
}

/// Where a person who has just signed up goes next: the application the organisation chose
/// (`sign_up_client`), asked to sign them in (OpenID Connect Core §4, third-party-initiated
/// login: its registered `initiate_login_uri` with `iss` and `login_hint`; the application then
/// sends them to the authorization endpoint, where their new session answers at once). `None`
/// when the organisation chose none, or the application is gone or lost its `initiate_login_uri`.
pub async fn after_sign_up(
    services: &Services,
    org: &crate::model::Org,
    user: &crate::model::User,
) -> Result<Option<ClientRedirect>, StoreError> {
    let Some(id) = &org.settings.sign_up_client else {
        return Ok(None);
    };
    let Some(client) = services.store.client(&org.domain, id).await? else {
        return Ok(None);
    };
    let Some(uri) = &client.initiate_login_uri else {
        return Ok(None);
    };
    let iss = issuer(services, &org.domain);
    let hint = crate::oidc::claims::preferred_username(org, user);
    Ok(Some(ClientRedirect::to(
        uri,
        &[("iss", &iss), ("login_hint", &hint)],
    )))
}

/// RFC 3986 unreserved characters kept, everything else percent-encoded.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Refusals answered on Gatehouse's own page: nothing is sent to a URI not proven the client's.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error("this application is not registered with the organisation")]
    UnknownClient,
    #[error("the redirect URI is missing or not one registered for this application")]
    UnregisteredRedirectUri,
    #[error("a parameter is given twice")]
    RepeatedParameter,
    #[error("storage failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for AuthorizeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::UnknownClient => "invalid_client",
            Self::UnregisteredRedirectUri => "invalid_redirect_uri",
            Self::RepeatedParameter => "invalid_request",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::UnknownClient | Self::UnregisteredRedirectUri | Self::RepeatedParameter => {
                RejectionClass::Invalid
            }
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// What the check of a request found.
#[derive(Debug)]
pub enum Checked {
    Valid(Box<AuthorizationRequest>),
    /// Wrong in a way the client is told about, at its redirect URI.
    Refused(ClientRedirect),
}

/// A parameter given twice (RFC 6749 §3.1: a malformed request).
#[derive(Debug)]
pub(crate) struct Repeated;

impl From<Repeated> for AuthorizeError {
    fn from(_: Repeated) -> Self {
        Self::RepeatedParameter
    }
}

/// The value of a parameter of a request's pairs, `None` when absent or empty.
pub(crate) fn single<'a>(
    pairs: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, Repeated> {
    let mut found = pairs
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(Repeated);
    }
    Ok(first.filter(|v| !v.is_empty()))
}

/// Checks an authorization request's parameters (the query, or the sign-in form's carried
/// fields), in RFC 6749's order: the client and its redirect URI first (wrong: a page), then
/// everything else (wrong: an error sent back to the client).
pub async fn check_authorization(
    services: &Services,
    org: &OrgDomain,
    pairs: &[(String, String)],
) -> Result<Checked, AuthorizeError> {
    load_org(services, org).await?;
    for (name, _) in pairs {
        if pairs.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(AuthorizeError::RepeatedParameter);
        }
    }
    let client_id = single(pairs, "client_id")?
        .and_then(|raw| ClientId::parse(raw).ok())
        .ok_or(AuthorizeError::UnknownClient)?;
    let client = services
        .store
        .client(org, &client_id)
        .await?
        .ok_or(AuthorizeError::UnknownClient)?;
    let redirect_uri = single(pairs, "redirect_uri")?
        .filter(|uri| client.allows_redirect(uri))
        .and_then(|uri| RedirectUri::parse(uri).ok())
        .ok_or(AuthorizeError::UnregisteredRedirectUri)?;
    let state = single(pairs, "state")?.map(str::to_string);
    let iss = issuer(services, org);
    let refuse = |error: &str, description: &str| {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(state) = &state {
            params.push(("state", state));
        }
        params.push(("iss", &iss));
        Ok(Checked::Refused(ClientRedirect::to(&redirect_uri, &params)))
    };
    if single(pairs, "request")?.is_some() {
        return refuse("request_not_supported", "request objects are not supported");
    }
    if single(pairs, "request_uri")?.is_some() {
        return refuse("request_uri_not_supported", "request_uri is not supported");
    }
    match single(pairs, "response_type")? {
        Some("code") => {}
        None => return refuse("invalid_request", "response_type is required"),
        Some(_) => {
            return refuse(
                "unsupported_response_type",
                "only the authorization code flow (response_type=code) is supported",
            )
        }
    }
    if single(pairs, "response_mode")?.is_some_and(|m| m != "query") {
        return refuse("invalid_request", "only response_mode=query is supported");
    }
    let scopes: Vec<String> = single(pairs, "scope")?
        .unwrap_or_default()
        .split(' ')
        .filter(|s| SCOPES.contains(s))
        .map(str::to_string)
        .fold(Vec::new(), |mut kept, s| {
            if !kept.contains(&s) {
                kept.push(s);
            }
            kept
        });
    if !scopes.iter().any(|s| s == "openid") {
        return refuse("invalid_scope", "the openid scope is required");
    }
    let challenge = single(pairs, "code_challenge")?;
    let method = single(pairs, "code_challenge_method")?;
    let code_challenge = match (challenge, method) {
        (None, None) if client.kind == ClientKind::Public => {
            return refuse(
                "invalid_request",
                "a public client must use PKCE (code_challenge with S256)",
            )
        }
        (None, None) => None,
        (None, Some(_)) => {
            return refuse(
                "invalid_request",
                "code_challenge_method without code_challenge",
            )
        }
        (Some(_), method) if method != Some("S256") => {
            return refuse("invalid_request", "code_challenge_method must be S256")
        }
        (Some(c), _) if !is_pkce_value(c) => {
            return refuse(
                "invalid_request",
                "code_challenge is 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            )
        }
        (Some(c), _) => Some(c.to_string()),
    };
    let prompt = match single(pairs, "prompt")? {
        None => Prompt::Default,
        Some("none") => Prompt::None,
        Some("login") => Prompt::Login,
        // Consent is the organisation's (its admins registered the client): nothing to ask.
        Some("consent") => Prompt::Default,
        Some(p) if p.split(' ').any(|v| v == "none") => {
            return refuse(
                "invalid_request",
                "prompt=none cannot be combined with another value",
            )
        }
        Some(_) => return refuse("invalid_request", "prompt is none, login or consent"),
    };
    let max_age = match single(pairs, "max_age")? {
        None => None,
        Some(raw) => match raw.parse::<u64>() {
            Ok(seconds) => Some(seconds),
            Err(_) => return refuse("invalid_request", "max_age is a number of seconds"),
        },
    };
    let nonce = single(pairs, "nonce")?.map(str::to_string);
    if state.as_ref().is_some_and(|s| s.len() > MAX_OPAQUE)
        || nonce.as_ref().is_some_and(|n| n.len() > MAX_OPAQUE)
    {
        return refuse(
            "invalid_request",
            "state and nonce are at most 512 characters",
        );
    }
    Ok(Checked::Valid(Box::new(AuthorizationRequest {
        org: org.clone(),
        redirect_uri,
        scopes,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint: single(pairs, "login_hint")?.map(str::to_string),
        ui_locales: single(pairs, "ui_locales")?.map(str::to_string),
        params: pairs.to_vec(),
        client,
        state,
    })))
}

/// `[A-Za-z0-9-._~]{43,128}` (RFC 7636 §4.1).
pub fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Where an authorization goes next.
#[derive(Debug)]
pub enum Decision {
    /// Back to the application, with a code or an error.
    Redirect(ClientRedirect),
    /// The person signs in first (on the page that carries the request along).
    SignIn(Box<AuthorizationRequest>),
}

/// With the page's session (if any): a code when the session is good enough for the request,
/// `login_required` for `prompt=none` without one, else the sign-in page.
pub async fn decide(
    services: &Services,
    request: AuthorizationRequest,
    session: Option<&SessionToken>,
) -> Result<Decision, AuthorizeError> {
    let now = services.clock.now();
    let signed_in = match session {
        None => None,
        Some(token) => match authenticate(services, &request.org, Some(token)).await {
            Ok(actor) => Some(actor),
            Err(AuthError::Store(e)) => return Err(e.into()),
            Err(AuthError::Unauthenticated) => None,
        },
    };
    let fresh_enough = |authenticated: Timestamp| {
        request
            .max_age
            .is_none_or(|max| now.unix_seconds() - authenticated.unix_seconds() <= max as i64)
    };
    match signed_in {
        Some(actor) if request.prompt != Prompt::Login && fresh_enough(actor.authenticated_at) => {
            let auth_time = actor.authenticated_at;
            issue_code(services, &request, actor.user_id, auth_time, actor.amr)
                .await
                .map(Decision::Redirect)
        }
        _ if request.prompt == Prompt::None => Ok(Decision::Redirect(error_to(
            services,
            &request,
            "login_required",
            "the person is not signed in (or not recently enough)",
        ))),
        _ => Ok(Decision::SignIn(Box::new(request))),
    }
}

/// After the person signed in on the page that carried the request: their code.
pub async fn after_sign_in(
    services: &Services,
    request: &AuthorizationRequest,
    signed_in: &crate::usecase::SignedIn,
) -> Result<ClientRedirect, AuthorizeError> {
    let now = services.clock.now();
    let user_id = signed_in.user.id.clone();
    issue_code(services, request, user_id, now, signed_in.amr.clone()).await
}

fn error_to(
    services: &Services,
    request: &AuthorizationRequest,
    error: &str,
    description: &str,
) -> ClientRedirect {
    let iss = issuer(services, &request.org);
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    params.push(("iss", &iss));
    ClientRedirect::to(&request.redirect_uri, &params)
}

async fn issue_code(
    services: &Services,
    request: &AuthorizationRequest,
    user_id: crate::types::UserId,
    auth_time: Timestamp,
    amr: Vec<String>,
) -> Result<ClientRedirect, AuthorizeError> {
    let code = LocatedToken::code(user_id.clone(), services.random.as_ref());
    let now = services.clock.now();
    let record = AuthorizationCode {
        code_hash: code.hash(),
        org: request.org.clone(),
        client_id: request.client.id.clone(),
        redirect_uri: request.redirect_uri.as_str().to_string(),
        user_id,
        scopes: request.scopes.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time,
        amr,
        expires_at: now.plus(CODE_LIFETIME),
        spent_for: None,
    };
    services
        .store
        .save_code(&record)
        .await
        .map_err(|e: WriteError| AuthorizeError::Internal(e.into()))?;
    let iss = issuer(services, &request.org);
    let code = code.expose();
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    params.push(("iss", &iss));
    Ok(ClientRedirect::to(&request.redirect_uri, &params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_redirect_keeps_the_registered_uri_and_encodes_what_it_adds() {
        let uri = RedirectUri::parse("https://app.example.com/cb?tenant=a").unwrap();
        let to = ClientRedirect::to(
            &uri,
            &[("state", "a b&c=d/é"), ("iss", "https://g.test/demo")],
        );
        assert_eq!(
            to.as_str(),
            "https://app.example.com/cb?tenant=a&state=a%20b%26c%3Dd%2F%C3%A9&iss=https%3A%2F%2Fg.test%2Fdemo"
        );
    }

    #[test]
    fn pkce_values_are_43_to_128_unreserved_characters() {
        assert!(is_pkce_value(&"a".repeat(43)));
        assert!(is_pkce_value(&"A-._~9".repeat(20)));
        assert!(!is_pkce_value(&"a".repeat(42)));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", "a".repeat(43))));
    }
}
