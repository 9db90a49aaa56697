//! Each function may call exactly the DynamoDB actions its code can reach (issue 23): no item
//! action granted "just in case", none missing (a code path that would fail with
//! `AccessDenied` on the first real account while every local test passes).
//!
//! Found in the source, not declared by hand: the records (`shared/store/src/records/`) are
//! the only code that speaks to the item-store primitive, so the primitive's calls and the kinds
//! of write in the records' items a function's `main.rs` can reach (`scan`) are what it needs:
//!
//! | in the records' code | DynamoDB action (as `shared/aws/src/dynamo.rs` makes the call) |
//! |---|---|
//! | `self.items.get(` | `GetItem` |
//! | `self.items.get_many(` | `BatchGetItem` |
//! | `self.items.query(` | `Query` |
//! | `self.items.put_many(` | `BatchWriteItem` |
//! | `Write::Put {` | `PutItem` (alone, or inside `TransactWriteItems`) |
//! | `Write::Update {` | `UpdateItem` (idem) |
//! | `Write::Delete {` | `DeleteItem` (idem) |
//! | `Write::Check {` | `ConditionCheckItem` (inside `TransactWriteItems`) |
//!
//! `TransactWriteItems` is no IAM action: a transaction needs the action of each item in it.
//!
//! Likewise the access-code secret: a function whose code can reach a use of the key (an item of
//! `shared/domain/src/access_code.rs` that takes `self.keys()`) reads the secret at cold start
//! and may `GetSecretValue` on it; no other function may, and the key is in no function's
//! configuration (a `{{resolve:…}}` would put it in plain text in the environment any
//! `lambda:GetFunctionConfiguration` holder reads).

mod scan;
mod template;

use std::collections::{BTreeMap, BTreeSet};

/// What in the records' code needs which action.
const ACTIONS: &[(&str, &str)] = &[
    ("self.items.get(", "GetItem"),
    ("self.items.get_many(", "BatchGetItem"),
    ("self.items.query(", "Query"),
    ("self.items.put_many(", "BatchWriteItem"),
    ("Write::Put{", "PutItem"),
    ("Write::Update{", "UpdateItem"),
    ("Write::Delete{", "DeleteItem"),
    ("Write::Check{", "ConditionCheckItem"),
];

/// The records: the code that speaks to the item-store primitive.
fn is_records(file: &std::path::Path) -> bool {
    file.starts_with(scan::root().join("shared/store/src/records"))
}

/// The DynamoDB actions the function in `functions/{name}` can call.
fn actions_needed(
    name: &str,
    workspace: &BTreeMap<String, std::path::PathBuf>,
) -> BTreeSet<String> {
    actions_of(scan::reached(name, workspace))
}

/// The DynamoDB actions the records among `reached` call.
fn actions_of(reached: Vec<scan::Item>) -> BTreeSet<String> {
    let mut needed = BTreeSet::new();
    for item in reached {
        if !is_records(&item.file) {
            continue;
        }
        for (pattern, action) in ACTIONS {
            if item.code.contains(pattern) {
                needed.insert(format!("dynamodb:{action}"));
            }
        }
    }
    needed
}

