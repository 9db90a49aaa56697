//! The deploy template gives each function exactly the `GATEHOUSE_*` variables its code reads:
//! none missing (a function that would fail at cold start, or silently run on a default), none
//! extra (a secret handed to a function that never uses it). Issue 11 keeps this true as
//! functions and variables are added.
//!
//! What a function reads is found in its source, not declared by hand: starting from the
//! function's `main.rs`, every item (function, constant) it names is followed, by name, through
//! the non-test source of the workspace crates it depends on; a `"GATEHOUSE_…"` string literal
//! in any item reached is a variable it reads. Following by name over-approximates (two items
//! of one name are both followed), which can only ask for more, never hide a read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Read by the code but deliberately left unset by the template, each with its reason.
const OPTIONAL: &[(&str, &str)] = &[(
    "GATEHOUSE_SYSTEM_ROOTS",
    "`1` trusts the system's certificate store instead of the compiled-in AWS roots; only for an \
     endpoint behind another authority, never in Lambda",
)];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// The code

/// An item of the source: the names it mentions and the variables named in its strings.
#[derive(Default, Debug)]
struct Item {
    names: BTreeSet<String>,
    variables: BTreeSet<String>,
}

/// Source text split into code (identifiers) and string contents, comments dropped.
struct Scanned {
    /// The code with every string literal's content and every comment blanked out.
    code: String,
    /// Byte offsets of each string literal's content in the original, and the content.
    strings: Vec<(usize, String)>,
}

fn scan(source: &str) -> Scanned {
    let bytes = source.as_bytes();
    let mut code = String::with_capacity(source.len());
    let mut strings = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(bytes.len(), |n| i + n);
            code.push_str(&" ".repeat(end - i));
            i = end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(bytes.len(), |n| i + n + 2);
            code.push_str(&" ".repeat(end - i));
            i = end;
        } else if let Some(hashes) = raw_string_start(rest) {
            let open = 2 + hashes; // r + hashes + "
            let close = format!("\"{}", "#".repeat(hashes));
            let body_start = i + open;
            let end = source[body_start..]
                .find(&close)
                .map_or(bytes.len(), |n| body_start + n);
            strings.push((body_start, source[body_start..end].to_string()));
            let stop = (end + close.len()).min(bytes.len());
            code.push_str(&" ".repeat(stop - i));
            i = stop;
        } else if bytes[i] == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            let end = j.min(bytes.len());
            strings.push((i + 1, source[i + 1..end].to_string()));
            let stop = (end + 1).min(bytes.len());
            code.push_str(&" ".repeat(stop - i));
            i = stop;
        } else if bytes[i] == b'\'' && char_literal_len(rest).is_some() {
            let n = char_literal_len(rest).unwrap();
            code.push_str(&" ".repeat(n));
            i += n;
        } else {
            let c = rest.chars().next().unwrap();
            code.push(c);
            // Keep offsets aligned with the original for multi-byte characters.
            for _ in 1..c.len_utf8() {
                code.push(' ');
            }
            i += c.len_utf8();
        }
    }
    Scanned { code, strings }
}

/// `r"`, `r#"`, `br"`…: the number of hashes of a raw string starting here.
fn raw_string_start(rest: &str) -> Option<usize> {
    let rest = rest.strip_prefix('b').unwrap_or(rest);
    let rest = rest.strip_prefix('r')?;
    let hashes = rest.len() - rest.trim_start_matches('#').len();
    rest[hashes..].starts_with('"').then_some(hashes)
}

