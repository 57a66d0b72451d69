//! Compiling prompts: text per language, recordings found on disk (from the
//! index `flow` handed us), and the lints about what callers hear:
//! `missing-translation`, `undeclared-language`, `missing-recording` and
//! `prompt-option-mismatch`.

use crate::diagnostic::{Code, Diagnostic, Severity, did_you_mean};
use crate::flow::Recordings;
use crate::flow::prompt::{RawPrompt, RawText};

use crate::flow::spanned::{Sp, StringOr};
use crate::program::{Key, Lang, Prompt};
use crate::source::{FileId, Span};
use std::collections::BTreeSet;
use std::ops::Range;

/// What prompt compilation needs to know about its surroundings.
pub(crate) struct PromptCx<'a> {
    pub(crate) file: FileId,
    /// Languages the flow must speak.
    pub(crate) languages: &'a [Lang],
    pub(crate) default_language: &'a Lang,
    pub(crate) recordings: &'a Recordings,
}

/// A compiled prompt plus the text (with spans) that later lints read.
pub(crate) struct Compiled {
    pub(crate) prompt: Prompt,
    pub(crate) texts: Vec<(Lang, String, Range<usize>)>,
}

impl PromptCx<'_> {
    fn span(&self, r: Range<usize>) -> Span {
        Span::new(self.file, r)
    }

    /// Compile a prompt; `what` names it in messages ("prompt of menu `main`").
    pub(crate) fn prompt(
        &self,
        raw: &Sp<RawPrompt>,
        what: &str,
        diags: &mut Vec<Diagnostic>,
    ) -> Compiled {
        let mut out = Compiled {
            prompt: Prompt::default(),
            texts: Vec::new(),
        };
        match &raw.value {
            RawPrompt::Text(t) => self.add_text(&mut out, None, t, raw.range()),
            RawPrompt::Localized(map) => self.add_localized(&mut out, map, what, diags),
            RawPrompt::Recorded { recording, text } => {
                if let Some(text) = text {
                    self.text(&mut out, text, what, diags);
                }
                self.recording(&mut out, recording, what, diags);
            }
        }
        self.check_languages(&out, raw.range(), what, diags);
        out
    }

    /// Compile a queue announcement (`position_prompt`, `wait_prompt`,
    /// `short_wait_prompt`): spoken text only, whose `{placeholders}` are
    /// among `allowed`.
    pub(crate) fn announcement(
        &self,
        raw: &Sp<RawPrompt>,
        what: &str,
        allowed: &[&str],
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Prompt> {
        if let RawPrompt::Recorded { .. } = raw.value {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("{what} is a recording, but announcements are spoken text with numbers filled in"),
                )
                .labelled(self.span(raw.range()), "a recording")
                .hint("write it as text per language, e.g. { en-US = \"You are number {position} in line.\" }"),
            );
            return None;
        }
        let compiled = self.prompt(raw, what, diags);
        let mut ok = true;
        for (lang, text, range) in &compiled.texts {
            for name in placeholders(text) {
                if !allowed.contains(&name) {
                    ok = false;
                    let list: Vec<String> = allowed.iter().map(|a| format!("{{{a}}}")).collect();
                    diags.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("{what} uses `{{{name}}}` in {lang}, which is not filled in"),
                        )
                        .labelled(self.span(range.clone()), format!("unknown `{{{name}}}`"))
                        .hint(
                            match did_you_mean(name, allowed.iter().copied()) {
                                Some(d) => d,
                                None => format!("it may use {}", list.join(", ")),
                            },
                        ),
                    );
                }
            }
        }
        ok.then_some(compiled.prompt)
    }

    /// Resolve a plain recording reference (hold music): the shared file, or any language's.
    pub(crate) fn audio_file(
        &self,
        name: &Sp<String>,
        what: &str,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<String> {
        let mut out = Compiled {
            prompt: Prompt::default(),
            texts: Vec::new(),
        };
        self.recording(&mut out, name, what, diags);
        out.prompt
            .audio_default
            .or_else(|| out.prompt.audio.into_values().next())
    }

    fn text(
        &self,
        out: &mut Compiled,
        text: &Sp<RawText>,
        what: &str,
        diags: &mut Vec<Diagnostic>,
    ) {
        match &text.value {
            StringOr::String(t) => self.add_text(out, None, t, text.range()),
            StringOr::Table(map) => self.add_localized(out, map, what, diags),
        }
    }

    fn add_text(&self, out: &mut Compiled, lang: Option<Lang>, text: &str, range: Range<usize>) {
        let lang = lang.unwrap_or_else(|| self.default_language.clone());
        out.prompt.text.insert(lang.clone(), text.to_owned());
        out.texts.push((lang, text.to_owned(), range));
    }

    fn add_localized(
        &self,
        out: &mut Compiled,
        map: &std::collections::BTreeMap<Sp<String>, Sp<String>>,
        what: &str,
        diags: &mut Vec<Diagnostic>,
    ) {
        for (tag, text) in map {
            match Lang::parse(tag) {
                Some(lang) => {
                    if !self.languages.contains(&lang) {
                        let declared: Vec<_> = self.languages.iter().map(Lang::as_str).collect();
                        diags.push(
                            Diagnostic::new(
                                Code::UndeclaredLanguage,
                                format!("{what} has text in `{lang}`, which this flow does not declare"),
                            )
                            .labelled(self.span(tag.range()), "undeclared language")
                            .hint(match did_you_mean(&lang.to_string(), declared.iter().copied()) {
                                Some(d) => d,
                                None => format!(
                                    "declared languages: {}; add `{lang}` to `[settings] languages` (or the flow's `languages`) or remove this text",
                                    declared.join(", ")
                                ),
                            }),
                        );
                    }
                    self.add_text(out, Some(lang), text, text.range());
                }
                None => diags.push(super::values::not_a_language(self.file, tag)),
            }
        }
    }

    fn recording(
        &self,
        out: &mut Compiled,
        name: &Sp<String>,
        what: &str,
        diags: &mut Vec<Diagnostic>,
    ) {
        let candidates: Vec<String> = if name.contains('.') {
            vec![name.value.clone()]
        } else {
            vec![format!("{}.wav", name.value), format!("{}.mp3", name.value)]
        };
        if name.is_empty() || name.contains("..") || name.starts_with('/') || name.contains('\\') {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{}` is not a recording name", name.value),
                )
                .labelled(self.span(name.range()), "invalid recording name")
                .hint(
                    "name a file inside the recordings folder, e.g. `greeting` or `greeting.wav`",
                ),
            );
            return;
        }
        let find = |prefix: &str| {
            candidates
                .iter()
                .map(|c| format!("{prefix}{c}"))
                .find(|p| self.recordings.files.contains(p))
        };
        for lang in self.languages {
            if let Some(p) = find(&format!("{lang}/")) {
                out.prompt.audio.insert(lang.clone(), p);
            }
        }
        out.prompt.audio_default = find("");
        if out.prompt.audio.is_empty() && out.prompt.audio_default.is_none() {
            let has_text = !out.prompt.text.is_empty();
            let root = self.recordings.root.display();
            let mut d = Diagnostic::new(
                Code::MissingRecording,
                format!("recording `{}` of {what} is not in {root}", name.value),
            )
            .labelled(self.span(name.range()), "no such recording")
            .hint(
                match did_you_mean(
                    &name.value,
                    self.recordings
                        .files
                        .iter()
                        .map(|f| f.rsplit('/').next().unwrap_or(f)),
                ) {
                    Some(d) => format!(
                        "{d} Looked for {} under {root}/<language>/ and {root}/",
                        candidates.join(" or ")
                    ),
                    None => format!(
                        "add {} under {root}/<language>/ or {root}/{}",
                        candidates.join(" or "),
                        if has_text {
                            "; until then callers hear the TTS text"
                        } else {
                            ""
                        }
                    ),
                },
            );
            if !has_text {
                d = d.severity(Severity::Error);
            }
            diags.push(d);
        }
    }

    /// `missing-translation`: every declared language needs text or audio.
    fn check_languages(
        &self,
        out: &Compiled,
        whole: Range<usize>,
        what: &str,
        diags: &mut Vec<Diagnostic>,
    ) {
        let p = &out.prompt;
        // A shared recording is what every language hears; a prompt with nothing
        // at all has already been reported.
        let nothing = p.text.is_empty() && p.audio.is_empty();
        if p.audio_default.is_some() || nothing {
            return;
        }
        let missing: Vec<_> = self
            .languages
            .iter()
            .filter(|l| !p.text.contains_key(*l) && !p.audio.contains_key(*l))
            .map(Lang::as_str)
            .collect();
        if missing.is_empty() {
            return;
        }
        diags.push(
            Diagnostic::new(
                Code::MissingTranslation,
                format!("{what} has nothing to say in {}", missing.join(", ")),
            )
            .labelled(self.span(whole), format!("missing {}", missing.join(", ")))
            .hint(format!(
                "write the prompt as a table with every language: {{ {} }}",
                self.languages
                    .iter()
                    .map(|l| format!("{l} = \"…\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
}

/// The `{name}` placeholders of an announcement's text.
fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(after[..close].trim());
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// Words that introduce keys in a prompt ("press 1", "pulse 1"…), matched as whole words.
const KEY_VERBS: &[&str] = &[
    "press",
    "dial",
    "push",
    "enter",
    "key",
    "select",
    "pulse",
    "marque",
    "oprima",
    "appuyez",
    "tapez",
    "drücken",
    "wählen",
    "premi",
    "digite",
    "pressione",
];

/// Key verbs of scripts written without spaces, matched anywhere ("请按1").
const KEY_VERBS_CJK: &[&str] = &["按", "押して", "누르"];

/// Spelled-out keys in English prompts ("press one").
const KEY_WORDS: &[(&str, &str)] = &[
    ("zero", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("star", "*"),
    ("asterisk", "*"),
    ("pound", "#"),
    ("hash", "#"),
];

fn speaks_of_keys(clause: &str) -> bool {
    clause
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| KEY_VERBS.contains(&w))
        || KEY_VERBS_CJK.iter().any(|v| clause.contains(v))
}

/// Keys a prompt text announces: lone digits, `*`/`#` and the words
/// star/pound/hash, in the clauses that speak of pressing keys ("For billing,
/// press 2", "Press 1 for orders, 2 for billing", "账单请按2"). Clauses about
/// anything else ("open 8 AM to 8 PM") are ignored. `None` if no clause
/// speaks of keys at all.
pub(crate) fn announced_keys(text: &str) -> Option<BTreeSet<Key>> {
    let lower = text.to_lowercase();
    let mut keys = BTreeSet::new();
    let mut any = false;
    for clause in lower.split(['.', '!', '?', ';', '。', '！', '？', '；']) {
        if speaks_of_keys(clause) {
            any = true;
            clause_keys(clause, &mut keys);
        }
    }
    any.then_some(keys)
}

fn clause_keys(clause: &str, keys: &mut BTreeSet<Key>) {
    let chars: Vec<char> = clause.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let is_num = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    for (i, &c) in chars.iter().enumerate() {
        if c == '*' || c == '#' {
            keys.extend(Key::parse(&c.to_string()));
            continue;
        }
        if !c.is_ascii_digit() {
            continue;
        }
        let prev = i.checked_sub(1).and_then(at);
        let next = at(i + 1);
        // Part of a longer number, a time (9:30), a phone number (1-800) or a decimal (2.5).
        let joined = |sep: Option<char>, beyond: Option<char>| {
            matches!(sep, Some(':' | '-' | '.' | ',')) && is_num(beyond)
        };
        if is_num(prev)
            || is_num(next)
            || joined(next, at(i + 2))
            || joined(prev, i.checked_sub(2).and_then(at))
        {
            continue;
        }
        keys.extend(Key::parse(&c.to_string()));
    }
    for word in clause.split(|c: char| !c.is_alphanumeric()) {
        if let Some((_, key)) = KEY_WORDS.iter().find(|(w, _)| *w == word) {
            keys.extend(Key::parse(key));
        }
    }
    for (word, key) in [("星号", "*"), ("井号", "#")] {
        if clause.contains(word) {
            keys.extend(Key::parse(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(t: &str) -> Option<String> {
        announced_keys(t).map(|k| k.iter().map(|k| k.as_char()).collect())
    }

    #[test]
    fn finds_the_keys_a_prompt_announces() {
        let cases = [
            ("For orders, press 1. For billing, press 2.", Some("12")),
            (
                "Press 1 for orders, 2 for billing, or 0 for a person.",
                Some("012"),
            ),
            ("订单请按1，账单请按2，人工服务请按0。", Some("012")),
            ("Press star to repeat, or pound to finish.", Some("#*")),
            // Numbers that are not keys: times, phone numbers, decimals, clauses without a key verb.
            (
                "We are open 24 hours, call 1-800-555-0100 at 9:30. Press 1.",
                Some("1"),
            ),
            (
                "We are open from 8 AM to 8 PM. To leave a message, press 1.",
                Some("1"),
            ),
            ("服务时间为早上8点至晚上8点。留言请按1。", Some("1")),
            ("Version 2.5 is out. Press 3.", Some("3")),
            ("Welcome to Acme, open since 1999.", None),
            // Key verbs count as whole words only: "center" is not "enter", "premium" not "premi".
            ("Our service center is open 8 to 8.", None),
            ("Premium members get 2 months free.", None),
            ("For orders, press one. For billing, press two.", Some("12")),
        ];
        for (text, expected) in cases {
            assert_eq!(keys(text).as_deref(), expected, "{text}");
        }
    }
}
