//! Any request body, under any content type, through the JSON body extractor into a body shaped
//! like the API's (required and optional fields, nested lists, unknown fields refused): the
//! value, or a problem with a 4xx status and a code, never a panic or a 5xx.
#![no_main]

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::Request;
use gatehouse_http::JsonBody;
use libfuzzer_sys::fuzz_target;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct InvitationLike {
    email: Option<String>,
    first_name: String,
    last_name: String,
    #[serde(default)]
    groups: Vec<String>,
    role: Option<String>,
    max_uses: Option<u32>,
}

fuzz_target!(|input: (u8, &[u8])| {
    let (kind, body) = input;
    let content_type = match kind % 4 {
        0 => "application/json",
        1 => "application/json; charset=utf-8",
        2 => "text/plain",
        _ => "application/problem+json",
    };
    let request = Request::builder()
        .method("POST")
        .uri("/v1/orgs/acme/invitations")
        .header("content-type", content_type)
        .body(Body::from(body.to_vec()))
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let answer =
        runtime.block_on(JsonBody::<InvitationLike>::from_request(request, &()));
    if let Err(problem) = answer {
        assert!(problem.status.is_client_error(), "{problem:?}");
        assert!(!problem.code.is_empty());
    }
});
