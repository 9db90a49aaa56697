//! Applications that sign people in through Gatehouse (OpenID Connect clients), registered by an
//! organisation's admins.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::secret::{SecretToken, TokenHash};
use crate::types::{ClientId, ClientName, OrgDomain, ParseError};

/// How an application authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A server that keeps a secret (`client_secret_basic` or `client_secret_post`).
    Confidential,
    /// A browser or mobile app that cannot keep one: no secret, PKCE required.
    Public,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }
}

/// A URI Gatehouse may send people back to, compared with the one in a request character for
/// character (no wildcards, no prefix matching). `https://` with a host name or address, or
/// `http://` to the loopback interface only (`localhost`, `127.0.0.1`, `[::1]`: a developer's
/// machine or a native app's loopback redirect, RFC 8252); no user information, no fragment, at
/// most 2,000 characters. Nothing else is an absolute URL an attacker could not abuse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

impl RedirectUri {
    pub const MAX_LEN: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = |why: &str| ParseError::new("invalid_redirect_uri", format!("{why}: {raw:?}"));
        if raw.len() > Self::MAX_LEN {
            return Err(ParseError::new(
                "invalid_redirect_uri",
                format!("a redirect URI is at most {} characters", Self::MAX_LEN),
            ));
        }
        if raw.chars().any(|c| !c.is_ascii_graphic()) {
            return Err(bad("a redirect URI is printable ASCII without spaces"));
        }
        if raw.contains('#') {
            return Err(bad("a redirect URI has no fragment"));
        }
        if raw.contains('*') {
            return Err(bad("a redirect URI is matched exactly: no wildcards"));
        }
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| bad("a redirect URI is an absolute https URL"))?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        if authority.contains('@') {
            return Err(bad("a redirect URI has no user name or password"));
        }
        let host = host_of(authority).ok_or_else(|| bad("a redirect URI names a host"))?;
        match scheme {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(bad(
                    "http is allowed only to the loopback interface; use https",
                ))
            }
            _ => return Err(bad("a redirect URI is an https URL")),
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is an `https` URL (an `initiate_login_uri` must be).
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl std::fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RedirectUri> for String {
    fn from(value: RedirectUri) -> String {
        value.0
    }
}

/// The host of `host[:port]`, checked: a DNS name of letters, digits, hyphens and dots, an IPv4
/// address, or a bracketed IPv6 address; the port, if any, digits.
pub(crate) fn host_of(authority: &str) -> Option<&str> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6.split_once(']')?;
        addr.parse::<std::net::Ipv6Addr>().ok()?;
        (&authority[..addr.len() + 2], after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let name_ok = host.starts_with('[')
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }));
    name_ok.then_some(host)
}

pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host.starts_with("127.") && host.parse::<std::net::Ipv4Addr>().is_ok()
}

/// An application registered with an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientId,
    pub org: OrgDomain,
    pub name: ClientName,
    pub kind: ClientKind,
    /// Where authorization responses may go; at least one.
    pub redirect_uris: Vec<RedirectUri>,
    /// Where people may be sent after signing out.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Where a sign-in to this application starts (OpenID Connect third-party-initiated login):
    /// people who sign up through an emailed invitation are sent there.
    #[serde(default)]
    pub initiate_login_uri: Option<RedirectUri>,
    /// The secret's hash (confidential clients only).
    #[serde(default)]
    pub secret_hash: Option<TokenHash>,
    pub created_at: Timestamp,
    pub version: u64,
}

impl Client {
    /// At most this many redirect URIs (and as many post-logout ones) per application.
    pub const MAX_URIS: usize = 10;
    /// At most this many applications per organisation.
    pub const MAX_PER_ORG: usize = 50;

    /// Whether `secret` is this confidential client's secret (in constant time).
    pub fn secret_matches(&self, secret: &str) -> bool {
        use subtle::ConstantTimeEq;
        let Some(stored) = &self.secret_hash else {
            return false;
        };
        let Ok(given) = SecretToken::parse(secret) else {
            return false;
        };
        given
            .hash()
            .as_str()
            .as_bytes()
            .ct_eq(stored.as_str().as_bytes())
            .into()
    }

    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r.as_str() == uri)
    }

    pub fn allows_post_logout_redirect(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris
            .iter()
            .any(|r| r.as_str() == uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_http_and_nothing_else() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/cb?x=1",
            "https://203.0.113.7/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.1:8080/callback",
            "http://[::1]:9000/cb",
            "https://app.example.com",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/cb",
            "http://127.0.0.1.evil.com/cb",
            "https://*.example.com/cb",
            "https://app.example.com/cb#frag",
            "https://user:pw@app.example.com/cb",
            "https://app.example.com@evil.com/cb",
            "javascript:alert(1)",
            "com.example.app:/oauth",
            "//evil.com/cb",
            "https:///cb",
            "https://exa mple.com/cb",
            "https://app.example.com:99999999/cb",
            "https://-bad.example.com/cb",
            "ftp://example.com/cb",
            "",
        ] {
            let e = RedirectUri::parse(bad).expect_err(bad);
            assert_eq!(e.code, "invalid_redirect_uri", "{bad}");
        }
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let client = Client {
            id: ClientId::parse(&"a".repeat(32)).unwrap(),
            org: OrgDomain::parse("demo").unwrap(),
            name: ClientName::parse("App").unwrap(),
            kind: ClientKind::Public,
            redirect_uris: vec![RedirectUri::parse("https://app.example.com/cb").unwrap()],
            post_logout_redirect_uris: vec![],
            initiate_login_uri: None,
            secret_hash: None,
            created_at: Timestamp::from_unix_seconds(0),
            version: 0,
        };
        assert!(client.allows_redirect("https://app.example.com/cb"));
        for near in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://APP.example.com/cb",
            "https://app.example.com/c",
        ] {
            assert!(!client.allows_redirect(near), "{near}");
        }
        assert!(
            !client.secret_matches("anything"),
            "a public client has no secret"
        );
    }
}
