//! A browser for the hosted pages: it keeps cookies, sends its language, reads the CSRF token
//! out of each form and checks every page's security headers.

use std::collections::HashMap;

use crate::{Bundle, Reply};

/// A browser: its cookies, its language.
pub struct Browser<'a> {
    pub b: &'a Bundle,
    pub cookies: HashMap<String, String>,
    pub language: &'static str,
}

impl<'a> Browser<'a> {
    pub fn new(b: &'a Bundle) -> Self {
        Self {
            b,
            cookies: HashMap::new(),
            language: "en-GB,en;q=0.9",
        }
    }

    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![("accept-language".to_string(), self.language.to_string())];
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            headers.push(("cookie".into(), jar.join("; ")));
        }
        headers
    }

    pub fn keep_cookies(&mut self, reply: &Reply) {
        for (name, value) in &reply.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap_or("");
            let (k, v) = pair.split_once('=').expect("name=value");
            if value.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let reply = self
            .b
            .gateway
            .raw_from("198.51.100.7", "GET", path, self.headers(), None)
            .await;
        assert_page_headers(&reply);
        self.keep_cookies(&reply);
        reply
    }

    /// Submits a form, the CSRF token taken from `page` as the browser would send it.
    pub async fn submit(&mut self, page: &Reply, action: &str, fields: &[(&str, &str)]) -> Reply {
        // The fields of the form that posts there, as a browser sends them (a page may have more
        // than one form: the sign-in page's passkey form carries the same request).
        let mut all: Vec<(String, String)> = hidden_fields(form_of(&page.text, action));
        for (k, v) in fields {
            all.retain(|(name, _)| name != k);
            all.push((k.to_string(), v.to_string()));
        }
        self.post(action, &all).await
    }

    /// A form-encoded POST a page's script makes, answered in JSON (no page headers to check).
    pub async fn fetch(&mut self, action: &str, fields: &[(String, String)]) -> Reply {
        let mut headers = self.headers();
        headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        let body = serde_urlencoded::to_string(fields).unwrap();
        let reply = self
            .b
            .gateway
            .raw_from("198.51.100.7", "POST", action, headers, Some(body))
            .await;
        self.keep_cookies(&reply);
        reply
    }

    pub async fn post(&mut self, action: &str, fields: &[(String, String)]) -> Reply {
        let reply = self.fetch(action, fields).await;
        assert_page_headers(&reply);
        reply
    }
}

/// Every page is sent with the security headers and as HTML (or a redirect).
#[track_caller]
pub fn assert_page_headers(reply: &Reply) {
    let csp = reply.header("content-security-policy").expect("a CSP");
    assert!(
        !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    if reply.status != 303 {
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{reply:?}");
        assert_eq!(
            reply.content_type.as_deref(),
            Some("text/html; charset=utf-8"),
            "{reply:?}"
        );
        assert!(reply.text.starts_with("<!doctype html>"), "{reply:?}");
    }
}

/// The inputs of the page with their values as the browser would send them (hidden ones and
/// text fields as filled in), checkboxes left unticked.
/// The HTML of the form whose action is `action`, or the whole page when none is.
pub fn form_of<'a>(html: &'a str, action: &str) -> &'a str {
    let Some(at) = html.find(&format!("action=\"{action}\"")) else {
        return html;
    };
    let start = html[..at].rfind("<form").unwrap_or(0);
    let end = html[at..].find("</form>").map_or(html.len(), |e| at + e);
    &html[start..end]
}

pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for tag in html.split("<input").skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        if tag.contains("type=\"checkbox\"") {
            continue;
        }
        let attr = |name: &str| {
            let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
            Some(crate::unescape_html(
                &tag[start..start + tag[start..].find('"')?],
            ))
        };
        if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
            out.push((n, v));
        }
    }
    out
}

pub fn heading(reply: &Reply) -> String {
    let start = reply.text.find("<h1>").map(|i| i + 4).unwrap_or(0);
    let end = reply.text[start..].find("</h1>").unwrap_or(0);
    crate::unescape_html(&reply.text[start..start + end])
}

/// A browser signed in through the sign-in page.
pub async fn signed_in<'a>(b: &'a Bundle, identifier: &str, password: &str) -> Browser<'a> {
    let mut browser = Browser::new(b);
    let form = browser.get("/demo/sign-in").await;
    let done = browser
        .submit(
            &form,
            "/demo/sign-in",
            &[("identifier", identifier), ("password", password)],
        )
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    browser
}

/// The form's CSRF token with `fields`, as a browser would post them.
pub fn with_csrf(page: &Reply, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    // One token: every form of a page carries the same.
    let mut all: Vec<(String, String)> = hidden_fields(&page.text)
        .into_iter()
        .filter(|(k, _)| k == "csrf")
        .take(1)
        .collect();
    all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    all
}
