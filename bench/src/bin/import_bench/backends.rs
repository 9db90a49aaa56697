//! The two backends: one organisation set up on the embedded store or on moto, AWS requests counted.

use super::*;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Backend {
    Embedded,
    Moto,
}

/// Every AWS request the services send, by service and operation.
#[derive(Default, Clone)]
pub(crate) struct AwsCounters {
    pub(crate) dynamo: RequestCounter,
    pub(crate) ses: RequestCounter,
    s3: RequestCounter,
}

impl AwsCounters {
    pub(crate) fn take(&self) -> BTreeMap<String, usize> {
        let mut all = BTreeMap::new();
        for (service, counter) in [
            ("DynamoDB", &self.dynamo),
            ("SES", &self.ses),
            ("S3", &self.s3),
        ] {
            for (op, n) in counter.take() {
                let op = if op == "unknown" {
                    "request".into()
                } else {
                    op
                };
                all.insert(format!("{service} {op}"), n);
            }
        }
        all
    }
}

/// One organisation with its admin signed in and three groups, on a fresh store.
pub(crate) struct Setup {
    pub(crate) services: Services,
    pub(crate) org: OrgDomain,
    pub(crate) token: SessionToken,
    pub(crate) admin: UserId,
    pub(crate) counters: Option<AwsCounters>,
    /// The item store under `services.store`.
    pub(crate) items: Arc<dyn ItemStore>,
    /// The environment a child process needs to open the same store and files.
    pub(crate) child_env: Vec<(String, String)>,
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) fn endpoint() -> anyhow::Result<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .context("AWS_ENDPOINT_URL: the moto server (scripts/bench-imports starts one)")
}

pub(crate) async fn aws_config() -> anyhow::Result<aws_config::SdkConfig> {
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint()?)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "bench",
        ))
        .load()
        .await)
}

pub(crate) fn suffix() -> String {
    (&OsRandomness as &dyn Randomness).user_id().as_str()[..10].to_lowercase()
}

type Backends = (
    Arc<dyn ItemStore>,
    Arc<dyn Mailer>,
    Arc<dyn FileStore>,
    Option<AwsCounters>,
);

pub(crate) async fn setup(backend: Backend, paced: Option<f64>) -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let key = AccessCodeKeys::generate_secret(&OsRandomness);
    let mut child_env = vec![
        ("BENCH_ACCESS_CODE_KEY".to_string(), key.clone()),
        ("GATEHOUSE_MAIL_FROM".into(), FROM.into()),
        ("GATEHOUSE_PUBLIC_URL".into(), PUBLIC_URL.into()),
    ];
    let (items, mailer, files, counters): Backends = match backend {
        Backend::Embedded => {
            let store = dir.path().join("gatehouse.redb");
            let files = dir.path().join("files");
            child_env.push(("BENCH_STORE".into(), store.display().to_string()));
            child_env.push(("BENCH_FILES".into(), files.display().to_string()));
            (
                Arc::new(EmbeddedItems::open(&store)?),
                Arc::new(FileOutbox::new(&dir.path().join("outbox"), FROM, false)?),
                Arc::new(LocalFiles::new(&files, "http://127.0.0.1:8080", [7; 32])?),
                None,
            )
        }
        Backend::Moto => {
            let aws = aws_config().await?;
            let counters = AwsCounters::default();
            let dynamo = aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&aws)
                    .interceptor(counters.dynamo.clone())
                    .build(),
            );
            let table = format!("gatehouse-bench-{}", suffix());
            create_table(&dynamo, &table).await?;
            let ses = aws_sdk_sesv2::Client::from_conf(
                aws_sdk_sesv2::config::Builder::from(&aws)
                    .interceptor(counters.ses.clone())
                    .build(),
            );
            // moto sends only from a verified identity; it exists after the first run.
            let _ = ses
                .create_email_identity()
                .email_identity("gatehouse.test")
                .send()
                .await;
            let mut mailer = SesMailer::new(ses, FROM, None);
            if let Some(rate) = paced {
                mailer = mailer.with_max_send_rate(rate);
            }
            let s3 = aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&aws)
                    .force_path_style(true)
                    .interceptor(counters.s3.clone())
                    .build(),
            );
            let bucket = format!("gatehouse-bench-{}", suffix());
            s3.create_bucket()
                .bucket(&bucket)
                .create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                            REGION,
                        ))
                        .build(),
                )
                .send()
                .await
                .context("create the bench bucket on moto")?;
            for (k, v) in [
                ("GATEHOUSE_TABLE", table.clone()),
                ("GATEHOUSE_BUCKET", bucket.clone()),
                ("AWS_ENDPOINT_URL", endpoint()?),
                ("AWS_REGION", REGION.into()),
                ("AWS_ACCESS_KEY_ID", "testing".into()),
                ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ] {
                child_env.push((k.into(), v));
            }
            counters.take();
            (
                Arc::new(DynamoItems::new(dynamo, table)),
                Arc::new(mailer),
                Arc::new(S3Files::new(s3, bucket)),
                Some(counters),
            )
        }
    };
    let services = Services {
        store: Arc::new(Records::new(items.clone())),
        mailer,
        files,
        clock: Arc::new(SystemClock),
        metrics: Arc::new(gatehouse_domain::metrics::NoMetrics),
        random: Arc::new(OsRandomness),
        passwords: PasswordHashing::default(),
        access_codes: AccessCodeKeys::from_text(&key)?,
        signing_keys: Arc::new(gatehouse_domain::oidc::keys::NoSigningKeys),
        passkeys: Arc::new(gatehouse_domain::passkey::NoPasskeys),
        config: Config::new(PUBLIC_URL),
    };
    let org = OrgDomain::parse("demo")?;
    bootstrap_org(
        &services,
        BootstrapRequest {
            domain: org.clone(),
            admin_email: EmailAddress::parse(ADMIN)?,
            admin_password: ADMIN_PASSWORD.into(),
            first_name: PersonName::parse("Ada")?,
            last_name: PersonName::parse("Admin")?,
            display_name: None,
        },
    )
    .await?;
    let signed_in = sign_in(
        &services,
        &org,
        SignInRequest {
            identifier: ADMIN.into(),
            password: ADMIN_PASSWORD.into(),
        },
        &ClientAddress::new("192.0.2.1"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("sign in: {e}"))?
    .signed_in()
    .ok_or_else(|| anyhow::anyhow!("the admin has no second factor"))?;
    for name in GROUPS {
        gatehouse_domain::usecase::groups::create_group(
            &services,
            &org,
            Some(&signed_in.token),
            GroupName::parse(name)?,
        )
        .await
        .map_err(|e| anyhow::anyhow!("create group: {e}"))?;
    }
    if let Some(c) = &counters {
        c.take();
    }
    Ok(Setup {
        services,
        org,
        admin: signed_in.user.id.clone(),
        token: signed_in.token,
        counters,
        items,
        child_env,
        dir,
    })
}
