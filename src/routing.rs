//! Agent groups, dial endpoints and opening-hours schedules.
//!
//! Owns the compiled shapes of `[groups.*]` and `[schedules.*]`, the parsing of
//! their small value languages (`"mon-fri"`, `"08:00-20:00"`, `"12-25"`), and
//! the one question the engine asks of a schedule: open, closed or holiday at
//! a given instant, in the schedule's own time zone. Pure: the instant is
//! passed in, never read from a clock. Knows nothing of providers.
//!
//! Also owns [`Closures`]: the groups an admin has closed by hand until a
//! time (`switchboard close`, the admin page), which the engine treats like
//! closing hours. They live in the store, not in flow files, and reach the
//! engine with each step.

pub use crate::flow::raw::GroupKind;
use crate::program::{Lang, ScheduleId};
use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Somewhere a call can be dialled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// An E.164 number, `+` and 7–15 digits.
    Number(String),
    /// A SIP URI (`sip:` or `sips:`).
    Sip(String),
}

impl Endpoint {
    /// Parse an E.164 number or a SIP URI.
    pub fn parse(s: &str) -> Result<Endpoint, String> {
        if let Some(digits) = s.strip_prefix('+') {
            if (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
                return Ok(Endpoint::Number(s.to_owned()));
            }
            return Err(format!(
                "`{s}` is not an E.164 number (`+` then 7 to 15 digits, no spaces)"
            ));
        }
        let rest = s.strip_prefix("sip:").or_else(|| s.strip_prefix("sips:"));
        match rest {
            Some(r)
                if !r.is_empty()
                    && !r.contains(char::is_whitespace)
                    && !r.starts_with('@')
                    && !r.ends_with('@') =>
            {
                Ok(Endpoint::Sip(s.to_owned()))
            }
            _ => Err(format!(
                "`{s}` is neither an E.164 number (`+15551234567`) nor a SIP URI (`sip:desk@pbx.example.com`)"
            )),
        }
    }

    /// The number or URI as written.
    pub fn as_str(&self) -> &str {
        match self {
            Endpoint::Number(s) | Endpoint::Sip(s) => s,
        }
    }
}

/// Check an E.164 number (caller lists, number mappings, caller IDs).
pub fn is_e164(s: &str) -> bool {
    matches!(Endpoint::parse(s), Ok(Endpoint::Number(_)))
}

/// How a group reaches its agents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupTarget {
    /// A provider-side queue with this name (TwiML `<Enqueue>`).
    Queue(String),
    /// Dial these endpoints at once (TwiML `<Dial>` with several nouns).
    Agents(Vec<Endpoint>),
}

/// A compiled agent group.
#[derive(Clone, Debug)]
pub struct Group {
    /// Name (the key in `[groups.<name>]`).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Customer service or customer support.
    pub kind: GroupKind,
    /// Support tier.
    pub tier: Option<u32>,
    /// How agents are reached.
    pub target: GroupTarget,
    /// Opening hours.
    pub schedule: Option<ScheduleId>,
    /// Longest wait before overflow / no answer.
    pub max_wait: Option<Duration>,
    /// Answered within this counts toward the group's service level.
    pub service_level: Duration,
    /// Most waiting callers.
    pub max_queue: Option<u32>,
    /// Hold music file, relative to the recordings folder.
    pub hold_music: Option<String>,
    /// Announce position and expected wait.
    pub announce_position: bool,
    /// The sentences announced (the group's own, else `[settings]`').
    pub announcements: Announcements,
    /// How often.
    pub announce_every: Duration,
    /// Group that takes callers after `max_wait`.
    pub overflow: Option<crate::program::GroupId>,
    /// Languages the agents speak (empty: any).
    pub languages: Vec<Lang>,
}

