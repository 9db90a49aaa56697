//! The `users` Lambda: AWS clients built once (the files bucket too: an erasure deletes the
//! import files that name the person) and the access-code key (it seals authenticator apps'
//! secrets), then the shared routes.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    gatehouse_http::init_lambda_tracing();
    let mut services = gatehouse_aws::ServicesFromEnv::load()
        .await
        .with_files_from_env()?
        .with_access_code_key_from_secret()
        .await?
        .build()?;
    // The WebAuthn relying party: the host of GATEHOUSE_PUBLIC_URL.
    services.passkeys = gatehouse_passkeys::ceremonies_for(&services.config.public_url);
    gatehouse_http::run_lambda(gatehouse_users::routes(), services).await
}
