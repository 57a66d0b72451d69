//! A [`Report`] for people and for tools: a terminal report ([`text`]),
//! and CSV with one table per section, separated by a blank line, each
//! row starting with its section's name ([`csv`]). JSON is the report's
//! own serialization.

use super::figures::{Csat, NodeFunnel, Outcomes, Report, Resolution};
use std::fmt::Write as _;

/// A span as an admin reads it: `3d 4h`, `2h 5m`, `2m`, `40s` (a negative
/// one is `0s`). How long a callback request or voicemail has waited, or
/// a closure has left, in the CLI and on the admin page alike.
pub fn span(d: jiff::SignedDuration) -> String {
    let s = d.as_secs().max(0);
    let (days, hours, minutes) = (s / 86_400, s / 3600 % 24, s / 60 % 60);
    match (days, hours, minutes) {
        (1.., h, _) => format!("{days}d {h}h"),
        (0, 1.., m) => format!("{hours}h {m}m"),
        (0, 0, 1..) => format!("{minutes}m"),
        _ => format!("{s}s"),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0))
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.0} s"))
}

fn mean(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

fn day(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn outcomes_block(out: &mut String, o: &Outcomes) {
    let kind = o
        .kind
        .as_deref()
        .map_or(String::new(), |k| format!(" ({k})"));
    let _ = writeln!(out, "  {}{kind}: {} calls", o.name, o.calls);
    for c in &o.outcomes {
        let share = pct((o.calls > 0).then(|| c.calls as f64 / o.calls as f64));
        let _ = writeln!(out, "    {:<24} {:>8}  {:>6}", c.words, c.calls, share);
    }
}

/// A window in words: `7 days`, `48 hours`, else as [`span`] puts it.
fn window(secs: i64) -> String {
    let plural = |n: i64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s > 0 && s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s > 0 && s % 3600 == 0 => plural(s / 3600, "hour"),
        s => span(jiff::SignedDuration::from_secs(s)),
    }
}

fn resolution_line(out: &mut String, r: &Resolution) {
    let kind = r
        .kind
        .as_deref()
        .map_or(String::new(), |k| format!(" ({k})"));
    let _ = writeln!(
        out,
        "  {:<24} {:>8} {:>8} {:>7} {:>12} {:>9}",
        format!("{}{kind}", r.name),
        r.reached,
        r.called_again,
        pct(r.first_contact_resolution),
        r.window_open,
        r.withheld
    );
}

/// At most this many nodes in the terminal's funnel (CSV and JSON have all).
const FUNNEL_LINES: usize = 20;

fn funnel_block(out: &mut String, f: &NodeFunnel) {
    let _ = writeln!(
        out,
        "  {:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        f.node,
        f.reached,
        f.timeouts,
        f.invalid,
        f.gave_up,
        f.hung_up,
        mean(f.stumbles)
    );
    if !f.chose.is_empty() {
        let chose: Vec<String> = f
            .chose
            .iter()
            .map(|c| format!("{} ×{}", c.what, c.times))
            .collect();
        let _ = writeln!(out, "    chose: {}", chose.join(", "));
    }
}

fn csat_line(out: &mut String, c: &Csat) {
    let dist = c
        .distribution
        .iter()
        .zip(1..)
        .map(|(n, r)| format!("{r}:{n}"))
        .collect::<Vec<_>>()
        .join(" ");
    let _ = writeln!(
        out,
        "  {:<16} mean {:>5} of 5, {:>6} answers, response rate {:>6}  [{dist}]",
        c.name,
        mean(c.mean),
        c.answers,
        pct(c.response_rate)
    );
}

/// The report as a terminal reads it.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let mut scope = String::new();
    if let Some(g) = &r.group {
        let _ = write!(scope, ", group {g}");
    }
    if let Some(k) = &r.kind {
        let _ = write!(scope, ", {k} groups");
    }
    if r.since == jiff::Timestamp::UNIX_EPOCH {
        let _ = writeln!(out, "Every call started before {}{scope}", day(r.until));
    } else {
        let _ = writeln!(
            out,
            "Calls started {} to {}{scope}",
            day(r.since),
            day(r.until)
        );
    }
    if let Some(from) = r.covers_from {
        let _ = writeln!(
            out,
            "Calls before {} were purged (retention): the figures cover {} on.",
            day(from),
            day(from)
        );
    }
    if r.is_empty() {
        let _ = writeln!(
            out,
            "\nNo calls in this period: every figure is zero. (Calls are counted once they end.)"
        );
        return out;
    }
    let _ = writeln!(out, "\nOutcomes");
    outcomes_block(&mut out, &r.overall);
    if r.in_progress > 0 {
        let _ = writeln!(out, "  in progress (not counted): {}", r.in_progress);
    }
    if !r.kinds.is_empty() {
        let _ = writeln!(out, "\nBy kind");
        for k in &r.kinds {
            outcomes_block(&mut out, k);
        }
    }
    if !r.groups.is_empty() {
        let _ = writeln!(out, "\nBy group");
        for g in &r.groups {
            outcomes_block(&mut out, g);
        }
    }
    if !r.queues.is_empty() {
        let _ = writeln!(out, "\nQueues");
        let _ = writeln!(
            out,
            "  {:<16} {:>8} {:>8} {:>9} {:>8} {:>6} {:>10} {:>9} {:>8}",
            "group",
            "entered",
            "answered",
            "abandoned",
            "timeout",
            "full",
            "abandon %",
            "avg answer",
            "SL"
        );
        for q in &r.queues {
            let _ = writeln!(
                out,
                "  {:<16} {:>8} {:>8} {:>9} {:>8} {:>6} {:>10} {:>9} {:>8}",
                q.group,
                q.entered,
                q.answered,
                q.abandoned,
                q.timed_out,
                q.full,
                pct(q.abandonment),
                secs(q.speed_of_answer_s),
                pct(q.service_level)
            );
            if q.abandoned > 0 {
                let _ = writeln!(
                    out,
                    "    callers who hung up waited {} on average",
                    secs(q.time_to_abandon_s)
                );
            }
            for m in &q.overflowed_to {
                let _ = writeln!(out, "    overflowed to {}: {}", m.to, m.calls);
            }
        }
        let thresholds: Vec<String> = r
            .queues
            .iter()
            .map(|q| format!("{} {} s", q.group, q.threshold_s))
            .collect();
        let _ = writeln!(
            out,
            "  SL: answered within the group's threshold ({}) of all answered or abandoned.",
            thresholds.join(", ")
        );
    }
    if !r.escalations.is_empty() {
        let _ = writeln!(out, "\nEscalations");
        for e in &r.escalations {
            let _ = writeln!(out, "  {} → {}: {}", e.from, e.to, e.calls);
        }
    }
    if r.resolution_overall.reached + r.resolution_overall.withheld > 0 {
        let _ = writeln!(
            out,
            "\nFirst-contact resolution (reached an agent, and not called again about the same group within {})",
            window(r.repeat_window_s)
        );
        let _ = writeln!(
            out,
            "  {:<24} {:>8} {:>8} {:>7} {:>12} {:>9}",
            "", "reached", "again", "FCR", "window open", "withheld"
        );
        resolution_line(&mut out, &r.resolution_overall);
        for x in r.resolution_by_kind.iter().chain(&r.resolution_by_group) {
            resolution_line(&mut out, x);
        }
        let _ = writeln!(
            out,
            "  window open: not called again yet, but their window is not over (counted as resolved for now); withheld: from withheld numbers, not counted."
        );
    }
    if r.containment.calls > 0 {
        let c = &r.containment;
        let _ = writeln!(
            out,
            "\nSelf-service\n  {} calls heard an answer: {} solved there ({}), {} went on to an agent",
            c.calls,
            c.contained,
            pct(c.rate),
            c.then_agent
        );
        let _ = writeln!(out, "\nSupport topics (most often not solved first)");
        for t in &r.topics {
            let failed = (t.heard > 0).then(|| t.then_agent as f64 / t.heard as f64);
            let _ = writeln!(
                out,
                "  {:<24} heard {:>7}, then an agent {:>7} ({})",
                t.topic,
                t.heard,
                t.then_agent,
                pct(failed)
            );
        }
    }
    let asked: Vec<&NodeFunnel> = r.funnel.iter().filter(|f| f.asked()).collect();
    if !asked.is_empty() {
        let _ = writeln!(
            out,
            "\nWhere callers stumble (per node, calls ended {}; most stumbles first)",
            if r.funnel_from == jiff::Timestamp::UNIX_EPOCH {
                "at any time".to_owned()
            } else {
                format!("since {}", day(r.funnel_from))
            }
        );
        let _ = writeln!(
            out,
            "  {:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "node", "reached", "timeout", "invalid", "gave up", "hung up", "per call"
        );
        for f in asked.iter().take(FUNNEL_LINES) {
            funnel_block(&mut out, f);
        }
        if asked.len() > FUNNEL_LINES {
            let _ = writeln!(
                out,
                "  … and {} more nodes (--format csv or json lists them all)",
                asked.len() - FUNNEL_LINES
            );
        }
        let _ = writeln!(
            out,
            "  per call: stumbles there (timeouts, invalid answers and hang-ups) per call that reached the node;\n  above 1, callers stumbled more than once each."
        );
    }
    if r.csat_overall.answers > 0 {
        let _ = writeln!(out, "\nCSAT");
        csat_line(&mut out, &r.csat_overall);
        for (title, rows) in [("kind", &r.csat_by_kind), ("group", &r.csat_by_group)] {
            if !rows.is_empty() {
                let _ = writeln!(out, "\nCSAT by {title}");
                for c in rows {
                    csat_line(&mut out, c);
                }
            }
        }
    }
    out
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.4}"))
}

