//! Regenerates the committed `openapi.json` from the functions' annotations:
//! `cargo run -p gatehouse-openapi-document --bin write-openapi`.

fn main() -> anyhow::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.json");
    std::fs::write(&path, gatehouse_openapi_document::document_json()?)?;
    println!("wrote {}", path.display());
    Ok(())
}
