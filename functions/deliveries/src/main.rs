//! The `deliveries` Lambda: invoked by the deliveries queue; attempts each due delivery.

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse_http::init_lambda_tracing();
    let services = gatehouse_aws::ServicesFromEnv::load()
        .await
        .with_access_code_key_from_secret()
        .await?
        .build()?;
    let queue = gatehouse_aws::events::delivery_queue_from_env().await?;
    let sender = gatehouse_outbound::HttpsSender::new();
    let (services, queue, sender) = (&services, &queue, &sender);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            Ok::<_, lambda_runtime::Error>(
                gatehouse_deliveries::handle_queue(services, sender, queue, &event.payload).await,
            )
        },
    ))
    .await
}
