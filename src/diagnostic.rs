//! Diagnostics as data: what is wrong, where, and what the admin should do.
//!
//! The loader and the compiler only ever *collect* [`Diagnostic`]s; this module
//! renders them, once for the terminal (rustc-like, with the source snippet)
//! and once as JSON for editors and CI. Every diagnostic has a stable [`Code`]
//! that `docs/lints.md` documents with an example.

use crate::source::{LineCol, SourceFile, Sources, Span};
use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is. Errors stop a flow set from loading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Printed and kept; `--deny-warnings` turns them into failures.
    Warning,
    /// Stops the flow set from loading.
    Error,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $sev:ident; )*) => {
        /// The stable code of a diagnostic. Names never change once released.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $(#[$doc])* $variant, )* }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable kebab-case name, e.g. `unknown-reference`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The usual severity of this code.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }
        }
    };
}

codes! {
    /// A file in the flow directory could not be read.
    ReadError = "read-error", Error;
    /// The file is not valid TOML.
    TomlSyntax = "toml-syntax", Error;
    /// A key the format does not know (often a typo), including unknown node types.
    UnknownField = "unknown-field", Error;
    /// A required key is absent.
    MissingField = "missing-field", Error;
    /// A value has the wrong type or shape (duration, time, key, number, language…).
    InvalidValue = "invalid-value", Error;
    /// Two definitions share one name.
    DuplicateDefinition = "duplicate-definition", Error;
    /// A name that refers to nothing: node, flow, group, schedule, caller list or language.
    UnknownReference = "unknown-reference", Error;
    /// The directory holds no flow at all.
    NoFlows = "no-flows", Error;
    /// Several flows and no `default_flow` to pick for unmapped numbers.
    NoDefaultFlow = "no-default-flow", Error;
    /// A key that is not a single phone key (0-9, *, #), or a finish key callers could never press.
    InvalidKey = "invalid-key", Error;
    /// One key or speech word doing two jobs: two options of a menu, or two global keys of a flow.
    DuplicateOption = "duplicate-option", Error;
    /// A node from which the call can never end: the caller is trapped.
    TrappedCaller = "trapped-caller", Error;
    /// A cycle of nodes a call can go round without the caller doing anything.
    SilentLoop = "silent-loop", Error;
    /// A sub-flow that calls itself, directly or through others.
    RecursiveSubflow = "recursive-subflow", Error;
    /// A `return` node in a flow that callers enter directly.
    ReturnOutsideSubflow = "return-outside-subflow", Error;
    /// A `return` node that calls can reach without a `subflow` node calling its flow (by a jump).
    UnmatchedReturn = "unmatched-return", Error;
    /// Agent groups that overflow into each other in a circle.
    OverflowCycle = "overflow-cycle", Error;
    /// A `split` whose weights do not add up to 100.
    SplitWeights = "split-weights", Error;
    /// A recording (of a prompt, a `play` node or hold music) is not on disk: an error when there is no text to fall back to.
    MissingRecording = "missing-recording", Warning;
    /// A node no call can reach.
    UnreachableNode = "unreachable-node", Warning;
    /// A group, schedule, caller list or flow nothing uses.
    UnusedDefinition = "unused-definition", Warning;
    /// A menu from which no path leads to a person.
    NoPathToHuman = "no-path-to-human", Warning;
    /// More key presses from the start to an agent group than the configured limit.
    DeepTree = "deep-tree", Warning;
    /// A prompt says "press 4" but there is no option 4, or an option is never announced.
    PromptOptionMismatch = "prompt-option-mismatch", Warning;
    /// A declared language has no text (or recording) for a prompt.
    MissingTranslation = "missing-translation", Warning;
    /// A prompt has text in a language its flow does not declare.
    UndeclaredLanguage = "undeclared-language", Warning;
    /// A menu or input with no `on_failure` exit for callers who never get it right.
    MissingFailureExit = "missing-failure-exit", Warning;
    /// A queue whose group keeps hours but which has no `on_closed` route.
    QueueWithoutClosedRoute = "queue-without-closed-route", Warning;
    /// A menu option that hides a global key (operator, repeat, back, top).
    ShadowedGlobalKey = "shadowed-global-key", Warning;
    /// An exit no call can ever take, e.g. `holiday` on a schedule without holidays.
    ImpossibleExit = "impossible-exit", Warning;
    /// An input that reads like a card number, PIN, security code, tax number or date of birth but is not `sensitive`.
    UnmarkedSensitiveEntry = "unmarked-sensitive-entry", Warning;
    /// A node uses a feature the provider carrying its calls cannot do (`[numbers]`' `provider`, or `check --provider`).
    ProviderUnsupported = "provider-unsupported", Error;
    /// A node uses a feature the provider carrying its calls leaves out of its documents; callers are routed the same.
    ProviderIgnores = "provider-ignores", Warning;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One problem found in a flow set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where (absent for problems of the whole set).
    pub span: Option<Span>,
    /// Text shown under the offending value.
    pub label: Option<String>,
    /// Other places worth showing (e.g. the first definition of a duplicate).
    pub notes: Vec<(Span, String)>,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic of `code` at its usual severity.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span: None,
            label: None,
            notes: Vec::new(),
            hint: None,
        }
    }

    /// Point at `span`.
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// Point at `span` with a label under it.
    pub fn labelled(mut self, span: Span, label: impl Into<String>) -> Self {
        self.span = Some(span);
        self.label = Some(label.into());
        self
    }

    /// Add a secondary location.
    pub fn note(mut self, span: Span, text: impl Into<String>) -> Self {
        self.notes.push((span, text.into()));
        self
    }

    /// Add a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Add a hint if there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    /// Override the usual severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

