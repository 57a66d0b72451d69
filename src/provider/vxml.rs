//! W3C VoiceXML 2.1 (Cisco CVP/VVB, Avaya Experience Portal and other
//! VoiceXML browsers): one document per step, served as
//! `application/voicexml+xml`.
//!
//! - The platform's application URL is `/vxml/voice`. Fetched without
//!   parameters it answers a bootstrap document that reads the caller and
//!   the dialled number from `session.connection.remote.uri` and
//!   `session.connection.local.uri`, makes a call id, and submits them
//!   back (`call`, `from`, `to`); a platform may also post those itself.
//! - A menu, an input or a survey is a `<field>` with SRGS 1.0 grammars:
//!   DTMF built from the answers the step accepts (a menu's options and
//!   its flow's global keys, a survey's ratings; an input takes 1 to
//!   `num_digits` digits), and a voice grammar of the menu's speech words.
//!   `<filled>` submits the answer (`answer`, `mode`) to the step URL;
//!   `<noinput>` and `<nomatch>` submit `ev=noinput` / `ev=nomatch`, so the
//!   node's own `attempts` and prompts decide what comes next, exactly as
//!   on every other provider.
//! - A transfer is `<transfer type="bridge">` to the first endpoint (a
//!   browser dials one destination), its result submitted as `t`.
//! - A voicemail is `<record>`, posted as `multipart/form-data`; the server
//!   keeps the audio (see `docs/providers.md`).
//! - Queues are our own hold loop, as on Plivo: prompts and hold music,
//!   then a `<submit>` back to the wait URL, or to the step URL with
//!   `ev=leave` / `ev=full`.
//! - Every document catches `connection.disconnect.hangup` and submits
//!   `ev=hangup`: the call's status, since a browser sends no other.
//!
//! A browser signs nothing: on a public address the platform must send
//! HTTP Basic credentials whose password is `SWITCHBOARD_VXML_TOKEN`.

use super::callback::{
    BadCallback, Incoming, QueueWait, StatusCallback, StepCallback, digits, param, required,
};
use super::xml::{self, W};
use super::{Callback, Document, Provider, Refused, Request, Route, Urls};
use crate::action::{Action, Speech};
use crate::engine::{CallStatus, DialStatus, Event, QueueResult};
use crate::program::Lang;
use crate::routing::Endpoint;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::events::BytesText;
use std::io;
use subtle::ConstantTimeEq;

/// The content type of VoiceXML documents (RFC 4267).
pub const CONTENT_TYPE: &str = "application/voicexml+xml; charset=utf-8";

/// The VoiceXML namespace.
pub const VXML_NS: &str = "http://www.w3.org/2001/vxml";

/// The SRGS namespace of inline grammars.
pub const SRGS_NS: &str = "http://www.w3.org/2001/06/grammar";

/// What VoiceXML step submissions carry, for [`BadCallback::NoResult`].
const RESULTS: &str = "answer, t, msg or ev";

/// A complete VoiceXML document that hangs up.
const HANGUP: &str = r#"<?xml version="1.0" encoding="UTF-8"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><form><block><disconnect/></block></form></vxml>"#;

/// What VoiceXML 2.1 does with each feature (see [`super::capability`]).
pub fn support(feature: super::capability::Feature) -> super::capability::Support {
    use super::capability::{Feature as F, Support as S};
    match feature {
        F::Queue => S::Cannot(
            "callers would wait in Switchboard's own hold loop, but a VoiceXML browser cannot join a caller to an agent's call; give the group `agents` (a `<transfer>`)",
        ),
        F::Announcements => {
            S::Emulated("the place in line comes from Switchboard's own queue; no expected wait")
        }
        F::MaxQueue => {
            S::Emulated("Switchboard's own queue refuses callers beyond it (queue result `full`)")
        }
        F::Priority => S::Ignored("Switchboard's own queue is first come, first served"),
        F::SeveralAtOnce => S::Cannot("a `<transfer>` rings one destination"),
        F::CallerId => S::Ignored("a `<transfer>` presents the platform's own caller ID"),
        F::Voices => S::Ignored("voices are chosen on the VoiceXML platform"),
        F::Recording => S::Emulated(
            "the browser uploads the `<record>` audio, which Switchboard keeps for supervisors",
        ),
        _ => S::Native,
    }
}

