//! Gatehouse's one-time passwords, checked by an implementation nobody here wrote: PyPI's
//! `pyotp` (pinned in scripts/common.sh), as an authenticator app would compute them. The app
//! reads our otpauth URI and its codes are the ones we accept, at the step and either side; ours
//! are the ones it computes.

use std::process::Command;

use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::secret::OsRandomness;
use gatehouse_domain::totp::{step_of, TotpSecret};

/// What pyotp says, one line per question: `at T` → the code at T of the URI's secret.
fn pyotp(uri: &str, times: &[i64]) -> Vec<String> {
    let python = std::env::var("GATEHOUSE_TEST_PYTHON").expect(
        "GATEHOUSE_TEST_PYTHON is not set: run the tests with ./scripts/test, which installs pyotp",
    );
    let script = r#"
import sys, pyotp
totp = pyotp.parse_uri(sys.argv[1])
assert isinstance(totp, pyotp.TOTP), type(totp)
print(totp.issuer, totp.name, totp.digits, totp.interval, totp.digest().name, sep="|")
for t in sys.argv[2:]:
    print(totp.at(int(t)))
"#;
    let mut args = vec!["-c".to_string(), script.to_string(), uri.to_string()];
    args.extend(times.iter().map(i64::to_string));
    let out = Command::new(python)
        .args(&args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "pyotp refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn an_authenticator_app_reads_the_uri_and_makes_the_codes_we_accept() {
    for _ in 0..5 {
        let secret = TotpSecret::generate(&OsRandomness);
        let uri = secret.otpauth_uri("Demo Organisation", "zoé@example.com");
        let times = [0, 59, 1_111_111_111, 1_796_452_560, 2_000_000_000];
        let answers = pyotp(&uri, &times);
        assert_eq!(
            answers[0], "Demo Organisation|zoé@example.com|6|30|sha1",
            "{uri}"
        );
        for (t, theirs) in times.iter().zip(&answers[1..]) {
            let at = Timestamp::from_unix_seconds(*t);
            assert_eq!(&secret.code_at(step_of(at)), theirs, "at {t}");
            assert_eq!(secret.accepts(theirs, at, None), Some(step_of(at)));
            // A phone 30 s behind or ahead still gets in.
            let behind = Timestamp::from_unix_seconds(t + 30);
            assert_eq!(secret.accepts(theirs, behind, None), Some(step_of(at)));
        }
    }
}
