//! The `pages` Lambda: AWS clients built once (S3 too: the console's imports and export), then
//! the hosted pages.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    gatehouse_http::init_lambda_tracing();
    let mut services = gatehouse_aws::ServicesFromEnv::load()
        .await
        .with_files_from_env()?
        .with_access_code_key_from_secret()
        .await?
        .with_signing_keys_from_secret()
        .await?
        .build()?;
    // The WebAuthn relying party: the host of GATEHOUSE_PUBLIC_URL.
    services.passkeys = gatehouse_passkeys::ceremonies_for(&services.config.public_url);
    gatehouse_http::run_lambda(gatehouse_pages::routes(), services).await
}
