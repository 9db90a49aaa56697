//! Email addresses and the domains organisations allow.

use serde::{Deserialize, Serialize};

use super::ParseError;

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