/// What callers waiting in a queue are told ([`crate::engine::hold`]):
/// text per language with `{position}`, `{ahead}` and `{minutes}` filled in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Announcements {
    /// Their place in line.
    pub position: Option<crate::program::Prompt>,
    /// The expected wait, in minutes.
    pub wait: Option<crate::program::Prompt>,
    /// The expected wait when it is a minute or less.
    pub short_wait: Option<crate::program::Prompt>,
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupKind::Service => "service",
            GroupKind::Support => "support",
        })
    }
}

/// A group an admin closed by hand, without editing flows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Closure {
    /// The group's name.
    pub group: String,
    /// Closed until then (calls after it route normally again).
    pub until: Timestamp,
    /// What callers hear before the closed route, by language (empty: no
    /// message). A caller whose language has none hears the default
    /// language's, else any.
    pub message: BTreeMap<Lang, String>,
    /// When the admin closed it.
    pub closed_at: Timestamp,
}

/// The groups closed by an admin, by group name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Closures(BTreeMap<String, Closure>);

/// No group closed.
pub static NO_CLOSURES: Closures = Closures(BTreeMap::new());

impl Closures {
    /// These closures (a later one for the same group replaces an earlier).
    pub fn new(list: impl IntoIterator<Item = Closure>) -> Closures {
        Closures(list.into_iter().map(|c| (c.group.clone(), c)).collect())
    }

    /// The closure keeping `group` closed at `now`, if any (one whose
    /// `until` has passed no longer counts).
    pub fn closing(&self, group: &str, now: Timestamp) -> Option<&Closure> {
        self.0.get(group).filter(|c| c.until > now)
    }

    /// Every closure, by group name.
    pub fn iter(&self) -> impl Iterator<Item = &Closure> {
        self.0.values()
    }

    /// No closure at all?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// When a closure ends, as an admin writes it: a time with its offset
/// (`2026-12-24T09:00:00-05:00`), a zoned time
/// (`2026-12-24T09:00[America/New_York]`), a date (UTC midnight), or a span
/// from `now` (`2h`, `1d 4h`).
pub fn parse_until(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    let t = s.trim();
    if let Ok(at) = t.parse::<Timestamp>() {
        return Ok(at);
    }
    if let Ok(z) = t.parse::<jiff::ZonedDateTime>() {
        return Ok(z.timestamp());
    }
    if let Ok(d) = t.parse::<Date>() {
        return TimeZone::UTC
            .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .map_err(|e| format!("`{s}`: {e}"));
    }
    match humantime::parse_duration(t) {
        Ok(d) => jiff::SignedDuration::try_from(d)
            .ok()
            .and_then(|d| now.checked_add(d).ok())
            .ok_or_else(|| format!("`{s}` is too far ahead")),
        Err(_) => Err(format!(
            "`{s}` is not a time: give one like 2026-12-24T09:00:00-05:00, 2026-12-24T09:00[America/New_York], 2026-12-24 or 2h (from now)"
        )),
    }
}

/// Which part of a closure an admin got wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClosureField {
    /// The group's name.
    Group,
    /// When it opens again.
    Until,
    /// The message in one language (`None`: a language the flows do not
    /// speak, or the message without one).
    Message(Option<Lang>),
}

/// Everything wrong with a closure an admin asked for, field by field, so a
/// form can show each beside its field; shown whole, one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosureProblems(pub Vec<(ClosureField, String)>);

impl ClosureProblems {
    /// The problem with `field`, if any.
    pub fn of(&self, field: &ClosureField) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

impl std::fmt::Display for ClosureProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (_, m)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(m)?;
        }
        Ok(())
    }
}

impl std::error::Error for ClosureProblems {}