/// "did you mean `x`?" for a misspelt name, if a candidate is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let name_lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&name_lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Sort diagnostics by file and position, errors and set-wide problems first within a place.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.span.map(|s| (s.file, s.start, s.end));
        key(a)
            .cmp(&key(b))
            .then(b.severity.cmp(&a.severity))
            .then(a.code.cmp(&b.code))
            .then(a.message.cmp(&b.message))
    });
}

/// Counts of errors and warnings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
}

impl Counts {
    /// Count a list.
    pub fn of(diags: &[Diagnostic]) -> Self {
        let errors = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        Counts {
            errors,
            warnings: diags.len() - errors,
        }
    }
}

// ---------------------------------------------------------------- terminal rendering

struct MietteView<'s> {
    code: Code,
    severity: Severity,
    message: String,
    hint: Option<String>,
    source: Option<Snippet<'s>>,
    labels: Vec<miette::LabeledSpan>,
}

/// A source file as miette reads it, one window of lines at a time.
/// miette's own readers (`String`, `NamedSource`) scan the text from its
/// first byte on every read, several reads per diagnostic, which made
/// drawing a large broken file take time in its size times its number of
/// diagnostics (minutes for a megabyte). This one cuts the lines around the
/// span out through the file's line index and lets miette read only those.
struct Snippet<'s>(&'s SourceFile);

impl miette::SourceCode for Snippet<'_> {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let file = self.0;
        let start = span.offset();
        let (window, breaks) = file.window(
            start..start.saturating_add(span.len()),
            context_lines_before,
            context_lines_after,
        );
        let bytes = file
            .text
            .as_bytes()
            .get(window.clone())
            .ok_or(miette::MietteError::OutOfBounds)?;
        let inner = <[u8] as miette::SourceCode>::read_span(
            bytes,
            &miette::SourceSpan::new(start.saturating_sub(window.start).into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            file.path.clone(),
            inner.data(),
            miette::SourceSpan::new(
                (inner.span().offset() + window.start).into(),
                inner.span().len(),
            ),
            inner.line() + breaks,
            inner.column(),
            inner.line_count() + breaks,
        )))
    }
}

impl fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let word = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        Some(Box::new(format!("{word}[{}]", self.code)))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.hint
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

/// How to draw diagnostics on a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unicode box drawing with ANSI colours.
    Color,
    /// Unicode box drawing, no colours (pipes, files, snapshots).
    Plain,
}

