//! The `gatehouse-admin` binary as an operator runs it: against the embedded store (a data
//! directory of its own) and against DynamoDB on moto (a table of its own; moto is started by
//! ./scripts/test). Each link it prints is then spent through the password-reset use case, and
//! the new password signs in.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::services::Services;
use gatehouse_domain::types::OrgDomain;
use gatehouse_domain::usecase::password::confirm_password_reset;
use gatehouse_domain::usecase::sign_in::{sign_in, SignInRequest};

enum Store<'a> {
    Embedded(&'a Path),
    Dynamo(&'a str),
}

fn endpoint() -> String {
    std::env::var("GATEHOUSE_TEST_AWS_ENDPOINT").expect(
        "GATEHOUSE_TEST_AWS_ENDPOINT is not set: run the tests with ./scripts/test, which starts moto's server",
    )
}

fn admin(store: &Store, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse-admin"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command.env("GATEHOUSE_PUBLIC_URL", "https://app.gatehouse.test");
    match store {
        Store::Embedded(dir) => {
            command.arg("--embedded").env("GATEHOUSE_DATA_DIR", dir);
        }
        Store::Dynamo(table) => {
            command
                .env("AWS_ENDPOINT_URL", endpoint())
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", "us-east-1")
                .env("GATEHOUSE_TABLE", table);
        }
    }
    command.args(args).output().expect("gatehouse-admin runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The token of the one link printed.
fn token_in(printed: &str, org: &str) -> SecretToken {
    let prefix = format!("https://app.gatehouse.test/{org}/reset-password?token=");
    let line = printed
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("a link in {printed}"));
    SecretToken::parse(&line[prefix.len()..]).unwrap()
}

/// Sets root@acme.test's password with a link's token, and signs in with it.
async fn set_through_link(
    services: &Services,
    org: &OrgDomain,
    token: &SecretToken,
    password: &str,
) {
    confirm_password_reset(services, org, token, password, &operator())
        .await
        .unwrap();
    assert!(signs_in(services, org, "root@acme.test", password).await);
}

async fn signs_in(services: &Services, org: &OrgDomain, email: &str, password: &str) -> bool {
    sign_in(
        services,
        org,
        SignInRequest {
            identifier: email.into(),
            password: password.into(),
        },
        &gatehouse_domain::usecase::ClientAddress::new("203.0.113.9"),
    )
    .await
    .is_ok()
}

/// The whole errand on one store; `open` gives the store's services once the command is done.
async fn an_operator_creates_organisations_and_hands_out_links<F, Fut>(store: Store<'_>, open: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Services>,
{
    let help = admin(&store, &["--help"]);
    assert!(stdout(&help).contains("create-org <domain> <admin-email>"));
    let bad = admin(
        &store,
        &["create-org", "acme", "root@acme.test", "--password", "x"],
    );
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");

    let created = stdout(&admin(
        &store,
        &[
            "create-org",
            "acme",
            "root@acme.test",
            "--first-name",
            "Ada",
            "--valid-hours",
            "2",
        ],
    ));
    assert!(
        created.contains("Created organisation acme; its admin is root@acme.test."),
        "{created}"
    );
    let first = token_in(&created, "acme");
    let again = stdout(&admin(&store, &["create-org", "acme", "other@acme.test"]));
    assert!(
        again.contains("Organisation acme exists; nothing changed."),
        "{again}"
    );
    stdout(&admin(&store, &["create-org", "beta", "root@beta.test"]));
    let listed = stdout(&admin(&store, &["list-orgs"]));
    let domains: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split('\t').next().filter(|_| l.contains('\t')))
        .collect();
    assert_eq!(domains, ["acme", "beta"], "{listed}");
    assert!(listed.ends_with("2 organisation(s)\n"), "{listed}");
    let reindexed = stdout(&admin(&store, &["reindex-users"]));
    assert_eq!(
        reindexed,
        "acme\t1 account(s) written\nbeta\t1 account(s) written\n"
    );

    let unknown = admin(&store, &["set-password-link", "acme", "nobody@acme.test"]);
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account with this email"));
    let lost = admin(&store, &["set-password-link", "nowhere", "root@acme.test"]);
    assert_eq!(lost.status.code(), Some(1), "{lost:?}");
    let second = token_in(
        &stdout(&admin(
            &store,
            &["set-password-link", "acme", "root@acme.test"],
        )),
        "acme",
    );

    let services = open().await;
    let acme = OrgDomain::parse("acme").unwrap();
    set_through_link(&services, &acme, &first, "the first admin's passphrase").await;
    assert!(
        confirm_password_reset(&services, &acme, &first, "a second try at it", &operator())
            .await
            .is_err(),
        "a link works once"
    );
    // The second link was issued before the password changed: it is void. A link asked for
    // after the change works.
    assert!(
        confirm_password_reset(
            &services,
            &acme,
            &second,
            "a hijacking passphrase",
            &operator()
        )
        .await
        .is_err(),
        "a password change voids the links issued before it"
    );
    drop(services); // the embedded store is one process's at a time
    let third = token_in(
        &stdout(&admin(
            &store,
            &["set-password-link", "acme", "root@acme.test"],
        )),
        "acme",
    );
    let services = open().await;
    set_through_link(&services, &acme, &third, "another admin passphrase").await;
    assert!(
        !signs_in(
            &services,
            &acme,
            "root@acme.test",
            "the first admin's passphrase"
        )
        .await
    );
}

#[tokio::test]
async fn on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    an_operator_creates_organisations_and_hands_out_links(Store::Embedded(dir.path()), || {
        let path = path.clone();
        async move {
            let mut settings = gatehouse_local::LocalSettings::from_env();
            settings.data_dir = path;
            settings.public_url = "https://app.gatehouse.test".into();
            gatehouse_local::local_services(&settings, false, "http://127.0.0.1:1")
                .unwrap()
                .services
        }
    })
    .await;
}

#[tokio::test]
async fn on_dynamodb() {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("gatehouse-admin-{}", uuid::Uuid::new_v4().simple());
    gatehouse_aws::create_table(&client, &table).await.unwrap();
    an_operator_creates_organisations_and_hands_out_links(Store::Dynamo(&table), || {
        let (client, table) = (client.clone(), table.clone());
        async move {
            let mut settings = gatehouse_local::LocalSettings::from_env();
            settings.data_dir = tempfile::tempdir().unwrap().keep();
            let mut services =
                gatehouse_local::local_services(&settings, false, "http://127.0.0.1:1")
                    .unwrap()
                    .services;
            services.store = Arc::new(gatehouse_store::Records::new(Arc::new(
                gatehouse_aws::DynamoItems::new(client, table),
            )));
            services.config = gatehouse_domain::Config::new("https://app.gatehouse.test");
            services
        }
    })
    .await;
}

/// The address the link's holder sets their password from, in these tests.
fn operator() -> gatehouse_domain::usecase::ClientAddress {
    gatehouse_domain::usecase::ClientAddress::new("192.0.2.44")
}
