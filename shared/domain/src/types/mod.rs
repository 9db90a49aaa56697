//! Types that parse: past the edge, a value of one of these types is known to be valid.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Why a value was refused; `code` is stable and names the rule broken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ParseError {
    pub code: &'static str,
    pub message: String,
}

impl ParseError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

/// An organisation's short slug (`acme`): 2 to 40 characters, lowercase ASCII letters, digits
/// and inner hyphens, starting with a letter. Input is lowercased first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgDomain(String);
string_newtype!(OrgDomain);

impl OrgDomain {
    pub const MAX_LEN: usize = 40;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().to_ascii_lowercase();
        let bad = || {
            ParseError::new(
                "invalid_org_domain",
                "an organisation domain is 2 to 40 lowercase letters, digits and inner hyphens, starting with a letter",
            )
        };
        if s.len() < 2 || s.len() > Self::MAX_LEN {
            return Err(bad());
        }
        let mut chars = s.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_lowercase()) || s.ends_with('-') {
            return Err(bad());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(bad());
        }
        Ok(Self(s))
    }
}

mod email;
mod names;

pub use email::{EmailAddress, EmailDomain};
pub use names::{ClientName, GroupName, OrgName, PersonName, PersonalMessage};

/// A network an organisation trusts for sign-in (its office's NAT, say), as a CIDR
/// (`203.0.113.0/24`, `2001:db8:1::/48`). At most a /8 of IPv4 or a /32 of IPv6: trusting
/// more would trust strangers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrustedNetwork(ipnet::IpNet);

impl TrustedNetwork {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = |why: &str| ParseError::new("invalid_trusted_network", why.to_string());
        let net: ipnet::IpNet = raw.trim().parse().map_err(|_| {
            bad("a trusted network is a CIDR such as 203.0.113.0/24 or 2001:db8::/48")
        })?;
        let too_wide = match net {
            ipnet::IpNet::V4(n) => n.prefix_len() < 8,
            ipnet::IpNet::V6(n) => n.prefix_len() < 32,
        };
        if too_wide {
            return Err(bad(
                "a trusted network is at most a /8 (IPv4) or a /32 (IPv6)",
            ));
        }
        Ok(Self(net.trunc()))
    }

    /// Whether the address is in this network.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
            v4 => v4,
        };
        self.0.contains(&ip)
    }
}

impl fmt::Display for TrustedNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl TryFrom<String> for TrustedNetwork {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TrustedNetwork> for String {
    fn from(value: TrustedNetwork) -> String {
        value.to_string()
    }
}

/// A language Gatehouse writes in (emails, pages): English or French.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    En,
    Fr,
}

impl Language {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "en" => Ok(Self::En),
            "fr" => Ok(Self::Fr),
            _ => Err(ParseError::new(
                "invalid_language",
                "a language is \"en\" (English) or \"fr\" (French)",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }
}

/// A platform role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Member,
    /// Sees only the groups it was invited to; never joins default groups.
    Guest,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Guest => "guest",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            "guest" => Ok(Self::Guest),
            _ => Err(ParseError::new(
                "invalid_role",
                "role must be `admin`, `member` or `guest`",
            )),
        }
    }
}

/// The role an invitation grants: invitations make members or guests, never admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteeRole {
    Member,
    Guest,
}

impl InviteeRole {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "member" => Ok(Self::Member),
            "guest" => Ok(Self::Guest),
            _ => Err(ParseError::new(
                "invalid_role",
                "an invitation's role is \"member\" or \"guest\"",
            )),
        }
    }

    pub fn as_role(self) -> Role {
        match self {
            Self::Member => Role::Member,
            Self::Guest => Role::Guest,
        }
    }
}

/// An identifier for a user without email (employee number, phone, …): 1 to 64 ASCII letters
/// and digits. Kept as typed; unique per organisation and matched case-insensitively
/// (`E1234` and `e1234` are the same user).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uid(String);
string_newtype!(Uid);

