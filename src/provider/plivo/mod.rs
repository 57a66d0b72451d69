//! Plivo: actions rendered as Plivo XML, Plivo's callbacks parsed, and
//! `X-Plivo-Signature-V3` checked ([`signature`]).
//!
//! What differs from Twilio (see `docs/providers.md`):
//!
//! - Keys alone are a `<GetDigits>`; keys and speech a `<GetInput>`. Like
//!   Twilio, Plivo goes on to the next element when nothing is entered, so
//!   both are followed by a `<Redirect>` to the no-input URL, as is `<Record>`.
//! - Plivo has no `<Enqueue>`. A caller queued for a group waits in our own
//!   hold loop: a `<Redirect>` to the wait URL, whose answer is the
//!   announcements and hold music of [`crate::engine::hold`] followed by a
//!   `<Redirect>` back to it; once the group's `max_wait` is up it
//!   redirects to the step URL with `ev=leave` instead, which is the queue
//!   result `timeout`. Place in line and waiting time come from our own
//!   queue state, since Plivo reports none. An agent's call to
//!   `/plivo/agent?group=NAME` takes the caller who waited longest: both
//!   meet in a `<Conference>` room of their own, whose action reports the
//!   queue's `bridged`.
//! - `<Dial>` rings `<Number>`s and SIP `<User>`s; its action gets `DialStatus`.
//! - A document may be at most 100 KB: a longer one (prompts of novel
//!   length) loses its spoken prompts, keeping every control element.

pub mod signature;

use super::callback::{
    BadCallback, Incoming, QueueWait, StatusCallback, StepCallback, digits, number, our_step,
    param, required,
};
use super::xml::{self, W, redirect, secs};
use super::{Callback, Document, Provider, Refused, Request, Route, Urls};
use crate::action::{Action, Speech};
use crate::engine::{CallStatus, DialStatus, Event, QueueResult};
use quick_xml::events::BytesText;
use std::io;

/// The content type of Plivo XML responses.
pub const CONTENT_TYPE: &str = "application/xml; charset=utf-8";

/// Plivo's limit on a response document.
pub const MAX_DOCUMENT: usize = 100 * 1024;

/// What Plivo's step callbacks carry, for [`BadCallback::NoResult`].
const RESULTS: &str = "Digits, Speech, DialStatus or RecordUrl";

/// A complete Plivo XML document that hangs up.
const HANGUP: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#;

/// What Plivo XML does with each feature (see [`super::capability`]).
pub fn support(feature: super::capability::Feature) -> super::capability::Support {
    use super::capability::{Feature as F, Support as S};
    match feature {
        F::Queue => S::Emulated(
            "Plivo has no `<Enqueue>`: callers wait in Switchboard's own hold loop; an agent's call to `/plivo/agent?group=NAME` takes the one who waited longest into a `<Conference>` room of their own",
        ),
        F::Announcements => {
            S::Emulated("the place in line comes from Switchboard's own queue; no expected wait")
        }
        F::MaxQueue => {
            S::Emulated("Switchboard's own queue refuses callers beyond it (queue result `full`)")
        }
        F::Priority => S::Ignored("Switchboard's own queue is first come, first served"),
        _ => S::Native,
    }
}

/// Plivo, with the (sub)account's auth token and optionally the main
/// account's (`X-Plivo-Signature-Ma-V3`). Without a token requests are not checked.
#[derive(Clone, Debug)]
pub struct Plivo {
    token: Option<String>,
    main_token: Option<String>,
}

impl Plivo {
    /// Plivo, checking signatures with `token` (and `main_token` for the main account's header).
    pub fn new(token: Option<String>, main_token: Option<String>) -> Self {
        Plivo {
            token: token.filter(|t| !t.is_empty()),
            main_token: main_token.filter(|t| !t.is_empty()),
        }
    }
}

