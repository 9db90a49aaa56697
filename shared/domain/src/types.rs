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
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// An email address that can be delivered as written, in one canonical form.
///
/// Accepted: an ASCII dot-atom local part (letters, digits and ``!#$%&'*+-/=?^_`{|}~``, dots
/// between them), `@`, and a domain of two or more dotted labels (letters, digits, inner
/// hyphens); at most 254 characters. Refused, each with its reason: quoted local parts
/// (`"a,b"@x.org` cannot be written in a mail header as typed, and `"alice"@x.org` would be a
/// second spelling of `alice@x.org`), domain literals, comments, display names, and non-ASCII
/// addresses (the mail service cannot deliver them).
///
/// The canonical form is all lowercase; it is what is stored, compared, used as the uniqueness
/// key and handed to the mailer, so one mailbox is one identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);
string_newtype!(EmailAddress);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;
    const MAX_LOCAL_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let bad = |why: &str| {
            ParseError::new(
                "invalid_email",
                format!("not a usable email address: {why}"),
            )
        };
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(bad("it is longer than 254 characters"));
        }
        if !s.is_ascii() {
            return Err(bad(
                "only addresses in plain ASCII can be delivered; internationalised addresses are not supported",
            ));
        }
        if s.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return Err(bad("it contains spaces or control characters"));
        }
        if s.starts_with('"') || s.contains("\"@") {
            return Err(bad(
                "quoted local parts (\"…\"@) are not accepted; write the address without quotes",
            ));
        }
        if s.contains('<') || s.contains('>') {
            return Err(bad(
                "write the address alone, without a name or angle brackets",
            ));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(bad("it has no @"));
        };
        if domain.contains('@') {
            return Err(bad("it has more than one @"));
        }
        if local.is_empty() {
            return Err(bad("nothing before the @"));
        }
        if local.len() > Self::MAX_LOCAL_LEN {
            return Err(bad("the part before the @ is longer than 64 characters"));
        }
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad(
                "dots before the @ may not start, end or follow each other",
            ));
        }
        if let Some(c) = local.chars().find(|&c| c != '.' && !atext(c)) {
            return Err(bad(&format!(
                "the character {c:?} is not allowed before the @"
            )));
        }
        if domain.starts_with('[') {
            return Err(bad("IP address literals are not accepted as domains"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(bad("the domain needs a dot"));
        }
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if !labels.iter().all(|l| label_ok(l)) {
            return Err(bad(
                "the domain is dotted labels of letters, digits and inner hyphens",
            ));
        }
        if labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(bad("the domain's last label cannot be a number"));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// The canonical form, used for comparison and uniqueness: the address itself (lowercase).
    pub fn normalized(&self) -> String {
        self.0.clone()
    }

    /// The domain part.
    pub fn domain(&self) -> String {
        self.0
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_default()
    }

    /// The local part.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or(&self.0)
    }
}

/// A domain an organisation allows member invitations to (`example.com`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailDomain(String);
string_newtype!(EmailDomain);

impl EmailDomain {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().trim_start_matches('@').to_lowercase();
        let ok = s.len() <= 253
            && s.contains('.')
            && s.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if ok {
            Ok(Self(s))
        } else {
            Err(ParseError::new(
                "invalid_email_domain",
                "an email domain is dotted labels of letters, digits and inner hyphens",
            ))
        }
    }
}

