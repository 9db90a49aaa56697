//! No page sends anyone off the origin: every page route is walked with hostile segments in
//! place of each of its parameters (`%2F`, `%5C`, `//`, CR LF…), signed out and signed in as
//! an admin, by GET and by a POST carrying a valid CSRF token, and no `Location` (nor any link
//! or form action on the page answered) may lead to another host.

use gatehouse_e2e::pages::{hidden_fields, signed_in};
use gatehouse_e2e::{Backend, Bundle, Reply, ADMIN_PASSWORD, PUBLIC_URL};

/// What a browser would take for a place on this origin: a path starting with one `/`, without
/// backslashes or control characters (browsers read `/\host` as `//host`), or a URL of the
/// public origin itself.
fn stays_on_origin(location: &str) -> bool {
    if location.starts_with('#') {
        return true;
    }
    let path = location
        .strip_prefix(PUBLIC_URL)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .unwrap_or(location);
    let path = if path.is_empty() { "/" } else { path };
    path.starts_with('/')
        && !path[1..].starts_with('/')
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_control())
}

/// Every `href="…"` and `action="…"` of a page.
fn places_on(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "action=\""] {
        for part in html.split(attr).skip(1) {
            if let Some(end) = part.find('"') {
                out.push(gatehouse_e2e::unescape_html(&part[..end]));
            }
        }
    }
    out
}

const HOSTILE: &[&str] = &[
    "%2Fevil.test",
    "%2F%2Fevil.test",
    "%5Cevil.test",
    "%5C%5Cevil.test",
    "/evil.test",
    "\\evil.test",
    "%0d%0aLocation:%20https:%2F%2Fevil.test",
    "%09%2Fevil.test",
    "evil.test%2F..",
    "%2e%2e",
    "",
];

fn assert_stays(reply: &Reply, request: &str) {
    if let Some(location) = reply.header("location") {
        assert!(
            stays_on_origin(location),
            "{request} redirects off the origin: {location}"
        );
    }
    if reply
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("text/html"))
    {
        for place in places_on(&reply.text) {
            assert!(
                stays_on_origin(&place),
                "{request} answers a page linking off the origin: {place}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_page_route_redirects_or_links_off_the_origin() {
    let b = Bundle::start(Backend::Embedded).await;
    let mut admin = signed_in(&b, &b.admin_email, ADMIN_PASSWORD).await;
    let form = admin.get("/demo/sign-in").await;
    let csrf = hidden_fields(&form.text)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .expect("a CSRF token")
        .1;
    let signed_out: Vec<(String, String)> = vec![(
        "cookie".into(),
        format!("__Host-gh_csrf={}", admin.cookies["__Host-gh_csrf"]),
    )];
    let signed_in: Vec<(String, String)> = admin.headers();
    let mut walked = 0;
    for (method, route) in gatehouse_pages::PAGE_ROUTES {
        let params: Vec<&str> = route.split('/').filter(|s| s.starts_with('{')).collect();
        for i in 0..params.len() {
            for hostile in HOSTILE {
                // The other parameters get ordinary values; this one the hostile text.
                let mut path = route.to_string();
                for (j, other) in params.iter().enumerate() {
                    let value = if i == j {
                        hostile.to_string()
                    } else {
                        match *other {
                            "{org}" => "demo".into(),
                            "{action}" => "resend".into(),
                            _ => "00000000000000000000000000".into(),
                        }
                    };
                    path = path.replacen(other, &value, 1);
                }
                for headers in [&signed_out, &signed_in] {
                    let (body, mut headers) = if *method == "POST" {
                        let body = serde_urlencoded::to_string([
                            ("csrf", csrf.as_str()),
                            ("identifier", b.admin_email.as_str()),
                            ("password", ADMIN_PASSWORD),
                        ])
                        .unwrap();
                        (Some(body), headers.clone())
                    } else {
                        (None, headers.clone())
                    };
                    headers.push((
                        "content-type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ));
                    let reply = b
                        .gateway
                        .raw_from("198.51.100.9", method, &path, headers, body)
                        .await;
                    assert!(reply.status < 500, "{method} {path}: {reply:?}");
                    assert_stays(&reply, &format!("{method} {path}"));
                    walked += 1;
                }
            }
        }
    }
    assert!(walked > 300, "walked {walked} requests");
}

/// The finding itself: the console's home with an encoded slash or backslash for organisation.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_console_home_with_a_slash_for_organisation_is_not_found() {
    let b = Bundle::start(Backend::Embedded).await;
    for path in ["/%2Fevil.test/admin", "/%5Cevil.test/admin"] {
        let reply = b.gateway.raw("GET", path, vec![], None).await;
        assert_eq!(reply.status, 404, "{path}: {reply:?}");
        assert_eq!(reply.header("location"), None, "{path}");
    }
}

#[test]
fn the_origin_check_refuses_what_browsers_take_for_another_host() {
    for off in [
        "//evil.test/admin",
        "/\\evil.test",
        "\\\\evil.test",
        "https://evil.test/",
        "https://app.gatehouse.test.evil.test/",
        "/a\r\nLocation: x",
        "javascript:alert(1)",
    ] {
        assert!(!stays_on_origin(off), "{off}");
    }
    // Encoded, a slash or backslash is only text in a path.
    for on in [
        "/demo/sign-in",
        "/demo/admin/invitations?x=%2F",
        "/%5Cevil.test/sign-in?lang=fr",
        PUBLIC_URL,
        "/",
    ] {
        assert!(stays_on_origin(on), "{on}");
    }
}
