//! The committed `openapi.json`, which the `openapi` function serves, is the document the
//! functions' annotations make today.

#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let generated = gatehouse_openapi_document::document_json().expect("the document serialises");
    assert!(
        generated == gatehouse_openapi::DOCUMENT,
        "openapi.json is stale: run `cargo run -p gatehouse-openapi-document --bin write-openapi` and commit it"
    );
}
