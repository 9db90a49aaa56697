//! The `sign-in` Lambda: AWS clients built once and the access-code key (it opens authenticator
//! apps' secrets) and the passkeys' relying party, then the shared routes.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    gatehouse_http::init_lambda_tracing();
    let mut services = gatehouse_aws::ServicesFromEnv::load()
        .await
        .with_access_code_key_from_secret()
        .await?
        .build()?;
    // The WebAuthn relying party: the host of GATEHOUSE_PUBLIC_URL.
    services.passkeys = gatehouse_passkeys::ceremonies_for(&services.config.public_url);
    gatehouse_http::run_lambda(gatehouse_sign_in::routes(), services).await
}
