//! Telephony providers at the edge: one module per provider renders the
//! engine's [`Action`](crate::action::Action)s as that provider's voice XML
//! (and, with the server, parses and verifies its callbacks).
//!
//! Renderers own no routes: the server hands them a [`Urls`] that knows
//! where step callbacks, hold music and recordings live.

pub mod twilio;

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