/// The length of a character literal starting here (`'a'`, `'\n'`, `'"'`), not a lifetime.
fn char_literal_len(rest: &str) -> Option<usize> {
    let mut chars = rest.char_indices().skip(1);
    let (_, c) = chars.next()?;
    if c == '\\' {
        let close = rest[2..].find('\'')?;
        return (close <= 10).then_some(close + 3);
    }
    let (at, next) = chars.next()?;
    (next == '\'').then_some(at + 1)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Identifiers in `code` with their byte offsets.
fn identifiers(code: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut start = None;
    for (i, c) in code.char_indices() {
        match (start, is_ident(c)) {
            (None, true) if is_ident_start(c) => start = Some(i),
            (Some(s), false) => {
                found.push((s, &code[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        found.push((s, &code[s..]));
    }
    found
}

/// The end (exclusive) of the braced block opening at or after `from`, or of the statement
/// ending with `;` if one comes first.
fn item_end(code: &str, from: usize) -> usize {
    let bytes = code.as_bytes();
    let mut depth = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b';' if depth == 0 => return i + 1,
            _ => {}
        }
    }
    bytes.len()
}

fn variables_in(strings: &[(usize, String)], range: std::ops::Range<usize>) -> BTreeSet<String> {
    strings
        .iter()
        .filter(|(at, _)| range.contains(at))
        .flat_map(|(_, text)| {
            let mut found = Vec::new();
            let mut rest = text.as_str();
            while let Some(at) = rest.find("GATEHOUSE_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                found.push(name.trim_end_matches('_').to_string());
            }
            found
        })
        .collect()
}

/// The items of one file (by name; test modules left out), and the file as a whole.
fn items_of(source: &str, items: &mut BTreeMap<String, Vec<Item>>) -> Item {
    let scanned = scan(source);
    let code = &scanned.code;
    let words = identifiers(code);
    // Test-only items are not part of the function.
    let mut skipped: Vec<std::ops::Range<usize>> = Vec::new();
    let mut at = 0;
    while let Some(n) = code[at..].find("#[cfg(test)]") {
        let start = at + n;
        let end = item_end(code, start + "#[cfg(test)]".len());
        skipped.push(start..end);
        at = end;
    }
    let in_tests = |i: usize| skipped.iter().any(|r| r.contains(&i));
    // `impl Type {…}` and `impl Trait for Type {…}`: the type each block's functions belong to.
    let mut impls: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for (offset, word) in &words {
        if *word != "impl" {
            continue;
        }
        let Some(open) = code[*offset..].find('{').map(|n| offset + n) else {
            continue;
        };
        let header = &code[offset + 4..open];
        let header = header.rsplit(" for ").next().unwrap_or(header);
        let header = header.split(" where").next().unwrap_or(header);
        let ty = identifiers(header.split('<').next().unwrap_or(header))
            .last()
            .map(|(_, w)| w.to_string());
        if let Some(ty) = ty {
            impls.push((*offset..item_end(code, open), ty));
        }
    }
    // A name as mentioned: `Type::name` kept whole, so that it can be told from other `name`s.
    let mention = |k: usize| -> String {
        let (offset, word) = words[k];
        let before = code[..offset].trim_end();
        match (
            before.strip_suffix("::"),
            k.checked_sub(1).map(|j| words[j]),
        ) {
            (Some(path), Some((prev_at, prev)))
                if prev_at + prev.len() == path.trim_end().len() =>
            {
                format!("{prev}::{word}")
            }
            _ => word.to_string(),
        }
    };
    for (k, (offset, word)) in words.iter().enumerate() {
        if !matches!(*word, "fn" | "const" | "static") || in_tests(*offset) {
            continue;
        }
        let Some((_, name)) = words.get(k + 1) else {
            continue;
        };
        let end = item_end(code, offset + word.len());
        let range = *offset..end;
        let names: BTreeSet<String> = (0..words.len())
            // Its own name is not a mention (else `A::f` would reach every `f`).
            .filter(|&j| j != k + 1 && range.contains(&words[j].0))
            .map(mention)
            .collect();
        let variables = variables_in(&scanned.strings, range);
        let owner = impls
            .iter()
            .filter(|(r, _)| r.contains(offset))
            .min_by_key(|(r, _)| r.len())
            .map(|(_, ty)| ty);
        // Reached by a path naming its type (`Type::name`), or by its bare name (a method call).
        if let Some(ty) = owner {
            items
                .entry(format!("{ty}::{name}"))
                .or_default()
                .push(Item {
                    names: names.clone(),
                    variables: variables.clone(),
                });
        }
        items
            .entry(name.to_string())
            .or_default()
            .push(Item { names, variables });
    }
    Item {
        names: (0..words.len())
            .filter(|&j| !in_tests(words[j].0))
            .map(mention)
            .collect(),
        variables: variables_in(&scanned.strings, 0..source.len())
            .into_iter()
            .collect(),
    }
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The workspace crates `crate_dir` depends on (not for tests), itself included.
fn closure(crate_dir: &Path, workspace: &BTreeMap<String, PathBuf>) -> BTreeSet<PathBuf> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![crate_dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let mut section = String::new();
        for line in manifest.lines() {
            if line.starts_with('[') {
                section = line.trim().to_string();
            } else if section == "[dependencies]" {
                let name = line.split(['.', ' ', '=']).next().unwrap_or("");
                if let Some(path) = workspace.get(name) {
                    todo.push(path.clone());
                }
            }
        }
    }
    seen
}

/// The workspace's crates by package name.
fn workspace_crates() -> BTreeMap<String, PathBuf> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    manifest
        .lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(" = { path = \"")?;
            let path = rest.split('"').next()?;
            Some((name.trim().to_string(), root().join(path)))
        })
        .collect()
}

/// The `GATEHOUSE_*` variables the function in `functions/{name}` reads.
fn variables_read(name: &str, workspace: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let crate_dir = root().join("functions").join(name);
    let mut items: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for dir in closure(&crate_dir, workspace) {
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for file in files {
            // Other binaries of a crate are not this function.
            if file.parent().is_some_and(|p| p.ends_with("src/bin")) {
                continue;
            }
            if dir == crate_dir && file.ends_with("src/main.rs") {
                continue;
            }
            items_of(&std::fs::read_to_string(&file).unwrap(), &mut items);
        }
    }
    let main = std::fs::read_to_string(crate_dir.join("src/main.rs")).unwrap();
    let start = items_of(&main, &mut items);
    let mut read = start.variables;
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = start.names.into_iter().collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        // `Type::name` when that type's item is known, else every item of the bare name.
        let found = items.get(&name).or_else(|| {
            let bare = name.rsplit("::").next().unwrap_or(&name);
            items.get(bare)
        });
        for item in found.into_iter().flatten() {
            if std::env::var("SCAN_DEBUG").is_ok_and(|v| item.variables.contains(&v)) {
                eprintln!("{name} reads {:?}", item.variables);
            }
            read.extend(item.variables.iter().cloned());
            todo.extend(item.names.iter().filter(|n| !seen.contains(*n)).cloned());
        }
    }
    read
}

#[test]
fn each_function_is_given_exactly_the_variables_its_code_reads() {
    let workspace = workspace_crates();
    let template = template_environments();
    let optional: BTreeSet<&str> = OPTIONAL.iter().map(|(name, _)| *name).collect();
    let mut crates: Vec<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
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
    "##;
    let mut items = BTreeMap::new();
    items_of(source, &mut items);
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
    // `A::from_env` is A's alone; the bare name (a method call) is either.
    assert_eq!(
        items["A::from_env"][0].variables,
        BTreeSet::from(["GATEHOUSE_A".to_string()])
    );
    assert_eq!(items["from_env"].len(), 2);
    assert!(items["only_a"][0].names.contains("A::from_env"));
    assert!(
        !items["A::from_env"][0].names.contains("from_env"),
        "its own name is no call"
    );
    assert!(items["A::from_env"][0].names.contains("Self::other"));
    assert_eq!(
        items["unused"][0].variables,
        BTreeSet::from(["GATEHOUSE_NEVER_CALLED".to_string()])
    );
}
