//! `gatehouse-admin check`: after a deploy, what an operator would look at by hand in five AWS
//! consoles, each said in plain words: the table, the files bucket, the access-code secret, the
//! OpenID Connect signing keys, the SES identity and the account's sending quota, the cleanup's
//! schedule, and the public URL.
//! Reads the names from the environment (the stack's outputs; README, "Deploy"). Nothing is
//! changed and no secret is printed.

use std::time::Duration;

use aws_sdk_dynamodb::types::{PointInTimeRecoveryStatus, TableStatus, TimeToLiveStatus};
use aws_sdk_scheduler::types::ScheduleState;
use aws_sdk_sesv2::types::{DkimStatus, VerificationStatus};

/// One thing looked at, and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub subject: &'static str,
    /// `Ok`: as it should be (what was seen); `Err`: what is wrong and what to do.
    pub verdict: Result<String, String>,
}

/// The names to check, from the environment.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    pub table: Option<String>,
    pub bucket: Option<String>,
    pub secret: Option<String>,
    pub signing_keys: Option<String>,
    pub mail_domain: Option<String>,
    pub schedule: Option<String>,
    pub public_url: Option<String>,
    /// `GATEHOUSE_SES_MAX_SEND_RATE` as deployed (`SesMaxSendRate`), when given.
    pub max_send_rate: Option<f64>,
}

impl Deployment {
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            table: var("GATEHOUSE_TABLE"),
            bucket: var("GATEHOUSE_BUCKET"),
            secret: var("GATEHOUSE_ACCESS_CODE_SECRET"),
            signing_keys: var("GATEHOUSE_SIGNING_KEYS_SECRET"),
            mail_domain: var("GATEHOUSE_MAIL_DOMAIN"),
            schedule: var("GATEHOUSE_SCHEDULE"),
            public_url: var("GATEHOUSE_PUBLIC_URL"),
            max_send_rate: var("GATEHOUSE_SES_MAX_SEND_RATE").and_then(|v| v.parse().ok()),
        }
    }
}

/// The SES sandbox: verified recipients only, 200 messages a day, 1 a second.
const SANDBOX_DAILY: f64 = 200.0;

fn unset(variable: &str, output: &str) -> Result<String, String> {
    Err(format!(
        "{variable} is not set (the stack's {output} output; README, \"Deploy\")"
    ))
}

/// Looks at everything; one finding per subject, in the order an operator fixes them.
pub async fn check(deployment: &Deployment) -> Vec<Finding> {
    let aws = gatehouse_aws::aws_sdk_config().await;
    vec![
        Finding {
            subject: "table",
            verdict: table(&aws, deployment.table.as_deref()).await,
        },
        Finding {
            subject: "files bucket",
            verdict: bucket(&aws, deployment.bucket.as_deref()).await,
        },
        Finding {
            subject: "access-code secret",
            verdict: secret(&aws, deployment.secret.as_deref()).await,
        },
        Finding {
            subject: "signing keys",
            verdict: signing_keys(&aws, deployment.signing_keys.as_deref()).await,
        },
        Finding {
            subject: "mail identity",
            verdict: identity(&aws, deployment.mail_domain.as_deref()).await,
        },
        Finding {
            subject: "sending quota",
            verdict: quota(&aws, deployment.max_send_rate).await,
        },
        Finding {
            subject: "cleanup schedule",
            verdict: schedule(&aws, deployment.schedule.as_deref()).await,
        },
        Finding {
            subject: "public URL",
            verdict: public_url(deployment.public_url.as_deref()),
        },
    ]
}

