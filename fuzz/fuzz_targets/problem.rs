//! Any detail text rendered as a problem: `application/problem+json` whose body is JSON holding
//! that detail, its code and status exactly (no escaping mistake can break the body).
#![no_main]

use axum::http::StatusCode;
use axum::response::IntoResponse;
use gatehouse_http::ApiError;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u16, String, Option<String>)| {
    let (status, detail, extra) = input;
    let status = StatusCode::from_u16(400 + status % 200).unwrap_or(StatusCode::BAD_REQUEST);
    let mut problem = ApiError::new(status, "fuzzed_code", detail.clone());
    if let Some(extra) = &extra {
        problem.extra = Some(("fields", serde_json::json!([extra])));
    }
    let response = problem.into_response();
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let bytes = runtime
        .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).expect("the body is JSON");
    assert_eq!(body["detail"], serde_json::Value::String(detail));
    assert_eq!(body["code"], "fuzzed_code");
    assert_eq!(body["status"], status.as_u16());
    if let Some(extra) = extra {
        assert_eq!(body["fields"][0], serde_json::Value::String(extra));
    }
});