impl Uid {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if s.is_empty() || s.len() > Self::MAX_LEN || !s.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(ParseError::new(
                "invalid_uid",
                "an identifier is 1 to 64 letters (A-Z) and digits, without spaces or punctuation",
            ));
        }
        Ok(Self(s.to_string()))
    }

    /// The form used for comparison and uniqueness: lowercase.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// What the user types to sign in: `uid:domain`.
    pub fn sign_in_identifier(&self, org: &OrgDomain) -> String {
        format!("{}:{org}", self.0)
    }
}

impl PartialEq for Uid {
    fn eq(&self, other: &Self) -> bool {
        self.normalized() == other.normalized()
    }
}
impl Eq for Uid {}

/// What a user signs in with: an email address, or `uid:domain` for users without email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInIdentifier {
    Email(EmailAddress),
    Uid { uid: Uid, domain: OrgDomain },
}

impl SignInIdentifier {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if s.contains('@') {
            return EmailAddress::parse(s).map(Self::Email);
        }
        let bad = || {
            ParseError::new(
                "invalid_identifier",
                "sign in with an email address or with identifier:domain",
            )
        };
        let (uid, domain) = s.rsplit_once(':').ok_or_else(bad)?;
        Ok(Self::Uid {
            uid: Uid::parse(uid).map_err(|_| bad())?,
            domain: OrgDomain::parse(domain).map_err(|_| bad())?,
        })
    }

    /// As [`Self::parse`], on the sign-in route of organisation `org`: there a bare identifier
    /// (`E1234`) means `E1234:org`.
    pub fn parse_in(raw: &str, org: &OrgDomain) -> Result<Self, ParseError> {
        let s = raw.trim();
        if !s.contains('@') && !s.contains(':') {
            if let Ok(uid) = Uid::parse(s) {
                return Ok(Self::Uid {
                    uid,
                    domain: org.clone(),
                });
            }
        }
        Self::parse(s)
    }

    /// A canonical form, for counting failed attempts per identifier.
    pub fn normalized(&self) -> String {
        match self {
            Self::Email(e) => e.normalized(),
            Self::Uid { uid, domain } => format!("{}:{domain}", uid.normalized()),
        }
    }
}

/// The value of an `Idempotency-Key` header: 1 to 255 visible ASCII characters (a UUID, say).
/// A client sends one with a creating request so that its retries answer the first result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);
string_newtype!(IdempotencyKey);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let visible = raw.bytes().all(|b| b.is_ascii_graphic());
        if !raw.is_empty() && raw.len() <= Self::MAX_LEN && visible {
            Ok(Self(raw.to_string()))
        } else {
            Err(ParseError::new(
                "invalid_idempotency_key",
                "an Idempotency-Key is 1 to 255 visible ASCII characters (a UUID, say)",
            ))
        }
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $code:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);
        string_newtype!($name);

        impl $name {
            /// Ids are 32 lowercase hex digits (a UUID without dashes).
            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                let s = raw.trim();
                if s.len() == 32 && s.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
                    Ok(Self(s.to_string()))
                } else {
                    Err(ParseError::new($code, concat!("not ", $what, " (32 lowercase hexadecimal digits)")))
                }
            }

            pub fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id.simple().to_string())
            }
        }
    };
}

id_type!(
    /// A user's id.
    UserId,
    "invalid_user_id",
    "a user id"
);
id_type!(
    /// An invitation's id; time-ordered (UUIDv7), so listing by id lists by age.
    InvitationId,
    "invalid_invitation_id",
    "an invitation id"
);
id_type!(
    /// A bulk import's id; time-ordered (UUIDv7), so listing by id lists by age.
    ImportId,
    "invalid_import_id",
    "an import id"
);
id_type!(
    /// A group's id.
    GroupId,
    "invalid_group_id",
    "a group id"
);
id_type!(
    /// An application's id (OpenID Connect `client_id`), public: it is in every authorization
    /// request.
    ClientId,
    "invalid_client_id",
    "a client id"
);

id_type!(
    /// A webhook endpoint's id; time-ordered (UUIDv7).
    WebhookId,
    "invalid_webhook_id",
    "a webhook id"
);

#[cfg(test)]
mod tests;
