//! Every route anyone may call whose work can send mail answers no sooner than the mail floor
//! (`gatehouse_http::at_the_mail_floor`, the one place the rule lives): otherwise how soon it
//! answers would tell a stranger whether an address has an account (issue 28; the enumeration
//! timing bench measures the effect, BENCHMARKS.md).
//!
//! Found in the code, not listed by hand: each route of each function (the API's `.route(…)`
//! calls, the pages' route table) is followed from its handler (`scan`); it can mail if it
//! reaches a `mailer.send(`, and it waits if it reaches `at_the_mail_floor(`.

mod scan;

use std::path::PathBuf;

struct Route {
    function: String,
    method: String,
    path: String,
    handler: String,
    file: PathBuf,
}

/// The routes of every function: `.route("path", get(a).post(b))` in its lib.rs, and the pages'
/// `page_routes!` table (`GET "path" => handler,`).
fn routes() -> Vec<Route> {
    let mut found = Vec::new();
    for function in scan::function_crates() {
        let file = scan::root()
            .join("functions")
            .join(&function)
            .join("src/lib.rs");
        let source = std::fs::read_to_string(&file).unwrap();
        let mut rest = source.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let Some(path) = rest
                .trim_start()
                .strip_prefix('"')
                .and_then(|r| r.split('"').next())
            else {
                continue;
            };
            let call = &rest[..rest.find("))").map_or(rest.len(), |e| e + 2)];
            for method in ["get", "post", "put", "patch", "delete"] {
                let mut from = call;
                while let Some(m) = from.find(&format!("{method}(")) {
                    let before = from[..m].chars().last();
                    from = &from[m + method.len() + 1..];
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let handler: String = from
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    found.push(Route {
                        function: function.clone(),
                        method: method.to_uppercase(),
                        path: path.to_string(),
                        handler,
                        file: file.clone(),
                    });
                }
            }
        }
        for line in source.lines() {
            let line = line.trim();
            let Some((method, rest)) = line.split_once(" \"") else {
                continue;
            };
            if !matches!(method, "GET" | "POST") {
                continue;
            }
            let Some((path, handler)) = rest.split_once("\" => ") else {
                continue;
            };
            found.push(Route {
                function: function.clone(),
                method: method.to_string(),
                path: path.to_string(),
                handler: handler.trim_end_matches(',').to_string(),
                file: file.clone(),
            });
        }
    }
    found
}

/// Anyone may call it: an API route without a session, or a page outside the console and one's
/// account.
fn public(route: &Route) -> bool {
    if route.path.starts_with("/v1/") {
        return !gatehouse_http::needs_session(&route.path);
    }
    !["/admin", "/account", "/welcome", "/sign-out"]
        .iter()
        .any(|private| route.path.contains(private))
}

#[test]
fn every_public_route_that_can_mail_answers_no_sooner_than_the_floor() {
    let workspace = scan::workspace_crates();
    let routes = routes();
    assert!(routes.len() > 60, "the routes are found: {}", routes.len());
    let mut mailing = Vec::new();
    let mut wrong = Vec::new();
    for route in routes.iter().filter(|r| public(r)) {
        let crate_dir = scan::root().join("functions").join(&route.function);
        let reached =
            scan::reached_from_handler(&crate_dir, &route.handler, &route.file, &workspace);
        let can_mail = reached.iter().any(|i| i.code.contains("mailer.send("));
        let waits = reached
            .iter()
            .any(|i| i.code.contains("at_the_mail_floor("));
        let name = format!("{} {} ({})", route.method, route.path, route.handler);
        if can_mail {
            mailing.push(name.clone());
            if !waits {
                wrong.push(name);
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "public routes that can mail and answer as soon as they are done:\n{}",
        wrong.join("\n")
    );
    // The analysis finds the ones known to mail a stranger's address.
    for known in [
        "POST /v1/orgs/{org}/password-reset",
        "POST /v1/orgs/{org}/sign-up/self",
        "POST /v1/orgs/{org}/sign-up/link",
        "POST /{org}/forgot-password",
        "POST /{org}/register",
        "POST /{org}/join",
    ] {
        assert!(
            mailing.iter().any(|m| m.starts_with(&format!("{known} "))),
            "{known} is found to mail: {mailing:#?}"
        );
    }
}
