//! Writing voice XML documents with quick-xml (every text and attribute
//! escaped by the writer), shared by the providers' renderers.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::io;
use std::time::Duration;

/// The writer renderers write into.
pub type W = Writer<Vec<u8>>;

/// A document: the XML declaration, then what `body` writes. Writing into
/// memory cannot fail; if it ever did, `fallback` (a complete document that
/// ends the call cleanly) is answered rather than half a document.
pub fn document(fallback: &str, body: impl FnOnce(&mut W) -> io::Result<()>) -> String {
    let mut w = Writer::new(Vec::with_capacity(512));
    let written = w
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .and_then(|()| body(&mut w));
    match written
        .ok()
        .and_then(|()| String::from_utf8(w.into_inner()).ok())
    {
        Some(doc) => doc,
        None => fallback.to_owned(),
    }
}

/// `<name method="POST">url</name>` (Twilio's and Plivo's `<Redirect>`).
pub fn redirect(w: &mut W, url: &str) -> io::Result<()> {
    w.create_element("Redirect")
        .with_attribute(("method", "POST"))
        .write_text_content(BytesText::new(url))?;
    Ok(())
}

/// A TwiML-shaped `<Dial>` (Twilio's, Plivo's): its result posted to
/// `action`, every endpoint rung at once, SIP URIs as `sip_tag` (`Sip`,
/// `User`); `extra` attributes come after `timeout`.
pub fn dial(
    w: &mut W,
    action: &str,
    timeout: Duration,
    caller_id: Option<&str>,
    to: &[crate::routing::Endpoint],
    sip_tag: &str,
    extra: &[(&str, &str)],
) -> io::Result<()> {
    use crate::routing::Endpoint;
    let timeout = secs(timeout);
    let mut el = w
        .create_element("Dial")
        .with_attribute(("action", action))
        .with_attribute(("method", "POST"))
        .with_attribute(("timeout", timeout.as_str()));
    for a in extra {
        el = el.with_attribute(*a);
    }
    if let Some(id) = caller_id {
        el = el.with_attribute(("callerId", id));
    }
    el.write_inner_content(|w| {
        for e in to {
            let (tag, value) = match e {
                Endpoint::Number(n) => ("Number", n),
                Endpoint::Sip(s) => (sip_tag, s),
            };
            w.create_element(tag)
                .write_text_content(BytesText::new(value))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// A TwiML-shaped `<Record>` ended by `#`, its result posted to `action`,
/// then the `<Redirect>` to `no_input` an empty recording falls through to;
/// `extra` attributes come after `method`.
pub fn record(
    w: &mut W,
    action: &str,
    no_input: &str,
    max_length: Duration,
    beep: bool,
    extra: &[(&str, &str)],
) -> io::Result<()> {
    let max = secs(max_length);
    let mut el = w
        .create_element("Record")
        .with_attribute(("action", action))
        .with_attribute(("method", "POST"));
    for a in extra {
        el = el.with_attribute(*a);
    }
    el.with_attribute(("maxLength", max.as_str()))
        .with_attribute(("playBeep", if beep { "true" } else { "false" }))
        .with_attribute(("finishOnKey", "#"))
        .write_empty()?;
    redirect(w, no_input)
}

/// Whole seconds for an attribute, at least 1.
pub fn secs(d: Duration) -> String {
    d.as_secs().max(1).to_string()
}
