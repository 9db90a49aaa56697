//! AWS adapters: [`DynamoItems`] (the item store on DynamoDB), [`SesMailer`] (SES v2), and
//! [`services_from_env`], which every Lambda's `main` calls once at start-up.

mod dynamo;
mod env;
mod ses;

pub use dynamo::{create_table, DynamoItems, RequestCounter};
pub use env::{aws_sdk_config, services_from_env, AwsSettings};
pub use ses::SesMailer;
