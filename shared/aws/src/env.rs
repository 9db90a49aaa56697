use anyhow::Context;
use std::sync::Arc;

use gatehouse_domain::access_code::AccessCodeKeys;
use gatehouse_domain::clock::SystemClock;
use gatehouse_domain::metrics::{CountedMailer, Metrics};
use gatehouse_domain::password::PasswordHashing;
use gatehouse_domain::secret::OsRandomness;
use gatehouse_domain::{Config, Services};
use gatehouse_store::Records;

use crate::{DynamoItems, S3Files, SesMailer};

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
    /// `GATEHOUSE_METRICS_NAMESPACE`: the CloudWatch namespace of the counts (default
    /// `Gatehouse`; the template gives `Gatehouse/{stack}`).
    pub metrics_namespace: String,
    /// `GATEHOUSE_SES_MAX_SEND_RATE`: SES's maximum send rate, messages a second (default 14,
    /// SES's production default; `0` for no limit). Each function instance sends no faster.
    pub max_send_rate: f64,
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
            metrics_namespace: std::env::var("GATEHOUSE_METRICS_NAMESPACE")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "Gatehouse".into()),
            max_send_rate: match std::env::var("GATEHOUSE_SES_MAX_SEND_RATE") {
                Ok(v) if !v.is_empty() => v
                    .parse()
                    .ok()
                    .filter(|r: &f64| r.is_finite() && *r >= 0.0)
                    .context("GATEHOUSE_SES_MAX_SEND_RATE must be a number of messages a second")?,
                _ => 14.0,
            },
        })
    }
}

/// The AWS SDK's configuration from the environment, made for cold starts:
///
/// - Lambda hands a function its role's credentials in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
///   `AWS_SESSION_TOKEN`: when they are there, they are read directly instead of building the
///   whole default provider chain (profile files, web identity, ECS, IMDS);
/// - HTTPS trusts the roots AWS endpoints chain to, compiled in (`aws-roots.pem`), instead of
///   loading the system's whole certificate store when the first client is built (about 2 ms here,
///   5.5 ms in Lambda; BENCHMARKS.md). `GATEHOUSE_SYSTEM_ROOTS=1` trusts the system store instead,
///   for an endpoint behind another authority.
///
/// Elsewhere the SDK's defaults apply as usual.
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    if std::env::var("GATEHOUSE_SYSTEM_ROOTS").as_deref() != Ok("1") {
        loader = loader.http_client(https_trusting_aws_roots());
    }
    loader.load().await
}

/// The roots AWS service endpoints chain to (Amazon Trust Services, and Starfield Services G2
/// which cross-signs them), from Mozilla's CA bundle.
pub const AWS_ROOTS_PEM: &str = include_str!("aws-roots.pem");

fn https_trusting_aws_roots() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AWS_ROOTS_PEM.as_bytes());
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Cannot happen with the compiled-in bundle (a test parses it); keep the defaults then.
        Err(_) => builder.build_https(),
    }
}

/// Builds the production services once, at cold start: SDK clients (see [`aws_sdk_config`]) from
/// the default AWS configuration chain (which honours `AWS_ENDPOINT_URL*`), DynamoDB records, SES
/// mail; no files and no access-code key.
pub async fn services_from_env() -> anyhow::Result<Services> {
    ServicesFromEnv::load().await.build()
}

/// The production services of one function, built once at cold start with what its code uses
/// beyond the records, mail and clock every function has:
///
/// ```no_run
/// # async fn f() -> anyhow::Result<()> {
/// let services = gatehouse_aws::ServicesFromEnv::load()
///     .await
///     .with_files_from_env()?
///     .with_access_code_key_from_secret()
///     .await?
///     .build()?;
/// # Ok(()) }
/// ```
///
/// A function that does not ask for the files or the key has none (its code cannot reach them:
/// the deploy template's tests follow each function's calls and give it only what it reads).
pub struct ServicesFromEnv {
    aws: aws_config::SdkConfig,
    files: Arc<dyn gatehouse_domain::ports::FileStore>,
    access_codes: AccessCodeKeys,
    signing_keys: Arc<dyn gatehouse_domain::oidc::keys::SigningKeys>,
}