/// VoiceXML, with the password of the platform's Basic credentials (`None`: unchecked).
#[derive(Clone, Debug)]
pub struct VoiceXml {
    token: Option<String>,
}

impl VoiceXml {
    /// VoiceXML, requiring HTTP Basic credentials with password `token` when there is one.
    pub fn new(token: Option<String>) -> Self {
        VoiceXml {
            token: token.filter(|t| !t.is_empty()),
        }
    }
}

impl Provider for VoiceXml {
    fn name(&self) -> &'static str {
        "vxml"
    }
    fn content_type(&self) -> &'static str {
        CONTENT_TYPE
    }
    fn signed(&self) -> bool {
        self.token.is_some()
    }
    fn accepts_uploads(&self) -> bool {
        true
    }
    fn verify(&self, req: &Request<'_>) -> Result<(), Refused> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let given = req
            .header("authorization")
            .and_then(|h| {
                h.strip_prefix("Basic ")
                    .or_else(|| h.strip_prefix("basic "))
            })
            .and_then(|b| B64.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|up| up.split_once(':').map(|(_, p)| p.to_owned()));
        match given {
            Some(p) if bool::from(p.as_bytes().ct_eq(token.as_bytes())) => Ok(()),
            Some(_) => Err(Refused(
                "the Basic credentials' password is not the VoiceXML token".into(),
            )),
            None => Err(Refused("the request has no Basic credentials".into())),
        }
    }
    fn parse(&self, route: Route, req: &Request<'_>) -> Result<Callback, BadCallback> {
        // A GET (a browser's <goto> or the application URL) carries
        // everything in the query; a POST our query and its namelist.
        let mut params: Vec<(String, String)> = req.params.to_vec();
        if req.method == axum::http::Method::GET {
            params.extend(req.query.iter().cloned());
        }
        Ok(match route {
            Route::Voice => match param(&params, "call").filter(|c| !c.is_empty()) {
                Some(_) => Callback::NewCall(incoming(&params)?),
                None => Callback::Answer(bootstrap(req.url)),
            },
            Route::Step => step(req.query, &params)?,
            Route::Status => Callback::Status(StatusCallback {
                call_sid: required(req.query, "call")?.to_owned(),
                status: CallStatus::Completed,
                duration: None,
            }),
            Route::Wait => Callback::Wait(QueueWait {
                call_sid: required(req.query, "call")?.to_owned(),
                group: required(req.query, "group")?.to_owned(),
                waited: None,
                position: None,
                average: None,
            }),
            Route::Done => Callback::Done,
            Route::Agent => return Err(BadCallback::Invalid("route", "agent".into())),
        })
    }
    fn render(&self, doc: &Document<'_>) -> String {
        xml::document(HANGUP, |w| {
            w.create_element("vxml")
                .with_attribute(("version", "2.1"))
                .with_attribute(("xmlns", VXML_NS))
                .with_attribute(("xml:lang", doc.program.default_language.as_str()))
                .write_inner_content(|w| write(w, doc))?;
            Ok(())
        })
    }
}

