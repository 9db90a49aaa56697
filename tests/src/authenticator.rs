//! An authenticator app for the tests: `pyotp` (an implementation nobody here wrote) computes
//! the codes from the otpauth URI Gatehouse gave, as a phone would.

/// The code an app holding `uri` shows at `at` (unix seconds).
pub fn app_code(uri: &str, at: i64) -> String {
    let python = std::env::var("GATEHOUSE_TEST_PYTHON").expect(
        "GATEHOUSE_TEST_PYTHON is not set: run the tests with ./scripts/test, which installs pyotp",
    );
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, pyotp; print(pyotp.parse_uri(sys.argv[1]).at(int(sys.argv[2])))",
            uri,
            &at.to_string(),
        ])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// An app enrolled for `who` through the API, as a person does with their phone: started with
/// [`crate::PASSWORD`], confirmed with the code of the step before now (so that a sign-in right
/// after may use this step's). Answers its otpauth URI and the recovery codes.
pub async fn enrolled_app(b: &crate::Bundle, who: &crate::Account) -> (String, Vec<String>) {
    use gatehouse_domain::clock::Clock;
    use serde_json::json;
    let path = format!("/v1/orgs/demo/users/{}/totp", who.id);
    let started = b
        .gateway
        .post(
            &path,
            Some(&who.token),
            json!({ "current_password": crate::PASSWORD }),
        )
        .await;
    assert_eq!(started.status, 200, "{started:?}");
    let uri = started.json["otpauth_uri"].as_str().unwrap().to_string();
    let code = app_code(&uri, b.clock.now().unix_seconds() - 30);
    let confirmed = b
        .gateway
        .post(
            &format!("{path}/confirm"),
            Some(&who.token),
            json!({ "code": code }),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    let codes = serde_json::from_value(confirmed.json["recovery_codes"].clone()).unwrap();
    (uri, codes)
}
