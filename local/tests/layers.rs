//! The layers as the README's architecture section draws them, checked on the manifests (issue
//! 28): the domain depends on no AWS, HTTP or storage crate; shared crates depend on no function
//! crate; and no function crate depends on another (what two share lives in a shared crate, as
//! the spreadsheet adapters in `shared/sheets`).

mod scan;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The workspace crates a crate depends on outside tests (`[dependencies]`), by package name.
fn dependencies(dir: &std::path::Path, workspace: &BTreeMap<String, PathBuf>) -> Vec<String> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let mut section = String::new();
    let mut found = Vec::new();
    for line in manifest.lines() {
        if line.starts_with('[') {
            section = line.trim().to_string();
        } else if section == "[dependencies]" {
            let name = line.split(['.', ' ', '=']).next().unwrap_or("");
            if workspace.contains_key(name) {
                found.push(name.to_string());
            }
        }
    }
    found
}

#[test]
fn no_function_crate_depends_on_another_and_no_shared_crate_on_a_function() {
    let workspace = scan::workspace_crates();
    let functions = scan::root().join("functions");
    let is_function = |name: &str| {
        workspace
            .get(name)
            .is_some_and(|p| p.starts_with(&functions))
    };
    let mut wrong = Vec::new();
    for (name, dir) in &workspace {
        let shared = dir.starts_with(scan::root().join("shared"));
        if !(is_function(name) || shared) {
            continue;
        }
        for dependency in dependencies(dir, &workspace) {
            if is_function(&dependency) {
                wrong.push(format!("{name} depends on the function crate {dependency}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        workspace.keys().filter(|n| is_function(n)).count() >= 14,
        "the function crates are found"
    );
}

#[test]
fn the_domain_depends_on_no_aws_http_or_storage_crate() {
    let manifest = std::fs::read_to_string(scan::root().join("shared/domain/Cargo.toml")).unwrap();
    let dependencies: String = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap()
        .to_string();
    // aws-lc-rs is a cryptography library (AWS's fork of BoringSSL, the one rustls already uses
    // here), not a client of any AWS service: the domain signs tokens and makes RSA keys with it.
    let dependencies: Vec<&str> = dependencies
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.starts_with("aws-lc-rs."))
        .collect();
    for outside in ["aws-", "axum", "lambda", "hyper", "redb", "gatehouse-"] {
        assert!(
            !dependencies.iter().any(|l| l.starts_with(outside)),
            "the domain depends on {outside}…"
        );
    }
}
