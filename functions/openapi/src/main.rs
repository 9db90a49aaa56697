//! The `openapi` Lambda: serves the committed OpenAPI document; needs no AWS clients.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    gatehouse_http::init_lambda_tracing();
    lambda_http::run(gatehouse_openapi::routes::<()>()).await
}