fn clean_text(
    raw: &str,
    max_chars: usize,
    code: &'static str,
    what: &str,
    allow_newlines: bool,
) -> Result<String, ParseError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ParseError::new(code, format!("{what} is empty")));
    }
    if s.chars().count() > max_chars {
        return Err(ParseError::new(
            code,
            format!("{what} is longer than {max_chars} characters"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(ParseError::new(
            code,
            format!("{what} contains control characters"),
        ));
    }
    Ok(s.to_string())
}

/// A name people read (a person's, an organisation's, a group's): [`clean_text`], then in NFC,
/// and refused if it holds a character that changes how the text around it reads without
/// showing itself: bidirectional controls (`Acme\u{202E}gnp.exe` reads "Acmeexe.png"),
/// zero-width and invisible characters, line and paragraph separators. The zero-width
/// (non-)joiners that Persian, Indic and emoji spelling need are kept between two letters (or
/// symbols) that are not ASCII, and refused anywhere else.
fn clean_name(
    raw: &str,
    max_chars: usize,
    code: &'static str,
    what: &str,
) -> Result<String, ParseError> {
    use unicode_normalization::UnicodeNormalization;
    let s: String = clean_text(raw, max_chars, code, what, false)?
        .nfc()
        .collect();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let why = match c {
            '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}' => "a character that changes the direction of the text",
            '\u{2028}' | '\u{2029}' | '\u{0085}' => "a line or paragraph separator",
            '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{180E}'
            | '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{3164}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}' => "an invisible character",
            '\u{200C}' | '\u{200D}' => {
                let joins = |n: Option<&char>| {
                    n.is_some_and(|n| {
                        !n.is_ascii() && !n.is_whitespace() && !matches!(n, '\u{200C}' | '\u{200D}')
                    })
                };
                if i > 0 && joins(chars.get(i - 1)) && joins(chars.get(i + 1)) {
                    continue;
                }
                "an invisible character"
            }
            _ => continue,
        };
        return Err(ParseError::new(
            code,
            format!("{what} contains {why} (U+{:04X})", u32::from(c)),
        ));
    }
    if s.chars().count() > max_chars {
        return Err(ParseError::new(
            code,
            format!("{what} is longer than {max_chars} characters"),
        ));
    }
    Ok(s)
}

/// A first or last name: 1 to 100 characters of any script, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);
string_newtype!(PersonName);

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        clean_name(raw, Self::MAX_CHARS, "invalid_name", "a name").map(Self)
    }
}

/// An organisation's name as people read it ("Acme Corporation"): 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgName(String);
string_newtype!(OrgName);

impl OrgName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        clean_name(raw, 100, "invalid_display_name", "a display name").map(Self)
    }
}

/// A group's display name: 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);
string_newtype!(GroupName);

impl GroupName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        clean_name(raw, 100, "invalid_group_name", "a group name").map(Self)
    }

    /// What the name looks like, whatever the script its letters come from (Unicode TR39's
    /// skeleton, of the lowercased name): `Еveryone` with a Cyrillic Е looks like `Everyone`.
    pub fn look(&self) -> String {
        let lower = self.0.to_lowercase();
        let skeleton: String = unicode_security::confusable_detection::skeleton(&lower).collect();
        // The skeleton of a lowercase letter may be an uppercase one (`l` and `I`): once more.
        skeleton.to_lowercase()
    }

    /// Whether the two names would be taken for one another.
    pub fn confusable_with(&self, other: &GroupName) -> bool {
        self.look() == other.look()
    }
}

/// The personal message an admin puts in an invitation email: up to 2,000 characters, lines kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonalMessage(String);
string_newtype!(PersonalMessage);

