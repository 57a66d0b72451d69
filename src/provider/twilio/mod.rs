//! Twilio: actions rendered as TwiML with quick-xml (every text and attribute
//! escaped by the writer).
//!
//! A `<Gather>` is followed by a `<Redirect>` to the no-input URL, because
//! Twilio falls through to the next verb when nothing is entered; so is a
//! `<Record>`, because an empty recording makes no request. `finishOnKey` is
//! always written, empty when no key ends input, so that `#` can be a menu
//! option. Queue priority needs TaskRouter and is not expressed in TwiML.
//!
//! [`signature`] verifies `X-Twilio-Signature` on every request.

pub mod callback;
pub mod signature;

use super::xml::{self, W, redirect, secs};
use super::{BadCallback, Callback, Document, Provider, Refused, Request, Route, Urls};
use crate::action::{Action, Speech};
use crate::program::Program;
use quick_xml::events::BytesText;
use std::io;

/// The content type of TwiML responses.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// What TwiML does with each feature (see [`super::capability`]); Telnyx's
/// TeXML and SignalWire's cXML share it.
pub fn support(feature: super::capability::Feature) -> super::capability::Support {
    use super::capability::{Feature as F, Support as S};
    match feature {
        F::Priority => {
            S::Ignored("queue priority needs TaskRouter, which TwiML alone does not reach")
        }
        _ => S::Native,
    }
}

/// Twilio, with its auth token (`None`: requests are not checked).
#[derive(Clone, Debug)]
pub struct Twilio {
    token: Option<String>,
}

impl Twilio {
    /// Twilio, checking `X-Twilio-Signature` with `token` when there is one.
    pub fn new(token: Option<String>) -> Self {
        Twilio {
            token: token.filter(|t| !t.is_empty()),
        }
    }
}

/// Verify `X-Twilio-Signature` (or the header a Twilio-compatible provider
/// sends in its place) keyed with `key`: the classic HMAC-SHA1, or the
/// shared-key HMAC-SHA256 the settings header announces.
pub(crate) fn verify_twilio_style(
    req: &Request<'_>,
    key: &str,
    signature: Option<&str>,
    json_body: Option<&[u8]>,
) -> Result<(), Refused> {
    let algorithm =
        signature::Algorithm::from_settings(req.header("x-twilio-webhooks-signature-settings"));
    let params: &[(String, String)] = if json_body.is_some() { &[] } else { req.params };
    signature::verify(algorithm, key, req.url, params, json_body, signature)
        .map_err(|e| Refused(e.to_string()))
}

/// Parse a TwiML-style callback (Twilio's parameter names) to `route`.
pub(crate) fn parse_twilio_style(route: Route, req: &Request<'_>) -> Result<Callback, BadCallback> {
    Ok(match route {
        Route::Voice => Callback::NewCall(callback::incoming(req.params)?),
        Route::Step => Callback::Step(callback::step(req.query, req.params)?),
        Route::Status => Callback::Status(callback::status(req.params)?),
        Route::Wait => Callback::Wait(callback::wait(req.query, req.params)?),
        Route::Done => Callback::Done,
        // Twilio-style agents take queued callers with <Dial><Queue>.
        Route::Agent => return Err(BadCallback::Invalid("route", "agent".into())),
    })
}

impl Provider for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }
    fn content_type(&self) -> &'static str {
        CONTENT_TYPE
    }
    fn signed(&self) -> bool {
        self.token.is_some()
    }
    fn verify(&self, req: &Request<'_>) -> Result<(), Refused> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        verify_twilio_style(req, token, req.header("x-twilio-signature"), None)
    }
    fn parse(&self, route: Route, req: &Request<'_>) -> Result<Callback, BadCallback> {
        parse_twilio_style(route, req)
    }
    fn render(&self, doc: &Document<'_>) -> String {
        render(doc.actions, doc.program, doc.call_id, doc.step, doc.urls)
    }
}

/// Render one step's actions as a TwiML document.
pub fn render(
    actions: &[Action],
    program: &Program,
    call_id: &str,
    step: u64,
    urls: &dyn Urls,
) -> String {
    xml::document(HANGUP, |w| write(w, actions, program, call_id, step, urls))
}

