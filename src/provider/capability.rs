//! What each provider can do with the features of a flow, and the check
//! that turns a feature a number's provider cannot do into a diagnostic
//! at the node that uses it (`provider-unsupported`, an error), or one it
//! leaves out into a warning (`provider-ignores`).
//!
//! Pure data and a pure check, no IO: each provider module declares its
//! own support ([`Kind::support`] asks it), `switchboard providers`
//! prints the table, and `docs/providers.md` holds it, kept current by a
//! test.

use crate::diagnostic::{Code, Diagnostic};
use crate::program::{FlowId, NodeKind, Program};
use crate::routing::{Endpoint, GroupTarget};
use crate::source::Span;
use petgraph::graph::NodeIndex;
use std::collections::{BTreeSet, HashSet, VecDeque};

/// A provider, by route prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Twilio (TwiML).
    Twilio,
    /// Plivo (Plivo XML).
    Plivo,
    /// Telnyx (TeXML).
    Telnyx,
    /// SignalWire (cXML).
    SignalWire,
    /// W3C VoiceXML 2.1 browsers.
    Vxml,
}

impl Kind {
    /// Every provider, in table order.
    pub const ALL: [Kind; 5] = [
        Kind::Twilio,
        Kind::Plivo,
        Kind::Telnyx,
        Kind::SignalWire,
        Kind::Vxml,
    ];

    /// Its route prefix and name in flow files (`[numbers]`' `provider`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Twilio => "twilio",
            Kind::Plivo => "plivo",
            Kind::Telnyx => "telnyx",
            Kind::SignalWire => "signalwire",
            Kind::Vxml => "vxml",
        }
    }

    /// The provider named `name`.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// What the provider does with `feature`.
    pub fn support(self, feature: Feature) -> Support {
        match self {
            Kind::Twilio => super::twilio::support(feature),
            Kind::Telnyx => super::telnyx::support(feature),
            Kind::SignalWire => super::signalwire::support(feature),
            Kind::Plivo => super::plivo::support(feature),
            Kind::Vxml => super::vxml::support(feature),
        }
    }
}

