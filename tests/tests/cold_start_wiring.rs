//! What a deployed function does at cold start, on moto: it builds its services from its
//! environment, and the functions whose code uses access codes read the key from Secrets Manager
//! (issue 23) — the key is in no function's configuration, and a rotation reaches every new cold
//! start without a redeploy. One test: it sets this process's environment, as Lambda does.

use aws_sdk_secretsmanager::Client as Secrets;
use gatehouse_aws::ServicesFromEnv;
use gatehouse_domain::access_code::{AccessCode, AccessCodeKeys};
use gatehouse_domain::secret::OsRandomness;

/// A cold start of a function that uses access codes: its services, or why it fails.
async fn cold_start_with_the_key() -> Result<gatehouse_domain::Services, String> {
    ServicesFromEnv::load()
        .await
        .with_access_code_key_from_secret()
        .await
        .and_then(|s| s.build())
        .map_err(|e| format!("{e:#}"))
}

#[tokio::test]
async fn the_functions_that_use_access_codes_read_the_key_from_secrets_manager_at_cold_start() {
    let endpoint = gatehouse_e2e::aws_endpoint();
    let run = uuid::Uuid::new_v4().simple().to_string();
    for (name, value) in [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("GATEHOUSE_TABLE", "gatehouse-cold-start"),
        ("GATEHOUSE_MAIL_FROM", gatehouse_e2e::SENDER),
        ("GATEHOUSE_PUBLIC_URL", "https://app.gatehouse.test"),
    ] {
        std::env::set_var(name, value);
    }
    std::env::remove_var("GATEHOUSE_ACCESS_CODE_SECRET");
    let secrets = Secrets::new(&gatehouse_e2e::aws_config().await);
    let first = AccessCodeKeys::generate_secret(&OsRandomness);
    let arn = secrets
        .create_secret()
        .name(format!("gatehouse-access-code-{run}"))
        .secret_string(&first)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();

    // Without asking for it, a function has no key: what would use it stops (see access_code.rs).
    let plain = ServicesFromEnv::load().await.build().unwrap();
    assert!(!plain.access_codes.is_present());

    // Asking without the variable fails the cold start, naming what is missing.
    let missing = cold_start_with_the_key()
        .await
        .err()
        .expect("no secret named");
    assert!(
        missing.contains("GATEHOUSE_ACCESS_CODE_SECRET"),
        "{missing}"
    );

    // A secret that is not there fails it too (Lambda then starts the function again).
    std::env::set_var("GATEHOUSE_ACCESS_CODE_SECRET", format!("{arn}-gone"));
    let gone = cold_start_with_the_key()
        .await
        .err()
        .expect("no such secret");
    assert!(gone.contains("read the access-code secret"), "{gone}");

    // With the secret's ARN, the key is the secret's: a code sealed by the function opens with
    // the key made from the secret's text, and its lookup hash is the same.
    std::env::set_var("GATEHOUSE_ACCESS_CODE_SECRET", &arn);
    let services = cold_start_with_the_key().await.unwrap();
    let expected = AccessCodeKeys::from_text(&first).unwrap();
    let code = AccessCode::generate(&OsRandomness);
    let sealed = services.access_codes.seal(&code, &OsRandomness);
    assert_eq!(expected.open(&sealed), Some(code.clone()));
    assert_eq!(
        services.access_codes.lookup_hash(&code),
        expected.lookup_hash(&code)
    );

    // Rotated (put-secret-value, as the README's guide says): the next cold start has the new
    // key, with no redeploy; the old key's codes no longer open.
    let second = AccessCodeKeys::generate_secret(&OsRandomness);
    secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(&second)
        .send()
        .await
        .unwrap();
    let rotated = cold_start_with_the_key().await.unwrap();
    assert_eq!(rotated.access_codes.open(&sealed), None);
    let resealed = rotated.access_codes.seal(&code, &OsRandomness);
    assert_eq!(
        AccessCodeKeys::from_text(&second).unwrap().open(&resealed),
        Some(code)
    );

    // A secret too short to be a key is refused at cold start, not used.
    secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string("short")
        .send()
        .await
        .unwrap();
    let short = cold_start_with_the_key()
        .await
        .err()
        .expect("a short secret");
    assert!(short.contains("at least 32 characters"), "{short}");
}
