//! The README's walkthrough, run as a reader runs it: every `sh` block from "A walkthrough with
//! curl" up to "Configuration", in order, pasted into one bash (`-euo pipefail`) in a fresh
//! folder where `gatehouse-local` was started on its first run, with `examples/` at hand as at
//! the repository's root. A block that must not run (a server that runs until stopped) says so
//! in an HTML comment just before it. Then what the README's comments claim of the answers is
//! checked in what the blocks printed.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod server;

/// Marks a block the walkthrough test leaves out, with the reason after it.
const NOT_RUN: &str = "<!-- not run by the walkthrough test:";

/// The runnable `sh` blocks of the README between the two headings, in order.
fn walkthrough_blocks(readme: &str) -> Vec<String> {
    let start = readme
        .find("\n## A walkthrough with curl")
        .expect("the README has its walkthrough");
    let end = readme[start..]
        .find("\n## Configuration")
        .map(|i| start + i)
        .expect("the walkthrough ends at Configuration");
    let mut blocks = Vec::new();
    let mut rest = &readme[start..end];
    while let Some(open) = rest.find("```sh\n") {
        let before = rest[..open].trim_end();
        let body_start = open + "```sh\n".len();
        let close = rest[body_start..]
            .find("\n```")
            .map(|i| body_start + i)
            .expect("a closed block");
        let skipped = before
            .lines()
            .last()
            .is_some_and(|l| l.starts_with(NOT_RUN));
        if !skipped {
            blocks.push(rest[body_start..close].to_string());
        }
        rest = &rest[close + 4..];
    }
    blocks
}

#[test]
fn the_readme_blocks_are_found_and_the_long_running_one_is_left_out() {
    let readme = "intro\n## A walkthrough with curl\n```sh\necho one\n```\ntext\n\
        <!-- not run by the walkthrough test: serves -->\n```sh\nnode app.mjs\n```\n\
        ```python\nprint()\n```\n### More\n```sh\necho two\n```\n## Configuration\n```sh\necho no\n```\n";
    assert_eq!(
        walkthrough_blocks(readme),
        vec!["echo one".to_string(), "echo two".to_string()]
    );
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let blocks = walkthrough_blocks(&readme);
    assert!(blocks.len() >= 12, "{} blocks found", blocks.len());

    // A fresh folder as the repository's root would be on a first run: no .gatehouse yet, the
    // examples the walkthrough uploads.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root.join("examples"), dir.path().join("examples")).unwrap();
    let server = server::Server::start_in(dir.path());

    let mut script = String::from("set -euo pipefail\n");
    for (n, block) in blocks.iter().enumerate() {
        script.push_str(&format!("echo '>>> block {}' >&2\n{block}\n", n + 1));
    }
    let mut bash = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("GATEHOUSE", format!("http://{}", server.addr))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let (mut out, mut err) = (bash.stdout.take().unwrap(), bash.stderr.take().unwrap());
    let reading_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let reading_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = bash.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = bash.kill();
            break bash.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (stdout, stderr) = (reading_out.join().unwrap(), reading_err.join().unwrap());
    assert!(
        status.success(),
        "the walkthrough stopped ({status}); stderr:\n{stderr}\nstdout:\n{stdout}"
    );
    assert!(
        stderr.contains(&format!(">>> block {}\n", blocks.len())),
        "every block ran:\n{stderr}"
    );

    // What the README's comments say the answers are.
    for claim in [
        r#""role":"member""#,
        r#""kind":"uid""#,
        r#""sign_in_identifier":"E1234:demo""#,
        r#""identifier":"E1234:demo""#,
        r#""code":"account_deactivated""#,
        r#""email":"bob@builder.example""#,
        r#""complete":true"#,
        r#""status":"confirmation_sent""#,
        r#""outcome":"marked""#,
        r#""status":"completed""#,
        r#""created":2"#,
        r#""skipped":1"#,
        r#""code":"email_taken""#,
        r#""sign_up_client":"#,
        r#""invitations":7"#,
        r#""mfa_required":true"#,
        r#""second_factors":["totp"]"#,
    ] {
        assert!(stdout.contains(claim), "{claim} not in:\n{stdout}");
    }
    assert!(
        stdout
            .to_ascii_lowercase()
            .contains("idempotent-replayed: true"),
        "the retry is a replay:\n{stdout}"
    );
    let report = std::fs::read(dir.path().join("report.xlsx")).expect("the report was saved");
    assert!(report.starts_with(b"PK"), "the report is a workbook");
    let export = std::fs::read(dir.path().join("invitations-export.xlsx")).expect("the export");
    assert!(export.starts_with(b"PK"), "the export is a workbook");
    let template = std::fs::read(dir.path().join("invitations.xlsx")).expect("the template");
    assert!(template.starts_with(b"PK"), "the template is a workbook");
}
