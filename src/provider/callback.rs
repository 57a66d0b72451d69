//! Provider-neutral callbacks: what every provider's request becomes once
//! its provider has verified and parsed it — a new call, the result of a
//! step, the call's final status, or a queue wait asking what to play.
//!
//! Parsing is strict: a callback that lacks what its kind needs, or whose
//! call id is not the call its URL names, is [`BadCallback`] — the server
//! answers it with 400 naming the field, and touches no state.

use crate::engine::{CallStatus, Event};
use std::time::Duration;

/// Why a callback cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadCallback {
    /// A required parameter is absent or empty.
    #[error("the callback has no {0}")]
    Missing(&'static str),
    /// A parameter has a value the provider does not send.
    #[error("the callback's {0} is not valid: {1:?}")]
    Invalid(&'static str, String),
    /// The URL names one call and the body another.
    #[error("the callback's call id {body:?} is not the call in its URL ({url:?})")]
    WrongCall {
        /// The call id in the URL.
        url: String,
        /// The call id in the body.
        body: String,
    },
    /// Nothing in the callback says what happened; the text lists what the
    /// provider's callbacks carry (`Digits, SpeechResult, …`).
    #[error("the callback carries no result ({0})")]
    NoResult(&'static str),
    /// The body is neither empty nor in a form the provider sends.
    #[error("the body is not {0}")]
    Body(&'static str),
}

/// A new call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// The provider's call id.
    pub call_sid: String,
    /// Caller ID (may be `anonymous` or a client name).
    pub from: String,
    /// The dialled number.
    pub to: String,
}

/// A step callback: which call, which step it answers, and what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct StepCallback {
    /// The provider's call id.
    pub call_sid: String,
    /// The step number our URL carried.
    pub step: u64,
    /// What happened.
    pub event: Event,
}

/// A status callback: the call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCallback {
    /// The provider's call id.
    pub call_sid: String,
    /// The final status.
    pub status: CallStatus,
    /// Call length in seconds, when the provider sends it.
    pub duration: Option<u32>,
}

/// A caller waiting in a group's queue: what should they hear next?
/// Fields the provider does not send are `None`; the server fills them in
/// from its own queue state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueWait {
    /// The call id our URL carried.
    pub call_sid: String,
    /// The group, by name, our URL carried.
    pub group: String,
    /// How long the caller has waited so far.
    pub waited: Option<Duration>,
    /// Their place in line (1: next).
    pub position: Option<u64>,
    /// The provider's average wait in this queue.
    pub average: Option<Duration>,
}

/// Which of our routes a request came to (`/{provider}/voice`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// A new call.
    Voice,
    /// The result of a step our document asked for.
    Step,
    /// The call's status (it ended).
    Status,
    /// A queue's hold music and announcements.
    Wait,
    /// Where the fallback route ends.
    Done,
    /// An agent's call, for the next caller of a group in Switchboard's own
    /// queue (mounted for providers that hold callers in it and can join
    /// two calls: Plivo).
    Agent,
}

impl Route {
    /// Every route, with the path segment it is mounted at.
    pub const ALL: [(Route, &'static str); 6] = [
        (Route::Voice, "voice"),
        (Route::Step, "step"),
        (Route::Status, "status"),
        (Route::Wait, "wait"),
        (Route::Done, "done"),
        (Route::Agent, "agent"),
    ];
}

/// What a callback asks for, provider-neutral.
#[derive(Clone, Debug, PartialEq)]
pub enum Callback {
    /// A call starts.
    NewCall(Incoming),
    /// A step's result.
    Step(StepCallback),
    /// The call ended.
    Status(StatusCallback),
    /// A waiting caller's next hold document.
    Wait(QueueWait),
    /// The end of the fallback route.
    Done,
    /// A document the provider answers itself, storing nothing (a
    /// VoiceXML browser's first fetch, before the call has an id).
    Answer(String),
    /// An agent's call asks for the next caller of `group`.
    Agent {
        /// The agent's call id.
        call_sid: String,
        /// The group, by name.
        group: String,
    },
}

/// The first value of a form or query parameter.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A parameter that must be there and not empty.
pub fn required<'a>(
    params: &'a [(String, String)],
    name: &'static str,
) -> Result<&'a str, BadCallback> {
    param(params, name)
        .filter(|v| !v.is_empty())
        .ok_or(BadCallback::Missing(name))
}

/// An optional parameter parsed as a number, invalid if present and not one.
pub fn number<T: std::str::FromStr>(
    params: &[(String, String)],
    name: &'static str,
) -> Result<Option<T>, BadCallback> {
    match param(params, name).filter(|v| !v.is_empty()) {
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| BadCallback::Invalid(name, v.to_owned())),
        None => Ok(None),
    }
}