/// A complete TwiML document that hangs up.
const HANGUP: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#;

fn write(
    w: &mut W,
    actions: &[Action],
    program: &Program,
    call_id: &str,
    step: u64,
    urls: &dyn Urls,
) -> io::Result<()> {
    let step_url = urls.step(call_id, step);
    let no_input = urls.no_input(call_id, step);
    w.create_element("Response").write_inner_content(|w| {
        for action in actions {
            match action {
                Action::Speak(s) => speech(w, s, urls)?,
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
                    let modes = match (input.dtmf, input.speech) {
                        (true, true) => "dtmf speech",
                        (false, true) => "speech",
                        _ => "dtmf",
                    };
                    let finish = finish_on_key.map(|k| k.to_string()).unwrap_or_default();
                    let timeout = secs(*timeout);
                    let digits = num_digits.map(|n| n.to_string());
                    let joined = hints.join(", ");
                    let mut el = w
                        .create_element("Gather")
                        .with_attribute(("input", modes))
                        .with_attribute(("action", step_url.as_str()))
                        .with_attribute(("method", "POST"))
                        .with_attribute(("timeout", timeout.as_str()))
                        .with_attribute(("finishOnKey", finish.as_str()));
                    if let Some(d) = &digits {
                        el = el.with_attribute(("numDigits", d.as_str()));
                    }
                    if input.speech {
                        el = el
                            .with_attribute(("speechTimeout", "auto"))
                            .with_attribute(("language", language.as_str()));
                        if !joined.is_empty() {
                            el = el.with_attribute(("hints", joined.as_str()));
                        }
                    }
                    if prompts.is_empty() {
                        el.write_empty()?;
                    } else {
                        el.write_inner_content(|w| {
                            prompts.iter().try_for_each(|s| speech(w, s, urls))
                        })?;
                    }
                    redirect(w, &no_input)?;
                }
                Action::Enqueue { queue, group, .. } => {
                    let name = program
                        .groups
                        .get(group.index())
                        .map_or(queue.as_str(), |g| g.name.as_str());
                    let wait = urls.wait(call_id, name);
                    w.create_element("Enqueue")
                        .with_attribute(("action", step_url.as_str()))
                        .with_attribute(("method", "POST"))
                        .with_attribute(("waitUrl", wait.as_str()))
                        .with_attribute(("waitUrlMethod", "POST"))
                        .write_text_content(BytesText::new(queue))?;
                }
                Action::Dial {
                    to,
                    timeout,
                    caller_id,
                } => xml::dial(w, &step_url, *timeout, caller_id.as_deref(), to, "Sip", &[])?,
                Action::Record { max_length, beep } => {
                    xml::record(w, &step_url, &no_input, *max_length, *beep, &[])?
                }
                Action::Redirect => redirect(w, &step_url)?,
                Action::Leave { .. } => {
                    w.create_element("Leave").write_empty()?;
                }
                // Not produced for Twilio (its agents dequeue callers themselves).
                Action::AwaitCaller { .. } => {
                    w.create_element("Hangup").write_empty()?;
                }
                Action::Conference { room, agent } => {
                    // Twilio queues callers itself, so Switchboard's own
                    // queue never joins them to a room; rendered all the same.
                    let on = if *agent { "true" } else { "false" };
                    w.create_element("Dial")
                        .with_attribute(("action", step_url.as_str()))
                        .with_attribute(("method", "POST"))
                        .write_inner_content(|w| {
                            w.create_element("Conference")
                                .with_attribute(("startConferenceOnEnter", on))
                                .with_attribute(("endConferenceOnExit", "true"))
                                .write_text_content(BytesText::new(room))?;
                            Ok(())
                        })?;
                }
                Action::Hangup => {
                    w.create_element("Hangup").write_empty()?;
                }
            }
        }
        Ok(())
    })?;
    Ok(())
}

fn speech(w: &mut W, s: &Speech, urls: &dyn Urls) -> io::Result<()> {
    match s {
        Speech::Say {
            text,
            language,
            voice,
        } => {
            let mut el = w.create_element("Say");
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
            w.create_element("Pause")
                .with_attribute(("length", seconds.to_string().as_str()))
                .write_empty()?;
        }
    }
    Ok(())
}
