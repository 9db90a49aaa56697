use anyhow::Context;
use std::sync::Arc;

use gatehouse_domain::access_code::AccessCodeKeys;
use gatehouse_domain::clock::SystemClock;
use gatehouse_domain::password::PasswordHashing;
use gatehouse_domain::secret::OsRandomness;
use gatehouse_domain::{Config, Services};
use gatehouse_store::Records;

use crate::{DynamoItems, SesMailer};

/// What the Lambda functions read from their environment (see README, "Configuration").
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// `GATEHOUSE_TABLE`: the DynamoDB table.
    pub table: String,
    /// `GATEHOUSE_MAIL_FROM`: the verified SES sender.
    pub mail_from: String,
    /// `GATEHOUSE_SES_CONFIGURATION_SET`: optional SES configuration set.
    pub configuration_set: Option<String>,
    /// `GATEHOUSE_PUBLIC_URL`: where the front end lives; links in emails start with it.
    pub public_url: String,
    /// `GATEHOUSE_ACCESS_CODE_KEY`: the secret access codes are encrypted and hashed with.
    pub access_code_key: String,
}

impl AwsSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).with_context(|| format!("{name} must be set"));
        Ok(Self {
            table: var("GATEHOUSE_TABLE")?,
            mail_from: var("GATEHOUSE_MAIL_FROM")?,
            configuration_set: std::env::var("GATEHOUSE_SES_CONFIGURATION_SET")
                .ok()
                .filter(|s| !s.is_empty()),
            public_url: var("GATEHOUSE_PUBLIC_URL")?,
            access_code_key: var("GATEHOUSE_ACCESS_CODE_KEY")?,
        })
    }
}

/// Builds the production services once, at cold start: SDK clients from the default AWS
/// configuration chain (which honours `AWS_ENDPOINT_URL*`), DynamoDB records, SES mail.
pub async fn services_from_env() -> anyhow::Result<Services> {
    let settings = AwsSettings::from_env()?;
    let access_codes = AccessCodeKeys::from_text(&settings.access_code_key)
        .context("GATEHOUSE_ACCESS_CODE_KEY")?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let ses = aws_sdk_sesv2::Client::new(&aws);
    Ok(Services {
        store: Arc::new(Records::new(Arc::new(DynamoItems::new(
            dynamo,
            settings.table,
        )))),
        mailer: Arc::new(SesMailer::new(
            ses,
            settings.mail_from,
            settings.configuration_set,
        )),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandomness),
        passwords: PasswordHashing::default(),
        access_codes,
        config: Config::new(&settings.public_url),
    })
}
