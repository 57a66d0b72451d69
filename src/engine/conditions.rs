//! `branch` nodes: the first case whose conditions all hold wins, and the
//! record says why.

use super::walk::Walker;
use crate::program::{Case, Condition, Exit};
use petgraph::graph::NodeIndex;

impl Walker<'_> {
    /// Pick a branch's exit and record the reason.
    pub(super) fn branch(&mut self, cases: &[Case], default: NodeIndex) -> (NodeIndex, Exit) {
        for (i, case) in cases.iter().enumerate() {
            let reasons: Option<Vec<String>> =
                case.conditions.iter().map(|c| self.holds(c)).collect();
            if let Some(reasons) = reasons {
                self.decided(format!("branch: case {} ({})", i + 1, reasons.join(", ")));
                return (case.target, Exit::Case(i));
            }
        }
        self.decided("branch: default (no case matched)");
        (default, Exit::Default)
    }

    /// `name = value` as a record may say it: a sensitive value is not said.
    fn shown(&self, name: &str, value: &str) -> String {
        if self.p.sensitive.contains(name) {
            format!("{name} matches (sensitive: value not recorded)")
        } else {
            format!("{name} = {value}")
        }
    }

    /// `Some(why)` if the condition holds.
    fn holds(&self, c: &Condition) -> Option<String> {
        let s = &self.s;
        match c {
            Condition::CallerIs(nums) => nums
                .contains(&s.caller)
                .then(|| format!("caller {} is listed", s.caller)),
            Condition::CallerInList(id) => {
                let (name, nums) = self.p.lists.get(id.index())?;
                nums.binary_search(&s.caller)
                    .is_ok()
                    .then(|| format!("caller {} is in list {name}", s.caller))
            }
            Condition::CallerPrefix(prefix) => s
                .caller
                .starts_with(prefix.as_str())
                .then(|| format!("caller {} starts with {prefix}", s.caller)),
            Condition::CalledIs(nums) => nums
                .contains(&s.called)
                .then(|| format!("called number {} is listed", s.called)),
            Condition::Language(l) => (s.language == *l).then(|| format!("language is {l}")),
            Condition::VarEquals(name, value) => {
                (self.var(name) == Some(value.as_str())).then(|| self.shown(name, value))
            }
            Condition::VarOneOf(name, values) => {
                let v = self.var(name)?;
                values.iter().any(|x| x == v).then(|| self.shown(name, v))
            }
            Condition::VarIsSet(name, set) => (self.var(name).is_some() == *set)
                .then(|| format!("{name} is {}set", if *set { "" } else { "not " })),
            Condition::CalledBefore { within, group } => {
                let within_secs = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
                let group_name = group
                    .and_then(|g| self.p.groups.get(g.index()))
                    .map(|g| g.name.as_str());
                s.history
                    .iter()
                    .filter(|c| {
                        let age = self.now.as_second() - c.at.as_second();
                        (0..=within_secs).contains(&age)
                    })
                    .find(|c| group_name.is_none() || c.group.as_deref() == group_name)
                    .map(|c| {
                        let hours = (self.now.as_second() - c.at.as_second()) / 3600;
                        match group_name {
                            Some(g) => format!("called {hours}h ago and reached {g}"),
                            None => format!("called {hours}h ago"),
                        }
                    })
            }
        }
    }
}
