//! `gatehouse-admin check` as an operator runs it after a deploy, against moto: on an empty
//! account every part is reported missing, in plain words, with what to do; once the parts are
//! made as the template makes them, each is reported as it should be, except what moto's account
//! really is: in the SES sandbox (200 a day, 1 a second), which is reported as a problem. (moto
//! verifies identities but signs with no DKIM: a domain's line says to publish the records.)

use std::process::{Command, Output};

fn endpoint() -> String {
    std::env::var("GATEHOUSE_TEST_AWS_ENDPOINT").expect(
        "GATEHOUSE_TEST_AWS_ENDPOINT is not set: run the tests with ./scripts/test, which starts moto's server",
    )
}

/// moto keeps one account per region: the schedule and the sending quota are the region's.
const REGION: &str = "eu-north-1";

async fn aws() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

struct Names {
    table: String,
    bucket: String,
    secret: String,
    signing_keys: String,
    domain: String,
    schedule: String,
}

fn check(names: &Names, public_url: &str, send_rate: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse-admin"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("GATEHOUSE_TABLE", &names.table)
        .env("GATEHOUSE_BUCKET", &names.bucket)
        .env("GATEHOUSE_ACCESS_CODE_SECRET", &names.secret)
        .env("GATEHOUSE_SIGNING_KEYS_SECRET", &names.signing_keys)
        .env("GATEHOUSE_MAIL_DOMAIN", &names.domain)
        .env("GATEHOUSE_SCHEDULE", &names.schedule)
        .env("GATEHOUSE_PUBLIC_URL", public_url)
        .env("GATEHOUSE_SES_MAX_SEND_RATE", send_rate)
        .arg("check")
        .output()
        .expect("gatehouse-admin runs")
}

/// Every part the check looks at but the account's sending quota.
const PARTS: [&str; 7] = [
    "table",
    "files bucket",
    "access-code secret",
    "signing keys",
    "mail identity",
    "cleanup schedule",
    "public URL",
];

/// The line about `subject`.
fn line<'a>(printed: &'a str, subject: &str) -> &'a str {
    printed
        .lines()
        .find(|l| l[9.min(l.len())..].starts_with(&format!("{subject}:")))
        .unwrap_or_else(|| panic!("a line about {subject} in:\n{printed}"))
}