/// A caller or dialled number from a session URI: `tel:+1555…` and
/// `sip:+1555…@host` become `+1555…`; other URIs stay as they are.
fn number(uri: &str) -> String {
    let uri = uri.trim();
    let bare = uri
        .strip_prefix("tel:")
        .or_else(|| {
            uri.strip_prefix("sip:")
                .or_else(|| uri.strip_prefix("sips:"))
                .and_then(|u| u.split('@').next())
                .filter(|u| {
                    u.trim_start_matches('+')
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
        })
        .unwrap_or(uri);
    let bare = bare.split(';').next().unwrap_or(bare);
    if !bare.is_empty() && bare.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{bare}")
    } else {
        bare.to_owned()
    }
}

/// The new call the bootstrap document (or the platform) submits.
pub fn incoming(params: &[(String, String)]) -> Result<Incoming, BadCallback> {
    let from = param(params, "from").map(number).filter(|f| !f.is_empty());
    Ok(Incoming {
        call_sid: required(params, "call")?.to_owned(),
        from: from.unwrap_or_else(|| "anonymous".to_owned()),
        to: number(required(params, "to")?),
    })
}

/// A step submission: our URL's `call`, `s`, `ev`; the browser's namelist.
pub fn step(
    query: &[(String, String)],
    params: &[(String, String)],
) -> Result<Callback, BadCallback> {
    let call = required(query, "call")?.to_owned();
    let s = required(query, "s")?;
    let step: u64 = s
        .parse()
        .map_err(|_| BadCallback::Invalid("step number", s.to_owned()))?;
    let ev = |event| {
        Ok(Callback::Step(StepCallback {
            call_sid: call.clone(),
            step,
            event,
        }))
    };
    match param(query, "ev") {
        Some("noinput") => return ev(Event::NoInput),
        Some("nomatch") => return ev(Event::NoMatch),
        Some("leave") => return ev(Event::queue(QueueResult::Timeout)),
        Some("full") => return ev(Event::queue(QueueResult::Full)),
        Some("bridged") => return ev(Event::queue(QueueResult::Bridged)),
        Some("dial-failed") => return ev(Event::Dial(DialStatus::Failed)),
        Some("hangup") => {
            return Ok(Callback::Status(StatusCallback {
                call_sid: call,
                status: CallStatus::Completed,
                duration: None,
            }));
        }
        Some(other) => return Err(BadCallback::Invalid("ev", other.to_owned())),
        None => {}
    }
    if let Some(t) = param(params, "t") {
        return ev(Event::Dial(match t {
            "near_end_disconnect"
            | "far_end_disconnect"
            | "network_disconnect"
            | "maxtime_disconnect" => DialStatus::Completed,
            "busy" | "network_busy" => DialStatus::Busy,
            "noanswer" => DialStatus::NoAnswer,
            "unknown" => DialStatus::Failed,
            other => return Err(BadCallback::Invalid("t", other.to_owned())),
        }));
    }
    if let Some(url) = param(params, "msg").filter(|u| !u.is_empty()) {
        let seconds = param(params, "msg_seconds")
            .and_then(|d| d.parse::<f64>().ok())
            .map_or(0, |d| d.max(0.0).round() as u32);
        return ev(Event::Recording {
            url: url.to_owned(),
            seconds,
        });
    }
    match (param(params, "answer"), param(params, "mode")) {
        (Some(a), Some("voice")) if !a.trim().is_empty() => ev(Event::Speech {
            text: a.to_owned(),
            confidence: param(params, "confidence")
                .and_then(|c| c.parse().ok())
                .unwrap_or(0.0),
        }),
        // DTMF results are the keys as tokens ("1 2 3").
        (Some(a), _) => ev(digits("answer", &a.split_whitespace().collect::<String>())?),
        (None, _) => Err(BadCallback::NoResult(RESULTS)),
    }
}

/// The document a browser fetching the application URL gets first: the
/// call's numbers from the session, a call id, submitted back to `url`.
fn bootstrap(url: &str) -> String {
    let next = url.split('?').next().unwrap_or(url).to_owned();
    xml::document(HANGUP, |w| {
        w.create_element("vxml")
            .with_attribute(("version", "2.1"))
            .with_attribute(("xmlns", VXML_NS))
            .write_inner_content(|w| {
                w.create_element("form")
                    .with_attribute(("id", "start"))
                    .write_inner_content(|w| {
                        var(w, "call", "'vx' + new Date().getTime().toString(36) + Math.floor(Math.random() * 2176782336).toString(36)")?;
                        var(w, "from", "session.connection.remote.uri")?;
                        var(w, "to", "session.connection.local.uri")?;
                        w.create_element("block").write_inner_content(|w| {
                            submit(w, &next, Some("call from to"))
                        })?;
                        Ok(())
                    })?;
                Ok(())
            })?;
        Ok(())
    })
}

/// Fixed, already well-formed markup, written as it is.
fn raw(w: &mut W, markup: &str) {
    w.get_mut().extend_from_slice(markup.as_bytes());
}

fn var(w: &mut W, name: &str, expr: &str) -> io::Result<()> {
    w.create_element("var")
        .with_attribute(("name", name))
        .with_attribute(("expr", expr))
        .write_empty()?;
    Ok(())
}

fn submit(w: &mut W, next: &str, namelist: Option<&str>) -> io::Result<()> {
    let mut el = w
        .create_element("submit")
        .with_attribute(("next", next))
        .with_attribute(("method", "post"));
    if let Some(n) = namelist {
        el = el.with_attribute(("namelist", n));
    }
    el.write_empty()?;
    Ok(())
}

/// Speech as prompt content.
fn prompt(w: &mut W, s: &Speech, urls: &dyn Urls) -> io::Result<()> {
    match s {
        Speech::Say { text, language, .. } => {
            w.create_element("prompt")
                .with_attribute(("xml:lang", language.as_str()))
                .write_text_content(BytesText::new(text))?;
        }
        Speech::Play { file } => {
            let src = urls.media(file);
            w.create_element("prompt").write_inner_content(|w| {
                w.create_element("audio")
                    .with_attribute(("src", src.as_str()))
                    .write_empty()?;
                Ok(())
            })?;
        }
        Speech::Pause { seconds } => {
            let time = format!("{seconds}s");
            w.create_element("prompt").write_inner_content(|w| {
                w.create_element("break")
                    .with_attribute(("time", time.as_str()))
                    .write_empty()?;
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// The SRGS voice grammar of a menu's speech words, in `lang`.
fn voice_grammar(w: &mut W, lang: &Lang, words: &[String]) -> io::Result<()> {
    w.create_element("grammar")
        .with_attribute(("xmlns", SRGS_NS))
        .with_attribute(("version", "1.0"))
        .with_attribute(("mode", "voice"))
        .with_attribute(("root", "voice"))
        .with_attribute(("xml:lang", lang.as_str()))
        .write_inner_content(|w| {
            // Rule ids are XML ids, unique in the document: the DTMF rule is `dtmf`.
            raw(w, r#"<rule id="voice" scope="public"><one-of>"#);
            for word in words {
                w.create_element("item")
                    .write_text_content(BytesText::new(word))?;
            }
            raw(w, "</one-of></rule>");
            Ok(())
        })?;
    Ok(())
}

fn write(w: &mut W, doc: &Document<'_>) -> io::Result<()> {
    let urls = doc.urls;
    let step_url = urls.step(doc.call_id, doc.step);
    let on = |ev: &str| format!("{step_url}&ev={ev}");
    // The caller hung up: the call's status.
    w.create_element("catch")
        .with_attribute(("event", "connection.disconnect.hangup"))
        .write_inner_content(|w| submit(w, &on("hangup"), None))?;
    w.create_element("form")
        .with_attribute(("id", format!("s{}", doc.step).as_str()))
        .write_inner_content(|w| {
            let mut speech: Vec<&Speech> = Vec::new();
            let mut left = false;
            let flush = |w: &mut W, speech: &mut Vec<&Speech>| -> io::Result<()> {
                if speech.is_empty() {
                    return Ok(());
                }
                w.create_element("block")
                    .write_inner_content(|w| speech.iter().try_for_each(|s| prompt(w, s, urls)))?;
                speech.clear();
                Ok(())
            };
            for action in doc.actions {
                if let Action::Speak(s) = action {
                    speech.push(s);
                    continue;
                }
                flush(w, &mut speech)?;
                match action {
                    Action::Speak(_) => {}
                    Action::Gather {
                        prompts,
                        input,
                        num_digits,
                        timeout,
                        finish_on_key,
                        keys,
                        hints,
                        language,
                    } => {
                        // Fixed markup (names, modes, keys and durations
                        // need no escaping) is written as it is; URLs and
                        // words go through the writer, escaped.
                        let speech_too = input.speech && !hints.is_empty();
                        let modes = if speech_too { "dtmf voice" } else { "dtmf" };
                        let term = finish_on_key.map(|k| k.as_char());
                        let mut head = String::with_capacity(512);
                        head.push_str(r#"<var name="mode"/><var name="confidence"/><field name="answer"><property name="inputmodes" value=""#);
                        head.push_str(modes);
                        head.push_str(r#""/><property name="timeout" value=""#);
                        head.push_str(&timeout.as_secs().max(1).to_string());
                        head.push_str(r#"s"/><property name="termchar" value=""#);
                        head.extend(term);
                        head.push_str(r#""/><grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="dtmf" root="dtmf"><rule id="dtmf" scope="public">"#);
                        if keys.is_empty() {
                            let max = num_digits.unwrap_or(1).max(1);
                            head.push_str(&format!(r#"<item repeat="1-{max}">"#));
                            head.push_str("<one-of>");
                            for d in '0'..='9' {
                                head.push_str("<item>");
                                head.push(d);
                                head.push_str("</item>");
                            }
                            head.push_str("</one-of></item>");
                        } else {
                            head.push_str("<one-of>");
                            for k in keys {
                                head.push_str("<item>");
                                head.push(k.as_char());
                                head.push_str("</item>");
                            }
                            head.push_str("</one-of>");
                        }
                        head.push_str("</rule></grammar>");
                        raw(w, &head);
                        if speech_too {
                            voice_grammar(w, language, hints)?;
                        }
                        for p in prompts {
                            prompt(w, p, urls)?;
                        }
                        raw(w, "<noinput>");
                        submit(w, &on("noinput"), None)?;
                        raw(w, "</noinput><nomatch>");
                        submit(w, &on("nomatch"), None)?;
                        raw(w, r#"</nomatch><filled><assign name="mode" expr="answer$.inputmode"/><assign name="confidence" expr="answer$.confidence"/>"#);
                        submit(w, &step_url, Some("answer mode confidence"))?;
                        raw(w, "</filled></field>");
                    }
                    Action::Enqueue { queue, group, .. } => {
                        let name = doc
                            .program
                            .groups
                            .get(group.index())
                            .map_or(queue.as_str(), |g| g.name.as_str());
                        let wait = hold_url(doc, name);
                        w.create_element("block")
                            .write_inner_content(|w| submit(w, &wait, None))?;
                    }
                    Action::Dial { to, timeout, .. } => {
                        let dest = match to.first() {
                            Some(Endpoint::Number(n)) => format!("tel:{n}"),
                            Some(Endpoint::Sip(s)) => s.clone(),
                            None => String::new(),
                        };
                        let connect = format!("{}s", timeout.as_secs().max(1));
                        w.create_element("transfer")
                            .with_attribute(("name", "t"))
                            .with_attribute(("dest", dest.as_str()))
                            .with_attribute(("type", "bridge"))
                            .with_attribute(("connecttimeout", connect.as_str()))
                            .write_inner_content(|w| {
                                w.create_element("catch")
                                    .with_attribute(("event", "error.connection"))
                                    .write_inner_content(|w| submit(w, &on("dial-failed"), None))?;
                                w.create_element("filled")
                                    .write_inner_content(|w| submit(w, &step_url, Some("t")))?;
                                Ok(())
                            })?;
                    }
                    Action::Record { max_length, beep } => {
                        let max = format!("{}s", max_length.as_secs().max(1));
                        w.create_element("var")
                            .with_attribute(("name", "msg_seconds"))
                            .write_empty()?;
                        w.create_element("record")
                            .with_attribute(("name", "msg"))
                            .with_attribute(("beep", if *beep { "true" } else { "false" }))
                            .with_attribute(("maxtime", max.as_str()))
                            .with_attribute(("finalsilence", "5s"))
                            .with_attribute(("dtmfterm", "true"))
                            .with_attribute(("type", "audio/x-wav"))
                            .write_inner_content(|w| {
                                w.create_element("noinput")
                                    .write_inner_content(|w| submit(w, &on("noinput"), None))?;
                                w.create_element("filled").write_inner_content(|w| {
                                    w.create_element("assign")
                                        .with_attribute(("name", "msg_seconds"))
                                        .with_attribute(("expr", "msg$.duration / 1000"))
                                        .write_empty()?;
                                    w.create_element("submit")
                                        .with_attribute(("next", step_url.as_str()))
                                        .with_attribute(("method", "post"))
                                        .with_attribute(("enctype", "multipart/form-data"))
                                        .with_attribute(("namelist", "msg msg_seconds"))
                                        .write_empty()?;
                                    Ok(())
                                })?;
                                Ok(())
                            })?;
                    }
                    Action::Redirect => {
                        w.create_element("block")
                            .write_inner_content(|w| submit(w, &step_url, None))?;
                    }
                    Action::Leave { full } => {
                        left = true;
                        let url = urls.leave(doc.call_id, doc.step, *full);
                        w.create_element("block")
                            .write_inner_content(|w| submit(w, &url, None))?;
                    }
                    // A VoiceXML browser cannot join a conference room (`check`
                    // refuses queue groups for it): end the call cleanly.
                    Action::Hangup | Action::Conference { .. } | Action::AwaitCaller { .. } => {
                        w.create_element("block").write_inner_content(|w| {
                            w.create_element("disconnect").write_empty()?;
                            Ok(())
                        })?;
                    }
                }
            }
            flush(w, &mut speech)?;
            // Our hold loop: back to the wait URL after the music.
            if let Some(group) = doc.hold
                && !left
            {
                let wait = hold_url(doc, group);
                w.create_element("block")
                    .write_inner_content(|w| submit(w, &wait, None))?;
            }
            Ok(())
        })?;
    Ok(())
}

/// Our hold loop's URL for `group`, with the step the call waits at.
fn hold_url(doc: &Document<'_>, group: &str) -> String {
    format!("{}&s={}", doc.urls.wait(doc.call_id, group), doc.step)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::provider::callback::p;

    fn event(query: &[(&str, &str)], body: &[(&str, &str)]) -> Result<Event, BadCallback> {
        let mut q = p(&[("call", "vx1"), ("s", "2")]);
        q.extend(p(query));
        match step(&q, &p(body))? {
            Callback::Step(s) => Ok(s.event),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn submissions_become_events() {
        assert_eq!(
            event(&[], &[("answer", "1 2 3"), ("mode", "dtmf")]),
            Ok(Event::Digits("123".into()))
        );
        assert_eq!(
            event(
                &[],
                &[
                    ("answer", "billing"),
                    ("mode", "voice"),
                    ("confidence", "0.7")
                ]
            ),
            Ok(Event::Speech {
                text: "billing".into(),
                confidence: 0.7
            })
        );
        assert_eq!(event(&[("ev", "noinput")], &[]), Ok(Event::NoInput));
        assert_eq!(event(&[("ev", "nomatch")], &[]), Ok(Event::NoMatch));
        assert_eq!(
            event(&[], &[("t", "noanswer")]),
            Ok(Event::Dial(DialStatus::NoAnswer))
        );
        assert_eq!(
            event(&[], &[("t", "far_end_disconnect")]),
            Ok(Event::Dial(DialStatus::Completed))
        );
        assert_eq!(
            event(
                &[],
                &[
                    ("msg", "https://ivr.example.com/v.wav"),
                    ("msg_seconds", "12.4")
                ]
            ),
            Ok(Event::Recording {
                url: "https://ivr.example.com/v.wav".into(),
                seconds: 12
            })
        );
        assert_eq!(
            event(&[("ev", "maybe")], &[]),
            Err(BadCallback::Invalid("ev", "maybe".into()))
        );
        assert_eq!(
            event(&[], &[("t", "sideways")]),
            Err(BadCallback::Invalid("t", "sideways".into()))
        );
        assert_eq!(event(&[], &[]), Err(BadCallback::NoResult(RESULTS)));
        assert!(event(&[], &[("answer", "1<b>"), ("mode", "dtmf")]).is_err());
        let hung = step(&p(&[("call", "vx1"), ("s", "2"), ("ev", "hangup")]), &[]);
        assert!(matches!(
            hung,
            Ok(Callback::Status(StatusCallback {
                status: CallStatus::Completed,
                ..
            }))
        ));
    }

    #[test]
    fn session_uris_become_numbers() {
        assert_eq!(number("tel:+15550001111"), "+15550001111");
        assert_eq!(
            number("sip:+15550001111@cvp.example.com;user=phone"),
            "+15550001111"
        );
        assert_eq!(
            number("sip:alice@pbx.example.com"),
            "sip:alice@pbx.example.com"
        );
        assert_eq!(number("18005550100"), "+18005550100");
        let i = incoming(&p(&[
            ("call", "vx1"),
            ("from", ""),
            ("to", "tel:+18005550100"),
        ]))
        .unwrap();
        assert_eq!(
            (i.from.as_str(), i.to.as_str()),
            ("anonymous", "+18005550100")
        );
        assert_eq!(
            incoming(&p(&[("call", "vx1")])),
            Err(BadCallback::Missing("to"))
        );
    }
}
