//! Does a stored call state fit a program? A state read back from the
//! store holds node, flow and group indices into the program it was made
//! on; before the engine uses them they are checked against the program the
//! call is continued on, so a state that does not belong to it (a version
//! mix-up, a hand-edited row, a damaged database) is refused with a reason
//! instead of walking the wrong graph.

use super::{CallState, Outcome, Wait};
use crate::program::{NodeKind, Program};
use petgraph::graph::NodeIndex;

/// Why a state does not fit a program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored call state does not fit flow version {version}: {why}")]
pub struct Misfit {
    /// The program's version.
    pub version: String,
    /// What does not fit.
    pub why: String,
}

/// Check every index in `s` against `p`, and that the call waits for what
/// its node can wait for.
pub fn fits(p: &Program, s: &CallState) -> Result<(), Misfit> {
    let misfit = |why: String| Misfit {
        version: p.version.clone(),
        why,
    };
    if s.version != p.version {
        return Err(misfit(format!("the call started on version {}", s.version)));
    }
    if p.flows.get(s.flow.index()).is_none() {
        return Err(misfit(format!("it names flow #{}", s.flow.index())));
    }
    let node = |ix: NodeIndex, what: &str| {
        p.graph
            .node_weight(ix)
            .ok_or_else(|| misfit(format!("{what} is node #{}, which it has not", ix.index())))
    };
    let at = node(s.at, "the node the call is at")?;
    for &r in &s.returns {
        node(r, "a sub-flow's return point")?;
    }
    for visit in &s.menus {
        if !matches!(
            node(visit.menu, "a menu in the back history")?.kind,
            NodeKind::Menu(_)
        ) {
            return Err(misfit(format!(
                "the back history holds `{}`, which is not a menu",
                p.qualified_name(visit.menu)
            )));
        }
        for &r in visit.returns.iter().flatten() {
            node(r, "a sub-flow's return point in the back history")?;
        }
    }
    let group = |g: crate::program::GroupId| {
        p.groups
            .get(g.index())
            .map(|_| ())
            .ok_or_else(|| misfit(format!("it names group #{}, which it has not", g.index())))
    };
    for &g in &s.tried {
        group(g)?;
    }
    if let Some(Outcome::Group(g) | Outcome::Voicemail(g) | Outcome::Callback(g)) = s.outcome {
        group(g)?;
    }
    let fits_wait = match s.wait {
        Wait::Choice => matches!(at.kind, NodeKind::Menu(_)),
        Wait::Digits => matches!(at.kind, NodeKind::Input(_)),
        Wait::CallbackNumber => matches!(at.kind, NodeKind::Callback { .. }),
        Wait::Rating => matches!(at.kind, NodeKind::Survey { .. }),
        Wait::Queue => matches!(at.kind, NodeKind::Queue(_)),
        Wait::Dial => matches!(at.kind, NodeKind::Transfer(_)),
        Wait::Recording => matches!(at.kind, NodeKind::Voicemail { .. }),
        Wait::Fallback | Wait::Ended => true,
    };
    if !fits_wait {
        return Err(misfit(format!(
            "the call waits for {:?} at `{}`, which cannot ask for it",
            s.wait,
            p.qualified_name(s.at)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = r#"
[flow]
start = "menu"

[menu.menu]
prompt = "For the desk, press 1."
options = { 1 = "desk" }

[queue.desk]
group = "desk"
"#;
    const GROUPS: &str = "[groups.desk]\nkind = \"service\"\n";

    fn call() -> (Program, CallState) {
        let (_, c) = crate::compile::compile_texts([("main", MAIN), ("groups", GROUPS)]);
        let p = c.program.expect("the test flow compiles");
        let start = crate::engine::Start {
            call_id: "CA1".into(),
            caller: "+15550001111".into(),
            called: "+15550002222".into(),
            history: Vec::new(),
            language: None,
        };
        let s = crate::engine::start(&p, start, jiff::Timestamp::UNIX_EPOCH).state;
        (p, s)
    }

    #[test]
    fn a_state_fits_the_program_it_was_made_on() {
        let (p, s) = call();
        assert_eq!(s.wait, Wait::Choice);
        assert_eq!(fits(&p, &s), Ok(()));
    }

    #[test]
    fn indices_and_waits_that_do_not_fit_are_refused() {
        let (p, s) = call();
        let refused = |s: &CallState| fits(&p, s).expect_err("refused").why;
        let mut other = s.clone();
        other.version = "0123456789ab".into();
        assert!(refused(&other).contains("started on version 0123456789ab"));
        let mut far = s.clone();
        far.at = NodeIndex::new(999);
        assert!(refused(&far).contains("node #999"));
        let mut queue_wait = s.clone();
        queue_wait.wait = Wait::Queue;
        assert!(refused(&queue_wait).contains("cannot ask for it"));
        let mut back = s.clone();
        back.menus.push(super::super::MenuVisit {
            menu: NodeIndex::new(998),
            returns: None,
        });
        assert!(refused(&back).contains("node #998"));
        let mut back_return = s.clone();
        if let Some(v) = back_return.menus.last_mut() {
            v.returns = Some(vec![NodeIndex::new(996)]);
        }
        assert!(refused(&back_return).contains("node #996"));
        let mut ret = s.clone();
        ret.returns.push(NodeIndex::new(997));
        assert!(refused(&ret).contains("node #997"));
        let mut tried = s.clone();
        tried.tried.push(crate::program::GroupId(7));
        assert!(refused(&tried).contains("group #7"));
        let mut flow = s;
        flow.flow = crate::program::FlowId(5);
        assert!(refused(&flow).contains("flow #5"));
    }
}
