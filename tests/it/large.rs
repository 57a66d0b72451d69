//! A generated 10,000-node flow set compiles cleanly (its speed is measured
//! by `cargo bench --bench compile`, not here).

use crate::support::large;

#[test]
fn ten_thousand_nodes_compile_without_errors() {
    let files = large::flow_set(20, 100);
    let set =
        switchboard::flow::parse_texts(files.into_iter().map(|(n, t)| (format!("{n}.toml"), n, t)));
    let compiled = switchboard::compile::compile(&set);
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.severity == switchboard::diagnostic::Severity::Error)
        .take(3)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(compiled.summary.nodes, 10_000);
    assert_eq!(compiled.summary.flows, 20);
    let program = compiled.program.expect("a program");
    assert_eq!(program.graph.node_count(), 10_000);
    // Every flow reaches every group it queues for within the limit.
    assert!(
        compiled
            .depths
            .iter()
            .all(|d| d.groups.iter().all(|g| g.presses <= 20))
    );
}
