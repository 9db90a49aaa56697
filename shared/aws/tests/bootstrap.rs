//! The deploy-side bootstrap binary against DynamoDB and SES on moto (started by ./scripts/test).

use std::process::Command;

fn endpoint() -> String {
    std::env::var("GATEHOUSE_TEST_AWS_ENDPOINT")
        .expect("GATEHOUSE_TEST_AWS_ENDPOINT is not set: run the tests with ./scripts/test, which starts moto's server")
}

fn run(table: &str, password: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse-bootstrap"))
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("GATEHOUSE_TABLE", table)
        .env("GATEHOUSE_MAIL_FROM", "no-reply@gatehouse.test")
        .env("GATEHOUSE_PUBLIC_URL", "https://app.gatehouse.test")
        .env(
            "GATEHOUSE_ACCESS_CODE_KEY",
            "a test secret of more than thirty-two characters",
        )
        .env("GATEHOUSE_BOOTSTRAP_ORG", "acme")
        .env("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL", "root@acme.test")
        .env("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", password)
        .output()
        .expect("the bootstrap binary runs")
}

#[tokio::test]
async fn bootstraps_an_organisation_once() {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("gatehouse-bootstrap-{}", uuid::Uuid::new_v4().simple());
    gatehouse_aws::create_table(&client, &table).await.unwrap();

    let weak = run(&table, "password1234");
    assert!(!weak.status.success(), "a weak password is refused");
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("too common"),
        "{weak:?}"
    );

    let first = run(&table, "mountain river at dawn");
    assert!(first.status.success(), "{first:?}");
    assert!(String::from_utf8_lossy(&first.stdout).contains("created organisation acme"));
    let second = run(&table, "quiet harbour lights");
    assert!(second.status.success(), "{second:?}");
    assert!(String::from_utf8_lossy(&second.stdout).contains("exists; nothing changed"));

    let org = client
        .get_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("ORG#acme".into()),
        )
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("#".into()))
        .send()
        .await
        .unwrap();
    assert!(org.item.is_some());
}