impl Provider for Plivo {
    fn name(&self) -> &'static str {
        "plivo"
    }
    fn content_type(&self) -> &'static str {
        CONTENT_TYPE
    }
    fn signed(&self) -> bool {
        self.token.is_some() || self.main_token.is_some()
    }
    fn agents(&self) -> bool {
        true
    }
    fn verify(&self, req: &Request<'_>) -> Result<(), Refused> {
        let get = req.method == axum::http::Method::GET;
        let params: &[(String, String)] = if get { &[] } else { req.params };
        let nonce = req.header("x-plivo-signature-v3-nonce");
        let checks = [
            (&self.token, "x-plivo-signature-v3"),
            (&self.main_token, "x-plivo-signature-ma-v3"),
        ];
        let mut last = signature::Rejected::Missing;
        for (token, header) in checks {
            let (Some(token), Some(sig)) = (token, req.header(header)) else {
                continue;
            };
            match signature::verify(token, get, req.url, params, nonce, Some(sig)) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(Refused(last.to_string()))
    }
    fn parse(&self, route: Route, req: &Request<'_>) -> Result<Callback, BadCallback> {
        // A GET carries Plivo's parameters in the query, beside ours.
        let params = if req.method == axum::http::Method::GET {
            req.query
        } else {
            req.params
        };
        Ok(match route {
            Route::Voice => Callback::NewCall(incoming(params)?),
            Route::Step => Callback::Step(step(req.query, params)?),
            Route::Status => Callback::Status(status(params)?),
            Route::Wait => Callback::Wait(wait(req.query, params)?),
            Route::Done => Callback::Done,
            Route::Agent => Callback::Agent {
                call_sid: required(params, "CallUUID")?.to_owned(),
                group: required(req.query, "group")?.to_owned(),
            },
        })
    }
    fn render(&self, doc: &Document<'_>) -> String {
        let full = render(doc, true);
        if full.len() <= MAX_DOCUMENT {
            return full;
        }
        tracing::warn!(
            call = doc.call_id,
            bytes = full.len(),
            "a Plivo document over 100 KB: its spoken prompts are left out"
        );
        render(doc, false)
    }
}

/// Parse the answer URL's request (a new call). Plivo writes phone
/// numbers without the `+` of E.164 (`14155551234`); it is put back, so
/// `[numbers]`, caller lists and history see the same numbers on every
/// provider. SIP URIs and names are kept as they are.
pub fn incoming(params: &[(String, String)]) -> Result<Incoming, BadCallback> {
    Ok(Incoming {
        call_sid: required(params, "CallUUID")?.to_owned(),
        from: param(params, "From")
            .filter(|f| !f.is_empty())
            .map_or_else(|| "anonymous".to_owned(), e164),
        to: e164(required(params, "To")?),
    })
}

/// `14155551234` → `+14155551234`; anything that is not all digits unchanged.
fn e164(number: &str) -> String {
    if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{number}")
    } else {
        number.to_owned()
    }
}

/// Parse a step callback: our URL's `call`, `s` and `ev`, Plivo's parameters.
pub fn step(
    query: &[(String, String)],
    params: &[(String, String)],
) -> Result<StepCallback, BadCallback> {
    let (call_sid, step) = our_step(query, params, "CallUUID")?;
    let event = match param(query, "ev") {
        Some("noinput") => Event::NoInput,
        Some("leave") => Event::queue(QueueResult::Timeout),
        Some("full") => Event::queue(QueueResult::Full),
        // What our hold loop's conference room posts once the caller was
        // connected and the conversation is over.
        Some("bridged") => Event::queue(QueueResult::Bridged),
        _ => event(params)?,
    };
    Ok(StepCallback {
        call_sid,
        step,
        event,
    })
}

