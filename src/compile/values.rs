//! Checking the small values of the format: durations, bounded numbers,
//! variable names and language tags, each with a diagnostic that says what
//! is allowed.

use super::Builder;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::flow::spanned::Sp;
use crate::program::Lang;
use crate::source::{FileId, Span};
use std::time::Duration;

/// A bound as an admin would write it: "90d", "4h", "10m", "45s".
fn fmt(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// "`x` is not a language tag", wherever a tag is expected.
pub(crate) fn not_a_language(file: FileId, tag: &Sp<String>) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidValue,
        format!("`{}` is not a language tag", tag.value),
    )
    .labelled(Span::new(file, tag.range()), "expected a tag like en-US")
    .hint("language tags look like `en-US`, `zh-CN`, `es-MX`; quote them when used as keys")
}

impl Builder<'_> {
    /// Parse a duration such as `"5s"` or `"2m 30s"` within bounds; `None` (and a diagnostic) if it is not one.
    pub(crate) fn duration_opt(
        &mut self,
        file: FileId,
        raw: &Sp<String>,
        min: Duration,
        max: Duration,
    ) -> Option<Duration> {
        self.check_duration(file, raw, min, max, None)
    }

    /// A duration with a default for when the key is absent (or wrong).
    pub(crate) fn duration(
        &mut self,
        file: FileId,
        raw: Option<&Sp<String>>,
        default: Duration,
        min: Duration,
        max: Duration,
    ) -> Duration {
        raw.and_then(|r| self.check_duration(file, r, min, max, Some(default)))
            .unwrap_or(default)
    }

    fn check_duration(
        &mut self,
        file: FileId,
        raw: &Sp<String>,
        min: Duration,
        max: Duration,
        default: Option<Duration>,
    ) -> Option<Duration> {
        let range = format!("allowed: {} to {}", fmt(min), fmt(max));
        let range = match default {
            Some(d) => format!("{range}; leave the key out for the default, {}", fmt(d)),
            None => range,
        };
        match humantime::parse_duration(raw.trim()) {
            Ok(d) if d >= min && d <= max => Some(d),
            Ok(_) => {
                self.out_of_range(
                    file,
                    raw.range(),
                    format!("`{}` is out of range", raw.value),
                    range,
                );
                None
            }
            Err(_) => {
                self.push(
                    Diagnostic::new(Code::InvalidValue, format!("`{}` is not a duration", raw.value))
                        .labelled(Span::new(file, raw.range()), "expected a duration")
                        .hint(format!("write a number with a unit: \"5s\", \"90s\", \"2m\", \"1h 30m\", \"7d\" ({range})")),
                );
                None
            }
        }
    }

    /// Check a number within bounds; `None` (and a diagnostic) if outside them.
    pub(crate) fn number_opt(
        &mut self,
        file: FileId,
        raw: &Sp<u32>,
        min: u32,
        max: u32,
        what: &str,
    ) -> Option<u32> {
        self.check_number(file, raw, min, max, what, None)
    }

    /// A number with a default for when the key is absent (or wrong).
    pub(crate) fn bounded(
        &mut self,
        file: FileId,
        raw: Option<&Sp<u32>>,
        default: u32,
        min: u32,
        max: u32,
        what: &str,
    ) -> u32 {
        raw.and_then(|r| self.check_number(file, r, min, max, what, Some(default)))
            .unwrap_or(default)
    }

    fn check_number(
        &mut self,
        file: FileId,
        raw: &Sp<u32>,
        min: u32,
        max: u32,
        what: &str,
        default: Option<u32>,
    ) -> Option<u32> {
        if (min..=max).contains(&raw.value) {
            return Some(raw.value);
        }
        let hint = match default {
            Some(d) => format!("leave the key out for the default, {d}"),
            None => format!("use a number from {min} to {max}"),
        };
        let message = format!("{what} must be between {min} and {max}, not {}", raw.value);
        self.out_of_range(file, raw.range(), message, hint);
        None
    }

    fn out_of_range(
        &mut self,
        file: FileId,
        range: std::ops::Range<usize>,
        message: String,
        hint: String,
    ) {
        self.push(
            Diagnostic::new(Code::InvalidValue, message)
                .labelled(Span::new(file, range), "out of range")
                .hint(hint),
        );
    }

    /// Check a variable name.
    pub(crate) fn var_name(&mut self, file: FileId, name: &Sp<String>) -> String {
        if !crate::flow::is_valid_name(name) {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{}` is not a valid variable name", name.value),
                )
                .labelled(Span::new(file, name.range()), "invalid name")
                .hint("variable names may use letters, digits, `_` and `-`"),
            );
        }
        name.value.clone()
    }

    /// Check a language tag that must be one of the declared ones.
    pub(crate) fn declared_lang(
        &mut self,
        file: FileId,
        tag: &Sp<String>,
        declared: &[Lang],
    ) -> Option<Lang> {
        let Some(lang) = Lang::parse(tag) else {
            self.push(not_a_language(file, tag));
            return None;
        };
        if !declared.contains(&lang) {
            let names: Vec<_> = declared.iter().map(Lang::as_str).collect();
            self.push(
                Diagnostic::new(
                    Code::UnknownReference,
                    format!("language `{lang}` is not declared"),
                )
                .labelled(Span::new(file, tag.range()), "undeclared language")
                .hint(did_you_mean(tag, names.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "declared: {}; add it to `[settings] languages`",
                        names.join(", ")
                    )
                })),
            );
            return None;
        }
        Some(lang)
    }

    /// Check an E.164 number; `what` names such numbers in the hint.
    pub(crate) fn e164(&mut self, file: FileId, num: &Sp<String>, what: &str) -> bool {
        if crate::routing::is_e164(num) {
            return true;
        }
        self.push(
            Diagnostic::new(Code::InvalidValue, format!("`{}` is not an E.164 number", num.value))
                .labelled(Span::new(file, num.range()), "expected +<country code><number>")
                .hint(format!("{what} are written in E.164, e.g. \"+15551230000\": `+`, country code, number, no spaces")),
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_read_as_written() {
        assert_eq!(fmt(Duration::from_secs(90 * 86_400)), "90d");
        assert_eq!(fmt(Duration::from_secs(4 * 3_600)), "4h");
        assert_eq!(fmt(Duration::from_secs(600)), "10m");
        assert_eq!(fmt(Duration::from_secs(45)), "45s");
    }
}
