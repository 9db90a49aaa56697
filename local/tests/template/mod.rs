//! The deploy template read as lines: each resource's block, the values in it. Enough for the
//! template tests, which check what the linters cannot (they run with cfn-lint, sam validate and
//! checkov in the test command).

#![allow(dead_code)]

use std::path::Path;

/// The template's resources: (logical id, the lines of its block).
pub fn resources() -> Vec<(String, Vec<String>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let template = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = template.lines().collect();
    let start = lines.iter().position(|l| *l == "Resources:").unwrap() + 1;
    let end = (start..lines.len())
        .find(|&i| !lines[i].is_empty() && !lines[i].starts_with(' '))
        .unwrap_or(lines.len());
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in &lines[start..end] {
        let indent = line.len() - line.trim_start().len();
        if indent == 2 && !line.trim_start().starts_with('#') && line.trim().ends_with(':') {
            out.push((line.trim().trim_end_matches(':').to_string(), Vec::new()));
        } else if let Some((_, block)) = out.last_mut() {
            if !line.trim_start().starts_with('#') {
                block.push(line.to_string());
            }
        }
    }
    out
}

pub fn of_type<'a>(all: &'a [(String, Vec<String>)], kind: &str) -> Vec<&'a (String, Vec<String>)> {
    let wanted = format!("Type: {kind}");
    all.iter()
        .filter(|(_, block)| block.iter().any(|l| l.trim() == wanted))
        .collect()
}

/// The value of `name:` in a block (its first occurrence).
pub fn value<'a>(block: &'a [String], name: &str) -> Option<&'a str> {
    let key = format!("{name}:");
    block
        .iter()
        .find_map(|l| {
            let l = l.trim();
            l.strip_prefix("- ").unwrap_or(l).strip_prefix(key.as_str())
        })
        .map(str::trim)
}

/// The function resources: (the crate under `functions/` its `CodeUri` names, logical id, block).
pub fn functions() -> Vec<(String, String, Vec<String>)> {
    of_type(&resources(), "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, block)| {
            let code = value(block, "CodeUri")
                .and_then(|v| v.strip_prefix("../target/lambda/"))
                .unwrap_or_else(|| panic!("{id} has a CodeUri"))
                .trim_end_matches('/')
                .to_string();
            (code, id.clone(), block.clone())
        })
        .collect()
}

/// The value of `name:` under `Globals:` (its first occurrence).
pub fn global(name: &str) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let template = std::fs::read_to_string(path).unwrap();
    let lines: Vec<String> = template
        .lines()
        .skip_while(|l| *l != "Globals:")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .map(str::to_string)
        .collect();
    value(&lines, name).map(str::to_string)
}