fn event(params: &[(String, String)]) -> Result<Event, BadCallback> {
    if let Some(status) = param(params, "DialStatus") {
        return Ok(Event::Dial(match status {
            "completed" | "answer" | "answered" => DialStatus::Completed,
            "busy" => DialStatus::Busy,
            "no-answer" | "timeout" => DialStatus::NoAnswer,
            "failed" => DialStatus::Failed,
            "cancel" | "canceled" => DialStatus::Canceled,
            other => return Err(BadCallback::Invalid("DialStatus", other.to_owned())),
        }));
    }
    if let Some(url) = param(params, "RecordUrl").filter(|u| !u.is_empty()) {
        let seconds = match number::<u32>(params, "RecordingDuration")? {
            Some(s) => s,
            None => number::<u32>(params, "RecordingDurationMs")?.map_or(0, |ms| ms / 1000),
        };
        return Ok(Event::Recording {
            url: url.to_owned(),
            seconds,
        });
    }
    if param(params, "InputType") == Some("speech")
        && let Some(text) = param(params, "Speech").filter(|t| !t.trim().is_empty())
    {
        let confidence = param(params, "SpeechConfidenceScore")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0.0);
        return Ok(Event::Speech {
            text: text.to_owned(),
            confidence,
        });
    }
    match param(params, "Digits") {
        Some(d) => digits("Digits", d),
        // A GetInput that heard nothing sends its InputType alone.
        None if param(params, "InputType").is_some() => Ok(Event::NoInput),
        None => Err(BadCallback::NoResult(RESULTS)),
    }
}

/// Parse the hangup callback.
pub fn status(params: &[(String, String)]) -> Result<StatusCallback, BadCallback> {
    let call_sid = required(params, "CallUUID")?.to_owned();
    let status = match required(params, "CallStatus")? {
        "completed" => CallStatus::Completed,
        "busy" => CallStatus::Busy,
        "no-answer" | "timeout" => CallStatus::NoAnswer,
        "failed" => CallStatus::Failed,
        "cancel" | "canceled" => CallStatus::Canceled,
        other => return Err(BadCallback::Invalid("CallStatus", other.to_owned())),
    };
    Ok(StatusCallback {
        call_sid,
        status,
        duration: number(params, "Duration")?,
    })
}

/// Parse a request of our hold loop: the call and group our URL carries
/// (the call checked against Plivo's `CallUUID` when it sends one).
pub fn wait(
    query: &[(String, String)],
    params: &[(String, String)],
) -> Result<QueueWait, BadCallback> {
    let call = required(query, "call")?;
    if let Some(uuid) = param(params, "CallUUID").filter(|u| !u.is_empty())
        && uuid != call
    {
        return Err(BadCallback::WrongCall {
            url: call.to_owned(),
            body: uuid.to_owned(),
        });
    }
    Ok(QueueWait {
        call_sid: call.to_owned(),
        group: required(query, "group")?.to_owned(),
        waited: None,
        position: None,
        average: None,
    })
}

/// Render `doc` as Plivo XML; `spoken`: with its prompts (else without
/// them, for a document over [`MAX_DOCUMENT`]).
fn render(doc: &Document<'_>, spoken: bool) -> String {
    xml::document(HANGUP, |w| {
        w.create_element("Response")
            .write_inner_content(|w| write(w, doc, spoken))?;
        Ok(())
    })
}

