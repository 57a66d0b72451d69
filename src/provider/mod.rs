//! Telephony providers at the edge. Each provider is one module that
//! implements [`Provider`]: it verifies a raw request (its signature
//! scheme), parses it into a provider-neutral [`Callback`], and renders the
//! engine's [`Action`]s as its voice document. The server's call service
//! owns everything else (load → step → render → commit → conflicts), the
//! same for every provider; `docs/providers.md` is the recipe for adding one.
//!
//! Renderers own no routes: the server hands them a [`Urls`] that knows
//! where step callbacks, hold music and recordings live.

pub mod callback;
pub mod capability;
pub mod plivo;
pub mod signalwire;
pub mod telnyx;
pub mod twilio;
pub mod vxml;
pub mod xml;

use crate::action::Action;
use crate::program::Program;
pub use callback::{BadCallback, Callback, Route};

/// A request as it arrived, for a provider to verify and parse.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET` or `POST`.
    pub method: &'a axum::http::Method,
    /// The URL exactly as the provider requested it: the public base, path and query.
    pub url: &'a str,
    /// The request's headers (signatures, timestamps, content type).
    pub headers: &'a axum::http::HeaderMap,
    /// The raw body, as signed.
    pub body: &'a [u8],
    /// Our URL's query parameters (`call`, `s`, `ev`, `group`).
    pub query: &'a [(String, String)],
    /// The body's parameters (see [`callback::body_params`]).
    pub params: &'a [(String, String)],
    /// The time the request arrived, by the server's clock (for signed timestamps).
    pub now: jiff::Timestamp,
}

impl Request<'_> {
    /// A header's value, if it is there and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|h| h.to_str().ok())
    }
}

/// Why a request's signature was refused (for the log; the provider gets a bare 403).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// One document to render: a step's actions for one call.
#[derive(Clone, Copy)]
pub struct Document<'a> {
    /// What the call does next.
    pub actions: &'a [Action],
    /// The program the call runs on (group names, queue names).
    pub program: &'a Program,
    /// The provider's call id.
    pub call_id: &'a str,
    /// The step the document's callbacks answer.
    pub step: u64,
    /// Where callbacks and media live.
    pub urls: &'a dyn Urls,
    /// `Some(group)` for what a caller waiting in that group's queue hears
    /// next (the wait URL's answer); `None` for a step.
    pub hold: Option<&'a str>,
}

/// A telephony provider: its name, its document type, its signature check,
/// its callbacks and its voice XML.
pub trait Provider: Send + Sync {
    /// The route prefix (`/twilio/…`) and the name in logs, metrics and call records.
    fn name(&self) -> &'static str;
    /// The content type of its documents.
    fn content_type(&self) -> &'static str;
    /// Whether requests are checked against a configured credential (else
    /// unsigned, allowed on loopback only).
    fn signed(&self) -> bool;
    /// Whether callback bodies may be JSON as well as form-encoded.
    fn accepts_json(&self) -> bool {
        false
    }
    /// Whether agents take callers from Switchboard's own queue at
    /// `/{name}/agent?group=NAME` (providers without queues of their own
    /// that can join two calls in a room).
    fn agents(&self) -> bool {
        false
    }
    /// Whether callbacks may upload files (`multipart/form-data`, a
    /// VoiceXML `<record>`): the server keeps each file and hands the
    /// parser its URL as the field's value.
    fn accepts_uploads(&self) -> bool {
        false
    }
    /// Check the request's signature. Called only when [`Provider::signed`].
    fn verify(&self, req: &Request<'_>) -> Result<(), Refused>;
    /// What the request to `route` asks for.
    fn parse(&self, route: Route, req: &Request<'_>) -> Result<Callback, BadCallback>;
    /// The document for `doc`, complete and valid.
    fn render(&self, doc: &Document<'_>) -> String;
}

/// Where a call's callbacks and media live, as the provider must request them.
pub trait Urls {
    /// The callback for the result of step `step` (gather, dial, queue, record actions).
    fn step(&self, call_id: &str, step: u64) -> String;
    /// Where the provider goes when a gather or a recording ends with nothing.
    fn no_input(&self, call_id: &str, step: u64) -> String;
    /// A queue's wait URL (hold music and announcements for `group`).
    fn wait(&self, call_id: &str, group: &str) -> String;
    /// A file of the recordings folder.
    fn media(&self, file: &str) -> String;
    /// Where an agent takes the next caller of `group` from Switchboard's own queue.
    fn agent(&self, group: &str) -> String;
    /// Where a caller taken out of a queue by us goes (their `max_wait` is
    /// up, or the queue is `full`), on providers whose queue is our own hold loop.
    fn leave(&self, call_id: &str, step: u64, full: bool) -> String {
        let ev = if full { "full" } else { "leave" };
        format!("{}&ev={ev}", self.step(call_id, step))
    }
}

/// URLs under one public base, e.g. `https://ivr.example.com` with prefix `twilio`:
/// `…/twilio/step?call=CA1&s=3`, `…/twilio/wait?call=CA1&group=billing`, `…/recordings/en-US/greeting.wav`.
#[derive(Clone, Debug)]
pub struct BaseUrls {
    base: String,
    prefix: String,
}

impl BaseUrls {
    /// URLs under `base` (no trailing slash needed) for the provider routes under `/prefix`.
    pub fn new(base: &str, prefix: &str) -> Self {
        BaseUrls {
            base: base.trim_end_matches('/').to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        }
    }
}

/// Percent-encode a query value or path segment (RFC 3986 unreserved characters stay).
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Urls for BaseUrls {
    fn step(&self, call_id: &str, step: u64) -> String {
        format!(
            "{}/{}/step?call={}&s={step}",
            self.base,
            self.prefix,
            encode(call_id, false)
        )
    }
    fn no_input(&self, call_id: &str, step: u64) -> String {
        format!("{}&ev=noinput", self.step(call_id, step))
    }
    fn wait(&self, call_id: &str, group: &str) -> String {
        format!(
            "{}/{}/wait?call={}&group={}",
            self.base,
            self.prefix,
            encode(call_id, false),
            encode(group, false)
        )
    }
    fn media(&self, file: &str) -> String {
        format!("{}/recordings/{}", self.base, encode(file, true))
    }
    fn agent(&self, group: &str) -> String {
        format!(
            "{}/{}/agent?group={}",
            self.base,
            self.prefix,
            encode(group, false)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_encoded_under_the_base() {
        let u = BaseUrls::new("https://ivr.example.com/", "/twilio");
        assert_eq!(
            u.step("CA 1&x", 3),
            "https://ivr.example.com/twilio/step?call=CA%201%26x&s=3"
        );
        assert_eq!(
            u.no_input("CA1", 3),
            "https://ivr.example.com/twilio/step?call=CA1&s=3&ev=noinput"
        );
        assert_eq!(
            u.wait("CA1", "tier 2"),
            "https://ivr.example.com/twilio/wait?call=CA1&group=tier%202"
        );
        assert_eq!(
            u.media("zh-CN/问候.wav"),
            "https://ivr.example.com/recordings/zh-CN/%E9%97%AE%E5%80%99.wav"
        );
    }
}
