//! How each provider plays a call for the load test: its call ids, its
//! new-call and status requests, how it signs, where our documents tell it
//! to post next and with what.

use crate::provider::capability::Kind;
use crate::provider::twilio::signature::{Algorithm, sign};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::Reader;
use quick_xml::events::Event as Xml;

/// The next thing a document waits for, and where its result goes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Wait {
    Gather(String),
    /// A queue: Twilio's `<Enqueue>` action, or the step URL our own hold
    /// loop reports to (results as `ev=`).
    Enqueue(String),
    Dial(String),
    Record(String),
    Hangup,
}

/// A request to send: URL, form parameters, extra headers.
pub(super) struct Post {
    pub(super) url: String,
    pub(super) params: Vec<(String, String)>,
}

fn pairs(p: &[(&str, String)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The field a provider's callbacks name the call by (none: our URL does).
fn id_field(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Twilio | Kind::Telnyx | Kind::SignalWire => Some("CallSid"),
        Kind::Plivo => Some("CallUUID"),
        Kind::Vxml => None,
    }
}

/// A call id shaped like the provider's, from two random words.
pub(super) fn call_id(kind: Kind, a: u64, b: u64) -> String {
    match kind {
        Kind::Twilio => format!("CA{a:016x}{b:016x}"),
        Kind::Telnyx => format!("v3:{a:016x}{b:016x}"),
        Kind::Plivo | Kind::SignalWire => format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        ),
        Kind::Vxml => format!("vx{a:016x}{b:016x}"),
    }
}

/// The new-call request.
pub(super) fn new_call(kind: Kind, base: &str, sid: &str, from: &str, to: &str) -> Post {
    let name = kind.name();
    let params = match kind {
        Kind::Twilio | Kind::SignalWire => pairs(&[
            ("CallSid", sid.into()),
            ("From", from.into()),
            ("To", to.into()),
        ]),
        Kind::Telnyx => pairs(&[
            ("AccountSid", "f5586561-8ff0-4291-a51b-c7dfe4139ff9".into()),
            ("CallSid", sid.into()),
            ("From", from.into()),
            ("To", to.into()),
            ("CallStatus", "ringing".into()),
        ]),
        Kind::Plivo => pairs(&[
            ("CallUUID", sid.into()),
            ("From", from.trim_start_matches('+').into()),
            ("To", to.trim_start_matches('+').into()),
            ("CallStatus", "ringing".into()),
        ]),
        Kind::Vxml => pairs(&[
            ("call", sid.into()),
            ("from", format!("tel:{from}")),
            ("to", format!("tel:{to}")),
        ]),
    };
    Post {
        url: format!("{base}/{name}/voice"),
        params,
    }
}

/// The call's end.
pub(super) fn status(kind: Kind, base: &str, sid: &str) -> Post {
    let name = kind.name();
    let params = match kind {
        Kind::Twilio | Kind::Telnyx | Kind::SignalWire => pairs(&[
            ("CallSid", sid.into()),
            ("CallStatus", "completed".into()),
            ("CallDuration", "60".into()),
        ]),
        Kind::Plivo => pairs(&[
            ("CallUUID", sid.into()),
            ("CallStatus", "completed".into()),
            ("Duration", "60".into()),
        ]),
        Kind::Vxml => Vec::new(),
    };
    let url = match kind {
        Kind::Vxml => format!("{base}/vxml/status?call={sid}"),
        _ => format!("{base}/{name}/status"),
    };
    Post { url, params }
}

