//! AWS adapters: [`DynamoItems`] (the item store on DynamoDB), [`SesMailer`] (SES v2),
//! [`S3Files`] (uploads and reports in S3), and
//! [`ServicesFromEnv`], with which every Lambda's `main` builds its services once at start-up.

mod dynamo;
mod env;
pub mod events;
pub mod metrics;
mod s3;
pub mod ses;
pub mod signing_keys;

pub use dynamo::{
    create_table, dynamo_client, item_from_stream_image, stream_image, DynamoItems, RequestCounter,
    DYNAMO_ATTEMPTS, DYNAMO_CALL_TIMEOUT,
};
pub use env::{
    aws_sdk_config, operator_services_from_env, services_from_env, AwsSettings, ServicesFromEnv,
    SECRET_FETCH_TIMEOUT,
};
pub use metrics::EmfMetrics;
pub use s3::S3Files;
pub use ses::SesMailer;
