//! What a function's code can reach, found in its source: starting from the function's
//! `main.rs`, every item (function, constant) it names is followed, by name, through the non-test
//! source of the workspace crates it depends on. Following by name over-approximates (two items
//! of one name are both followed), which can only find more, never hide a use. The template
//! tests read from what is reached: the variables it reads (`template_environment.rs`), the
//! DynamoDB actions its store calls need (`template_permissions.rs`).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// An item of the source: the names it mentions, the variables named in its strings, and its
/// code (comments and string contents blanked out, whitespace removed) in the file it is in.
#[derive(Default, Debug, Clone)]
pub struct Item {
    pub names: BTreeSet<String>,
    pub variables: BTreeSet<String>,
    pub code: String,
    pub file: PathBuf,
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
    // Inside `(…)` or `[…]`: a `;` there (`-> [String; 16]`) ends nothing, a brace opens no body.
    let mut nested = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match b {
            // Braces inside a signature's parentheses are a pattern (`Form { visit, .. }: Form`).
            b'{' | b'}' if depth == 0 && nested > 0 => {}
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b'(' | b'[' if depth == 0 => nested += 1,
            b')' | b']' if depth == 0 => nested = nested.saturating_sub(1),
            b';' if depth == 0 && nested == 0 => return i + 1,
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
pub fn items_of(source: &str, file: &Path, items: &mut BTreeMap<String, Vec<Item>>) -> Item {
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
    for (k, (offset, word)) in words.iter().enumerate() {
        // A trait's provided methods belong to the trait.
        if *word == "trait" {
            if let (Some((_, name)), Some(open)) = (
                words.get(k + 1),
                code[*offset..].find('{').map(|n| offset + n),
            ) {
                impls.push((*offset..item_end(code, open), name.to_string()));
            }
            continue;
        }
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
    let owner_at = |at: usize| -> Option<&String> {
        impls
            .iter()
            .filter(|(r, _)| r.contains(&at))
            .min_by_key(|(r, _)| r.len())
            .map(|(_, ty)| ty)
    };
    // A name as mentioned: `Type::name` kept whole, so that it can be told from other `name`s
    // (`Self::name` as its type's); `.name` a method call, which only a method answers; `name`
    // alone a free function, constant or static.
    let mention = |k: usize| -> String {
        let (offset, word) = words[k];
        let before = code[..offset].trim_end();
        if before.ends_with('.') && !before.ends_with("..") {
            return format!(".{word}");
        }
        match (
            before.strip_suffix("::"),
            k.checked_sub(1).map(|j| words[j]),
        ) {
            (Some(path), Some((prev_at, prev)))
                if prev_at + prev.len() == path.trim_end().len() =>
            {
                match (prev, owner_at(offset)) {
                    ("Self", Some(ty)) => format!("{ty}::{word}"),
                    ("Self", None) => format!(".{word}"),
                    _ => format!("{prev}::{word}"),
                }
            }
            _ => word.to_string(),
        }
    };
    // Whether a mention can name an item. A bare lowercase word is a call (`f(`), or a function
    // handed over as a value (`.map(f)`, `get(handler)`, `(a, f)`, `Route { handler: f }`);
    // otherwise it is a local
    // variable or a field (`table: table.into()`), which names no function.
    let names_an_item = |k: usize| -> bool {
        let (offset, word) = words[k];
        let name = mention(k);
        if name != word || !word.starts_with(|c: char| c.is_ascii_lowercase()) {
            return true;
        }
        let after = code[offset + word.len()..].trim_start();
        let before = code[..offset].trim_end();
        let field = before.ends_with(':') && !before.ends_with("::");
        after.starts_with('(')
            || after.starts_with('!')
            || after.starts_with("::<")
            || ((before.ends_with('(') || before.ends_with(',') || field)
                && (after.starts_with(')') || after.starts_with(',') || after.starts_with('}')))
    };
    for (k, (offset, word)) in words.iter().enumerate() {
        // The workspace's own types: `Type::name` of any other type is no call into it.
        if matches!(*word, "struct" | "enum" | "trait" | "type") && !in_tests(*offset) {
            if let Some((_, name)) = words.get(k + 1) {
                items.entry(format!("type {name}")).or_default();
            }
        }
        if !matches!(*word, "fn" | "const" | "static") || in_tests(*offset) {
            continue;
        }
        // `&'static str` is a lifetime, `const fn f` the function `f`, `const _` no name.
        if code[..*offset].ends_with('\'') {
            continue;
        }
        let Some((_, name)) = words.get(k + 1) else {
            continue;
        };
        if matches!(*name, "fn" | "mut" | "_" | "unsafe" | "async" | "extern") {
            continue;
        }
        let end = item_end(code, offset + word.len());
        let range = *offset..end;
        let item_code = compact(&code[range.clone()]);
        let names: BTreeSet<String> = (0..words.len())
            // Its own name is not a mention (else `A::f` would reach every `f`).
            .filter(|&j| j != k + 1 && range.contains(&words[j].0) && names_an_item(j))
            .filter(|&j| {
                !binds(&item_code, words[j].1)
                    || code[words[j].0..].trim_start()[words[j].1.len()..]
                        .trim_start()
                        .starts_with('(')
            })
            .map(mention)
            .collect();
        let variables = variables_in(&scanned.strings, range.clone());
        let owner = owner_at(*offset);
        // A method (or associated item) is reached by a path naming its type (`Type::name`) or
        // as a method call (`.name`); anything else by its bare name.
        if let Some(ty) = owner {
            items
                .entry(format!("{ty}::{name}"))
                .or_default()
                .push(Item {
                    names: names.clone(),
                    variables: variables.clone(),
                    code: item_code.clone(),
                    file: file.to_path_buf(),
                });
        }
        let key = match owner {
            Some(_) => format!(".{name}"),
            None => name.to_string(),
        };
        items.entry(key).or_default().push(Item {
            names,
            variables,
            code: item_code,
            file: file.to_path_buf(),
        });
    }
    // A macro invoked at the top of a file (`page_routes! { … }`, a table written once) is an
    // item of the macro's name: what mentions the macro reaches what the table names.
    for (k, (offset, word)) in words.iter().enumerate() {
        let at_line_start = *offset == 0 || code.as_bytes()[offset - 1] == b'\n';
        let invoked = code[offset + word.len()..].starts_with("! {");
        if !at_line_start || !invoked || in_tests(*offset) {
            continue;
        }
        let open = offset + word.len() + 2;
        let range = *offset..item_end(code, open);
        let names: BTreeSet<String> = (0..words.len())
            .filter(|&j| j != k && range.contains(&words[j].0))
            .map(|j| words[j].1.to_string())
            .collect();
        items.entry(word.to_string()).or_default().push(Item {
            names,
            variables: variables_in(&scanned.strings, range.clone()),
            code: compact(&code[range]),
            file: file.to_path_buf(),
        });
    }
    Item {
        names: (0..words.len())
            .filter(|&j| !in_tests(words[j].0) && names_an_item(j))
            .map(mention)
            .collect(),
        variables: variables_in(&scanned.strings, 0..source.len())
            .into_iter()
            .collect(),
        code: compact(code),
        file: file.to_path_buf(),
    }
}

/// Whether the item (its compact code) binds `word` as a variable (`let view = …`, a parameter
/// `view: T`, a closure's `|view|`, a pattern `Some(view)`): then a `(view)` in it hands the
/// variable over, not a function of that name.
fn binds(code: &str, word: &str) -> bool {
    [
        format!("let{word}="),
        format!("let{word}:"),
        format!("letmut{word}"),
        format!("({word}:"),
        format!(",{word}:"),
        format!("|{word}|"),
        format!("|{word},"),
        format!(",{word}|"),
        format!("Some({word})"),
        format!("Ok({word})"),
        format!("Err({word})"),
        format!("for{word}in"),
    ]
    .iter()
    .any(|p| code.contains(p.as_str()))
}

/// Code without whitespace: `self\n .items\n .query(` reads `self.items.query(`.
fn compact(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace()).collect()
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
pub fn workspace_crates() -> BTreeMap<String, PathBuf> {
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

/// Every item the function in `functions/{name}` can reach from its `main.rs`, that file
/// itself first.
pub fn reached(name: &str, workspace: &BTreeMap<String, PathBuf>) -> Vec<Item> {
    reached_from(&root().join("functions").join(name), workspace)
}

/// Every item the binary of the crate in `crate_dir` can reach from its `main.rs`, that file
/// itself first.
pub fn reached_from(crate_dir: &Path, workspace: &BTreeMap<String, PathBuf>) -> Vec<Item> {
    let mut items = index(crate_dir, workspace);
    let main_rs = crate_dir.join("src/main.rs");
    let start = items_of(
        &std::fs::read_to_string(&main_rs).unwrap(),
        &main_rs,
        &mut items,
    );
    walk(&items, start, &main_rs, workspace)
}

/// Every item the handler `name` of the crate in `crate_dir` can reach (named as its routes name
/// it, from the file that names it: `invite`, `console::home`).
pub fn reached_from_handler(
    crate_dir: &Path,
    name: &str,
    named_in: &Path,
    workspace: &BTreeMap<String, PathBuf>,
) -> Vec<Item> {
    let items = index(crate_dir, workspace);
    let start = Item {
        names: BTreeSet::from([name.to_string()]),
        file: named_in.to_path_buf(),
        ..Item::default()
    };
    walk(&items, start, named_in, workspace)
}

/// The items, by name, of the crate in `crate_dir` and the workspace crates it depends on (not
/// their other binaries, nor the crate's own `main.rs`).
fn index(crate_dir: &Path, workspace: &BTreeMap<String, PathBuf>) -> BTreeMap<String, Vec<Item>> {
    let mut items: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for dir in closure(crate_dir, workspace) {
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
            items_of(&std::fs::read_to_string(&file).unwrap(), &file, &mut items);
        }
    }
    items
}

/// The items reached from `start` (mentioned in `start_file`), `start` first.
fn walk(
    items: &BTreeMap<String, Vec<Item>>,
    start: Item,
    start_file: &Path,
    workspace: &BTreeMap<String, PathBuf>,
) -> Vec<Item> {
    let main_rs = start_file.to_path_buf();
    // Each name with the file of the item that mentions it: a bare call means the function of
    // that file when it has one (Rust resolves a local item first), a module path (`invite::seal`,
    // `gatehouse_invite::routes`) the module's or the crate's.
    let mut seen: BTreeSet<(String, PathBuf)> = BTreeSet::new();
    let mut todo: Vec<(String, PathBuf)> = start
        .names
        .iter()
        .map(|n| (n.clone(), main_rs.clone()))
        .collect();
    // Which name's item first mentioned each name: the chain SCAN_DEBUG prints.
    let mut via: BTreeMap<String, String> = BTreeMap::new();
    let mut found = vec![start];
    let in_module = |item: &Item, module: &str| -> bool {
        let stem = item.file.file_stem().and_then(|s| s.to_str());
        let parent = item
            .file
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str());
        let in_crate = workspace
            .get(&module.replace('_', "-"))
            .is_some_and(|dir| item.file.starts_with(dir));
        stem == Some(module) || (stem == Some("mod") && parent == Some(module)) || in_crate
    };
    while let Some((name, from)) = todo.pop() {
        let bare_call = !name.contains("::") && !name.starts_with('.');
        let scope = if bare_call || name.contains("::") {
            from.clone()
        } else {
            PathBuf::new()
        };
        if !seen.insert((name.clone(), scope)) {
            continue;
        }
        let narrowed = |candidates: &Vec<Item>, keep: &dyn Fn(&Item) -> bool| -> Vec<Item> {
            let kept: Vec<Item> = candidates.iter().filter(|i| keep(i)).cloned().collect();
            if kept.is_empty() {
                candidates.clone()
            } else {
                kept
            }
        };
        // `Type::name` when that type's item is known; nothing when the path names a type that
        // is not the workspace's (`OnceLock::new`, `String::from`: outside the code scanned);
        // a module path the module's function (any of that name if the module is not found);
        // a generic `T::` or `Self::` outside an impl every method of the name.
        let of_name: Vec<Item> = match items.get(&name) {
            Some(candidates) if bare_call => narrowed(candidates, &|i| i.file == from),
            Some(candidates) => candidates.clone(),
            None => match name.rsplit_once("::") {
                None => Vec::new(),
                Some((path, bare)) if !path.starts_with(|c: char| c.is_ascii_uppercase()) => {
                    match items.get(bare) {
                        Some(candidates) if path == "self" => {
                            narrowed(candidates, &|i| i.file == from)
                        }
                        Some(candidates) => narrowed(candidates, &|i| in_module(i, path)),
                        None => Vec::new(),
                    }
                }
                Some((path, _))
                    if path.len() > 1 && !items.contains_key(&format!("type {path}")) =>
                {
                    Vec::new()
                }
                Some((_, bare)) => items.get(&format!(".{bare}")).cloned().unwrap_or_default(),
            },
        };
        for item in of_name {
            if std::env::var("SCAN_DEBUG")
                .is_ok_and(|v| item.code.contains(&v) || item.variables.contains(&v))
            {
                let mut chain = vec![name.clone()];
                while let Some(from) = via.get(chain.last().unwrap()) {
                    chain.push(from.clone());
                }
                eprintln!(
                    "{name} in {}, reached by {}",
                    item.file.display(),
                    chain.join(" < ")
                );
            }
            for n in &item.names {
                via.entry(n.clone()).or_insert_with(|| name.clone());
                todo.push((n.clone(), item.file.clone()));
            }
            found.push(item.clone());
        }
    }
    found
}

/// The function crates under `functions/`, by directory name.
pub fn function_crates() -> Vec<String> {
    let mut crates: Vec<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    crates
}