/// The `dynamodb:` actions a function's block grants.
fn actions_granted(block: &[String]) -> BTreeSet<String> {
    block
        .iter()
        .flat_map(|line| {
            let line = line
                .trim()
                .trim_start_matches("- ")
                .trim_start_matches("Action:");
            line.trim_matches(|c: char| c == '[' || c == ']' || c.is_whitespace())
                .split(',')
                .map(|a| a.trim().to_string())
                .filter(|a| a.starts_with("dynamodb:"))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn each_function_may_call_exactly_the_dynamodb_actions_its_code_reaches() {
    let workspace = scan::workspace_crates();
    let functions = template::functions();
    assert_eq!(
        functions
            .iter()
            .map(|(code, ..)| code.clone())
            .collect::<BTreeSet<_>>(),
        scan::function_crates().into_iter().collect::<BTreeSet<_>>(),
        "every function crate is deployed, and only those"
    );
    let mut problems = Vec::new();
    for (code, id, block) in &functions {
        let needed = actions_needed(code, &workspace);
        let granted = actions_granted(block);
        for missing in needed.difference(&granted) {
            problems.push(format!(
                "{id} ({code}) can call {missing}, which it is not granted"
            ));
        }
        for extra in granted.difference(&needed) {
            problems.push(format!(
                "{id} ({code}) is granted {extra}, which its code never calls"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n(SCAN_DEBUG=<pattern, e.g. Write::Update{{> shows the items reached that hold it)",
        problems.join("\n")
    );
}

/// The analysis finds each kind of call where the records make it, and nowhere else.
#[test]
fn the_records_make_every_kind_of_call_the_table_is_mapped_for() {
    let mut records = String::new();
    for entry in std::fs::read_dir(scan::root().join("shared/store/src/records")).unwrap() {
        records.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let compact: String = records.chars().filter(|c| !c.is_whitespace()).collect();
    // Each pattern is spelled as the records spell it (a pattern never found would grant nothing
    // and hide a call): every call of the primitive in the records is one of these.
    let calls: BTreeSet<&str> = compact
        .match_indices("self.items.")
        .filter_map(|(at, _)| {
            let rest = &compact[at + "self.items.".len()..];
            let name_end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            rest[name_end..].starts_with('(').then(|| &rest[..name_end])
        })
        .collect();
    // `write` needs the actions of the kinds of write it is given.
    let mapped: BTreeSet<&str> = ACTIONS
        .iter()
        .filter_map(|(p, _)| p.strip_prefix("self.items.")?.strip_suffix('('))
        .chain(["write"])
        .collect();
    assert!(
        calls.contains("query") && calls.contains("write"),
        "{calls:?}"
    );
    let unmapped: Vec<_> = calls.iter().filter(|c| !mapped.contains(*c)).collect();
    assert!(
        unmapped.is_empty(),
        "the records call items.{unmapped:?}, which ACTIONS does not map to a DynamoDB action"
    );
    // And a function that never writes is found to need no write action.
    let workspace = scan::workspace_crates();
    let openapi = actions_needed("openapi", &workspace);
    assert!(openapi.is_empty(), "openapi serves a document: {openapi:?}");
}

/// The README tells operators what `gatehouse-admin` needs on the table: what its code calls.
#[test]
fn the_readme_lists_the_dynamodb_actions_the_operators_command_calls() {
    let workspace = scan::workspace_crates();
    let needed = actions_of(scan::reached_from(&scan::root().join("admin"), &workspace));
    assert!(needed.contains("dynamodb:PutItem"), "{needed:?}");
    let readme = std::fs::read_to_string(scan::root().join("README.md")).unwrap();
    let compact = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let (_, after) = compact
        .split_once("(the caller needs ")
        .expect("the README says what gatehouse-admin needs");
    let listed = after.split_once(" on the table").expect("…on the table").0;
    let listed: BTreeSet<String> = listed
        .split(", ")
        .map(|a| a.trim_matches('`'))
        .map(|a| match a.strip_prefix("dynamodb:") {
            Some(_) => a.to_string(),
            None => format!("dynamodb:{a}"),
        })
        .collect();
    assert_eq!(listed, needed, "README's list for gatehouse-admin");
}

/// Whether the function's code can reach a use of the access-code key.
fn uses_the_access_code_key(name: &str, workspace: &BTreeMap<String, std::path::PathBuf>) -> bool {
    let access_code = scan::root().join("shared/domain/src/access_code.rs");
    scan::reached(name, workspace)
        .iter()
        .any(|item| item.file == access_code && item.code.contains("self.keys()"))
}

/// Whether the function's code can reach a use of the OpenID Connect signing keys.
fn uses_the_signing_keys(name: &str, workspace: &BTreeMap<String, std::path::PathBuf>) -> bool {
    scan::reached(name, workspace)
        .iter()
        .any(|item| item.code.contains("signing_keys.key_set()"))
}

/// For each function: does its code use the secret, does the template name it in `variable`,
/// and grant `GetSecretValue` on `resource` (and on no other secret it does not use)? Answers
/// the functions that use it and what is wrong.
fn secret_wiring(
    variable: &str,
    resource: &str,
    uses: impl Fn(&str) -> bool,
) -> (Vec<String>, Vec<String>) {
    let mut users = Vec::new();
    let mut problems = Vec::new();
    for (code, id, block) in template::functions() {
        let uses = uses(&code);
        let told = template::value(&block, variable);
        let granted = block.windows(2).any(|w| {
            w[0].trim() == "Action: secretsmanager:GetSecretValue"
                && w[1].trim() == format!("Resource: !Ref {resource}")
        });
        if uses {
            users.push(code.clone());
        }
        let named = format!("!Ref {resource}");
        match (uses, told, granted) {
            (true, Some(t), true) if t == named => {}
            (false, None, false) => {}
            _ => problems.push(format!(
                "{id} ({code}): its code {} {resource}, the template names it in {variable} as \
                 {told:?} and grants GetSecretValue on it: {granted}",
                if uses { "uses" } else { "never uses" },
            )),
        }
    }
    (users, problems)
}

#[test]
fn the_access_code_secret_is_read_at_cold_start_by_the_functions_that_use_it_and_no_other() {
    let template = std::fs::read_to_string(scan::root().join("infra/template.yaml")).unwrap();
    assert!(
        !template.contains("{{resolve:"),
        "no secret is resolved into a function's configuration"
    );
    let workspace = scan::workspace_crates();
    let secrets = template
        .lines()
        .filter(|l| l.trim() == "Type: AWS::SecretsManager::Secret")
        .count();
    assert_eq!(
        secrets, 2,
        "the access-code key and the signing keys, each checked here"
    );
    let (users, problems) =
        secret_wiring("GATEHOUSE_ACCESS_CODE_SECRET", "AccessCodeKey", |code| {
            uses_the_access_code_key(code, &workspace)
        });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The analysis tells the two kinds apart: the functions that seal, open or look up codes and
    // link tokens, and those that do not.
    for needs in [
        "invite",
        "sign-up",
        "pages",
        "export",
        "bulk-import",
        "cleanup",
        "activity",
        "users",
        "sign-in",
    ] {
        assert!(
            users.iter().any(|u| u == needs),
            "{needs} uses the key: {users:?}"
        );
    }
    for never in [
        "groups",
        "password-reset",
        "imports",
        "mail-events",
        "openapi",
    ] {
        assert!(
            !users.iter().any(|u| u == never),
            "{never} never uses the key: {users:?}"
        );
    }
}

#[test]
fn the_signing_keys_are_read_by_the_functions_that_sign_or_verify_tokens_and_no_other() {
    let workspace = scan::workspace_crates();
    let (users, problems) = secret_wiring("GATEHOUSE_SIGNING_KEYS_SECRET", "SigningKeys", |code| {
        uses_the_signing_keys(code, &workspace)
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(users.iter().any(|u| u == "oidc"), "oidc signs: {users:?}");
    assert!(
        users.iter().any(|u| u == "pages"),
        "the logout page verifies: {users:?}"
    );
    for never in ["sign-in", "invite", "groups", "bulk-import", "cleanup"] {
        assert!(!users.iter().any(|u| u == never), "{never}: {users:?}");
    }
}