/// A closure an admin asked for, checked against the flows serving calls:
/// the group exists, the time is ahead, each message is `LANG=TEXT` in one
/// of the flows' languages or plain `TEXT` in the default one. Also returns
/// the flows' languages left without a message when some have one (their
/// callers hear the default language's). Every problem is found, not only
/// the first, each saying what to fix; `until` is what the admin typed, or
/// the reason it could not be read.
pub fn closure(
    program: &crate::program::Program,
    group: &str,
    until: Result<Timestamp, String>,
    messages: &[String],
    now: Timestamp,
) -> Result<(Closure, Vec<Lang>), ClosureProblems> {
    let mut problems = Vec::new();
    if program.group_by_name(group).is_none() {
        let names: Vec<&str> = program.groups.iter().map(|g| g.name.as_str()).collect();
        let hint = crate::diagnostic::did_you_mean(group, names.iter().copied())
            .map(|h| format!(" {h}"))
            .unwrap_or_default();
        problems.push((
            ClosureField::Group,
            format!(
                "the flows have no group `{group}`:{hint} (groups: {})",
                names.join(", ")
            ),
        ));
    }
    match &until {
        Err(e) => problems.push((ClosureField::Until, e.clone())),
        Ok(until) if *until <= now => problems.push((
            ClosureField::Until,
            format!(
                "{} is not in the future: give the time the group opens again, e.g. `2h` (from now) or 2026-12-24T09:00:00-05:00",
                until.strftime("%Y-%m-%d %H:%M:%S UTC")
            ),
        )),
        Ok(_) => {}
    }
    let languages = if program.languages.is_empty() {
        std::slice::from_ref(&program.default_language)
    } else {
        &program.languages[..]
    };
    let mut message = BTreeMap::new();
    for m in messages {
        let tagged = m
            .split_once('=')
            .and_then(|(tag, text)| Lang::parse(tag.trim()).map(|l| (l, text)));
        let (lang, text) = match tagged {
            Some((lang, text)) => {
                if !languages.contains(&lang) {
                    let spoken: Vec<&str> = languages.iter().map(Lang::as_str).collect();
                    problems.push((
                        ClosureField::Message(None),
                        format!(
                            "the flows do not speak {lang}: give the message in one of {} (LANG=TEXT), or without a language for {}",
                            spoken.join(", "),
                            program.default_language
                        ),
                    ));
                    continue;
                }
                (lang, text.trim())
            }
            None => (program.default_language.clone(), m.trim()),
        };
        if text.is_empty() {
            problems.push((
                ClosureField::Message(Some(lang.clone())),
                format!("the message for {lang} is empty: leave it out, or say something"),
            ));
        } else if message.insert(lang.clone(), text.to_owned()).is_some() {
            problems.push((
                ClosureField::Message(Some(lang.clone())),
                format!(
                    "two messages for {lang}: give one per language (a message without LANG= is {})",
                    program.default_language
                ),
            ));
        }
    }
    let until = match until {
        Ok(until) if problems.is_empty() => until,
        _ => return Err(ClosureProblems(problems)),
    };
    let missing = if message.is_empty() {
        Vec::new()
    } else {
        languages
            .iter()
            .filter(|l| !message.contains_key(*l))
            .cloned()
            .collect()
    };
    Ok((
        Closure {
            group: group.to_owned(),
            until,
            message,
            closed_at: now,
        },
        missing,
    ))
}

/// Minutes since midnight, `0..=1440`.
pub type Minute = u16;

/// Opening ranges `[start, end)` in minutes since local midnight.
pub type Ranges = Vec<(Minute, Minute)>;

/// A date that recurs every year or happens once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateRule {
    /// One calendar date.
    Once(Date),
    /// Month and day, every year.
    Yearly(i8, i8),
}

impl DateRule {
    /// Parse `"YYYY-MM-DD"` or `"MM-DD"`.
    pub fn parse(s: &str) -> Result<DateRule, String> {
        if s.len() == 5 {
            let (m, d) = s.split_once('-').ok_or_else(|| bad_date(s))?;
            let (m, d): (i8, i8) = (
                m.parse().map_err(|_| bad_date(s))?,
                d.parse().map_err(|_| bad_date(s))?,
            );
            // Validate against a leap year so that 02-29 is accepted.
            Date::new(2024, m, d).map_err(|_| bad_date(s))?;
            return Ok(DateRule::Yearly(m, d));
        }
        s.parse::<Date>()
            .map(DateRule::Once)
            .map_err(|_| bad_date(s))
    }

