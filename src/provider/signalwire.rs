//! SignalWire: cXML (LaML), Twilio's verbs and parameter names (its ids
//! are UUIDs), so documents are rendered and callbacks parsed as Twilio's
//! are. Requests are signed with the project's Signing Key, in
//! `X-SignalWire-Signature` (or `X-Twilio-Signature`, which SignalWire also
//! sends): a form request with Twilio's algorithm; a JSON request with the
//! lowercase hex HMAC-SHA1 of the URL followed by the raw body (its SDK
//! also accepts, for JSON, Twilio's algorithm over the object's fields).

use super::twilio::signature::url_variants;
use super::{BadCallback, Callback, Document, Provider, Refused, Request, Route};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// What cXML does with each feature: TwiML's verbs, so Twilio's answers.
pub fn support(feature: super::capability::Feature) -> super::capability::Support {
    super::twilio::support(feature)
}

/// SignalWire, with the project's signing key (`None`: unchecked).
#[derive(Clone, Debug)]
pub struct SignalWire {
    key: Option<String>,
}

impl SignalWire {
    /// SignalWire, checking signatures with `key`.
    pub fn new(key: Option<String>) -> Self {
        SignalWire {
            key: key.filter(|k| !k.is_empty()),
        }
    }
}

/// The hex signature of a JSON request: HMAC-SHA1(key, url + body).
pub fn json_signature(key: &str, url: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(url.as_bytes());
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_json(req: &Request<'_>) -> bool {
    req.header("content-type")
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/json"))
}

impl Provider for SignalWire {
    fn name(&self) -> &'static str {
        "signalwire"
    }
    fn content_type(&self) -> &'static str {
        super::twilio::CONTENT_TYPE
    }
    fn signed(&self) -> bool {
        self.key.is_some()
    }
    fn accepts_json(&self) -> bool {
        true
    }
    fn verify(&self, req: &Request<'_>) -> Result<(), Refused> {
        let Some(key) = &self.key else { return Ok(()) };
        let signature = req
            .header("x-signalwire-signature")
            .or_else(|| req.header("x-twilio-signature"));
        let Some(given) = signature else {
            return Err(Refused(
                "the request has no X-SignalWire-Signature (nor X-Twilio-Signature)".into(),
            ));
        };
        if is_json(req) {
            let given = given.trim();
            let hex = url_variants(req.url).iter().any(|u| {
                bool::from(
                    json_signature(key, u, req.body)
                        .as_bytes()
                        .ct_eq(given.as_bytes()),
                )
            });
            if hex {
                return Ok(());
            }
        }
        super::twilio::verify_twilio_style(req, key, Some(given), None)
            .map_err(|_| Refused("the SignalWire signature does not match the request".into()))
    }
    fn parse(&self, route: Route, req: &Request<'_>) -> Result<Callback, BadCallback> {
        super::twilio::parse_twilio_style(route, req)
    }
    fn render(&self, doc: &Document<'_>) -> String {
        super::twilio::render(doc.actions, doc.program, doc.call_id, doc.step, doc.urls)
    }
}