fn cause(e: impl std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn table(aws: &aws_config::SdkConfig, name: Option<&str>) -> Result<String, String> {
    let Some(name) = name else {
        return unset("GATEHOUSE_TABLE", "TableName");
    };
    let client = aws_sdk_dynamodb::Client::new(aws);
    let described = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| format!("cannot read table {name}: {}", cause(e)))?;
    let table = described.table.ok_or("DescribeTable answered no table")?;
    if table.table_status != Some(TableStatus::Active) {
        return Err(format!(
            "table {name} is {:?}, not ACTIVE yet",
            table.table_status
        ));
    }
    let indexes: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name.clone())
        .collect();
    for wanted in ["gsi1", "gsi2"] {
        if !indexes.iter().any(|i| i == wanted) {
            return Err(format!(
                "table {name} has no index {wanted}: it is not Gatehouse's table"
            ));
        }
    }
    let ttl = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| format!("cannot read table {name}'s TTL: {}", cause(e)))?;
    let ttl = ttl.time_to_live_description;
    let ttl_on = ttl.as_ref().and_then(|t| t.time_to_live_status.clone())
        == Some(TimeToLiveStatus::Enabled)
        && ttl.as_ref().and_then(|t| t.attribute_name.as_deref()) == Some("ttl");
    if !ttl_on {
        return Err(format!(
            "table {name} does not expire items on `ttl`: sessions and links would pile up"
        ));
    }
    let backups = client
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .map_err(|e| format!("cannot read table {name}'s backups: {}", cause(e)))?;
    // Continuous backups are always on; point-in-time recovery is what restores (README).
    let recovery = backups
        .continuous_backups_description
        .and_then(|d| d.point_in_time_recovery_description)
        .and_then(|p| p.point_in_time_recovery_status)
        == Some(PointInTimeRecoveryStatus::Enabled);
    if !recovery {
        return Err(format!(
            "table {name}'s point-in-time recovery is off: nothing lost could be restored"
        ));
    }
    Ok(format!(
        "{name} is active, with its indexes, TTL and point-in-time recovery"
    ))
}

async fn bucket(aws: &aws_config::SdkConfig, name: Option<&str>) -> Result<String, String> {
    let Some(name) = name else {
        return unset("GATEHOUSE_BUCKET", "FilesBucketName");
    };
    let client = gatehouse_aws::S3Files::client(aws);
    client
        .head_bucket()
        .bucket(name)
        .send()
        .await
        .map_err(|e| format!("cannot reach bucket {name}: {}", cause(e)))?;
    Ok(format!("{name} is there"))
}

async fn secret(aws: &aws_config::SdkConfig, arn: Option<&str>) -> Result<String, String> {
    let Some(arn) = arn else {
        return unset("GATEHOUSE_ACCESS_CODE_SECRET", "AccessCodeKeyArn");
    };
    let value = aws_sdk_secretsmanager::Client::new(aws)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| format!("cannot read secret {arn}: {}", cause(e)))?;
    let text = value.secret_string().unwrap_or_default();
    gatehouse_domain::access_code::AccessCodeKeys::from_text(text)
        .map_err(|e| format!("secret {arn} is no key: {e}"))?;
    Ok("holds a key (not shown)".to_string())
}

async fn signing_keys(aws: &aws_config::SdkConfig, arn: Option<&str>) -> Result<String, String> {
    use gatehouse_domain::clock::{Clock, SystemClock};
    let Some(arn) = arn else {
        return unset("GATEHOUSE_SIGNING_KEYS_SECRET", "SigningKeysArn");
    };
    let client = aws_sdk_secretsmanager::Client::new(aws);
    let rotate = "run gatehouse-admin rotate-signing-key (README, \"Deploy\")";
    let keys = gatehouse_aws::signing_keys::read_key_set(&client, arn)
        .await
        .map_err(|e| format!("cannot read secret {arn}: {e:#}"))?
        .ok_or_else(|| {
            format!("secret {arn} holds no keys yet: sign-in to applications fails; {rotate}")
        })?;
    keys.signing_key(SystemClock.now())
        .map_err(|_| format!("secret {arn} has no key that signs now; {rotate}"))?;
    Ok(format!(
        "{} key(s) published, one signing now (private halves not shown)",
        keys.kids().len()
    ))
}