    fn key(self, year: i16) -> (i16, i8, i8) {
        match self {
            DateRule::Once(d) => (d.year(), d.month(), d.day()),
            DateRule::Yearly(m, d) => (year, m, d),
        }
    }
}

fn bad_date(s: &str) -> String {
    format!("`{s}` is not a date: write \"YYYY-MM-DD\" (one day) or \"MM-DD\" (every year)")
}

/// A holiday: a day or an inclusive run of days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holiday {
    /// First day.
    pub from: DateRule,
    /// Last day (same as `from` for one day).
    pub until: DateRule,
    /// Name.
    pub name: Option<String>,
}

impl Holiday {
    /// Is `date` within the holiday?
    pub fn contains(&self, date: Date) -> bool {
        let y = date.year();
        let d = (y, date.month(), date.day());
        match (self.from, self.until) {
            (DateRule::Yearly(..), DateRule::Yearly(..)) => {
                let (from, until) = (self.from.key(y), self.until.key(y));
                if from <= until {
                    from <= d && d <= until
                } else {
                    d >= from || d <= until
                }
            }
            _ => self.from.key(y) <= d && d <= self.until.key(y),
        }
    }
}

/// Special hours (or a closure, with no ranges) on one date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exception {
    /// The date.
    pub date: DateRule,
    /// Opening ranges that day; empty means closed.
    pub ranges: Ranges,
    /// Why.
    pub name: Option<String>,
}

/// The state of a schedule at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoursStatus {
    /// Open.
    Open,
    /// Closed (outside hours, or a dated closure).
    Closed,
    /// A holiday.
    Holiday,
}

/// A compiled schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Name.
    pub name: String,
    /// Its time zone.
    pub tz: TimeZone,
    /// The IANA name of the zone.
    pub tz_name: String,
    /// Opening ranges by weekday, Monday first.
    pub weekly: [Ranges; 7],
    /// Holidays.
    pub holidays: Vec<Holiday>,
    /// Dated exceptions.
    pub exceptions: Vec<Exception>,
}

impl Schedule {
    /// Open, closed or holiday at `at`, judged in the schedule's time zone.
    pub fn status_at(&self, at: Timestamp) -> HoursStatus {
        let local = self.tz.to_datetime(at);
        let date = local.date();
        let minute = Minute::from(local.hour() as u8) * 60 + Minute::from(local.minute() as u8);
        if self.holidays.iter().any(|h| h.contains(date)) {
            return HoursStatus::Holiday;
        }
        let ranges = self
            .exceptions
            .iter()
            .find(|e| e.date.key(date.year()) == (date.year(), date.month(), date.day()))
            .map_or(&self.weekly[weekday_index(date.weekday())], |e| &e.ranges);
        if ranges.iter().any(|&(s, e)| s <= minute && minute < e) {
            HoursStatus::Open
        } else {
            HoursStatus::Closed
        }
    }

    /// Can the schedule be in `status` at some moment? Judged from what the
    /// schedule declares, for every date and time at once, so `false` is a
    /// proof that no call ever sees it: no holidays, never open (no hours on
    /// any day, nor in any exception), never closed (every day and every
    /// exception open from 00:00 to 24:00).
    pub fn can_be(&self, status: HoursStatus) -> bool {
        let mut days = self
            .weekly
            .iter()
            .chain(self.exceptions.iter().map(|e| &e.ranges));
        match status {
            HoursStatus::Holiday => !self.holidays.is_empty(),
            HoursStatus::Open => days.any(|r| !r.is_empty()),
            HoursStatus::Closed => !days.all(whole_day),
        }
    }
}

impl Group {
    /// Can a queue for this group find it closed (outside its schedule, or
    /// on a holiday)? A group without a schedule never is.
    pub fn can_close(&self, schedules: &[Schedule]) -> bool {
        self.schedule.is_some_and(|id| {
            schedules
                .get(id.index())
                .is_none_or(|s| s.can_be(HoursStatus::Closed) || s.can_be(HoursStatus::Holiday))
        })
    }
}

