//! The `pages` Lambda: AWS clients built once (S3 too: the console's imports and export), then
//! the hosted pages.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    gatehouse_http::init_lambda_tracing();
    let services = gatehouse_aws::ServicesFromEnv::load()
        .await
        .with_files_from_env()?
        .with_access_code_key_from_secret()
        .await?
        .with_signing_keys_from_secret()
        .await?
        .build()?;
    gatehouse_http::run_lambda(gatehouse_pages::routes(), services).await
}
