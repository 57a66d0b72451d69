//! Every lint has a failing and a passing fixture under
//! `tests/fixtures/lints/<code>/{fail,pass}`. The failing one must produce the
//! code (its rendered diagnostics are snapshotted); the passing one must be
//! entirely clean. A lint without fixtures fails this test.

use crate::support::{check_dir, rendered};
use std::path::Path;
use switchboard::diagnostic::Code;

#[test]
fn every_lint_fails_its_failing_fixture_and_passes_its_passing_one() {
    let root = Path::new("tests/fixtures/lints");
    let mut problems = Vec::new();
    for &code in Code::ALL {
        let dir = root.join(code.as_str());
        let (fail, pass) = (dir.join("fail"), dir.join("pass"));
        if !fail.is_dir() || !pass.is_dir() {
            problems.push(format!(
                "{code}: missing fixture directory {}",
                dir.display()
            ));
            continue;
        }
        let (set, compiled) = check_dir(&fail);
        if !compiled.diagnostics.iter().any(|d| d.code == code) {
            problems.push(format!(
                "{code}: the failing fixture does not produce it:\n{}",
                rendered(&set, &compiled)
            ));
        }
        insta::assert_snapshot!(
            format!("lint_{}", code.as_str().replace('-', "_")),
            rendered(&set, &compiled)
        );

        let (set, compiled) = check_dir(&pass);
        if !compiled.diagnostics.is_empty() {
            problems.push(format!(
                "{code}: the passing fixture is not clean:\n{}",
                rendered(&set, &compiled)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
#[test]
fn every_lint_is_documented() {
    let doc = std::fs::read_to_string("docs/lints.md").expect("docs/lints.md");
    let missing: Vec<_> = Code::ALL
        .iter()
        .filter(|c| !doc.contains(&format!("## `{}`", c.as_str())))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/lints.md has no section for {missing:?}"
    );
}
