//! The deploy template gives each function exactly the `GATEHOUSE_*` variables its code reads:
//! none missing (a function that would fail at cold start, or silently run on a default), none
//! extra (a secret handed to a function that never uses it). Issue 11 keeps this true as
//! functions and variables are added.
//!
//! What a function reads is found in its source, not declared by hand: a `"GATEHOUSE_…"` string
//! literal in any item its `main.rs` can reach (`scan`) is a variable it reads.

mod scan;

use scan::{function_crates, items_of, reached, root, workspace_crates};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Read by the code but deliberately left unset by the template, each with its reason.
const OPTIONAL: &[(&str, &str)] = &[(
    "GATEHOUSE_SYSTEM_ROOTS",
    "`1` trusts the system's certificate store instead of the compiled-in AWS roots; only for an \
     endpoint behind another authority, never in Lambda",
)];

// The template

/// Each function's `CodeUri` directory name (its crate under `functions/`) and the variables
/// the template sets for it (`Globals` and its own `Environment`).
fn template_environments() -> BTreeMap<String, BTreeSet<String>> {
    let template = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    let lines: Vec<&str> = template.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    // The variables under `Variables:` from line `at` on, at the indentation below it.
    let variables_from = |at: usize| -> BTreeSet<String> {
        let depth = indent(lines[at]);
        lines[at + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || indent(l) > depth)
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k.to_string()))
            .filter(|k| k.starts_with("GATEHOUSE_"))
            .collect()
    };
    let globals_at = lines.iter().position(|l| *l == "Globals:").unwrap();
    let resources_at = lines.iter().position(|l| *l == "Resources:").unwrap();
    let globals = (globals_at..resources_at)
        .find(|&i| lines[i].trim() == "Variables:")
        .map(variables_from)
        .unwrap_or_default();
    let mut functions = BTreeMap::new();
    for (i, line) in lines.iter().enumerate().skip(resources_at) {
        if line.trim() != "Type: AWS::Serverless::Function" {
            continue;
        }
        // The resource: from its name (two spaces in) to the next resource.
        let start = (0..i).rev().find(|&j| indent(lines[j]) == 2).unwrap();
        let end = (i + 1..lines.len())
            .find(|&j| !lines[j].trim().is_empty() && indent(lines[j]) <= 2)
            .unwrap_or(lines.len());
        let code = (start..end)
            .find_map(|j| lines[j].trim().strip_prefix("CodeUri: ../target/lambda/"))
            .unwrap_or_else(|| panic!("{} has a CodeUri", lines[start].trim()))
            .trim_end_matches('/')
            .to_string();
        let mut variables = globals.clone();
        if let Some(at) = (start..end).find(|&j| lines[j].trim() == "Variables:") {
            variables.extend(variables_from(at));
        }
        functions.insert(code, variables);
    }
    functions
}

/// The `GATEHOUSE_*` variables the function in `functions/{name}` reads.
fn variables_read(
    name: &str,
    workspace: &BTreeMap<String, std::path::PathBuf>,
) -> BTreeSet<String> {
    reached(name, workspace)
        .into_iter()
        .flat_map(|item| item.variables)
        .collect()
}

