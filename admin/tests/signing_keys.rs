//! `gatehouse-admin rotate-signing-key` as an operator runs it after a deploy and then now and
//! again: on the local run's key file and on a Secrets Manager secret (moto, started by
//! ./scripts/test). The first run makes a key that signs at once; each later one publishes a key
//! that signs an hour later, and the functions' adapters read what it wrote.

use std::process::{Command, Output};
use std::time::Duration;

use gatehouse_domain::clock::{Clock, SystemClock};
use gatehouse_domain::oidc::keys::{KeySet, SigningKeys, PUBLISHED_AHEAD};

fn endpoint() -> String {
    std::env::var("GATEHOUSE_TEST_AWS_ENDPOINT").expect(
        "GATEHOUSE_TEST_AWS_ENDPOINT is not set: run the tests with ./scripts/test, which starts moto's server",
    )
}

fn rotate(env: &[(&str, &str)], embedded: bool) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse-admin"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied());
    if embedded {
        command.arg("--embedded");
    }
    let output: Output = command
        .arg("rotate-signing-key")
        .output()
        .expect("gatehouse-admin runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// The key id a line of the output names after `prefix`.
fn kid_after(printed: &str, prefix: &str) -> String {
    printed
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("{prefix:?} in {printed}"))
        .to_string()
}

/// What the two runs must have left: the first key signing now, the second published and
/// signing from an hour on.
fn check_two_keys(keys: &KeySet, first: &str, second: &str) {
    let now = SystemClock.now();
    assert_eq!(keys.kids().len(), 2);
    assert_eq!(keys.signing_key(now).unwrap().kid, first);
    let later = now.plus(PUBLISHED_AHEAD).plus(Duration::from_secs(60));
    assert_eq!(keys.signing_key(later).unwrap().kid, second);
    let jwks = keys.jwks();
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(published.contains(&first) && published.contains(&second));
}

#[tokio::test]
async fn on_the_local_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let env = [("GATEHOUSE_DATA_DIR", data)];
    let first = kid_after(&rotate(&env, true), "First signing key ");
    let second = kid_after(&rotate(&env, true), "New signing key ");
    assert_ne!(first, second);
    let path = dir.path().join("signing-keys.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "readable by its owner only");
    }
    let keys = gatehouse_embedded::signing_keys::read_key_file(&path)
        .unwrap()
        .expect("a key file");
    check_two_keys(&keys, &first, &second);
    // The local run reads that file.
    let source = gatehouse_embedded::FileSigningKeys::open_or_create(
        &path,
        &gatehouse_domain::secret::OsRandomness,
        SystemClock.now(),
    )
    .unwrap();
    check_two_keys(&source.key_set().await.unwrap(), &first, &second);
}

#[tokio::test]
async fn on_a_secrets_manager_secret() {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    // As the template makes it: a secret with no value yet.
    let name = format!("gatehouse-signing-{}", uuid::Uuid::new_v4().simple());
    let created = client.create_secret().name(&name).send().await.unwrap();
    let arn = created.arn().unwrap().to_string();
    let ep = endpoint();
    let env = [
        ("AWS_ENDPOINT_URL", ep.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("GATEHOUSE_SIGNING_KEYS_SECRET", arn.as_str()),
    ];
    let first = kid_after(&rotate(&env, false), "First signing key ");
    let second = kid_after(&rotate(&env, false), "New signing key ");
    let keys = gatehouse_aws::signing_keys::read_key_set(&client, &arn)
        .await
        .unwrap()
        .expect("a key set");
    check_two_keys(&keys, &first, &second);
    // What a function reads at cold start.
    let source = gatehouse_aws::signing_keys::SecretSigningKeys::load(client, arn)
        .await
        .unwrap();
    check_two_keys(&source.key_set().await.unwrap(), &first, &second);
}