/// The report as CSV: one table per section, a blank line between them.
pub fn csv(r: &Report) -> Result<String, csv::Error> {
    let mut tables: Vec<Vec<Vec<String>>> = Vec::new();
    let covers = r.covers_from.unwrap_or(r.since).to_string();
    tables.push(vec![
        vec![
            "section".into(),
            "since".into(),
            "until".into(),
            "covers_from".into(),
        ],
        vec![
            "period".into(),
            r.since.to_string(),
            r.until.to_string(),
            covers,
        ],
    ]);
    let mut outcomes = vec![vec![
        "section".into(),
        "scope".into(),
        "name".into(),
        "kind".into(),
        "outcome".into(),
        "calls".into(),
    ]];
    let rows = std::iter::once(("all", &r.overall))
        .chain(r.kinds.iter().map(|k| ("kind", k)))
        .chain(r.groups.iter().map(|g| ("group", g)));
    for (scope, o) in rows {
        for c in &o.outcomes {
            outcomes.push(vec![
                "outcomes".into(),
                scope.into(),
                o.name.clone(),
                o.kind.clone().unwrap_or_default(),
                c.outcome.into(),
                c.calls.to_string(),
            ]);
        }
    }
    tables.push(outcomes);
    let mut queues = vec![
        [
            "section",
            "group",
            "kind",
            "entered",
            "answered",
            "abandoned",
            "timed_out",
            "full",
            "errors",
            "abandonment",
            "speed_of_answer_s",
            "time_to_abandon_s",
            "service_level",
            "threshold_s",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for q in &r.queues {
        queues.push(vec![
            "queues".into(),
            q.group.clone(),
            q.kind.clone().unwrap_or_default(),
            q.entered.to_string(),
            q.answered.to_string(),
            q.abandoned.to_string(),
            q.timed_out.to_string(),
            q.full.to_string(),
            q.errors.to_string(),
            opt(q.abandonment),
            opt(q.speed_of_answer_s),
            opt(q.time_to_abandon_s),
            opt(q.service_level),
            q.threshold_s.to_string(),
        ]);
    }
    tables.push(queues);
    let mut moves = vec![
        ["section", "kind", "from", "to", "calls"]
            .map(String::from)
            .to_vec(),
    ];
    for q in &r.queues {
        for m in &q.overflowed_to {
            moves.push(vec![
                "moves".into(),
                "overflow".into(),
                m.from.clone(),
                m.to.clone(),
                m.calls.to_string(),
            ]);
        }
    }
    for m in &r.escalations {
        moves.push(vec![
            "moves".into(),
            "escalation".into(),
            m.from.clone(),
            m.to.clone(),
            m.calls.to_string(),
        ]);
    }
    tables.push(moves);
    let mut topics = vec![
        ["section", "topic", "heard", "then_agent"]
            .map(String::from)
            .to_vec(),
    ];
    let c = &r.containment;
    topics.push(vec![
        "self_service".into(),
        "(any answer)".into(),
        c.calls.to_string(),
        c.then_agent.to_string(),
    ]);
    for t in &r.topics {
        topics.push(vec![
            "self_service".into(),
            t.topic.clone(),
            t.heard.to_string(),
            t.then_agent.to_string(),
        ]);
    }
    tables.push(topics);
    let mut csat = vec![
        [
            "section",
            "scope",
            "name",
            "answers",
            "mean",
            "rated_1",
            "rated_2",
            "rated_3",
            "rated_4",
            "rated_5",
            "response_rate",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let rated = std::iter::once(("all", &r.csat_overall))
        .chain(r.csat_by_kind.iter().map(|c| ("kind", c)))
        .chain(r.csat_by_group.iter().map(|c| ("group", c)));
    for (scope, c) in rated {
        let mut row = vec![
            "csat".into(),
            scope.into(),
            c.name.clone(),
            c.answers.to_string(),
            opt(c.mean),
        ];
        row.extend(c.distribution.iter().map(|d| d.to_string()));
        row.push(opt(c.response_rate));
        csat.push(row);
    }
    tables.push(csat);
    let mut resolution = vec![
        [
            "section",
            "scope",
            "name",
            "kind",
            "window_s",
            "reached",
            "called_again",
            "first_contact_resolution",
            "window_open",
            "withheld",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let resolved = std::iter::once(("all", &r.resolution_overall))
        .chain(r.resolution_by_kind.iter().map(|x| ("kind", x)))
        .chain(r.resolution_by_group.iter().map(|x| ("group", x)));
    for (scope, x) in resolved {
        resolution.push(vec![
            "resolution".into(),
            scope.into(),
            x.name.clone(),
            x.kind.clone().unwrap_or_default(),
            r.repeat_window_s.to_string(),
            x.reached.to_string(),
            x.called_again.to_string(),
            opt(x.first_contact_resolution),
            x.window_open.to_string(),
            x.withheld.to_string(),
        ]);
    }
    tables.push(resolution);
    let mut funnel = vec![
        [
            "section",
            "node",
            "reached",
            "timeouts",
            "invalid",
            "gave_up",
            "hung_up",
            "stumbles_per_call",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut chose = vec![
        ["section", "node", "chose", "times"]
            .map(String::from)
            .to_vec(),
    ];
    for f in &r.funnel {
        funnel.push(vec![
            "funnel".into(),
            f.node.clone(),
            f.reached.to_string(),
            f.timeouts.to_string(),
            f.invalid.to_string(),
            f.gave_up.to_string(),
            f.hung_up.to_string(),
            opt(f.stumbles),
        ]);
        for c in &f.chose {
            chose.push(vec![
                "chose".into(),
                f.node.clone(),
                c.what.clone(),
                c.times.to_string(),
            ]);
        }
    }
    tables.push(funnel);
    tables.push(chose);
    let mut out = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in table {
            w.write_record(row)?;
        }
        out.extend(w.into_inner().map_err(|e| e.into_error())?);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Report, Scope};
    use crate::store::reports::ReportRows;

    fn s(v: &str) -> String {
        v.to_owned()
    }

    /// A day of a small center: billing (service) and support tiers.
    fn rows() -> ReportRows {
        let some = |v: &str| Some(s(v));
        ReportRows {
            classes: vec![
                (some("agent"), some("billing"), some("service"), 40),
                (some("queue-abandon"), some("billing"), some("service"), 6),
                (some("voicemail"), some("billing"), some("service"), 4),
                (some("agent"), some("support_tier1"), some("support"), 20),
                (some("self-service"), None, None, 15),
                (some("menu-hangup"), None, None, 9),
                (None, None, None, 3),
            ],
            waits: vec![
                (
                    s("billing"),
                    some("service"),
                    s("answered"),
                    40,
                    12 * 30 + 45 * 10,
                    30,
                    30,
                ),
                (
                    s("billing"),
                    some("service"),
                    s("abandoned"),
                    6,
                    80 * 6,
                    0,
                    30,
                ),
                (
                    s("billing"),
                    some("service"),
                    s("timeout"),
                    4,
                    600 * 4,
                    0,
                    30,
                ),
                (
                    s("support_tier1"),
                    some("support"),
                    s("answered"),
                    20,
                    5 * 20,
                    20,
                    20,
                ),
                (
                    s("support_tier2"),
                    some("support"),
                    s("answered"),
                    3,
                    30 * 3,
                    0,
                    20,
                ),
            ],
            moves: vec![
                (s("billing"), s("timeout"), s("general"), None, None, 4),
                (
                    s("support_tier1"),
                    s("answered"),
                    s("support_tier2"),
                    Some(1),
                    Some(2),
                    3,
                ),
            ],
            ratings: vec![
                (some("billing"), 5, 5, 10),
                (some("billing"), 2, 5, 2),
                (some("support_tier1"), 4, 5, 8),
                (None, 3, 5, 4),
            ],
            topics: vec![(s("hub setup"), 12, 2), (s("power and Wi-Fi"), 10, 6)],
            containment: (20, 5),
            repeats: vec![
                (s("billing"), some("service"), 40, 6, 2, 10),
                (s("support_tier1"), some("support"), 20, 5, 0, 4),
            ],
            funnel: [
                ("main.menu", "reached", 94),
                ("main.menu", "timeout", 12),
                ("main.menu", "invalid", 7),
                ("main.menu", "gave-up", 2),
                ("main.menu", "hung-up", 5),
                ("main.menu", "chose:press 1: billing", 50),
                ("main.menu", "chose:press 2: support", 25),
                ("main.menu", "chose:operator", 3),
                ("support.menu", "reached", 25),
                ("support.menu", "invalid", 9),
                ("support.menu", "hung-up", 4),
                ("support.menu", "chose:press 1 / say \"setup\"", 12),
                ("main.welcome", "reached", 97),
                ("billing.queue", "reached", 50),
                ("billing.queue", "hung-up", 6),
            ]
            .map(|(n, w, c)| (s(n), s(w), c))
            .to_vec(),
        }
    }

    fn scope() -> Scope {
        Scope {
            since: "2026-03-02T00:00:00Z".parse().expect("a time"),
            until: "2026-03-03T00:00:00Z".parse().expect("a time"),
            purged_before: Some("2026-01-01T00:00:00Z".parse().expect("a time")),
            ..Scope::new(
                "2026-03-02T00:00:00Z".parse().expect("a time"),
                "2026-03-03T00:00:00Z".parse().expect("a time"),
            )
        }
    }

    #[test]
    fn a_day_as_a_terminal_reads_it() {
        insta::assert_snapshot!(text(&Report::of(&rows(), &scope())));
    }

    #[test]
    fn a_day_as_csv_tables() {
        insta::assert_snapshot!(csv(&Report::of(&rows(), &scope())).expect("csv"));
    }

    #[test]
    fn figures_add_up_and_filters_keep_their_group() {
        let r = Report::of(&rows(), &scope());
        assert_eq!(r.overall.calls, 94);
        assert_eq!(r.in_progress, 3);
        assert_eq!(r.covers_from, None, "the purge was before the period");
        let billing = &r.queues[0];
        assert_eq!((billing.answered, billing.abandoned), (40, 6));
        assert_eq!(billing.service_level, Some(30.0 / 46.0));
        assert_eq!(
            billing.speed_of_answer_s,
            Some((12.0 * 30.0 + 45.0 * 10.0) / 40.0)
        );
        assert_eq!(r.escalations.len(), 1);
        assert_eq!(r.topics[0].topic, "power and Wi-Fi");
        assert_eq!(r.csat_by_group[0].response_rate, Some(12.0 / 40.0));
        let only = Report::of(
            &rows(),
            &Scope {
                group: Some(s("billing")),
                ..scope()
            },
        );
        assert_eq!(only.overall.calls, 50);
        assert_eq!(only.queues.len(), 1);
        assert!(only.topics.is_empty() && only.containment.calls == 0);
        assert!(only.escalations.is_empty());
        assert!(only.funnel.is_empty(), "nodes belong to no group");
        assert_eq!(only.resolution_overall.reached, 38);
        assert_eq!(only.resolution_by_group.len(), 1);
    }

    #[test]
    fn first_contact_resolution_leaves_out_withheld_numbers() {
        let r = Report::of(&rows(), &scope());
        let all = &r.resolution_overall;
        assert_eq!((all.reached, all.called_again, all.withheld), (58, 11, 2));
        assert_eq!(all.first_contact_resolution, Some(47.0 / 58.0));
        assert_eq!(all.window_open, 14);
        let kinds: Vec<&str> = r
            .resolution_by_kind
            .iter()
            .map(|x| x.name.as_str())
            .collect();
        assert_eq!(kinds, ["service", "support"]);
        assert_eq!(r.repeat_window_s, 7 * 86_400);
        assert_eq!(window(7 * 86_400), "7 days");
        assert_eq!(window(86_400), "1 day");
        assert_eq!(window(48 * 3600), "2 days");
        assert_eq!(window(36 * 3600), "36 hours");
        assert_eq!(window(5400), "1h 30m");
    }

    #[test]
    fn the_funnel_puts_the_nodes_callers_stumble_on_first() {
        let r = Report::of(&rows(), &scope());
        let order: Vec<&str> = r.funnel.iter().map(|f| f.node.as_str()).collect();
        assert_eq!(
            order,
            ["support.menu", "main.menu", "billing.queue", "main.welcome"]
        );
        let menu = &r.funnel[1];
        assert_eq!(
            (
                menu.reached,
                menu.timeouts,
                menu.invalid,
                menu.gave_up,
                menu.hung_up
            ),
            (94, 12, 7, 2, 5)
        );
        assert_eq!(menu.stumbles, Some(24.0 / 94.0));
        assert_eq!(menu.chose[0].what, "press 1: billing");
        assert_eq!(menu.chose[2].what, "operator");
        assert!(
            !r.funnel[3].asked(),
            "callers only pass through the welcome"
        );
        assert_eq!(r.funnel_from, scope().since);
    }
}
