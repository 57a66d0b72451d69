//! What a caller waiting in a group's queue hears next: their place in
//! line and expected wait now and then, the group's hold music in between,
//! and, once the group's `max_wait` is up, leaving the queue. Pure: the
//! provider reports the wait (or the server's own queue state does, see
//! [`queue_place`]), and the sentences come from the flow files
//! (`position_prompt`, `wait_prompt`, `short_wait_prompt` in `[settings]`
//! or per group), in the caller's language.

use super::{CallState, Wait};
use crate::action::{Action, Speech};
use crate::program::{GroupId, Lang, Program, Prompt};
use jiff::Timestamp;
use std::time::Duration;

/// How long after an announcement is due it may still be made: wait
/// requests come about once per hold-music loop, not on the second.
const SLACK: Duration = Duration::from_secs(15);

/// A waiting caller's queue, as far as it is known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    /// How long they have waited.
    pub waited: Duration,
    /// Their place in line (1: next), if known.
    pub position: Option<u64>,
    /// How long callers wait in this queue on average, if known.
    pub expected: Option<Duration>,
    /// The queue is our own (the provider keeps none), so we enforce its
    /// `max_queue` too: a caller placed beyond it leaves with `full`.
    pub ours: bool,
}

/// The next hold document's actions for a caller of `language` waiting in
/// `group`: leave once `max_wait` has passed (or, in our own queue, when
/// the caller is placed beyond `max_queue`); else the announcement
/// when one is due (at the start, then every `announce_every`) and a
/// position is known, then the hold music (or a pause, without any).
pub fn hold(p: &Program, group: GroupId, language: &Lang, w: &Waiting) -> Vec<Action> {
    let Some(g) = p.groups.get(group.index()) else {
        return vec![Action::Speak(Speech::Pause { seconds: 10 })];
    };
    if g.max_wait.is_some_and(|m| w.waited >= m) {
        return vec![Action::Leave { full: false }];
    }
    if w.ours
        && let (Some(max), Some(position)) = (g.max_queue, w.position)
        && position > u64::from(max)
    {
        return vec![Action::Leave { full: true }];
    }
    let mut actions = Vec::new();
    let every = g.announce_every.max(Duration::from_secs(1));
    let due = w.waited < SLACK
        || Duration::from_secs(w.waited.as_secs() % every.as_secs().max(1)) < SLACK;
    if g.announce_position
        && due
        && let Some(position) = w.position
    {
        let a = &g.announcements;
        let minutes = w.expected.map(|e| e.as_secs().div_ceil(60).max(1));
        let wait = match minutes {
            Some(1) => a.short_wait.as_ref().or(a.wait.as_ref()),
            Some(_) => a.wait.as_ref(),
            None => None,
        };
        let fill = |prompt: &Prompt| {
            say(p, prompt, language, &|text| {
                text.replace("{position}", &position.to_string())
                    .replace("{ahead}", &position.saturating_sub(1).to_string())
                    .replace("{minutes}", &minutes.unwrap_or(1).to_string())
            })
        };
        actions.extend(a.position.as_ref().and_then(fill));
        actions.extend(wait.and_then(fill));
    }
    actions.push(Action::Speak(match &g.hold_music {
        Some(file) => Speech::Play { file: file.clone() },
        None => Speech::Pause { seconds: 10 },
    }));
    actions
}

/// A sentence with its placeholders filled, in `language` (else the
/// flow set's default language).
fn say(
    p: &Program,
    prompt: &Prompt,
    language: &Lang,
    fill: &dyn Fn(&str) -> String,
) -> Option<Action> {
    let (lang, text) = prompt
        .text
        .get_key_value(language)
        .or_else(|| prompt.text.get_key_value(&p.default_language))
        .or_else(|| prompt.text.iter().next())?;
    Some(Action::Speak(Speech::Say {
        text: fill(text),
        language: lang.clone(),
        voice: p.voices.get(lang).cloned(),
    }))
}

/// Where a call stands in our own queue for a group (for providers that
/// report no position: the queue is the calls waiting for the group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// Since it joined.
    pub waited: Duration,
    /// 1 + the calls that joined before it and still wait.
    pub position: u64,
}

