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
