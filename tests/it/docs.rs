//! The documentation's TOML examples use the real format: every ```toml
//! block of the docs and the README goes through the real loader (flow
//! files, or scenario files checked against the demo), and any key or value
//! shape it rejects fails this test. Blocks fenced as
//! ```` ```toml fragment ```` show lone values (alternatives of one key) and
//! are skipped.

use switchboard::diagnostic::Code;
use switchboard::flow::parse_file;
use switchboard::source::Sources;

fn toml_blocks(doc: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```toml fragment") => {
                current = Some((usize::MAX, String::new()))
            }
            (None, l) if l.starts_with("```toml") => current = Some((i + 1, String::new())),
            (Some(_), l) if l.starts_with("```") => {
                blocks.extend(current.take().filter(|(l, _)| *l != usize::MAX))
            }
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_toml_example_in_the_docs_parses() {
    let mut problems = Vec::new();
    let mut count = 0;
    let demo = switchboard::compile::compile(
        &switchboard::flow::load_dir(std::path::Path::new("flows")).unwrap(),
    )
    .program
    .unwrap();
    for path in [
        "docs/flows.md",
        "docs/calls.md",
        "docs/testing.md",
        "docs/providers.md",
        "README.md",
    ] {
        let doc = std::fs::read_to_string(path).expect(path);
        for (line, text) in toml_blocks(&doc) {
            count += 1;
            let mut sources = Sources::new();
            let id = sources.add(format!("{path}:{line}"), text.clone());
            if text.contains("[[scenario]]") {
                let (_, diags) = switchboard::scenario::parse(&demo, id, &text);
                for d in diags {
                    problems.push(format!(
                        "{path}, scenario block at line {line}: {}: {}",
                        d.code, d.message
                    ));
                }
                continue;
            }
            let (_, diags) = parse_file(id, "example", &text);
            for d in diags {
                if matches!(
                    d.code,
                    Code::TomlSyntax | Code::UnknownField | Code::MissingField | Code::InvalidValue
                ) {
                    problems.push(format!(
                        "{path}, block at line {line}: {}: {}",
                        d.code, d.message
                    ));
                }
            }
        }
    }
    assert!(count > 20, "found only {count} toml blocks");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