/// Do these ranges cover the whole day, 00:00 to 24:00?
fn whole_day(ranges: &Ranges) -> bool {
    let mut sorted = ranges.clone();
    sorted.sort_unstable();
    let mut until: Minute = 0;
    for (start, end) in sorted {
        if start > until {
            return false;
        }
        until = until.max(end);
    }
    until >= 24 * 60
}

fn weekday_index(w: Weekday) -> usize {
    w.to_monday_zero_offset() as usize
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Parse a day spec: `"mon"`, `"mon-fri"`, `"sat,sun"`, `"fri-mon"` (wrapping). Returns Monday-first indices.
pub fn parse_days(spec: &str) -> Result<Vec<usize>, String> {
    let day = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        DAYS.iter()
            .position(|d| s == *d || (s.len() > 3 && full_day_name(d).starts_with(&s)))
            .ok_or_else(|| {
                format!(
                    "`{}` is not a day: use mon, tue, wed, thu, fri, sat, sun",
                    s
                )
            })
    };
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut i = a;
                loop {
                    out.push(i);
                    if i == b {
                        break;
                    }
                    i = (i + 1) % 7;
                }
            }
            None => out.push(day(part)?),
        }
    }
    Ok(out)
}

fn full_day_name(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

/// Parse hours: `"08:00-20:00"`, `"09:00-12:00, 13:00-17:00"`, `"00:00-24:00"` or `"closed"`.
pub fn parse_ranges(spec: &str) -> Result<Ranges, String> {
    if spec.trim().eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    let mut out: Ranges = Vec::new();
    for part in spec.split(',') {
        let (a, b) = part.split_once('-').ok_or_else(|| {
            format!(
                "`{}` is not a time range: write \"08:00-20:00\"",
                part.trim()
            )
        })?;
        let (s, e) = (parse_minute(a)?, parse_minute(b)?);
        if e <= s {
            return Err(format!(
                "`{}` ends before it starts; for overnight hours write two days, e.g. mon = \"20:00-24:00\" and tue = \"00:00-06:00\"",
                part.trim()
            ));
        }
        if let Some(&(ps, pe)) = out.iter().find(|&&(ps, pe)| s < pe && ps < e) {
            return Err(format!(
                "`{}` overlaps {}-{}",
                part.trim(),
                fmt_minute(ps),
                fmt_minute(pe)
            ));
        }
        out.push((s, e));
    }
    out.sort_unstable();
    Ok(out)
}

fn parse_minute(s: &str) -> Result<Minute, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "`{s}` is not a time: write 24-hour \"HH:MM\", e.g. \"08:30\" (\"24:00\" ends the day)"
        )
    };
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (Minute, Minute) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// `HH:MM` of a minute of the day.
pub fn fmt_minute(m: Minute) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Look up an IANA time zone in the bundled database (no file system access).
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
        match crate::diagnostic::did_you_mean(name, names.iter().map(String::as_str)) {
            Some(dym) => format!("`{name}` is not an IANA time zone name; {dym}"),
            None => format!(
                "`{name}` is not an IANA time zone name, e.g. \"America/New_York\", \"Europe/London\", \"Asia/Shanghai\""
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> crate::program::Program {
        let set = crate::flow::load_dir(std::path::Path::new("flows")).unwrap();
        crate::compile::compile(&set).program.unwrap()
    }

    #[test]
    fn a_closure_is_checked_against_the_flows() {
        let p = demo();
        let now: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
        let until: Timestamp = "2026-03-02T17:00:00Z".parse().unwrap();
        let msgs = |m: &[&str]| m.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let (c, missing) = closure(
            &p,
            "billing",
            Ok(until),
            &msgs(&["Closed for training = back at noon.", "zh-CN=培训中。"]),
            now,
        )
        .unwrap();
        assert_eq!(c.message.len(), 2);
        assert_eq!(
            c.message.get(&p.default_language).map(String::as_str),
            Some("Closed for training = back at noon."),
            "text before `=` that is no language tag is part of the message"
        );
        assert!(missing.is_empty());
        let (_, missing) = closure(&p, "billing", Ok(until), &msgs(&["Closed."]), now).unwrap();
        assert_eq!(missing, [Lang::parse("zh-CN").unwrap()]);
        let (c, missing) = closure(&p, "billing", Ok(until), &[], now).unwrap();
        assert!(c.message.is_empty() && missing.is_empty());

        let e = closure(&p, "biling", Ok(until), &[], now)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("did you mean `billing`?") && e.contains("support_tier1"),
            "{e}"
        );
        let e = closure(&p, "billing", Ok(now), &[], now)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not in the future"), "{e}");
        let e = closure(&p, "billing", Ok(until), &msgs(&["fr-FR=Fermé."]), now)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("do not speak fr-FR") && e.contains("en-US, zh-CN"),
            "{e}"
        );
        let e = closure(&p, "billing", Ok(until), &msgs(&["A.", "en-US=B."]), now)
            .unwrap_err()
            .to_string();
        assert!(e.contains("two messages for en-US"), "{e}");
        let e = closure(&p, "billing", Ok(until), &msgs(&["zh-CN= "]), now)
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty"), "{e}");

        // Every field's problem at once, each under its field, for a form.
        let e = closure(
            &p,
            "nosuch",
            Err("`soon` is not a time".into()),
            &msgs(&["zh-CN= "]),
            now,
        )
        .unwrap_err();
        assert_eq!(e.0.len(), 3, "{e}");
        assert!(
            e.of(&ClosureField::Group)
                .is_some_and(|m| m.contains("nosuch"))
        );
        assert_eq!(e.of(&ClosureField::Until), Some("`soon` is not a time"));
        let zh = ClosureField::Message(Lang::parse("zh-CN"));
        assert!(e.of(&zh).is_some_and(|m| m.contains("empty")), "{e}");
        assert_eq!(e.to_string().lines().count(), 3);
    }

    fn schedule() -> Schedule {
        let mut weekly: [Ranges; 7] = Default::default();
        for d in parse_days("mon-fri").unwrap() {
            weekly[d] = parse_ranges("08:00-20:00").unwrap();
        }
        weekly[5] = parse_ranges("10:00-16:00").unwrap();
        Schedule {
            name: "s".into(),
            tz: time_zone("America/New_York").unwrap(),
            tz_name: "America/New_York".into(),
            weekly,
            holidays: vec![Holiday {
                from: DateRule::parse("12-25").unwrap(),
                until: DateRule::parse("12-26").unwrap(),
                name: None,
            }],
            exceptions: vec![Exception {
                date: DateRule::parse("2026-12-24").unwrap(),
                ranges: parse_ranges("08:00-12:00").unwrap(),
                name: None,
            }],
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn status_is_judged_in_the_schedule_zone_across_dst() {
        let s = schedule();
        // Monday 2026-03-02 07:30 EST = 12:30Z: closed; 08:30 EST = 13:30Z: open.
        assert_eq!(s.status_at(at("2026-03-02T12:30:00Z")), HoursStatus::Closed);
        assert_eq!(s.status_at(at("2026-03-02T13:30:00Z")), HoursStatus::Open);
        // After the DST change (2026-03-08) 08:30 EDT = 12:30Z: open.
        assert_eq!(s.status_at(at("2026-03-09T12:30:00Z")), HoursStatus::Open);
        // Saturday 15:59 open, 16:00 closed; Sunday closed.
        assert_eq!(s.status_at(at("2026-03-14T19:59:00Z")), HoursStatus::Open);
        assert_eq!(s.status_at(at("2026-03-14T20:00:00Z")), HoursStatus::Closed);
        assert_eq!(s.status_at(at("2026-03-15T16:00:00Z")), HoursStatus::Closed);
    }

    #[test]
    fn holidays_and_exceptions_override_the_week() {
        let s = schedule();
        assert_eq!(
            s.status_at(at("2026-12-25T15:00:00Z")),
            HoursStatus::Holiday
        );
        assert_eq!(
            s.status_at(at("2027-12-26T15:00:00Z")),
            HoursStatus::Holiday
        );
        // Christmas Eve 2026 (Thursday): open 08-12 only.
        assert_eq!(s.status_at(at("2026-12-24T14:00:00Z")), HoursStatus::Open);
        assert_eq!(s.status_at(at("2026-12-24T18:00:00Z")), HoursStatus::Closed);
    }

    #[test]
    fn what_a_schedule_can_be_is_judged_from_its_declarations() {
        use HoursStatus::*;
        let s = schedule();
        assert!(s.can_be(Open) && s.can_be(Closed) && s.can_be(Holiday));

        let mut always = schedule();
        always.holidays.clear();
        always.exceptions.clear();
        always.weekly = std::array::from_fn(|_| parse_ranges("00:00-24:00").unwrap());
        always.weekly[2] = parse_ranges("12:00-24:00, 00:00-12:00").unwrap();
        assert!(always.can_be(Open));
        assert!(!always.can_be(Closed), "open around the clock");
        assert!(!always.can_be(Holiday), "no holidays");
        always.exceptions.push(Exception {
            date: DateRule::parse("12-24").unwrap(),
            ranges: parse_ranges("00:00-12:00").unwrap(),
            name: None,
        });
        assert!(always.can_be(Closed), "the exception closes at noon");
        always.weekly[6] = parse_ranges("00:00-23:59").unwrap();
        always.exceptions.clear();
        assert!(always.can_be(Closed), "a minute a week is enough");

        let mut never = schedule();
        never.weekly = Default::default();
        assert!(never.can_be(Open), "the exception's hours open it");
        never.exceptions.clear();
        assert!(!never.can_be(Open));
        assert!(never.can_be(Closed) && never.can_be(Holiday));
    }

    #[test]
    fn yearly_holidays_may_wrap_the_new_year() {
        let h = Holiday {
            from: DateRule::Yearly(12, 31),
            until: DateRule::Yearly(1, 2),
            name: None,
        };
        assert!(h.contains(Date::new(2026, 12, 31).unwrap()));
        assert!(h.contains(Date::new(2027, 1, 2).unwrap()));
        assert!(!h.contains(Date::new(2027, 1, 3).unwrap()));
    }

    #[test]
    fn value_parsers_explain_mistakes() {
        assert_eq!(parse_days("fri-mon").unwrap(), vec![4, 5, 6, 0]);
        assert_eq!(parse_days("Sat, sunday").unwrap(), vec![5, 6]);
        assert!(parse_days("funday").unwrap_err().contains("not a day"));
        assert_eq!(
            parse_ranges("13:00-17:00, 09:00-12:00").unwrap(),
            vec![(540, 720), (780, 1020)]
        );
        assert_eq!(parse_ranges("00:00-24:00").unwrap(), vec![(0, 1440)]);
        assert!(
            parse_ranges("20:00-08:00")
                .unwrap_err()
                .contains("overnight")
        );
        assert!(parse_ranges("9:00-17:00").unwrap_err().contains("HH:MM"));
        assert!(
            parse_ranges("09:00-12:00,11:00-13:00")
                .unwrap_err()
                .contains("overlaps")
        );
        assert!(DateRule::parse("02-29").is_ok());
        assert!(DateRule::parse("2026-02-30").is_err());
        assert!(time_zone("America/New_York").is_ok());
        assert!(time_zone("Mars/Olympus").is_err());
        assert!(Endpoint::parse("+15551230000").is_ok());
        assert!(Endpoint::parse("sip:tier2@pbx.acme.example").is_ok());
        assert!(Endpoint::parse("555-1234").is_err());
    }
}
