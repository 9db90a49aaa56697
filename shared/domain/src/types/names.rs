//! Text people read: names and personal messages, cleaned of what changes how text reads.

use serde::{Deserialize, Serialize};

use super::ParseError;

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

/// The name of an application that signs people in through Gatehouse ("Acme web"), shown on the
/// sign-in page and in the console: 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientName(String);
string_newtype!(ClientName);

impl ClientName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        clean_name(raw, 100, "invalid_client_name", "an application's name").map(Self)
    }
}
