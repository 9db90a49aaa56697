//! Rules of the edge every route keeps: authentication is checked before anything else (a
//! stranger's bad body, bad id or unknown organisation is a 401, like any stranger's request),
//! and every refusal, the framework's own included (a path that is not UTF-8), is
//! `application/problem+json` with a stable code.

use gatehouse_e2e::{Backend, Bundle};
use serde_json::json;

const JSON: (&str, &str) = ("content-type", "application/json");

/// A request as sent: method, path, headers, body.
type Sent<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strangers_get_401_before_any_other_refusal() {
    let b = Bundle::start(Backend::Embedded).await;
    let stale = "0190f5a8b6c37d4e8f9a0b1c2d3e4f50.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let requests: Vec<Sent> = vec![
        (
            "POST",
            "/v1/orgs/demo/invitations",
            vec![JSON],
            Some("{not json"),
        ),
        (
            "POST",
            "/v1/orgs/demo/invitations",
            vec![JSON],
            Some("[1, 2]"),
        ),
        (
            "POST",
            "/v1/orgs/demo/invitations",
            vec![JSON],
            Some(r#"{"email": 7}"#),
        ),
        (
            "POST",
            "/v1/orgs/demo/invitations",
            vec![],
            Some("email=a@b.c"),
        ),
        (
            "POST",
            "/v1/orgs/demo/invitations",
            vec![JSON],
            Some(r#"{"email":"a@b.c","role":"king","first_name":"A","last_name":"B"}"#),
        ),
        ("GET", "/v1/orgs/demo/invitations/not-an-id", vec![], None),
        (
            "GET",
            "/v1/orgs/demo/invitations?status=sideways",
            vec![],
            None,
        ),
        (
            "DELETE",
            "/v1/orgs/demo/invitations/0190f5a8b6c37d4e8f9a0b1c2d3e4f50",
            vec![],
            None,
        ),
        (
            "PATCH",
            "/v1/orgs/demo/settings",
            vec![JSON],
            Some(r#"{"invitation_ttl": "forever"}"#),
        ),
        ("POST", "/v1/orgs/demo/groups", vec![JSON], Some("{}")),
        (
            "PUT",
            "/v1/orgs/demo/users/nobody/password",
            vec![JSON],
            Some("{}"),
        ),
        ("GET", "/v1/orgs/nowhere/invitations", vec![], None),
        (
            "POST",
            "/v1/orgs/NOT%20AN%20ORG/invitations",
            vec![JSON],
            Some("{}"),
        ),
    ];
    for (method, path, headers, body) in requests {
        for token in [None, Some(stale)] {
            let mut sent: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            if let Some(t) = token {
                sent.push(("authorization".into(), format!("Bearer {t}")));
            }
            let reply = b
                .gateway
                .raw(method, path, sent, body.map(str::to_string))
                .await;
            assert_eq!(reply.status, 401, "{method} {path} ({token:?}): {reply:?}");
            reply.assert_problem(401, "unauthenticated");
        }
    }
    assert_eq!(b.invitation_count().await, 0);
    // The routes themselves are public (the OpenAPI document): a path none serves is not found.
    b.gateway
        .get("/v1/orgs/demo/no-such-route", None)
        .await
        .assert_problem(404, "route_not_found");
    // Signed in, the same bad body is told apart from a good one.
    let reply = b
        .gateway
        .raw(
            "POST",
            "/v1/orgs/demo/invitations",
            vec![
                ("content-type".into(), "application/json".into()),
                ("authorization".into(), format!("Bearer {}", b.admin_token)),
            ],
            Some("{not json".into()),
        )
        .await;
    reply.assert_problem(400, "malformed_json");
    let reply = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": "a@b.test", "role": "king", "first_name": "A", "last_name": "B"}),
        )
        .await;
    assert_eq!(reply.status, 422, "{reply:?}");
    // The public routes keep their own answers.
    b.gateway
        .post("/v1/orgs/demo/sign-in", None, json!([1]))
        .await
        .assert_problem(422, "invalid_body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_path_that_is_not_utf8_is_a_problem_not_plain_text() {
    let b = Bundle::start(Backend::Embedded).await;
    for (path, token) in [
        (
            "/v1/orgs/demo/invitations/%FF%FE",
            Some(b.admin_token.as_str()),
        ),
        ("/v1/orgs/demo/groups/%C3%28", Some(b.admin_token.as_str())),
        ("/v1/orgs/%FF/sign-in", None),
        ("/%FF/sign-in", None),
        ("/demo/admin/invitations/%FF", None),
    ] {
        let reply = b.gateway.get(path, token).await;
        assert!((400..500).contains(&reply.status), "{path}: {reply:?}");
        assert_eq!(
            reply.content_type.as_deref(),
            Some("application/problem+json"),
            "{path}: {reply:?}"
        );
        assert!(reply.json["code"].is_string(), "{path}: {reply:?}");
        assert!(
            !reply.json["detail"]
                .as_str()
                .unwrap_or("")
                .contains("Cannot parse"),
            "the framework's words stay inside: {reply:?}"
        );
    }
}
