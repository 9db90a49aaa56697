//! The `mail-events` Lambda: AWS clients built once, then each SNS delivery of SES
//! notifications handled.

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse_http::init_lambda_tracing();
    let services = gatehouse_aws::services_from_env().await?;
    let services = &services;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<gatehouse_mail_events::SnsEvent>| async move {
            gatehouse_mail_events::handle(services, &event.payload).await?;
            Ok::<(), lambda_runtime::Error>(())
        },
    ))
    .await
}