#[test]
fn each_function_is_given_exactly_the_variables_its_code_reads() {
    let workspace = workspace_crates();
    let template = template_environments();
    let optional: BTreeSet<&str> = OPTIONAL.iter().map(|(name, _)| *name).collect();
    let crates = function_crates();
    let deployed: Vec<&String> = template.keys().collect();
    assert_eq!(
        deployed,
        crates.iter().collect::<Vec<_>>(),
        "every function crate is deployed, and only those"
    );
    let mut problems = Vec::new();
    for name in &crates {
        let read: BTreeSet<String> = variables_read(name, &workspace)
            .into_iter()
            .filter(|v| !optional.contains(v.as_str()))
            .collect();
        let set = &template[name];
        for missing in read.difference(set) {
            problems.push(format!(
                "{name} reads {missing}, which the template does not set"
            ));
        }
        for extra in set.difference(&read) {
            problems.push(format!(
                "the template gives {name} {extra}, which it never reads"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n(SCAN_DEBUG=GATEHOUSE_… shows the items found reading a variable)",
        problems.join("\n")
    );
}

/// The scan itself: what it must find, and what it must not.
#[test]
fn the_scan_follows_calls_and_skips_comments_strings_and_tests() {
    let source = r##"
        // var("GATEHOUSE_IN_A_COMMENT")
        /// `GATEHOUSE_IN_DOCS`
        const URL: &str = "http://example.com"; // a string holding //
        fn entry() { helper(); let c = '"'; let s = r#"raw "GATEHOUSE_RAW" here"#; }
        fn helper() -> String { std::env::var("GATEHOUSE_READ").unwrap_or_default() }
        fn unused() { std::env::var("GATEHOUSE_NEVER_CALLED"); }
        #[cfg(test)]
        mod tests { fn entry() { std::env::var("GATEHOUSE_IN_TESTS"); } }
        struct A; struct B;
        impl A { fn from_env() -> Self { std::env::var("GATEHOUSE_A"); Self::other() } }
        impl Default for B { fn from_env() -> Self { std::env::var("GATEHOUSE_B"); B } }
        fn only_a() { let a = A::from_env(); }
        fn variable() { let helper = 1; let s = S { helper }; s.helper + helper }
        fn passed() { run(helper); }
        fn bound() { let helper = 2; run(helper); }
        macro_rules! table { ($($h:ident,)*) => { fn routes() { $(call($h);)* table!(@x); } }; }
table! {
    from_the_table,
}
        fn from_the_table() { std::env::var("GATEHOUSE_FROM_A_TABLE"); }
        fn destructured(Pair { a, .. }: Pair) { std::env::var("GATEHOUSE_AFTER_A_PATTERN"); }
        fn array() -> [u8; 2] { std::env::var("GATEHOUSE_AFTER_AN_ARRAY"); [0; 2] }
    "##;
    let mut items = BTreeMap::new();
    items_of(source, Path::new("test.rs"), &mut items);
    let entry = &items["entry"];
    assert_eq!(entry.len(), 1, "the test module's entry is left out");
    assert!(entry[0].names.contains("helper"));
    assert_eq!(
        entry[0].variables,
        BTreeSet::from(["GATEHOUSE_RAW".to_string()])
    );
    assert_eq!(
        items["helper"][0].variables,
        BTreeSet::from(["GATEHOUSE_READ".to_string()])
    );
    assert!(items["URL"][0].variables.is_empty());
    assert!(!items.values().flatten().any(|i| i
        .variables
        .iter()
        .any(|v| v.contains("COMMENT") || v.contains("DOCS") || v.contains("IN_TESTS"))));
    // `A::from_env` is A's alone; a method call (`.from_env`) is either.
    assert_eq!(
        items["A::from_env"][0].variables,
        BTreeSet::from(["GATEHOUSE_A".to_string()])
    );
    assert_eq!(items[".from_env"].len(), 2);
    assert!(
        !items.contains_key("from_env"),
        "no free function of that name"
    );
    assert!(items["only_a"][0].names.contains("A::from_env"));
    assert!(
        !items["A::from_env"][0].names.contains("from_env"),
        "its own name is no call"
    );
    assert!(
        items["A::from_env"][0].names.contains("A::other"),
        "Self is its type"
    );
    assert!(
        !items["variable"][0].names.contains("helper"),
        "a variable of a function's name is no call"
    );
    assert!(
        items["passed"][0].names.contains("helper"),
        "a function handed over"
    );
    assert!(
        items["routes"][0].names.contains("table")
            && items["table"][0].names.contains("from_the_table"),
        "a table written once in a macro invocation is reached through the macro"
    );
    assert!(
        !items["bound"][0].names.contains("helper"),
        "a variable handed over"
    );
    assert_eq!(
        items["destructured"][0].variables,
        BTreeSet::from(["GATEHOUSE_AFTER_A_PATTERN".to_string()]),
        "a pattern's braces in the parameters open no body"
    );
    assert_eq!(
        items["array"][0].variables,
        BTreeSet::from(["GATEHOUSE_AFTER_AN_ARRAY".to_string()]),
        "a `;` in a signature's array type does not end the item"
    );
    assert_eq!(
        items["unused"][0].variables,
        BTreeSet::from(["GATEHOUSE_NEVER_CALLED".to_string()])
    );
}
