//! The `cleanup` Lambda: AWS clients built once, then each scheduled event runs the cleanup
//! within the invocation's time.

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse_http::init_lambda_tracing();
    let services = gatehouse_aws::ServicesFromEnv::load()
        .await
        .with_access_code_key_from_secret()
        .await?
        .with_files_from_env()?
        .build()?;
    let queue = gatehouse_aws::events::delivery_queue_from_env().await?;
    let (services, queue) = (&services, &queue);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let budget = gatehouse_cleanup::budget(services, event.context.deadline);
            let report = gatehouse_cleanup::run(services, budget).await?;
            // The webhook deliveries' safety net: one whose queue message was lost.
            let requeued =
                gatehouse_domain::usecase::deliveries::requeue_overdue(services, queue, 500)
                    .await?;
            let mut answer = gatehouse_cleanup::report_json(&report);
            answer["deliveries_requeued"] = requeued.into();
            Ok::<_, lambda_runtime::Error>(answer)
        },
    ))
    .await
}
