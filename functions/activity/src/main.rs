//! The `activity` Lambda: AWS clients built once, then the shared routes.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    gatehouse_http::init_lambda_tracing();
    let services = gatehouse_aws::services_from_env().await?;
    gatehouse_http::run_lambda(gatehouse_activity::routes(), services).await
}