/// The call id of our URL (`call`) checked against the one the provider
/// sends in `field`, and the step number our URL carries (`s`).
pub fn our_step(
    query: &[(String, String)],
    params: &[(String, String)],
    field: &'static str,
) -> Result<(String, u64), BadCallback> {
    let url_call = required(query, "call")?;
    let call_sid = required(params, field)?;
    if url_call != call_sid {
        return Err(BadCallback::WrongCall {
            url: url_call.to_owned(),
            body: call_sid.to_owned(),
        });
    }
    let s = required(query, "s")?;
    let step = s
        .parse()
        .map_err(|_| BadCallback::Invalid("step number", s.to_owned()))?;
    Ok((call_sid.to_owned(), step))
}

/// Keys a caller pressed, as the event they are: empty is no input; only
/// `0-9`, `*` and `#` are keys. The reason for a refusal gives the length
/// only, since what a caller typed is theirs (and the reason is logged).
pub fn digits(field: &'static str, d: &str) -> Result<Event, BadCallback> {
    if d.is_empty() {
        Ok(Event::NoInput)
    } else if d
        .chars()
        .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    {
        Ok(Event::Digits(d.to_owned()))
    } else {
        Err(BadCallback::Invalid(
            field,
            format!(
                "{} characters, not only keys 0-9, * and #",
                d.chars().count()
            ),
        ))
    }
}

/// The parameters of a callback's body: form-encoded, or (where a provider
/// sends JSON) an object's top-level fields, numbers and booleans as text.
pub fn body_params(
    content_type: Option<&str>,
    body: &[u8],
    json_allowed: bool,
) -> Result<Vec<(String, String)>, BadCallback> {
    let kind = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    match kind.as_deref() {
        _ if body.is_empty() => Ok(Vec::new()),
        Some("application/x-www-form-urlencoded") => Ok(form_pairs(body)),
        Some("application/json") if json_allowed => {
            let value: serde_json::Value =
                serde_json::from_slice(body).map_err(|_| BadCallback::Body("a JSON object"))?;
            let serde_json::Value::Object(map) = value else {
                return Err(BadCallback::Body("a JSON object"));
            };
            Ok(map
                .into_iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Number(n) => n.to_string(),
                        serde_json::Value::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((k, v))
                })
                .collect())
        }
        _ if json_allowed => Err(BadCallback::Body("form-encoded or JSON")),
        _ => Err(BadCallback::Body("form-encoded")),
    }
}

/// Decode an `application/x-www-form-urlencoded` body or query into ordered pairs.
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Parameters as owned pairs, for tests.
#[cfg(test)]
pub(crate) fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_step_checks_the_call_and_reads_the_step() {
        let q = p(&[("call", "C1"), ("s", "4")]);
        assert_eq!(
            our_step(&q, &p(&[("CallUUID", "C1")]), "CallUUID"),
            Ok(("C1".into(), 4))
        );
        assert!(matches!(
            our_step(&q, &p(&[("CallUUID", "C2")]), "CallUUID"),
            Err(BadCallback::WrongCall { .. })
        ));
        assert_eq!(
            our_step(&q, &[], "CallUUID"),
            Err(BadCallback::Missing("CallUUID"))
        );
    }

    #[test]
    fn keys_are_digits_star_and_pound_only() {
        assert_eq!(digits("Digits", ""), Ok(Event::NoInput));
        assert_eq!(digits("Digits", "1#"), Ok(Event::Digits("1#".into())));
        assert!(digits("Digits", "1<b>").is_err());
    }

    #[test]
    fn bodies_are_forms_or_json_where_allowed() {
        let form = Some("application/x-www-form-urlencoded; charset=utf-8");
        assert_eq!(
            body_params(form, b"A=1&B=x+y", false),
            Ok(p(&[("A", "1"), ("B", "x y")]))
        );
        let json = Some("application/json");
        assert_eq!(
            body_params(json, br#"{"CallSid":"C1","N":3,"ok":true,"deep":{}}"#, true),
            Ok(p(&[("CallSid", "C1"), ("N", "3"), ("ok", "true")]))
        );
        assert_eq!(
            body_params(json, b"{}", false),
            Err(BadCallback::Body("form-encoded"))
        );
        assert_eq!(
            body_params(json, b"[1]", true),
            Err(BadCallback::Body("a JSON object"))
        );
        assert_eq!(body_params(None, b"", false), Ok(vec![]));
        assert_eq!(
            body_params(Some("text/plain"), b"x", false),
            Err(BadCallback::Body("form-encoded"))
        );
    }
}