#[tokio::test]
async fn check_says_what_is_missing_then_what_is_as_it_should_be() {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let names = Names {
        table: format!("gatehouse-check-{run}"),
        bucket: format!("gatehouse-check-{run}"),
        secret: format!("arn:aws:secretsmanager:{REGION}:123456789012:secret:gatehouse-{run}"),
        signing_keys: format!("gatehouse-signing-keys-{run}"),
        domain: format!("mail-{run}.example.com"),
        schedule: format!("gatehouse-{run}-cleanup"),
    };

    // Nothing deployed: each part is a problem that says what to do; exit status 1.
    let empty = check(&names, "", "1");
    assert_eq!(empty.status.code(), Some(1), "{empty:?}");
    let printed = String::from_utf8(empty.stdout).unwrap();
    for subject in PARTS {
        assert!(line(&printed, subject).starts_with("PROBLEM"), "{printed}");
    }
    assert!(line(&printed, "table").contains(&names.table));
    assert!(line(&printed, "mail identity").contains("ManageMailIdentity=yes"));
    assert!(line(&printed, "public URL").contains("ApiUrl output"));
    assert!(!printed.contains("Everything checked"));

    // The parts, made as the template makes them.
    let aws = aws().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    gatehouse_aws::create_table(&dynamo, &names.table)
        .await
        .unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&aws)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&names.bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let secret = aws_sdk_secretsmanager::Client::new(&aws)
        .create_secret()
        .name(format!("gatehouse-{run}"))
        .secret_string("short")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let names = Names { secret, ..names };
    // The signing keys' secret as the template makes it: no value until the first rotation.
    aws_sdk_secretsmanager::Client::new(&aws)
        .create_secret()
        .name(&names.signing_keys)
        .send()
        .await
        .unwrap();
    // A domain whose DKIM records are not published yet (moto signs nothing).
    let ses = aws_sdk_sesv2::Client::new(&aws);
    ses.create_email_identity()
        .email_identity(&names.domain)
        .send()
        .await
        .unwrap();
    aws_sdk_scheduler::Client::new(&aws)
        .create_schedule()
        .name(&names.schedule)
        .schedule_expression("rate(5 minutes)")
        .flexible_time_window(
            aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
                .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            aws_sdk_scheduler::types::Target::builder()
                .arn(format!(
                    "arn:aws:lambda:{REGION}:123456789012:function:cleanup"
                ))
                .role_arn("arn:aws:iam::123456789012:role/scheduler")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // Made, but not yet right: no point-in-time recovery, a secret that is no key, a public URL
    // with a trailing slash.
    let recovery = |on: bool| {
        dynamo
            .update_continuous_backups()
            .table_name(&names.table)
            .point_in_time_recovery_specification(
                aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(on)
                    .build()
                    .unwrap(),
            )
            .send()
    };
    recovery(false).await.unwrap();
    let half = check(&names, "https://gatehouse.example.com/", "1");
    assert_eq!(half.status.code(), Some(1));
    let printed = String::from_utf8(half.stdout).unwrap();
    assert!(
        line(&printed, "table").contains("point-in-time recovery is off"),
        "{printed}"
    );
    assert!(
        line(&printed, "access-code secret").contains("is no key"),
        "{printed}"
    );
    assert!(
        !line(&printed, "access-code secret").contains("short"),
        "the secret is never shown"
    );
    assert!(
        line(&printed, "public URL").contains("trailing slash"),
        "{printed}"
    );
    assert!(
        line(&printed, "signing keys").contains("holds no keys yet")
            && line(&printed, "signing keys").contains("rotate-signing-key"),
        "{printed}"
    );
    assert!(
        line(&printed, "files bucket").starts_with("ok"),
        "{printed}"
    );
    assert!(
        line(&printed, "mail identity").contains("does not sign with DKIM yet")
            && line(&printed, "mail identity").contains("MailDkimRecords"),
        "{printed}"
    );
    assert!(
        line(&printed, "cleanup schedule").starts_with("ok"),
        "{printed}"
    );
    assert!(line(&printed, "cleanup schedule").contains("rate(5 minutes)"));

    // Set right: every part is as it should be; moto's account is in the sandbox, which is said
    // with what to do, and a send rate above the account's is caught.
    recovery(true).await.unwrap();
    aws_sdk_secretsmanager::Client::new(&aws)
        .put_secret_value()
        .secret_id(&names.secret)
        .secret_string("a key of at least thirty-two characters, generated")
        .send()
        .await
        .unwrap();
    // The first key, as `gatehouse-admin rotate-signing-key` writes it.
    let first = gatehouse_domain::oidc::keys::KeySet::first(
        &gatehouse_domain::secret::OsRandomness,
        gatehouse_domain::clock::Clock::now(&gatehouse_domain::clock::SystemClock),
    )
    .unwrap();
    gatehouse_aws::signing_keys::write_key_set(
        &aws_sdk_secretsmanager::Client::new(&aws),
        &names.signing_keys,
        &first,
    )
    .await
    .unwrap();
    // An address as the identity: verified by the link SES mailed (moto's are), no DKIM asked.
    let address = format!("no-reply@{}", names.domain);
    ses.create_email_identity()
        .email_identity(&address)
        .send()
        .await
        .unwrap();
    let names = Names {
        domain: address,
        ..names
    };
    let right = check(&names, "https://gatehouse.example.com", "1");
    let printed = String::from_utf8(right.stdout).unwrap();
    for subject in PARTS {
        assert!(line(&printed, subject).starts_with("ok"), "{printed}");
    }
    assert!(line(&printed, "access-code secret").contains("not shown"));
    assert!(line(&printed, "signing keys").contains("1 key(s) published, one signing now"));
    let quota = line(&printed, "sending quota");
    assert!(
        quota.starts_with("PROBLEM")
            && quota.contains("sandbox")
            && quota.contains("production access"),
        "{printed}"
    );
    assert_eq!(right.status.code(), Some(1), "the sandbox is a problem");
    assert!(printed.contains("1 problem(s)."), "{printed}");
}