async fn identity(aws: &aws_config::SdkConfig, name: Option<&str>) -> Result<String, String> {
    let Some(name) = name else {
        return unset("GATEHOUSE_MAIL_DOMAIN", "MailIdentityName");
    };
    let found = aws_sdk_sesv2::Client::new(aws)
        .get_email_identity()
        .email_identity(name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "SES has no identity {name} in this region: {} (deploy with ManageMailIdentity=yes, or create it)",
                cause(e)
            )
        })?;
    let verified = found.verified_for_sending_status
        || found.verification_status == Some(VerificationStatus::Success);
    if !verified {
        let publish = if name.contains('@') {
            "open the link SES mailed to that address".to_string()
        } else {
            "publish the MailDkimRecords output's CNAME records; SES verifies within 72 hours"
                .to_string()
        };
        return Err(format!("{name} is not verified for sending yet: {publish}"));
    }
    if name.contains('@') {
        return Ok(format!("{name} is verified for sending"));
    }
    let dkim = found.dkim_attributes.and_then(|d| d.status);
    if dkim != Some(DkimStatus::Success) {
        return Err(format!(
            "{name} is verified but does not sign with DKIM yet ({dkim:?}): publish the \
             MailDkimRecords output's CNAME records (mail without DKIM lands in spam)"
        ));
    }
    Ok(format!(
        "{name} is verified for sending and signs with DKIM"
    ))
}

async fn quota(aws: &aws_config::SdkConfig, deployed_rate: Option<f64>) -> Result<String, String> {
    let quota = aws_sdk_ses::Client::new(aws)
        .get_send_quota()
        .send()
        .await
        .map_err(|e| format!("cannot read the account's sending quota: {}", cause(e)))?;
    let daily = quota.max24_hour_send;
    let rate = quota.max_send_rate;
    let sent = quota.sent_last24_hours;
    if daily <= SANDBOX_DAILY {
        return Err(format!(
            "the account is in the SES sandbox ({daily:.0} a day, {rate:.0} a second, {sent:.0} sent today): \
             mail reaches verified addresses only; ask for production access in the SES console"
        ));
    }
    if let Some(deployed) = deployed_rate.filter(|r| *r > 0.0 && *r > rate) {
        return Err(format!(
            "SesMaxSendRate is {deployed}, above the account's {rate} a second: SES will throttle; \
             deploy with SesMaxSendRate={rate}"
        ));
    }
    Ok(format!(
        "{daily:.0} a day, {rate:.0} a second ({sent:.0} sent in the last 24 hours)"
    ))
}

async fn schedule(aws: &aws_config::SdkConfig, name: Option<&str>) -> Result<String, String> {
    let Some(name) = name else {
        return unset("GATEHOUSE_SCHEDULE", "CleanupScheduleName");
    };
    let found = aws_sdk_scheduler::Client::new(aws)
        .get_schedule()
        .name(name)
        .send()
        .await
        .map_err(|e| format!("no schedule {name}: {}", cause(e)))?;
    if found.state != Some(ScheduleState::Enabled) {
        return Err(format!(
            "schedule {name} is {:?}: reminders, retries and expiries wait until it is enabled",
            found.state
        ));
    }
    Ok(format!(
        "{name} is enabled ({})",
        found.schedule_expression.unwrap_or_default()
    ))
}

fn public_url(url: Option<&str>) -> Result<String, String> {
    let Some(url) = url else {
        return Err(
            "PublicUrl is not set: links in emails would lead nowhere; deploy again with \
             PublicUrl set to the ApiUrl output (or give DomainName and CertificateArn)"
                .to_string(),
        );
    };
    if !url.starts_with("https://") || url.ends_with('/') {
        return Err(format!(
            "{url} must be an https:// URL without a trailing slash"
        ));
    }
    Ok(format!("links in emails start with {url}"))
}

/// How long the whole check may take before it gives up on an unanswering service.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(60);
