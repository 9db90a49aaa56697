//! The `bulk-import` Lambda: AWS clients built once, then each S3 event handled.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gatehouse_http::init_lambda_tracing();
    let services = gatehouse_aws::ServicesFromEnv::load()
        .await
        .with_files_from_env()?
        .with_access_code_key_from_secret()
        .await?
        .build()?;
    let services = &services;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        gatehouse_bulk_import::handle(services, &event.payload).await?;
        Ok::<(), lambda_runtime::Error>(())
    }))
    .await
}
