//! The `events` Lambda: invoked by the table's stream with the event log's new items.

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse_http::init_lambda_tracing();
    let services = gatehouse_aws::ServicesFromEnv::load().await.build()?;
    let (bus, queue) = gatehouse_aws::events::bus_and_queue_from_env().await?;
    let (services, bus, queue) = (&services, &bus, &queue);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let queued =
                gatehouse_events::handle_stream(services, bus, queue, &event.payload).await?;
            tracing::info!(queued, "stream batch routed");
            Ok::<(), lambda_runtime::Error>(())
        },
    ))
    .await
}
