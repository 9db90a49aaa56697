//! The `oidc` Lambda: AWS clients built once, then the shared routes.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    gatehouse_http::init_lambda_tracing();
    let services = gatehouse_aws::ServicesFromEnv::load()
        .await
        .with_signing_keys_from_secret()
        .await?
        .build()?;
    gatehouse_http::run_lambda(gatehouse_oidc::routes(), services).await
}
