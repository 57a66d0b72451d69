//! Compiling the definitions around the nodes: `[settings]`, `[schedules.*]`,
//! `[lists.*]`, `[groups.*]`, each flow's `[flow]` header and `[numbers]`.

use super::{Builder, DefKind, Settings};
use crate::diagnostic::{Code, Diagnostic};
use crate::flow::raw::RawSettings;
use crate::flow::spanned::Sp;
use crate::flow::{FlowSet, Named, RawFile};
use crate::program::{
    Fallback, Flow, FlowId, GlobalKeys, GroupId, Key, Lang, ListId, Prompt, ScheduleId,
};
use crate::routing::{self, DateRule, Endpoint, Exception, Group, GroupTarget, Holiday, Schedule};
use crate::source::{FileId, Span};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

impl<'a> Builder<'a> {
    /// The single `[settings]` table, checked, with defaults.
    pub(super) fn settings(&mut self) -> Settings {
        let mut found: Option<(FileId, &'a Sp<RawSettings>)> = None;
        for f in &self.set.files {
            if let Some(s) = &f.settings {
                match found {
                    Some((ff, first)) => self.duplicate(
                        "the settings table",
                        "[settings]",
                        Span::new(f.file, s.range()),
                        Span::new(ff, first.range()),
                    ),
                    None => found = Some((f.file, s)),
                }
            }
        }
        let en = Lang::parse("en-US").unwrap_or_else(|| unreachable!("en-US is a valid tag"));
        let mut out = Settings {
            languages: vec![en.clone()],
            default_language: en,
            voices: BTreeMap::new(),
            max_key_presses: 5,
            retention: None,
            announcements: routing::Announcements::default(),
        };
        let Some((file, s)) = found else { return out };
        let s = &s.value;
        if let Some(langs) = &s.languages {
            let mut parsed = Vec::new();
            for tag in langs {
                match Lang::parse(tag) {
                    Some(l) if parsed.contains(&l) => self.push(
                        Diagnostic::new(
                            Code::DuplicateDefinition,
                            format!("language `{l}` is listed twice"),
                        )
                        .labelled(Span::new(file, tag.range()), "listed again")
                        .hint("list each language once"),
                    ),
                    Some(l) => parsed.push(l),
                    None => self.push(super::values::not_a_language(file, tag)),
                }
            }
            if let Some(first) = parsed.first() {
                out.default_language = first.clone();
                out.languages = parsed;
            }
        }
        if let Some(tag) = &s.default_language {
            let declared = out.languages.clone();
            if let Some(l) = self.declared_lang(file, tag, &declared) {
                out.default_language = l;
            }
        }
        if let Some(voices) = &s.voices {
            for (tag, voice) in voices {
                let declared = out.languages.clone();
                if let Some(l) = self.declared_lang(file, tag, &declared) {
                    out.voices.insert(l, voice.value.clone());
                }
            }
        }
        out.max_key_presses = self.bounded(
            file,
            s.max_key_presses.as_ref(),
            5,
            1,
            20,
            "`max_key_presses`",
        );
        if let Some(r) = &s.retention {
            out.retention = self.retention(file, r);
        }
        out.announcements = self.announcements(
            file,
            [&s.position_prompt, &s.wait_prompt, &s.short_wait_prompt],
            "`[settings]`",
            &out,
        );
        out
    }

    /// The queue announcements of `[settings]` or of a group (`whose`), checked.
    fn announcements(
        &mut self,
        file: FileId,
        [position, wait, short]: [&Option<Sp<crate::flow::prompt::RawPrompt>>; 3],
        whose: &str,
        settings: &Settings,
    ) -> routing::Announcements {
        let set: &FlowSet = self.set;
        let cx = super::prompts::PromptCx {
            file,
            languages: &settings.languages,
            default_language: &settings.default_language,
            recordings: &set.recordings,
        };
        let mut d = Vec::new();
        let mut one = |raw: &Option<Sp<crate::flow::prompt::RawPrompt>>,
                       name: &str,
                       allowed: &[&str]| {
            raw.as_ref()
                .and_then(|r| cx.announcement(r, &format!("`{name}` of {whose}"), allowed, &mut d))
        };
        let out = routing::Announcements {
            position: one(position, "position_prompt", &["position", "ahead"]),
            wait: one(wait, "wait_prompt", &["minutes", "position", "ahead"]),
            short_wait: one(short, "short_wait_prompt", &["position", "ahead"]),
        };
        self.diags.extend(d);
        out
    }

    /// `[settings] retention`: a duration of at least a day.
    fn retention(&mut self, file: FileId, r: &Sp<String>) -> Option<Duration> {
        match crate::privacy::retention(&r.value) {
            Ok(d) => Some(d),
            Err(why) => {
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("`retention = \"{}\"` {why}", r.value),
                    )
                    .labelled(Span::new(file, r.range()), "not a retention period")
                    .hint("write how long calls are kept, at least a day: \"90d\", \"26weeks\", \"1y\""),
                );
                None
            }
        }
    }

    /// Assign ids to groups, schedules and lists; report duplicates.
    pub(super) fn collect_definitions(&mut self) {
        fn collect<'b, T, I: Copy>(
            b: &mut Builder<'b>,
            what: &str,
            items: Vec<(FileId, &Named<T>)>,
            make: fn(u32) -> I,
            table: for<'x> fn(&'x mut Builder<'b>) -> &'x mut HashMap<String, I>,
        ) {
            let mut first: HashMap<String, Span> = HashMap::new();
            for (file, n) in items {
                let span = Span::new(file, n.name.range());
                if let Some(f) = first.get(n.name.as_str()) {
                    b.duplicate(what, &n.name, span, *f);
                    continue;
                }
                first.insert(n.name.value.clone(), span);
                let id = make(table(b).len() as u32);
                table(b).insert(n.name.value.clone(), id);
            }
        }
        let files: &'a [RawFile] = &self.set.files;
        let groups = files
            .iter()
            .flat_map(|f| f.groups.iter().map(move |g| (f.file, g)))
            .collect();
        collect(self, "group", groups, GroupId, |b| &mut b.group_ids);
        let schedules = files
            .iter()
            .flat_map(|f| f.schedules.iter().map(move |g| (f.file, g)))
            .collect();
        collect(self, "schedule", schedules, ScheduleId, |b| {
            &mut b.schedule_ids
        });
        let lists = files
            .iter()
            .flat_map(|f| f.lists.iter().map(move |g| (f.file, g)))
            .collect();
        collect(self, "caller list", lists, ListId, |b| &mut b.list_ids);
    }

    /// Compile every schedule, in id order.
    pub(super) fn schedules(&mut self) -> Vec<Schedule> {
        let defs = self.definitions(DefKind::Schedule, |f| &f.schedules);
        defs.into_iter()
            .map(|(file, n)| self.schedule(file, n))
            .collect()
    }

    fn schedule(&mut self, file: FileId, n: &Named<crate::flow::raw::RawSchedule>) -> Schedule {
        let s = &n.value;
        let sp = |r| Span::new(file, r);
        let tz = match routing::time_zone(s.timezone.trim()) {
            Ok(tz) => tz,
            Err(e) => {
                self.push(
                    Diagnostic::new(Code::InvalidValue, e)
                        .labelled(sp(s.timezone.range()), "unknown time zone")
                        .hint("use a name from the IANA time zone database (the `TZ identifier` column)"),
                );
                jiff::tz::TimeZone::UTC
            }
        };
        let mut weekly: [routing::Ranges; 7] = Default::default();
        let mut set_by: [Option<std::ops::Range<usize>>; 7] = Default::default();
        for (days, hours) in s.weekly.value.iter() {
            let ranges = match routing::parse_ranges(hours) {
                Ok(r) => r,
                Err(e) => {
                    self.push(
                        Diagnostic::new(Code::InvalidValue, e)
                            .labelled(sp(hours.range()), "invalid hours")
                            .hint("hours look like \"08:00-20:00\", \"09:00-12:00, 13:00-17:00\" or \"closed\""),
                    );
                    continue;
                }
            };
            match routing::parse_days(days) {
                Ok(ds) => {
                    for d in ds {
                        if let Some(prev) = &set_by[d] {
                            let prev = prev.clone();
                            self.push(
                                Diagnostic::new(
                                    Code::DuplicateDefinition,
                                    format!("schedule `{}` gives hours for {} twice", n.name.value, ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][d]),
                                )
                                .labelled(sp(days.range()), "second time")
                                .note(sp(prev), "first here")
                                .hint("give each day once; use several ranges in one value for split shifts"),
                            );
                            continue;
                        }
                        set_by[d] = Some(days.range());
                        weekly[d] = ranges.clone();
                    }
                }
                Err(e) => self.push(
                    Diagnostic::new(Code::InvalidValue, e)
                        .labelled(sp(days.range()), "invalid days")
                        .hint("days look like \"mon\", \"mon-fri\" or \"sat,sun\""),
                ),
            }
        }
        let date = |b: &mut Self, raw: &Sp<String>| match DateRule::parse(raw.trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                b.push(
                    Diagnostic::new(Code::InvalidValue, e)
                        .labelled(sp(raw.range()), "invalid date")
                        .hint("dates are strings: \"2026-12-25\" for one day, \"12-25\" for every year"),
                );
                None
            }
        };
        let mut holidays = Vec::new();
        for h in &s.holidays {
            let Some(from) = date(self, &h.date) else {
                continue;
            };
            let until = match &h.until {
                Some(u) => match date(self, u) {
                    Some(u) => u,
                    None => continue,
                },
                None => from,
            };
            let mixed = matches!(
                (from, until),
                (DateRule::Once(_), DateRule::Yearly(..))
                    | (DateRule::Yearly(..), DateRule::Once(_))
            );
            let backwards =
                matches!((from, until), (DateRule::Once(a), DateRule::Once(b)) if b < a);
            if mixed || backwards {
                let u = h.until.as_ref().map_or(h.date.range(), |u| u.range());
                self.push(
                    Diagnostic::new(Code::InvalidValue, "`until` must be the same kind of date as `date` and not before it")
                        .labelled(sp(u), "invalid end date")
                        .hint("write both as \"YYYY-MM-DD\" or both as \"MM-DD\" (a yearly range may wrap the new year)"),
                );
                continue;
            }
            holidays.push(Holiday {
                from,
                until,
                name: h.value.name.clone(),
            });
        }
        let mut exceptions = Vec::new();
        for e in &s.exceptions {
            let Some(d) = date(self, &e.date) else {
                continue;
            };
            match routing::parse_ranges(&e.hours) {
                Ok(ranges) => exceptions.push(Exception {
                    date: d,
                    ranges,
                    name: e.value.name.clone(),
                }),
                Err(msg) => self.push(
                    Diagnostic::new(Code::InvalidValue, msg)
                        .labelled(sp(e.hours.range()), "invalid hours")
                        .hint("hours look like \"08:00-13:00\" or \"closed\""),
                ),
            }
        }
        Schedule {
            name: n.name.value.clone(),
            tz,
            tz_name: s.timezone.value.trim().to_owned(),
            weekly,
            holidays,
            exceptions,
        }
    }

    /// Compile every caller list.
    pub(super) fn lists(&mut self) -> Vec<(String, Vec<String>)> {
        let defs = self.definitions(DefKind::List, |f| &f.lists);
        let mut out = Vec::with_capacity(defs.len());
        for (file, n) in defs {
            let mut numbers = Vec::new();
            for num in &n.value.numbers {
                if self.e164(file, num, "caller list entries") {
                    numbers.push(num.value.clone());
                }
            }
            numbers.sort();
            numbers.dedup();
            out.push((n.name.value.clone(), numbers));
        }
        out
    }

    /// Compile every group (schedules must be compiled first).
    pub(super) fn groups(&mut self, settings: &Settings) -> Vec<Group> {
        let defs = self.definitions(DefKind::Group, |f| &f.groups);
        let mut out = Vec::with_capacity(defs.len());
        let mut overflow_refs = Vec::new();
        for (i, (file, n)) in defs.into_iter().enumerate() {
            {
                let id = GroupId(i as u32);
                let g = &n.value;
                let sp = |r| Span::new(file, r);
                let target = match (&g.queue, &g.agents) {
                    (Some(q), Some(a)) => {
                        self.push(
                            Diagnostic::new(Code::InvalidValue, format!("group `{}` has both `queue` and `agents`", n.name.value))
                                .labelled(sp(q.range()), "queue here")
                                .note(sp(a.first().map_or(q.range(), |x| x.range())), "agents here")
                                .hint("a group reaches agents one way: a provider `queue`, or `agents` to dial"),
                        );
                        GroupTarget::Queue(q.value.clone())
                    }
                    (Some(q), None) if q.trim().is_empty() => {
                        self.push(
                            Diagnostic::new(Code::InvalidValue, "the queue name is empty")
                                .labelled(sp(q.range()), "empty")
                                .hint("leave `queue` out to use the group's name"),
                        );
                        GroupTarget::Queue(n.name.value.clone())
                    }
                    (Some(q), None) => GroupTarget::Queue(q.value.clone()),
                    (None, Some(agents)) => {
                        let mut eps = Vec::new();
                        for a in agents {
                            match Endpoint::parse(a) {
                                Ok(e) => eps.push(e),
                                Err(e) => self.push(
                                    Diagnostic::new(Code::InvalidValue, e)
                                        .labelled(sp(a.range()), "invalid agent endpoint")
                                        .hint("agents are E.164 numbers or SIP URIs"),
                                ),
                            }
                        }
                        if agents.is_empty() {
                            self.push(
                                Diagnostic::new(
                                    Code::InvalidValue,
                                    format!("group `{}` lists no agents", n.name.value),
                                )
                                .labelled(sp(n.name.range()), "no agents")
                                .hint(
                                    "list at least one number or SIP URI, or use `queue` instead",
                                ),
                            );
                        }
                        GroupTarget::Agents(eps)
                    }
                    (None, None) => GroupTarget::Queue(n.name.value.clone()),
                };
                let schedule = g
                    .schedule
                    .as_ref()
                    .and_then(|s| self.def_ref::<ScheduleId>(DefKind::Schedule, file, s));
                let max_wait = g.max_wait.as_ref().and_then(|w| {
                    self.duration_opt(file, w, Duration::from_secs(10), 240 * MINUTE)
                });
                if let (Some(o), None) = (&g.overflow, &g.max_wait) {
                    self.push(
                        Diagnostic::new(
                            Code::MissingField,
                            format!("group `{}` overflows after `max_wait`, but has none", n.name.value),
                        )
                        .labelled(Span::new(file, o.range()), "overflow without max_wait")
                        .hint("add `max_wait = \"5m\"` (how long callers wait before they go to the overflow group)"),
                    );
                }
                let service_level = self.duration(
                    file,
                    g.service_level.as_ref(),
                    Duration::from_secs(u64::from(crate::report::figures::SERVICE_LEVEL_SECS)),
                    Duration::from_secs(1),
                    60 * MINUTE,
                );
                let announce_every = self.duration(
                    file,
                    g.announce_every.as_ref(),
                    MINUTE,
                    Duration::from_secs(15),
                    30 * MINUTE,
                );
                let max_queue = g
                    .max_queue
                    .as_ref()
                    .and_then(|m| self.number_opt(file, m, 1, 10_000, "`max_queue`"));
                let tier = g
                    .tier
                    .as_ref()
                    .and_then(|t| self.number_opt(file, t, 1, 9, "`tier`"));
                let hold_music = g.hold_music.as_ref().and_then(|h| {
                    let cx = self.prompts(file, &settings.languages, settings);
                    let mut d = Vec::new();
                    let r = cx.audio_file(
                        h,
                        &format!("hold music of group `{}`", n.name.value),
                        &mut d,
                    );
                    for x in &mut d {
                        // Missing hold music is dead air: always an error.
                        x.severity = crate::diagnostic::Severity::Error;
                    }
                    self.diags.extend(d);
                    r
                });
                let mut languages = Vec::new();
                for l in g.languages.iter().flatten() {
                    let declared = settings.languages.clone();
                    languages.extend(self.declared_lang(file, l, &declared));
                }
                if let Some(o) = &g.overflow {
                    overflow_refs.push((id, file, o.clone()));
                }
                let own = self.announcements(
                    file,
                    [&g.position_prompt, &g.wait_prompt, &g.short_wait_prompt],
                    &format!("group `{}`", n.name.value),
                    settings,
                );
                let announcements = routing::Announcements {
                    position: own
                        .position
                        .or_else(|| settings.announcements.position.clone()),
                    wait: own.wait.or_else(|| settings.announcements.wait.clone()),
                    short_wait: own
                        .short_wait
                        .or_else(|| settings.announcements.short_wait.clone()),
                };
                if let Some(a) = &g.announce_position
                    && a.value
                    && announcements.position.is_none()
                {
                    self.push(
                        Diagnostic::new(
                            Code::MissingField,
                            format!(
                                "group `{}` announces callers' places in line, but no sentence says it",
                                n.name.value
                            ),
                        )
                        .labelled(Span::new(file, a.range()), "nothing to announce")
                        .hint("declare `position_prompt = { en-US = \"You are number {position} in line.\" }` in `[settings]` (for every group) or in this group"),
                    );
                }
                let announce_position = match &g.announce_position {
                    Some(a) => a.value,
                    None => announcements.position.is_some(),
                };
                out.push(Group {
                    name: n.name.value.clone(),
                    display_name: g.name.clone().unwrap_or_else(|| n.name.value.clone()),
                    kind: g.kind.value,
                    tier,
                    target,
                    schedule,
                    max_wait,
                    service_level,
                    max_queue,
                    hold_music,
                    announce_position,
                    announcements,
                    announce_every,
                    overflow: None,
                    languages,
                });
            }
        }
        for (id, file, o) in overflow_refs {
            let target = self.def_ref::<GroupId>(DefKind::Group, file, &o);
            if let Some(g) = out.get_mut(id.index()) {
                g.overflow = target;
            }
        }
        out
    }

    /// Each flow's header: languages, start node, global keys.
    pub(super) fn flows(&mut self, settings: &Settings) -> Vec<Flow> {
        let mut out = Vec::new();
        for i in 0..self.flow_srcs.len() {
            let id = FlowId(i as u32);
            let file = self.flow_srcs[i].file;
            let Some(header) = &file.flow else { continue };
            let h = &header.value;
            let languages = match &h.languages {
                Some(tags) => {
                    let mut v = Vec::new();
                    for t in tags {
                        v.extend(self.declared_lang(file.file, t, &settings.languages));
                    }
                    if v.is_empty() {
                        settings.languages.clone()
                    } else {
                        v
                    }
                }
                None => settings.languages.clone(),
            };
            let start = self.target(id, file.file, &h.start);
            let operator = h.operator.as_ref().map(|t| self.target(id, file.file, t));
            let keys = self.keys(file.file, header, operator);
            out.push(Flow {
                name: self.flow_srcs[i].name.clone(),
                description: h.description.clone(),
                start,
                languages,
                keys,
                entry: false,
                span: Span::new(file.file, header.range()),
            });
        }
        out
    }

    fn keys(
        &mut self,
        file: FileId,
        header: &Sp<crate::flow::raw::RawFlowHeader>,
        operator: Option<petgraph::graph::NodeIndex>,
    ) -> GlobalKeys {
        let raw = header.keys.as_ref();
        let parse = |b: &mut Self,
                     k: Option<&Sp<String>>,
                     default: Option<&str>|
         -> Option<(Key, Option<std::ops::Range<usize>>)> {
            match k {
                Some(k) => {
                    match Key::parse(k) {
                        Some(key) => Some((key, Some(k.range()))),
                        None => {
                            b.push(
                            Diagnostic::new(Code::InvalidKey, format!("`{}` is not a phone key", k.value))
                                .labelled(Span::new(file, k.range()), "not a key")
                                .hint("global keys are single phone keys: \"0\"…\"9\", \"*\" or \"#\""),
                        );
                            None
                        }
                    }
                }
                None => default.and_then(Key::parse).map(|k| (k, None)),
            }
        };
        let op = parse(
            self,
            raw.and_then(|r| r.operator.as_ref()),
            operator.map(|_| "0"),
        );
        let repeat = parse(self, raw.and_then(|r| r.repeat.as_ref()), Some("*"));
        let back = parse(self, raw.and_then(|r| r.back.as_ref()), None);
        let top = parse(self, raw.and_then(|r| r.top.as_ref()), None);
        if let (Some((_, Some(r))), None) = (&op, operator) {
            self.push(
                Diagnostic::new(Code::MissingField, "an operator key is set but the flow has no `operator` node")
                    .labelled(Span::new(file, r.clone()), "operator key")
                    .hint("add `operator = \"<queue node>\"` to [flow], naming the node a caller reaches with this key"),
            );
        }
        let named = [
            ("operator", &op),
            ("repeat", &repeat),
            ("back", &back),
            ("top", &top),
        ];
        for (i, (a, ka)) in named.iter().enumerate() {
            for (b, kb) in &named[i + 1..] {
                if let (Some((x, rx)), Some((y, ry))) = (ka, kb)
                    && x == y
                {
                    let at = ry.clone().or(rx.clone()).unwrap_or(header.range());
                    self.push(
                            Diagnostic::new(Code::DuplicateOption, format!("the {a} and {b} keys are both `{x}`"))
                                .labelled(Span::new(file, at), "same key twice")
                                .hint("give each global key its own key (defaults: operator \"0\", repeat \"*\")"),
                        );
                }
            }
        }
        GlobalKeys {
            operator: op.and_then(|(k, _)| operator.map(|t| (k, t))),
            repeat: repeat.map(|k| k.0),
            back: back.map(|k| k.0),
            top: top.map(|k| k.0),
        }
    }

    /// `[numbers]`, `default_flow` and `fallback`.
    pub(super) fn routing(
        &mut self,
        settings: &Settings,
    ) -> (
        BTreeMap<String, FlowId>,
        Option<FlowId>,
        Fallback,
        Vec<crate::provider::capability::Target>,
    ) {
        use crate::provider::capability::{Kind, Target};
        let mut numbers = BTreeMap::new();
        let mut targets = Vec::new();
        let mut first: HashMap<String, Span> = HashMap::new();
        let files: &'a [RawFile] = &self.set.files;
        for f in files {
            for (num, flow, provider) in &f.numbers {
                let span = Span::new(f.file, num.range());
                if !self.e164(f.file, num, "numbers") {
                    continue;
                }
                if let Some(prev) = first.get(num.as_str()) {
                    self.duplicate("number", num, span, *prev);
                    continue;
                }
                first.insert(num.value.clone(), span);
                let carrier = provider.as_ref().and_then(|pr| match Kind::parse(pr) {
                    Some(k) => Some((k, Span::new(f.file, pr.range()))),
                    None => {
                        let names = Kind::ALL.map(Kind::name);
                        self.push(
                            Diagnostic::new(
                                Code::UnknownReference,
                                format!("number `{}` names the provider `{}`, which Switchboard does not know", num.value, pr.value),
                            )
                            .labelled(Span::new(f.file, pr.range()), "unknown provider")
                            .hint(crate::diagnostic::did_you_mean(&pr.value, names).unwrap_or_else(|| {
                                format!("providers: {}", names.join(", "))
                            })),
                        );
                        None
                    }
                });
                if let Some(id) = self.flow_ref(f.file, flow) {
                    numbers.insert(num.value.clone(), id);
                    if let Some((provider, span)) = carrier {
                        targets.push(Target {
                            flow: id,
                            provider,
                            why: format!("number {}", num.value),
                            span: Some(span),
                        });
                    }
                }
            }
        }
        let settings_src = files
            .iter()
            .find_map(|f| f.settings.as_ref().map(|s| (f.file, s)));
        let default = match settings_src
            .and_then(|(file, s)| s.default_flow.as_ref().map(|d| (file, d)))
        {
            Some((file, d)) => self.flow_ref(file, d),
            None if self.flow_srcs.len() == 1 => Some(FlowId(0)),
            None => {
                if self.flow_srcs.len() > 1 {
                    let names: Vec<_> = self.flow_srcs.iter().map(|f| f.name.as_str()).collect();
                    self.push(
                        Diagnostic::new(
                            Code::NoDefaultFlow,
                            "several flows and no `default_flow` for calls to unmapped numbers",
                        )
                        .hint(format!(
                            "add `default_flow = \"{}\"` to [settings] (flows: {})",
                            names[0],
                            names.join(", ")
                        )),
                    );
                }
                None
            }
        };
        let mut fallback = Fallback {
            group: None,
            message: Prompt::default(),
        };
        if let Some((file, s)) = settings_src
            && let Some(fb) = &s.fallback
        {
            fallback.group = fb
                .group
                .as_ref()
                .and_then(|g| self.def_ref::<GroupId>(DefKind::Group, file, g));
            if let Some(m) = &fb.message {
                let cx = self.prompts(file, &settings.languages, settings);
                let mut d = Vec::new();
                fallback.message = cx.prompt(m, "the fallback message", &mut d).prompt;
                self.diags.extend(d);
            }
        }
        if fallback.message.text.is_empty()
            && fallback.message.audio.is_empty()
            && fallback.message.audio_default.is_none()
        {
            let text = if fallback.group.is_some() {
                "We're sorry, something went wrong. Please hold while we connect you to an agent."
            } else {
                "We're sorry, something went wrong. Please call again later. Goodbye."
            };
            fallback
                .message
                .text
                .insert(settings.default_language.clone(), text.to_owned());
        }
        (numbers, default, fallback, targets)
    }

    pub(super) fn flow_ref(&mut self, file: FileId, name: &Sp<String>) -> Option<FlowId> {
        if let Some(&id) = self.flow_ids.get(name.as_str()) {
            return Some(id);
        }
        if !self
            .set
            .files
            .iter()
            .any(|f| f.unparsed && f.name == name.value)
        {
            let d = self.unknown_flow(file, name, name.range());
            self.push(d);
        }
        None
    }
}