/// The result of `wait`, chosen by `pick` (a random index source).
pub(super) fn answer(
    kind: Kind,
    sid: &str,
    wait: Wait,
    pick: &mut dyn FnMut(usize) -> usize,
) -> Option<Post> {
    let keys = ["1", "2", "3", "4", "5", "0", "*", "9"];
    let mut params: Vec<(String, String)> = Vec::new();
    let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let url = match wait {
        Wait::Hangup => return None,
        Wait::Gather(url) => {
            let digits = match pick(10) {
                0 => String::new(),
                1 => "12345678#".to_owned(),
                _ => keys[pick(keys.len())].to_owned(),
            };
            match kind {
                Kind::Vxml if digits.is_empty() => {
                    return Some(Post {
                        url: format!("{}&ev=noinput", url),
                        params,
                    });
                }
                Kind::Vxml => {
                    let spaced: Vec<String> = digits
                        .trim_end_matches('#')
                        .chars()
                        .map(String::from)
                        .collect();
                    params.push(kv("answer", &spaced.join(" ")));
                    params.push(kv("mode", "dtmf"));
                }
                _ => params.push(kv("Digits", &digits)),
            }
            url
        }
        Wait::Enqueue(url) => {
            let i = pick(4);
            match kind {
                Kind::Plivo | Kind::Vxml => {
                    let ev = ["bridged", "bridged", "leave", "full"][i];
                    format!("{url}&ev={ev}")
                }
                _ => {
                    params.push(kv(
                        "QueueResult",
                        ["bridged", "bridged", "leave", "queue-full"][i],
                    ));
                    url
                }
            }
        }
        Wait::Dial(url) => {
            let i = pick(3);
            match kind {
                Kind::Plivo => params.push(kv("DialStatus", ["completed", "no-answer", "busy"][i])),
                Kind::Vxml => params.push(kv("t", ["far_end_disconnect", "noanswer", "busy"][i])),
                _ => params.push(kv("DialCallStatus", ["completed", "no-answer", "busy"][i])),
            }
            url
        }
        Wait::Record(url) => {
            match kind {
                Kind::Plivo => {
                    params.push(kv("RecordUrl", "https://loadtest.invalid/r"));
                    params.push(kv("RecordingDuration", "12"));
                }
                Kind::Vxml => {
                    params.push(kv("msg", "https://loadtest.invalid/r"));
                    params.push(kv("msg_seconds", "12"));
                }
                _ => {
                    params.push(kv("RecordingUrl", "https://loadtest.invalid/r"));
                    params.push(kv("RecordingDuration", "12"));
                }
            }
            url
        }
    };
    if let Some(f) = id_field(kind) {
        params.insert(0, kv(f, sid));
    }
    Some(Post { url, params })
}

/// The headers that sign a POST of `body` (the form of `params`) to `url`
/// with `key`: the provider's signature; for Telnyx `key` is the base64
/// 32-byte seed of the key pair whose public key the server has.
pub(super) fn sign_headers(
    kind: Kind,
    key: &str,
    url: &str,
    params: &[(String, String)],
    body: &str,
    now: i64,
) -> Vec<(&'static str, String)> {
    match kind {
        Kind::Twilio => vec![(
            "x-twilio-signature",
            sign(Algorithm::Sha1, key, url, params),
        )],
        Kind::SignalWire => vec![(
            "x-signalwire-signature",
            sign(Algorithm::Sha1, key, url, params),
        )],
        Kind::Plivo => {
            use crate::provider::plivo::signature;
            let nonce = format!("{:020}", fastrand::u64(..));
            let sig = signature::sign(key, &signature::signed_string(false, url, params), &nonce);
            vec![
                ("x-plivo-signature-v3", sig),
                ("x-plivo-signature-v3-nonce", nonce),
            ]
        }
        Kind::Telnyx => {
            use ed25519_dalek::Signer;
            let seed: Option<[u8; 32]> =
                B64.decode(key.trim()).ok().and_then(|b| b.try_into().ok());
            let Some(seed) = seed else { return Vec::new() };
            let sig = ed25519_dalek::SigningKey::from_bytes(&seed)
                .sign(format!("{now}|{body}").as_bytes());
            vec![
                ("telnyx-signature-ed25519", B64.encode(sig.to_bytes())),
                ("telnyx-timestamp", now.to_string()),
            ]
        }
        Kind::Vxml => vec![(
            "authorization",
            format!("Basic {}", B64.encode(format!("loadtest:{key}"))),
        )],
    }
}

