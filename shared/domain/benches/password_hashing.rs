//! Password hashing at Gatehouse's parameters (argon2id m=19 MiB, t=2, p=1), against the C
//! reference implementation (Debian's `argon2` command) when it is installed.
//!
//! `cargo bench -p gatehouse-domain --bench password_hashing`
//! The C figure includes starting a process (about a millisecond); both are medians of 21 runs.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse_domain::password::{
    Password, PasswordHashing, PasswordPolicy, OWASP_M_KIB, OWASP_P, OWASP_T,
};
use gatehouse_domain::secret::OsRandomness;

const RUNS: usize = 21;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let hashing = PasswordHashing::default();
    let password = Password::parse(
        "correct horse battery staple",
        PasswordPolicy::default(),
        &[],
    )
    .expect("a valid password");
    let digest = hashing
        .hash_blocking(&password, &OsRandomness)
        .expect("hash");
    let rust_hash = median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                hashing
                    .hash_blocking(&password, &OsRandomness)
                    .expect("hash");
                start.elapsed()
            })
            .collect(),
    );
    let rust_verify = median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                assert!(hashing.verify_blocking(&password, &digest));
                start.elapsed()
            })
            .collect(),
    );
    println!("argon2id m={OWASP_M_KIB} KiB t={OWASP_T} p={OWASP_P}, median of {RUNS} runs");
    println!("  rust argon2 crate, hash:   {:8.2} ms", ms(rust_hash));
    println!("  rust argon2 crate, verify: {:8.2} ms", ms(rust_verify));

    let mut c_samples = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let child = Command::new("argon2")
            .args([
                "somesaltsomesalt",
                "-id",
                "-t",
                &OWASP_T.to_string(),
                "-k",
                &OWASP_M_KIB.to_string(),
                "-p",
                &OWASP_P.to_string(),
                "-l",
                "32",
                "-r",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            println!(
                "  C reference: `argon2` not installed (apt-get install argon2) — no comparison"
            );
            return;
        };
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(password.expose().as_bytes())
                .expect("write password");
        }
        let status = child.wait().expect("argon2 ran");
        assert!(status.success(), "argon2 failed");
        c_samples.push(start.elapsed());
    }
    let c = median(c_samples);
    println!("  C reference (argon2 CLI):  {:8.2} ms", ms(c));
    println!(
        "  ratio rust/C (hash):       {:8.2}",
        rust_hash.as_secs_f64() / c.as_secs_f64()
    );
}