/// What a provider does with a feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Its own verbs do it.
    Native,
    /// Switchboard does it for the provider, as the text says.
    Emulated(&'static str),
    /// Left out of its documents, callers still routed the same (a warning).
    Ignored(&'static str),
    /// It cannot: a flow using it for one of its numbers does not compile.
    Cannot(&'static str),
}

macro_rules! features {
    ($( $(#[$doc:meta])* $v:ident => $what:literal ),* $(,)?) => {
        /// A feature of a flow a provider may or may not support.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Feature { $( $(#[$doc])* $v, )* }

        impl Feature {
            /// Every feature, in table order.
            pub const ALL: &'static [Feature] = &[$(Feature::$v),*];

            /// The feature in words, as the table and diagnostics say it.
            pub fn describe(self) -> &'static str {
                match self { $(Feature::$v => $what,)* }
            }
        }
    };
}

features! {
    /// Menus, inputs and surveys answered by key.
    Keys => "keys (menus, inputs, surveys)",
    /// Menu options chosen by speech words.
    Speech => "speech words in menus",
    /// A group answered from a queue.
    Queue => "a group's queue (`queue` groups)",
    /// Place in line and expected wait, announced while waiting.
    Announcements => "place-in-line and wait announcements",
    /// A queue's `max_queue`.
    MaxQueue => "`max_queue`",
    /// A queue node's `priority`.
    Priority => "queue `priority`",
    /// Hold music while waiting.
    HoldMusic => "hold music",
    /// Several endpoints rung at once (a group's `agents`).
    SeveralAtOnce => "several endpoints rung at once (`agents`)",
    /// SIP URIs as endpoints.
    Sip => "SIP endpoints",
    /// A transfer's `caller_id`.
    CallerId => "a transfer's `caller_id`",
    /// Voicemail recordings.
    Recording => "voicemail recordings",
    /// `[settings] voices`.
    Voices => "TTS voices (`[settings] voices`)",
}

/// The table of every provider's support for every feature, in Markdown.
pub fn table() -> String {
    let mut out = String::from("| feature |");
    for k in Kind::ALL {
        out.push_str(&format!(" {} |", k.name()));
    }
    out.push_str("\n| --- |");
    for _ in Kind::ALL {
        out.push_str(" --- |");
    }
    out.push('\n');
    for f in Feature::ALL {
        out.push_str(&format!("| {} |", f.describe()));
        for k in Kind::ALL {
            let cell = match k.support(*f) {
                Support::Native => "native".to_owned(),
                Support::Emulated(how) => format!("emulated: {how}"),
                Support::Ignored(why) => format!("ignored: {why}"),
                Support::Cannot(why) => format!("**cannot**: {why}"),
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out
}

/// The features `node` uses, each with where (its span).
fn features_of(p: &Program, ix: NodeIndex) -> Vec<Feature> {
    let node = &p.graph[ix];
    let mut out = Vec::new();
    let endpoints = |eps: &[Endpoint], out: &mut Vec<Feature>| {
        if eps.len() > 1 {
            out.push(Feature::SeveralAtOnce);
        }
        if eps.iter().any(|e| matches!(e, Endpoint::Sip(_))) {
            out.push(Feature::Sip);
        }
    };
    match &node.kind {
        NodeKind::Menu(m) => {
            out.push(Feature::Keys);
            if m.options.iter().any(|o| !o.words.is_empty()) {
                out.push(Feature::Speech);
            }
        }
        NodeKind::Input(_) | NodeKind::Survey { .. } | NodeKind::Callback { .. } => {
            out.push(Feature::Keys);
        }
        NodeKind::Voicemail { .. } => out.push(Feature::Recording),
        NodeKind::Transfer(t) => {
            endpoints(std::slice::from_ref(&t.to), &mut out);
            if t.caller_id.is_some() {
                out.push(Feature::CallerId);
            }
        }
        NodeKind::Queue(q) => {
            // The group, and every group it overflows to.
            let mut seen = BTreeSet::new();
            let mut next = Some(q.group);
            while let Some(g) = next.filter(|g| seen.insert(*g)) {
                let Some(group) = p.groups.get(g.index()) else {
                    break;
                };
                match &group.target {
                    GroupTarget::Queue(_) => {
                        out.push(Feature::Queue);
                        if group.announce_position {
                            out.push(Feature::Announcements);
                        }
                        if group.max_queue.is_some() {
                            out.push(Feature::MaxQueue);
                        }
                        if group.hold_music.is_some() {
                            out.push(Feature::HoldMusic);
                        }
                        if q.priority != crate::program::DEFAULT_PRIORITY {
                            out.push(Feature::Priority);
                        }
                    }
                    GroupTarget::Agents(eps) => endpoints(eps, &mut out),
                }
                next = group.overflow;
            }
        }
        _ => {}
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Every node a call entering `flow` can reach (through jumps and sub-flows).
fn reachable(p: &Program, flow: FlowId) -> Vec<NodeIndex> {
    let Some(start) = p.flows.get(flow.index()).map(|f| f.start) else {
        return Vec::new();
    };
    let mut seen = HashSet::from([start]);
    let mut queue = VecDeque::from([start]);
    let mut out = Vec::new();
    while let Some(ix) = queue.pop_front() {
        out.push(ix);
        for n in p.graph.neighbors(ix) {
            if seen.insert(n) {
                queue.push_back(n);
            }
        }
    }
    out.sort_unstable();
    out
}

/// Why a flow must suit a provider: a number of `[numbers]` says so, or `check --provider`.
#[derive(Clone, Debug)]
pub struct Target {
    /// The flow calls enter.
    pub flow: FlowId,
    /// The provider that carries them.
    pub provider: Kind,
    /// For the message: "number +18005550100", "--provider plivo".
    pub why: String,
    /// Where the reason is written, if in a file.
    pub span: Option<Span>,
}

/// The diagnostics of features the targets' providers cannot do
/// (`provider-unsupported`) or leave out (`provider-ignores`), one per
/// node, feature and provider.
pub fn check(p: &Program, targets: &[Target]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut said = HashSet::new();
    for t in targets {
        let mut features: Vec<(NodeIndex, Feature)> = reachable(p, t.flow)
            .into_iter()
            .flat_map(|ix| features_of(p, ix).into_iter().map(move |f| (ix, f)))
            .collect();
        if !p.voices.is_empty() {
            // A set-wide setting: reported at the flow's start.
            if let Some(f) = p.flows.get(t.flow.index()) {
                features.push((f.start, Feature::Voices));
            }
        }
        for (ix, feature) in features {
            let (code, reason) = match t.provider.support(feature) {
                Support::Cannot(why) => (Code::ProviderUnsupported, why),
                Support::Ignored(why) => (Code::ProviderIgnores, why),
                Support::Native | Support::Emulated(_) => continue,
            };
            if !said.insert((ix, feature, t.provider)) {
                continue;
            }
            let node = &p.graph[ix];
            let what = format!("{} `{}`", node.kind.type_name(), p.qualified_name(ix));
            let verb = if code == Code::ProviderUnsupported {
                "cannot do"
            } else {
                "leaves out"
            };
            let mut d = Diagnostic::new(
                code,
                format!(
                    "{what} uses {}, which {} {verb} ({}): {reason}",
                    feature.describe(),
                    t.provider.name(),
                    t.why
                ),
            )
            .labelled(node.span, format!("{} on {}", feature.describe(), t.provider.name()))
            .hint(match code {
                Code::ProviderUnsupported => format!(
                    "change the node (or its group) for {}, or carry {} by another provider; `switchboard providers` shows what each can do",
                    t.provider.name(),
                    t.why
                ),
                _ => "callers are routed the same; `switchboard providers` shows what each provider does".to_owned(),
            });
            if let Some(s) = t.span {
                d = d.note(s, format!("carried by {}", t.provider.name()));
            }
            out.push(d);
        }
    }
    out
}