/// Is `key` usable to sign for `kind`? (A Telnyx seed must be 32 bytes of base64.)
pub fn key_problem(kind: Kind, key: &str) -> Option<String> {
    (kind == Kind::Telnyx && B64.decode(key.trim()).map_or(true, |b| b.len() != 32)).then(|| {
        "for Telnyx, --token is the base64 32-byte seed of a test key pair whose public key the server has as TELNYX_PUBLIC_KEY".to_owned()
    })
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

/// The step URL our hold loop's wait URL reports to (`…/wait?call=C&group=G&s=N` → `…/step?call=C&s=N`).
fn step_of_wait(wait: &str) -> String {
    let (base, query) = wait.split_once('?').unwrap_or((wait, ""));
    let get = |k: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let call: String = form_urlencoded::byte_serialize(get("call").as_bytes()).collect();
    format!(
        "{}/step?call={call}&s={}",
        base.trim_end_matches("/wait"),
        get("s")
    )
}

/// Find what `doc` (the provider's document) waits for.
pub(super) fn next_wait(kind: Kind, doc: &str) -> Wait {
    let mut reader = Reader::from_str(doc);
    let mut stack: Vec<String> = Vec::new();
    loop {
        let (e, empty) = match reader.read_event() {
            Ok(Xml::Start(e)) => (e, false),
            Ok(Xml::Empty(e)) => (e, true),
            Ok(Xml::End(_)) => {
                stack.pop();
                continue;
            }
            Ok(Xml::Eof) | Err(_) => return Wait::Hangup,
            _ => continue,
        };
        let name = e.name().as_ref().to_owned();
        let found = match kind {
            Kind::Twilio | Kind::Telnyx | Kind::SignalWire => {
                match (name.as_str(), attr(&e, "action")) {
                    ("Gather", Some(a)) => Some(Wait::Gather(a)),
                    ("Enqueue", Some(a)) => Some(Wait::Enqueue(a)),
                    ("Dial", Some(a)) => Some(Wait::Dial(a)),
                    ("Record", Some(a)) => Some(Wait::Record(a)),
                    ("Hangup", _) => Some(Wait::Hangup),
                    _ => None,
                }
            }
            Kind::Plivo => match (name.as_str(), attr(&e, "action")) {
                ("GetDigits" | "GetInput", Some(a)) => Some(Wait::Gather(a)),
                ("Dial", Some(a)) => Some(Wait::Dial(a)),
                ("Record", Some(a)) => Some(Wait::Record(a)),
                ("Hangup", _) => Some(Wait::Hangup),
                ("Redirect", _) if !empty => {
                    // Its text, entities and all, up to its end tag.
                    let end = e.to_end().into_owned();
                    let url = reader
                        .read_text(end.name())
                        .ok()
                        .and_then(|raw| {
                            quick_xml::escape::unescape(&raw)
                                .ok()
                                .map(|u| u.into_owned())
                        })
                        .unwrap_or_default();
                    if url.contains("/plivo/wait?") {
                        return Wait::Enqueue(step_of_wait(&url));
                    }
                    continue;
                }
                _ => None,
            },
            Kind::Vxml => match (name.as_str(), attr(&e, "next")) {
                ("submit", Some(next)) if next.contains("/vxml/wait?") => {
                    Some(Wait::Enqueue(step_of_wait(&next)))
                }
                ("submit", Some(next)) if stack.last().is_some_and(|p| p == "filled") => {
                    let item = stack.iter().rev().nth(1).map(String::as_str);
                    match item {
                        Some("field") => Some(Wait::Gather(next)),
                        Some("transfer") => Some(Wait::Dial(next)),
                        Some("record") => Some(Wait::Record(next)),
                        _ => None,
                    }
                }
                ("disconnect", _) => Some(Wait::Hangup),
                _ => None,
            },
        };
        if let Some(w) = found {
            return w;
        }
        if !empty {
            stack.push(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_providers_waiting_element() {
        let twiml = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi</Say><Gather action="http://x/twilio/step?call=C&amp;s=1"><Say>Press 1</Say></Gather><Redirect>http://x/n</Redirect></Response>"#;
        assert_eq!(
            next_wait(Kind::Twilio, twiml),
            Wait::Gather("http://x/twilio/step?call=C&s=1".into())
        );
        let plivo = r#"<Response><Speak>Hold on.</Speak><Redirect method="POST">http://x/plivo/wait?call=u%201&amp;group=g&amp;s=3</Redirect></Response>"#;
        assert_eq!(
            next_wait(Kind::Plivo, plivo),
            Wait::Enqueue("http://x/plivo/step?call=u+1&s=3".into())
        );
        let vxml = r#"<vxml version="2.1"><catch event="connection.disconnect.hangup"><submit next="http://x/vxml/step?call=v&amp;s=2&amp;ev=hangup"/></catch><form><field name="answer"><noinput><submit next="http://x/vxml/step?call=v&amp;s=2&amp;ev=noinput"/></noinput><filled><submit next="http://x/vxml/step?call=v&amp;s=2" namelist="answer"/></filled></field></form></vxml>"#;
        assert_eq!(
            next_wait(Kind::Vxml, vxml),
            Wait::Gather("http://x/vxml/step?call=v&s=2".into())
        );
        let bye = r#"<vxml version="2.1"><form><block><disconnect/></block></form></vxml>"#;
        assert_eq!(next_wait(Kind::Vxml, bye), Wait::Hangup);
    }

    #[test]
    fn call_ids_look_like_each_providers() {
        assert!(call_id(Kind::Twilio, 1, 2).starts_with("CA"));
        assert!(call_id(Kind::Telnyx, 1, 2).starts_with("v3:"));
        assert_eq!(call_id(Kind::Plivo, u64::MAX, u64::MAX).len(), 36);
        assert!(key_problem(Kind::Telnyx, "c2hvcnQ=").is_some());
        assert!(key_problem(Kind::Plivo, "anything").is_none());
    }
}
