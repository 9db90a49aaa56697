//! The `activity` Lambda: AWS clients built once (and the key webhook secrets are sealed with),
//! then the shared routes.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    gatehouse_http::init_lambda_tracing();
    let services = gatehouse_aws::ServicesFromEnv::load()
        .await
        .with_access_code_key_from_secret()
        .await?
        .build()?;
    gatehouse_http::run_lambda(gatehouse_activity::routes(), services).await
}