/// `me`'s place among `live` calls waiting for `group` (by when each
/// joined, then by call id), and how long it has waited at `now`.
pub fn queue_place(me: &CallState, group: &str, now: Timestamp, live: &[CallState]) -> Place {
    // (A caller an agent has taken is no longer in line, nor ahead of anyone.)
    let joined = |s: &CallState| {
        s.tally
            .queues
            .last()
            .filter(|q| {
                q.group == group && q.result.is_none() && s.wait == Wait::Queue && s.room.is_none()
            })
            .map(|q| q.joined)
    };
    let mine = joined(me).unwrap_or_else(|| now.as_millisecond());
    let ahead = live
        .iter()
        .filter(|s| s.call_id != me.call_id)
        .filter_map(|s| joined(s).map(|j| (j, s.call_id.as_str())))
        .filter(|(j, id)| (*j, *id) < (mine, me.call_id.as_str()))
        .count();
    Place {
        waited: Duration::from_millis(
            u64::try_from(now.as_millisecond().saturating_sub(mine)).unwrap_or(0),
        ),
        position: 1 + ahead as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile_texts;
    use crate::diagnostic::Code;

    const SETTINGS: &str = r#"
[settings]
languages = ["en-US", "es-US"]
position_prompt = { en-US = "You are number {position} in line.", es-US = "Usted es el número {position} en la fila; hay {ahead} antes." }
wait_prompt = { en-US = "About {minutes} minutes.", es-US = "Unos {minutes} minutos." }
short_wait_prompt = { en-US = "About a minute.", es-US = "Un minuto." }
"#;

    const FLOW: &str = r#"
[flow]
start = "m"

[groups.desk]
kind = "service"
max_wait = "10m"
max_queue = 3
announce_every = "60s"

[groups.quiet]
kind = "service"
max_wait = "10m"
announce_position = false

[groups.own]
kind = "service"
position_prompt = { en-US = "Line spot {position}.", es-US = "Puesto {position}." }

[menu.m]
prompt = { en-US = "Press 1, 2 or 3.", es-US = "Marque 1, 2 o 3." }
options = { 1 = "a", 2 = "b", 3 = "c" }
on_failure = "a"

[queue.a]
group = "desk"

[queue.b]
group = "quiet"

[queue.c]
group = "own"
"#;

    fn program(settings: &str) -> Program {
        crate::engine::tests::compiled([("main", FLOW), ("settings", settings)])
    }

    fn said(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .map(|a| match a {
                Action::Speak(Speech::Say { text, language, .. }) => format!("{language}: {text}"),
                Action::Speak(Speech::Pause { seconds }) => format!("pause {seconds}"),
                Action::Speak(Speech::Play { file }) => format!("play {file}"),
                Action::Leave { full } => format!("leave{}", if *full { " full" } else { "" }),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn at(p: &Program, group: &str, lang: &str, w: Waiting) -> Vec<String> {
        let g = p.group_by_name(group).expect("group");
        said(&hold(p, g, &Lang::parse(lang).expect("lang"), &w))
    }

    fn waiting(secs: u64, position: u64, expected: Option<u64>) -> Waiting {
        Waiting {
            waited: Duration::from_secs(secs),
            position: Some(position),
            expected: expected.map(Duration::from_secs),
            ours: false,
        }
    }

    #[test]
    fn callers_hear_the_declared_sentences_in_their_language() {
        let p = program(SETTINGS);
        assert_eq!(
            at(&p, "desk", "en-US", waiting(0, 3, Some(300))),
            [
                "en-US: You are number 3 in line.",
                "en-US: About 5 minutes.",
                "pause 10"
            ]
        );
        assert_eq!(
            at(&p, "desk", "es-US", waiting(0, 3, Some(50))),
            [
                "es-US: Usted es el número 3 en la fila; hay 2 antes.",
                "es-US: Un minuto.",
                "pause 10"
            ]
        );
        // Without an expected wait, the place in line alone.
        assert_eq!(
            at(&p, "desk", "es-US", waiting(0, 1, None)),
            [
                "es-US: Usted es el número 1 en la fila; hay 0 antes.",
                "pause 10"
            ]
        );
        // A group's own sentence replaces the settings' one.
        assert_eq!(
            at(&p, "own", "es-US", waiting(0, 2, None)),
            ["es-US: Puesto 2.", "pause 10"]
        );
    }

    #[test]
    fn announcements_come_every_so_often_and_leaving_at_max_wait() {
        let p = program(SETTINGS);
        assert_eq!(at(&p, "desk", "en-US", waiting(30, 2, None)), ["pause 10"]);
        assert_eq!(
            at(&p, "desk", "en-US", waiting(125, 2, None)),
            ["en-US: You are number 2 in line.", "pause 10"]
        );
        assert_eq!(at(&p, "desk", "en-US", waiting(600, 2, None)), ["leave"]);
        // Beyond max_queue: full, where the queue is ours; the provider's own queue says so itself.
        let ours = |position| Waiting {
            ours: true,
            ..waiting(0, position, None)
        };
        assert_eq!(at(&p, "desk", "en-US", ours(4)), ["leave full"]);
        assert_eq!(
            at(&p, "desk", "en-US", ours(3))[0],
            "en-US: You are number 3 in line."
        );
        assert_eq!(
            at(&p, "desk", "en-US", waiting(0, 4, None))[0],
            "en-US: You are number 4 in line."
        );
        assert_eq!(at(&p, "quiet", "en-US", waiting(0, 2, None)), ["pause 10"]);
        // No place known: music only.
        let unknown = Waiting::default();
        assert_eq!(at(&p, "desk", "en-US", unknown), ["pause 10"]);
    }

    #[test]
    fn without_sentences_nothing_is_announced_unless_asked_for() {
        let p = program("[settings]\nlanguages = [\"en-US\", \"es-US\"]\n");
        assert_eq!(
            at(&p, "desk", "en-US", waiting(0, 2, Some(60))),
            ["pause 10"]
        );
        let asked = FLOW.replace("announce_every = \"60s\"", "announce_position = true");
        let (_, c) = compile_texts([
            ("main", asked.as_str()),
            (
                "settings",
                "[settings]\nlanguages = [\"en-US\", \"es-US\"]\n",
            ),
        ]);
        let d: Vec<_> = c
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::MissingField)
            .collect();
        assert_eq!(d.len(), 1, "{:?}", c.diagnostics);
        assert!(
            d[0].message.contains("no sentence says it"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn unknown_placeholders_and_missing_languages_are_reported() {
        let bad = SETTINGS.replace("{minutes} minutes.\", es", "{minuts} minutes.\", es");
        let (_, c) = compile_texts([("main", FLOW), ("settings", bad.as_str())]);
        assert!(c.program.is_none());
        let d = c
            .diagnostics
            .iter()
            .find(|d| d.code == Code::InvalidValue)
            .expect("an error");
        assert!(d.message.contains("`{minuts}`"), "{}", d.message);
        assert!(
            d.hint.as_deref().unwrap_or("").contains("minutes"),
            "{:?}",
            d.hint
        );
        let english_only = SETTINGS.replace(", es-US = \"Un minuto.\"", "");
        let (_, c) = compile_texts([("main", FLOW), ("settings", english_only.as_str())]);
        assert!(
            c.diagnostics
                .iter()
                .any(|d| d.code == Code::MissingTranslation
                    && d.message.contains("short_wait_prompt")),
            "{:?}",
            c.diagnostics
        );
    }

    #[test]
    fn our_own_queue_orders_callers_by_when_they_joined() {
        let p = program(SETTINGS);
        let mut calls = Vec::new();
        for (id, joined) in [("B", 2_000), ("A", 1_000), ("C", 2_000)] {
            let mut s = crate::engine::start(
                &p,
                crate::engine::Start {
                    call_id: id.into(),
                    caller: "+15550001".into(),
                    called: "+18005550100".into(),
                    history: vec![],
                    language: None,
                },
                Timestamp::UNIX_EPOCH,
            )
            .state;
            s.wait = Wait::Queue;
            s.tally.queues.push(crate::engine::QueueWait {
                group: "desk".into(),
                joined,
                result: None,
                waited: None,
            });
            calls.push(s);
        }
        let now = Timestamp::from_millisecond(62_000).expect("a time");
        let place = |calls: &[CallState], i: usize| queue_place(&calls[i], "desk", now, calls);
        assert_eq!(
            place(&calls, 1),
            Place {
                waited: Duration::from_secs(61),
                position: 1
            }
        );
        assert_eq!(place(&calls, 0).position, 2);
        assert_eq!(place(&calls, 2).position, 3);
        // Another group's callers, and callers whose wait is over, are not ahead.
        calls[1].tally.queues[0].result = Some(crate::engine::QueueResult::Bridged);
        assert_eq!(place(&calls, 0).position, 1);
        assert_eq!(queue_place(&calls[0], "other", now, &calls).position, 1);
    }
}