/// Render diagnostics for a terminal, one after another.
pub fn render_text(diags: &[Diagnostic], sources: &Sources, style: Style) -> String {
    let theme = match style {
        Style::Color => miette::GraphicalTheme::unicode(),
        Style::Plain => miette::GraphicalTheme::unicode_nocolor(),
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
        .with_context_lines(1);
    let mut out = String::new();
    for d in diags {
        let view = miette_view(d, sources);
        if handler.render_report(&mut out, &view).is_err() {
            // Rendering into a String cannot fail in practice; fall back to one line.
            out.push_str(&format!("{}: {}\n", d.code, d.message));
        }
        if let Some(span) = d.span {
            // miette shows line:column inside the snippet header; repeat the
            // location plainly so editors and `grep` can jump to it.
            out.push_str(&format!("  --> {}\n", sources.location(span)));
        }
        out.push('\n');
    }
    out
}

fn miette_view<'s>(d: &Diagnostic, sources: &'s Sources) -> MietteView<'s> {
    let mut labels = Vec::new();
    let mut source = None;
    let mut extra_notes = Vec::new();
    if let Some(span) = d.span {
        source = Some(Snippet(sources.get(span.file)));
        labels.push(miette::LabeledSpan::new_primary_with_span(
            d.label.clone(),
            (span.start, span.end.saturating_sub(span.start)),
        ));
        for (note_span, text) in &d.notes {
            if note_span.file == span.file {
                labels.push(miette::LabeledSpan::new_with_span(
                    Some(text.clone()),
                    (
                        note_span.start,
                        note_span.end.saturating_sub(note_span.start),
                    ),
                ));
            } else {
                extra_notes.push(format!("{} (at {})", text, sources.location(*note_span)));
            }
        }
    } else {
        for (note_span, text) in &d.notes {
            extra_notes.push(format!("{} (at {})", text, sources.location(*note_span)));
        }
    }
    let mut message = d.message.clone();
    for n in extra_notes {
        message.push_str("\n  note: ");
        message.push_str(&n);
    }
    MietteView {
        code: d.code,
        severity: d.severity,
        message,
        hint: d.hint.clone(),
        source,
        labels,
    }
}

// ---------------------------------------------------------------- JSON rendering

/// The JSON shape of one diagnostic (`check --format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    /// Stable code.
    pub code: Code,
    /// `error` or `warning`.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// File path, if the problem has a place.
    pub file: Option<String>,
    /// Start position.
    pub start: Option<LineCol>,
    /// End position.
    pub end: Option<LineCol>,
    /// Text under the offending value.
    pub label: Option<String>,
    /// What to do.
    pub hint: Option<String>,
    /// Other relevant places.
    pub notes: Vec<JsonNote>,
}

/// A secondary location in JSON output.
#[derive(Debug, Serialize)]
pub struct JsonNote {
    /// File path.
    pub file: String,
    /// Start position.
    pub start: LineCol,
    /// What is there.
    pub message: String,
}

/// Convert diagnostics to their JSON shape.
pub fn to_json(diags: &[Diagnostic], sources: &Sources) -> Vec<JsonDiagnostic> {
    diags
        .iter()
        .map(|d| {
            let file = d.span.map(|s| sources.get(s.file));
            JsonDiagnostic {
                code: d.code,
                severity: d.severity,
                message: d.message.clone(),
                file: file.map(|f| f.path.clone()),
                start: d.span.zip(file).map(|(s, f)| f.line_col(s.start)),
                end: d.span.zip(file).map(|(s, f)| f.line_col(s.end)),
                label: d.label.clone(),
                hint: d.hint.clone(),
                notes: d
                    .notes
                    .iter()
                    .map(|(s, m)| {
                        let f = sources.get(s.file);
                        JsonNote {
                            file: f.path.clone(),
                            start: f.line_col(s.start),
                            message: m.clone(),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '-')
            );
        }
    }

    #[test]
    fn did_you_mean_finds_close_names_only() {
        let names = ["refunds", "orders", "billing"];
        assert_eq!(
            did_you_mean("refund", names).as_deref(),
            Some("did you mean `refunds`?")
        );
        assert_eq!(
            did_you_mean("Biling", names).as_deref(),
            Some("did you mean `billing`?")
        );
        assert_eq!(did_you_mean("zzz", names), None);
    }

    /// What a miette reader makes of a span, in words, for comparison.
    fn read(code: &dyn miette::SourceCode, offset: usize, len: usize, context: usize) -> String {
        match code.read_span(&(offset, len).into(), context, context) {
            Ok(c) => format!(
                "{:?} at {:?}, line {} column {}, {} lines, named {:?}",
                String::from_utf8_lossy(c.data()),
                c.span(),
                c.line(),
                c.column(),
                c.line_count(),
                c.name(),
            ),
            Err(e) => format!("error: {e}"),
        }
    }

    proptest::proptest! {
        /// The windowed reader shows exactly what miette's reader of the
        /// whole text shows, line breaks of every kind included.
        #[test]
        fn snippets_read_as_the_whole_text_does(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["a", "bc", "\n", "\r\n", "\r", "中", " ", "\n\n"]),
                0..60,
            ),
            offset in 0usize..200,
            len in 0usize..40,
            context in 0usize..3,
        ) {
            let text: String = parts.concat();
            let mut sources = Sources::new();
            let id = sources.add("t.toml", text.clone());
            let whole = miette::NamedSource::new("t.toml", text);
            proptest::prop_assert_eq!(
                read(&Snippet(sources.get(id)), offset, len, context),
                read(&whole, offset, len, context)
            );
        }
    }
}