fn write(w: &mut W, doc: &Document<'_>, spoken: bool) -> io::Result<()> {
    let urls = doc.urls;
    let step_url = urls.step(doc.call_id, doc.step);
    let no_input = urls.no_input(doc.call_id, doc.step);
    let mut left = false;
    for action in doc.actions {
        match action {
            Action::Speak(s) => speech(w, s, urls, spoken)?,
            Action::Gather {
                prompts,
                input,
                num_digits,
                timeout,
                finish_on_key,
                hints,
                language,
                ..
            } => {
                let finish = finish_on_key.map(|k| k.to_string()).unwrap_or_default();
                let timeout = secs(*timeout);
                let digits = num_digits.map(|n| n.to_string());
                let joined = hints.join(",");
                let mut el = if input.speech {
                    let modes = if input.dtmf { "dtmf speech" } else { "speech" };
                    let mut el = w
                        .create_element("GetInput")
                        .with_attribute(("action", step_url.as_str()))
                        .with_attribute(("method", "POST"))
                        .with_attribute(("inputType", modes))
                        .with_attribute(("executionTimeout", timeout.as_str()))
                        .with_attribute(("language", language.as_str()))
                        .with_attribute(("redirect", "true"));
                    if !joined.is_empty() {
                        el = el.with_attribute(("hints", joined.as_str()));
                    }
                    el
                } else {
                    w.create_element("GetDigits")
                        .with_attribute(("action", step_url.as_str()))
                        .with_attribute(("method", "POST"))
                        .with_attribute(("timeout", timeout.as_str()))
                        .with_attribute(("redirect", "true"))
                };
                el = el.with_attribute(("finishOnKey", finish.as_str()));
                if let Some(d) = &digits {
                    el = el.with_attribute(("numDigits", d.as_str()));
                }
                if prompts.is_empty() || !spoken {
                    el.write_empty()?;
                } else {
                    el.write_inner_content(|w| {
                        prompts.iter().try_for_each(|s| speech(w, s, urls, spoken))
                    })?;
                }
                redirect(w, &no_input)?;
            }
            Action::Enqueue { queue, group, .. } => {
                let name = doc
                    .program
                    .groups
                    .get(group.index())
                    .map_or(queue.as_str(), |g| g.name.as_str());
                redirect(w, &hold_url(doc, name))?;
            }
            Action::Dial {
                to,
                timeout,
                caller_id,
            } => xml::dial(
                w,
                &step_url,
                *timeout,
                caller_id.as_deref(),
                to,
                "User",
                &[("redirect", "true")],
            )?,
            Action::Record { max_length, beep } => xml::record(
                w,
                &step_url,
                &no_input,
                *max_length,
                *beep,
                &[("redirect", "true")],
            )?,
            Action::Redirect => redirect(w, &step_url)?,
            Action::Leave { full } => {
                left = true;
                redirect(w, &urls.leave(doc.call_id, doc.step, *full))?;
            }
            Action::AwaitCaller { group } => {
                left = true;
                redirect(w, &urls.agent(group))?;
            }
            Action::Conference { room, agent } => {
                let mut el = w
                    .create_element("Conference")
                    .with_attribute((
                        "startConferenceOnEnter",
                        if *agent { "true" } else { "false" },
                    ))
                    .with_attribute(("endConferenceOnExit", "true"));
                let bridged = format!("{step_url}&ev=bridged");
                if !*agent {
                    // The caller's side reports the queue's `bridged` when the talk is over.
                    el = el
                        .with_attribute(("action", bridged.as_str()))
                        .with_attribute(("method", "POST"));
                }
                el.write_text_content(BytesText::new(room))?;
                left = true;
            }
            Action::Hangup => {
                w.create_element("Hangup").write_empty()?;
            }
        }
    }
    // Our hold loop: back to the wait URL after the music.
    if let Some(group) = doc.hold
        && !left
    {
        redirect(w, &hold_url(doc, group))?;
    }
    Ok(())
}

/// Our hold loop's URL for `group`, with the step the call waits at (where
/// leaving, and the agent line's conference room, report to).
fn hold_url(doc: &Document<'_>, group: &str) -> String {
    format!("{}&s={}", doc.urls.wait(doc.call_id, group), doc.step)
}

