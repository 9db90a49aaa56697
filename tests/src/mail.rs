use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where sent mail can be read back: the local outbox's `.eml` files, or what moto's SES kept.
#[derive(Debug, Clone)]
pub enum Mailbox {
    Outbox(PathBuf),
    /// moto's base URL; sent messages are in `GET /moto-api/data.json` → `ses.Message[]`.
    Moto(String),
}

#[derive(Debug, Clone, Default)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    /// The From header (SES: the message's source), encoded words decoded.
    pub from: String,
    /// The Reply-To header (the outbox only: moto's SES keeps no reply-to).
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl ReceivedMail {
    /// The `token` of the sign-up link, read as a user would: from the text part if there is
    /// one, else from the HTML's link.
    pub fn link_token(&self) -> Option<String> {
        let body = self
            .text
            .clone()
            .or_else(|| self.html.as_deref().map(unescape_html))?;
        let start = body.find("?token=")? + "?token=".len();
        let token: String = body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (!token.is_empty()).then_some(token)
    }
}

impl ReceivedMail {
    /// The path and query of the first link to the public URL in the text part, else the HTML
    /// part (as a person would follow it), e.g. `/demo/sign-up?token=…`.
    pub fn link_path(&self) -> Option<String> {
        let body = self
            .text
            .clone()
            .or_else(|| self.html.as_deref().map(unescape_html))?;
        let start = body.find(crate::PUBLIC_URL)? + crate::PUBLIC_URL.len();
        let link: String = body[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
            .collect();
        (!link.is_empty()).then_some(link)
    }
}

/// Undoes the escaping of an HTML attribute or text (the entities minijinja writes).
pub fn unescape_html(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Mailbox {
    /// Every message sent to `email` (case-insensitive), oldest first.
    pub async fn messages_to(&self, email: &str) -> Vec<ReceivedMail> {
        let email = email.to_lowercase();
        self.all()
            .await
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.to_lowercase().contains(&email)))
            .collect()
    }

    /// Every message in the mailbox (on moto: every test's), oldest first.
    pub async fn all(&self) -> Vec<ReceivedMail> {
        match self {
            Mailbox::Outbox(dir) => {
                let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
                    Ok(entries) => entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                        .collect(),
                    Err(_) => Vec::new(),
                };
                paths.sort();
                paths
                    .iter()
                    .map(|p| parse_eml(&std::fs::read_to_string(p).expect("readable .eml")))
                    .collect()
            }
            Mailbox::Moto(endpoint) => {
                let data = http_get_json(endpoint, "/moto-api/data.json").await;
                data["ses"]["Message"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|m| ReceivedMail {
                        to: m["destinations"]["ToAddresses"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|v| v.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        subject: m["subject"].as_str().unwrap_or("").to_string(),
                        from: decode_words(m["source"].as_str().unwrap_or("")),
                        reply_to: None,
                        text: None,
                        html: m["body"].as_str().map(str::to_string),
                    })
                    .collect()
            }
        }
    }
}

/// A GET over plain HTTP/1.0 on loopback, enough for moto's JSON API.
async fn http_get_json(endpoint: &str, path: &str) -> Value {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("moto is reachable");
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("response read");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "moto answered {head}"
    );
    serde_json::from_str(body).expect("JSON from moto")
}

// ---- a small reader for the outbox's RFC 5322 / MIME files ---------------------------------

fn split_head(s: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = s
        .split_once("\r\n\r\n")
        .or_else(|| s.split_once("\n\n"))
        .unwrap_or((s, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    (headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`). Whitespace between two
/// encoded words is dropped; next to plain text it stays (RFC 2047 §6.2).
fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut previous_encoded = false;
    for word in s.split_whitespace() {
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let (_charset, enc, text) = (parts.next()?, parts.next()?, parts.next()?);
                let bytes = match enc.to_ascii_lowercase().as_str() {
                    "b" => STANDARD.decode(text).ok()?,
                    "q" => quoted_printable(&text.replace('_', " ")),
                    _ => return None,
                };
                String::from_utf8(bytes).ok()
            });
        let encoded = decoded.is_some();
        let between_encoded_words = encoded && previous_encoded;
        if !out.is_empty() && !between_encoded_words {
            out.push(' ');
        }
        out.push_str(decoded.as_deref().unwrap_or(word));
        previous_encoded = encoded;
    }
    out
}

fn quoted_printable(s: &str) -> Vec<u8> {
    let s = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn decode_body(headers: &[(String, String)], body: &str) -> String {
    let bytes = match header(headers, "content-transfer-encoding")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("base64") => STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .unwrap_or_default(),
        Some("quoted-printable") => quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
}

pub fn parse_eml(raw: &str) -> ReceivedMail {
    let (headers, body) = split_head(raw);
    let mut mail = ReceivedMail {
        to: header(&headers, "to")
            .map(|t| vec![t.to_string()])
            .unwrap_or_default(),
        subject: decode_words(header(&headers, "subject").unwrap_or("")),
        from: decode_words(header(&headers, "from").unwrap_or("")),
        reply_to: header(&headers, "reply-to").map(str::to_string),
        ..ReceivedMail::default()
    };
    let content_type = header(&headers, "content-type")
        .unwrap_or("text/plain")
        .to_string();
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string());
    let parts: Vec<(Vec<(String, String)>, String)> = match boundary {
        Some(b) => body
            .split(&format!("--{b}"))
            .skip(1)
            .filter(|p| !p.starts_with("--"))
            .map(|p| {
                let (h, b) = split_head(p.trim_start_matches(['\r', '\n']));
                let text = decode_body(&h, b);
                (h, text)
            })
            .collect(),
        None => vec![(headers.clone(), decode_body(&headers, body))],
    };
    for (h, text) in parts {
        let ct = header(&h, "content-type")
            .unwrap_or("text/plain")
            .to_ascii_lowercase();
        if ct.starts_with("text/html") {
            mail.html = Some(text);
        } else if ct.starts_with("text/plain") {
            mail.text = Some(text);
        }
    }
    mail
}

/// A mail service that is down: every send fails.
pub struct DownMailer;

#[async_trait::async_trait]
impl gatehouse_domain::ports::Mailer for DownMailer {
    async fn send(
        &self,
        _: &gatehouse_domain::ports::OutgoingEmail,
    ) -> Result<(), gatehouse_domain::ports::MailError> {
        Err(gatehouse_domain::ports::MailError(
            "the mail service is down".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_printable_and_encoded_subjects() {
        assert_eq!(quoted_printable("a=3Db=\r\nc"), b"a=bc");
        assert_eq!(decode_words("=?utf-8?b?Wm/Dqw==?="), "Zoë");
        assert_eq!(
            decode_words("vous invite =?utf-8?b?w6A=?= rejoindre"),
            "vous invite à rejoindre"
        );
        assert_eq!(decode_words("=?utf-8?b?w6A=?= =?utf-8?b?w6A=?="), "àà");
        assert_eq!(decode_words("plain words"), "plain words");
    }

    #[test]
    fn finds_the_link_token_in_text_or_escaped_html() {
        let mail = ReceivedMail {
            html: Some(
                "<a href=\"https:&#x2f;&#x2f;x&#x2f;demo&#x2f;sign-up?token=AbC-_9\">".into(),
            ),
            ..ReceivedMail::default()
        };
        assert_eq!(mail.link_token().as_deref(), Some("AbC-_9"));
    }
}