impl PersonalMessage {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        clean_text(raw, Self::MAX_CHARS, "invalid_message", "the message", true).map(Self)
    }
}

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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        let uuid = "0b9c2f4e-6a1d-4c3b-9e8f-7a6b5c4d3e2f";
        assert_eq!(IdempotencyKey::parse(uuid).unwrap().as_str(), uuid);
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " ", "a b", "clé", "a\r\nb", &"k".repeat(256)] {
            assert_eq!(
                IdempotencyKey::parse(bad).unwrap_err().code,
                "invalid_idempotency_key",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn org_domains_are_slugs() {
        assert_eq!(OrgDomain::parse(" Acme ").unwrap().as_str(), "acme");
        assert!(OrgDomain::parse("acme-corp2").is_ok());
        for bad in [
            "",
            "a",
            "2acme",
            "acme-",
            "ac me",
            "acmé",
            "ac_me",
            &"a".repeat(41),
        ] {
            assert_eq!(
                OrgDomain::parse(bad).unwrap_err().code,
                "invalid_org_domain",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn emails_are_kept_in_one_canonical_lowercase_form() {
        let a = EmailAddress::parse("Alice@Example.com").unwrap();
        let b = EmailAddress::parse(" alice@example.COM ").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "alice@example.com");
        assert_eq!(a.normalized(), a.as_str());
        assert_eq!(a.domain(), "example.com");
        assert_eq!(a.local_part(), "alice");
        for ok in [
            "a.b+tag@sub.example.org",
            "o'neil@example.ie",
            "x_y-z@ex-ample.co.uk",
            "{weird}|#$%&*=?^`~!@example.com",
        ] {
            let parsed = EmailAddress::parse(ok).unwrap();
            assert_eq!(parsed.as_str(), ok.to_ascii_lowercase());
        }
    }

    #[test]
    fn bad_emails_are_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        let long_local = format!("{}@example.com", "a".repeat(65));
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@localhost",
            "Alice <alice@example.com>",
            "al ice@example.com",
            "alice@exa\nmple.com",
            "alice@[127.0.0.1]",
            "\"alice\"@dup.test",
            "\"al\\ice\"@dup.test",
            "\"a\r\nbcc\"@inj.test",
            "\"a,b\"@x.org",
            "\"a<b>c\"@x.org",
            "\"a@b\"@x.org",
            "a,b@x.org",
            "a@b@x.org",
            "a..b@x.org",
            ".a@x.org",
            "a.@x.org",
            "a(comment)@x.org",
            "alice@x.org\u{0}",
            "zoë@example.com",
            "alice@exämple.com",
            "alice@-x.org",
            "alice@x..org",
            "alice@x.123",
            long.as_str(),
            long_local.as_str(),
        ] {
            assert_eq!(
                EmailAddress::parse(bad).map_err(|e| e.code),
                Err("invalid_email"),
                "{bad:?} accepted"
            );
        }
        assert!(EmailAddress::parse("\"alice\"@dup.test")
            .unwrap_err()
            .message
            .contains("quoted"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Zoë ").unwrap().as_str(), "Zoë");
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"é".repeat(101)).is_err());
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
        assert!(PersonName::parse("a\u{0}b").is_err());
        assert!(PersonName::parse("a\nb").is_err());
        assert!(PersonalMessage::parse("line one\nline two").is_ok());
    }

    #[test]
    fn names_that_would_lie_about_themselves_are_refused() {
        for (raw, why) in [
            ("Acme\u{202E}gnp.exe", "direction"),
            ("Acme\u{2066}x\u{2069}", "direction"),
            ("Ad\u{200B}min", "invisible"),
            ("\u{200D}Admin", "invisible"),
            ("Ad\u{200C}min", "invisible"),
            ("Ada\u{2028}Lovelace", "separator"),
            ("Ada\u{2029}Byron", "separator"),
            ("Ad\u{FEFF}a", "invisible"),
            ("Ad\u{00AD}a", "invisible"),
        ] {
            for error in [
                PersonName::parse(raw).unwrap_err(),
                OrgName::parse(raw).unwrap_err(),
                GroupName::parse(raw).unwrap_err(),
            ] {
                assert!(error.message.contains(why), "{raw:?}: {error:?}");
            }
        }
        assert_eq!(
            PersonName::parse(raw_codes()).unwrap_err().code,
            "invalid_name"
        );
        assert_eq!(
            OrgName::parse(raw_codes()).unwrap_err().code,
            "invalid_display_name"
        );
        assert_eq!(
            GroupName::parse(raw_codes()).unwrap_err().code,
            "invalid_group_name"
        );
        // Scripts that spell with a joiner keep it: Persian "Mohammad-Hossein", an emoji family.
        assert!(PersonName::parse("محمد\u{200C}حسین").is_ok());
        assert!(PersonName::parse("Ada 👩\u{200D}👧").is_ok());
    }

    fn raw_codes() -> &'static str {
        "Acme\u{202E}gnp.exe"
    }

    #[test]
    fn trusted_networks_are_cidrs_no_wider_than_a_slash_8() {
        let net = TrustedNetwork::parse(" 203.0.113.77/24 ").unwrap();
        assert_eq!(net.to_string(), "203.0.113.0/24");
        assert!(net.contains("203.0.113.9".parse().unwrap()));
        assert!(net.contains("::ffff:203.0.113.9".parse().unwrap()));
        assert!(!net.contains("203.0.114.9".parse().unwrap()));
        let v6 = TrustedNetwork::parse("2001:db8:1::/48").unwrap();
        assert!(v6.contains("2001:db8:1:2::1".parse().unwrap()));
        for bad in [
            "0.0.0.0/0",
            "10.0.0.0/7",
            "::/0",
            "2001::/31",
            "office",
            "10.0.0.1",
            "",
        ] {
            assert_eq!(
                TrustedNetwork::parse(bad).unwrap_err().code,
                "invalid_trusted_network",
                "{bad}"
            );
        }
    }

    #[test]
    fn names_are_kept_in_nfc() {
        // "Zoë" typed as Z, o, e and a combining diaeresis.
        let decomposed = "Zoe\u{0308}";
        assert_eq!(PersonName::parse(decomposed).unwrap().as_str(), "Zoë");
        assert_eq!(GroupName::parse(decomposed).unwrap().as_str(), "Zoë");
        assert_eq!(OrgName::parse(decomposed).unwrap().as_str(), "Zoë");
    }

    #[test]
    fn group_names_that_look_alike_are_confusable() {
        let name = |s: &str| GroupName::parse(s).unwrap();
        assert!(
            name("Еveryone").confusable_with(&name("Everyone")),
            "Cyrillic Е"
        );
        assert!(name("everyone").confusable_with(&name("Everyone")), "case");
        assert!(name("Sa1es").confusable_with(&name("Sales")), "digit one");
        assert!(name("Ρaris").confusable_with(&name("Paris")), "Greek Ρ");
        assert!(!name("Sales").confusable_with(&name("Support")));
        assert!(!name("Design").confusable_with(&name("Designers")));
    }

    #[test]
    fn invitee_roles_are_member_or_guest() {
        assert_eq!(InviteeRole::parse("member").unwrap(), InviteeRole::Member);
        assert!(
            InviteeRole::parse("Member").is_err(),
            "exactly as the contract spells it"
        );
        assert_eq!(InviteeRole::parse("guest").unwrap(), InviteeRole::Guest);
        assert_eq!(
            InviteeRole::parse("admin").unwrap_err().code,
            "invalid_role"
        );
    }

    #[test]
    fn email_domains_parse() {
        assert_eq!(
            EmailDomain::parse("@Example.COM").unwrap().as_str(),
            "example.com"
        );
        assert!(EmailDomain::parse("example").is_err());
        assert!(EmailDomain::parse("-x.com").is_err());
    }

    #[test]
    fn uids_are_letters_and_digits_matched_case_insensitively() {
        assert_eq!(Uid::parse(" E1234 ").unwrap().as_str(), "E1234");
        assert_eq!(Uid::parse("E1234").unwrap(), Uid::parse("e1234").unwrap());
        assert!(Uid::parse(&"9".repeat(64)).is_ok());
        for bad in [
            "",
            " ",
            "E 1234",
            "E-1234",
            "e.1234",
            "ü123",
            "12:34",
            &"9".repeat(65),
        ] {
            assert_eq!(Uid::parse(bad).unwrap_err().code, "invalid_uid", "{bad:?}");
        }
    }

    #[test]
    fn sign_in_identifiers_are_emails_or_uid_colon_domain() {
        let demo = OrgDomain::parse("demo").unwrap();
        assert_eq!(
            SignInIdentifier::parse("E1234:demo").unwrap(),
            SignInIdentifier::Uid {
                uid: Uid::parse("E1234").unwrap(),
                domain: demo.clone()
            }
        );
        assert_eq!(
            SignInIdentifier::parse("e1234:DEMO").unwrap().normalized(),
            "e1234:demo"
        );
        assert!(matches!(
            SignInIdentifier::parse("a@example.com").unwrap(),
            SignInIdentifier::Email(_)
        ));
        for bad in ["E1234", "E 12:demo", ":demo", "E1234:", "x@y"] {
            assert!(SignInIdentifier::parse(bad).is_err(), "{bad:?}");
        }
        // On an organisation's own route a bare identifier is that organisation's.
        assert_eq!(
            SignInIdentifier::parse_in(" E1234 ", &demo).unwrap(),
            SignInIdentifier::parse("E1234:demo").unwrap()
        );
        assert_eq!(
            SignInIdentifier::parse_in("E1234:other", &demo).unwrap(),
            SignInIdentifier::parse("E1234:other").unwrap()
        );
        assert!(SignInIdentifier::parse_in("E 1234", &demo).is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC*") {
            let _ = EmailAddress::parse(&s);
            let _ = OrgDomain::parse(&s);
            let _ = PersonName::parse(&s);
            let _ = UserId::parse(&s);
        }

        /// Every accepted address is its own canonical form: what is stored is what is compared,
        /// what the claim key is made of, and what the mailer is handed. Nothing in it can break
        /// a mail header, and parsing it again gives it back unchanged.
        #[test]
        fn accepted_emails_are_canonical_and_header_safe(
            s in prop_oneof![
                "[a-zA-Z0-9.'+_{}|~!#$%&*=?^`-]{1,40}@[a-zA-Z0-9.-]{1,20}",
                "[\"\\\\a-zA-Z0-9.,<>()@ \r\n\t\u{0}'+_{}|~!#$%&*=?^`é-]{1,40}(@[a-zA-Z0-9.\\[\\]é-]{0,20})?",
            ]
        ) {
            if let Ok(e) = EmailAddress::parse(&s) {
                let stored = e.as_str();
                prop_assert!(!stored.contains(['\r', '\n', '\0', '"', '\\', ',', '<', '>', '(', ')', ' ']));
                prop_assert!(stored.is_ascii());
                prop_assert_eq!(stored.matches('@').count(), 1);
                prop_assert_eq!(e.normalized(), stored.to_string());
                prop_assert_eq!(stored.to_ascii_lowercase(), stored.to_string());
                prop_assert_eq!(EmailAddress::parse(stored).unwrap(), e.clone());
                prop_assert_eq!(format!("{}@{}", e.local_part(), e.domain()), stored.to_string());
            }
        }

        #[test]
        fn two_spellings_of_one_address_are_one_address(
            local in "[a-zA-Z0-9][a-zA-Z0-9._+-]{0,15}[a-zA-Z0-9]",
            domain in "[a-zA-Z][a-zA-Z0-9]{0,10}\\.[a-zA-Z]{2,6}",
        ) {
            prop_assume!(!local.contains(".."));
            let typed = format!("{local}@{domain}");
            let a = EmailAddress::parse(&typed).unwrap();
            let b = EmailAddress::parse(&typed.to_uppercase()).unwrap();
            prop_assert_eq!(a.as_str(), b.as_str());
        }

        #[test]
        fn valid_org_domains_round_trip(s in "[a-z][a-z0-9-]{0,38}[a-z0-9]") {
            let d = OrgDomain::parse(&s).unwrap();
            prop_assert_eq!(OrgDomain::parse(d.as_str()).unwrap(), d);
        }
    }
}