fn speech(w: &mut W, s: &Speech, urls: &dyn Urls, spoken: bool) -> io::Result<()> {
    match s {
        Speech::Say {
            text,
            language,
            voice,
        } => {
            if !spoken {
                return Ok(());
            }
            let mut el = w.create_element("Speak");
            if let Some(v) = voice {
                el = el.with_attribute(("voice", v.as_str()));
            }
            el.with_attribute(("language", language.as_str()))
                .write_text_content(BytesText::new(text))?;
        }
        Speech::Play { file } => {
            w.create_element("Play")
                .write_text_content(BytesText::new(&urls.media(file)))?;
        }
        Speech::Pause { seconds } => {
            w.create_element("Wait")
                .with_attribute(("length", seconds.to_string().as_str()))
                .write_empty()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::provider::callback::p;

    fn step_event(body: &[(&str, &str)]) -> Result<Event, BadCallback> {
        let mut params = p(&[("CallUUID", "u1")]);
        params.extend(p(body));
        step(&p(&[("call", "u1"), ("s", "3")]), &params).map(|s| s.event)
    }

    #[test]
    fn plivos_callbacks_become_events() {
        assert_eq!(
            step_event(&[("Digits", "12")]),
            Ok(Event::Digits("12".into()))
        );
        assert_eq!(step_event(&[("Digits", "")]), Ok(Event::NoInput));
        assert_eq!(
            step_event(&[
                ("InputType", "speech"),
                ("Speech", "billing"),
                ("SpeechConfidenceScore", "0.8")
            ]),
            Ok(Event::Speech {
                text: "billing".into(),
                confidence: 0.8
            })
        );
        assert_eq!(step_event(&[("InputType", "dtmf")]), Ok(Event::NoInput));
        assert_eq!(
            step_event(&[("DialStatus", "timeout")]),
            Ok(Event::Dial(DialStatus::NoAnswer))
        );
        assert_eq!(
            step_event(&[
                ("RecordUrl", "https://media.plivo.com/r1.mp3"),
                ("RecordingDurationMs", "14500")
            ]),
            Ok(Event::Recording {
                url: "https://media.plivo.com/r1.mp3".into(),
                seconds: 14
            })
        );
        let left = step(
            &p(&[("call", "u1"), ("s", "3"), ("ev", "leave")]),
            &p(&[("CallUUID", "u1")]),
        );
        assert_eq!(
            left.map(|s| s.event),
            Ok(Event::queue(QueueResult::Timeout))
        );
        assert_eq!(step_event(&[]), Err(BadCallback::NoResult(RESULTS)));
        assert_eq!(
            step_event(&[("DialStatus", "maybe")]),
            Err(BadCallback::Invalid("DialStatus", "maybe".into()))
        );
        assert_eq!(
            step_event(&[("RecordUrl", "x"), ("RecordingDuration", "long")]),
            Err(BadCallback::Invalid("RecordingDuration", "long".into()))
        );
    }

    #[test]
    fn new_calls_statuses_and_waits_need_their_fields() {
        let i = incoming(&p(&[
            ("CallUUID", "u1"),
            ("From", ""),
            ("To", "14155550000"),
        ]))
        .unwrap();
        assert_eq!(
            (i.call_sid.as_str(), i.from.as_str(), i.to.as_str()),
            ("u1", "anonymous", "+14155550000")
        );
        let sip = incoming(&p(&[
            ("CallUUID", "u1"),
            ("From", "sip:alice@phone.plivo.com"),
            ("To", "+1415"),
        ]))
        .unwrap();
        assert_eq!(
            (sip.from.as_str(), sip.to.as_str()),
            ("sip:alice@phone.plivo.com", "+1415")
        );
        assert_eq!(
            incoming(&p(&[("To", "1")])),
            Err(BadCallback::Missing("CallUUID"))
        );
        let s = status(&p(&[
            ("CallUUID", "u1"),
            ("CallStatus", "timeout"),
            ("Duration", "0"),
        ]))
        .unwrap();
        assert_eq!((s.status, s.duration), (CallStatus::NoAnswer, Some(0)));
        assert_eq!(
            status(&p(&[("CallUUID", "u1"), ("CallStatus", "ringing")])),
            Err(BadCallback::Invalid("CallStatus", "ringing".into()))
        );
        assert!(matches!(
            wait(
                &p(&[("call", "u1"), ("group", "g")]),
                &p(&[("CallUUID", "u2")])
            ),
            Err(BadCallback::WrongCall { .. })
        ));
        assert_eq!(
            wait(&p(&[("call", "u1")]), &[]),
            Err(BadCallback::Missing("group"))
        );
    }
}