/// How long the secret's fetch may take, all attempts together, before the cold start fails
/// (Lambda then starts the function again).
pub const SECRET_FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl ServicesFromEnv {
    pub async fn load() -> Self {
        Self {
            aws: aws_sdk_config().await,
            files: Arc::new(gatehouse_domain::services::NoFiles),
            access_codes: AccessCodeKeys::absent(),
            signing_keys: Arc::new(gatehouse_domain::oidc::keys::NoSigningKeys),
        }
    }

    /// A Secrets Manager client for reading secrets at cold start, bounded by
    /// [`SECRET_FETCH_TIMEOUT`].
    fn secrets_client(&self) -> aws_sdk_secretsmanager::Client {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(SECRET_FETCH_TIMEOUT)
            .build();
        aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(&self.aws)
                .timeout_config(timeouts)
                .build(),
        )
    }

    /// The OpenID Connect signing keys, from the Secrets Manager secret whose ARN (or name) is
    /// `GATEHOUSE_SIGNING_KEYS_SECRET`: read now, and again every few minutes (a rotation's new
    /// key reaches warm functions before it signs).
    pub async fn with_signing_keys_from_secret(mut self) -> anyhow::Result<Self> {
        let secret = std::env::var("GATEHOUSE_SIGNING_KEYS_SECRET")
            .context("GATEHOUSE_SIGNING_KEYS_SECRET must be set")?;
        let keys =
            crate::signing_keys::SecretSigningKeys::load(self.secrets_client(), secret).await?;
        self.signing_keys = Arc::new(keys);
        Ok(self)
    }

    /// The S3 bucket `GATEHOUSE_BUCKET` for uploads, reports and exports.
    pub fn with_files_from_env(mut self) -> anyhow::Result<Self> {
        let bucket = std::env::var("GATEHOUSE_BUCKET").context("GATEHOUSE_BUCKET must be set")?;
        self.files = Arc::new(S3Files::new(S3Files::client(&self.aws), bucket));
        Ok(self)
    }

    /// The access-code key, read once from the Secrets Manager secret whose ARN (or name) is
    /// `GATEHOUSE_ACCESS_CODE_SECRET` (its current version: after a rotation, new cold starts
    /// use the new value). The key never enters the function's configuration.
    pub async fn with_access_code_key_from_secret(mut self) -> anyhow::Result<Self> {
        let secret = std::env::var("GATEHOUSE_ACCESS_CODE_SECRET")
            .context("GATEHOUSE_ACCESS_CODE_SECRET must be set")?;
        let value = self
            .secrets_client()
            .get_secret_value()
            .secret_id(&secret)
            .send()
            .await
            .with_context(|| format!("read the access-code secret {secret}"))?;
        let text = value
            .secret_string()
            .context("the access-code secret holds no text")?;
        self.access_codes = AccessCodeKeys::from_text(text)
            .with_context(|| format!("the access-code secret {secret}"))?;
        Ok(self)
    }

    /// The services, with the records in `GATEHOUSE_TABLE`, mail from `GATEHOUSE_MAIL_FROM`…
    /// ([`AwsSettings`]).
    pub fn build(self) -> anyhow::Result<Services> {
        let mut services = services_with(&self.aws, self.files, self.access_codes)?;
        services.signing_keys = self.signing_keys;
        Ok(services)
    }
}

/// Services for the operators' command (`gatehouse-admin`): DynamoDB records in
/// `GATEHOUSE_TABLE` and links starting with `GATEHOUSE_PUBLIC_URL`, nothing else. It sends no
/// mail, keeps no files and reads no access code, so neither SES nor the access-code secret is
/// needed.
pub async fn operator_services_from_env() -> anyhow::Result<Services> {
    let var = |name: &str| std::env::var(name).with_context(|| format!("{name} must be set"));
    let table = var("GATEHOUSE_TABLE")?;
    let public_url = var("GATEHOUSE_PUBLIC_URL")?;
    let aws = aws_sdk_config().await;
    Ok(Services {
        store: Arc::new(Records::new(Arc::new(DynamoItems::new(
            crate::dynamo::dynamo_client(&aws),
            table,
        )))),
        files: Arc::new(gatehouse_domain::services::NoFiles),
        mailer: Arc::new(gatehouse_domain::services::NoMail),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(gatehouse_domain::metrics::NoMetrics),
        random: Arc::new(OsRandomness),
        passwords: PasswordHashing::default(),
        access_codes: AccessCodeKeys::absent(),
        signing_keys: Arc::new(gatehouse_domain::oidc::keys::NoSigningKeys),
        passkeys: Arc::new(gatehouse_domain::passkey::NoPasskeys),
        config: Config::new(&public_url),
    })
}

fn services_with(
    aws: &aws_config::SdkConfig,
    files: Arc<dyn gatehouse_domain::ports::FileStore>,
    access_codes: AccessCodeKeys,
) -> anyhow::Result<Services> {
    let settings = AwsSettings::from_env()?;
    let dynamo = crate::dynamo::dynamo_client(aws);
    let clock: Arc<dyn gatehouse_domain::clock::Clock> = Arc::new(SystemClock);
    let metrics: Arc<dyn Metrics> = Arc::new(crate::EmfMetrics::new(
        settings.metrics_namespace.clone(),
        clock.clone(),
    ));
    let ses = crate::ses::ses_client(aws);
    Ok(Services {
        store: Arc::new(Records::new(Arc::new(DynamoItems::new(
            dynamo,
            settings.table,
        )))),
        files,
        mailer: Arc::new(CountedMailer::new(
            Arc::new(
                SesMailer::new(ses, settings.mail_from, settings.configuration_set)
                    .with_max_send_rate(settings.max_send_rate),
            ),
            metrics.clone(),
        )),
        clock,
        metrics,
        random: Arc::new(OsRandomness),
        passwords: PasswordHashing::default(),
        access_codes,
        signing_keys: Arc::new(gatehouse_domain::oidc::keys::NoSigningKeys),
        passkeys: Arc::new(gatehouse_domain::passkey::NoPasskeys),
        config: Config::new(&settings.public_url),
    })
}

#[cfg(test)]
mod tests {
    use super::AWS_ROOTS_PEM;

    #[test]
    fn the_compiled_in_roots_are_the_five_aws_chains_to() {
        let certs = AWS_ROOTS_PEM.matches("-----BEGIN CERTIFICATE-----").count();
        assert_eq!(certs, 5);
        assert_eq!(
            certs,
            AWS_ROOTS_PEM.matches("-----END CERTIFICATE-----").count()
        );
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(AWS_ROOTS_PEM.contains(name), "{name}");
        }
        // Each parses as a certificate the TLS stack accepts.
        let trust = aws_smithy_http_client::tls::TrustStore::empty()
            .with_pem_certificate(AWS_ROOTS_PEM.as_bytes());
        assert!(aws_smithy_http_client::tls::TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .is_ok());
    }
}
