//! Telnyx: TeXML, which is TwiML's verb set and form bodies, so documents
//! are rendered and callbacks parsed as Twilio's are (call ids look like
//! `v3:…`, account ids are UUIDs, status names are Twilio's). What differs
//! is the signature: Ed25519 over `"{timestamp}|{raw body}"` with Telnyx's
//! public key (base64, 32 bytes), the signature in
//! `telnyx-signature-ed25519` (base64) and the timestamp (Unix seconds) in
//! `telnyx-timestamp`; a timestamp more than 300 s from our clock is
//! refused, as Telnyx's SDK refuses it, so a captured request cannot be
//! replayed later.

use super::{BadCallback, Callback, Document, Provider, Refused, Request, Route};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

/// What TeXML does with each feature: TwiML's verbs, so Twilio's answers.
pub fn support(feature: super::capability::Feature) -> super::capability::Support {
    super::twilio::support(feature)
}

/// How far a request's timestamp may be from our clock.
pub const TOLERANCE_SECS: i64 = 300;

/// Telnyx, with the public key its webhooks are signed for (`None`: unchecked).
#[derive(Clone, Debug)]
pub struct Telnyx {
    key: Option<VerifyingKey>,
}

/// Why a configured public key cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "TELNYX_PUBLIC_KEY is not an Ed25519 public key: expected 32 bytes in base64, as the Mission Control portal shows it ({0})"
)]
pub struct BadKey(String);

impl Telnyx {
    /// Telnyx, checking signatures with the base64 public key `key`.
    pub fn new(key: Option<&str>) -> Result<Self, BadKey> {
        let key = match key.map(str::trim).filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => {
                let bytes = B64.decode(k).map_err(|e| BadKey(e.to_string()))?;
                let bytes: [u8; 32] = bytes
                    .try_into()
                    .map_err(|b: Vec<u8>| BadKey(format!("{} bytes", b.len())))?;
                Some(VerifyingKey::from_bytes(&bytes).map_err(|e| BadKey(e.to_string()))?)
            }
        };
        Ok(Telnyx { key })
    }
}

/// Verify Telnyx's signature of `body` sent at `timestamp` with `key`, at `now`.
pub fn verify(
    key: &VerifyingKey,
    body: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    now: jiff::Timestamp,
) -> Result<(), Refused> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Refused(
            "the request has no telnyx-signature-ed25519 or telnyx-timestamp header".into(),
        ));
    };
    let sent: i64 = timestamp.trim().parse().map_err(|_| {
        Refused(format!(
            "telnyx-timestamp {timestamp:?} is not Unix seconds"
        ))
    })?;
    let off = now.as_second().saturating_sub(sent).saturating_abs();
    if off > TOLERANCE_SECS {
        return Err(Refused(format!(
            "telnyx-timestamp is {off}s from our clock (more than {TOLERANCE_SECS}s): stale or replayed"
        )));
    }
    let bytes = B64
        .decode(signature.trim())
        .map_err(|_| Refused("telnyx-signature-ed25519 is not base64".into()))?;
    let bytes: [u8; 64] = bytes
        .try_into()
        .map_err(|_| Refused("telnyx-signature-ed25519 is not 64 bytes".into()))?;
    let mut signed = Vec::with_capacity(timestamp.len() + 1 + body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'|');
    signed.extend_from_slice(body);
    key.verify(&signed, &Signature::from_bytes(&bytes))
        .map_err(|_| Refused("telnyx-signature-ed25519 does not match the request".into()))
}

impl Provider for Telnyx {
    fn name(&self) -> &'static str {
        "telnyx"
    }
    fn content_type(&self) -> &'static str {
        super::twilio::CONTENT_TYPE
    }
    fn signed(&self) -> bool {
        self.key.is_some()
    }
    fn verify(&self, req: &Request<'_>) -> Result<(), Refused> {
        let Some(key) = &self.key else { return Ok(()) };
        verify(
            key,
            req.body,
            req.header("telnyx-timestamp"),
            req.header("telnyx-signature-ed25519"),
            req.now,
        )
    }
    fn parse(&self, route: Route, req: &Request<'_>) -> Result<Callback, BadCallback> {
        super::twilio::parse_twilio_style(route, req)
    }
    fn render(&self, doc: &Document<'_>) -> String {
        super::twilio::render(doc.actions, doc.program, doc.call_id, doc.step, doc.urls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
    const BODY: &str = "AccountSid=f5586561-8ff0-4291-a51b-c7dfe4139ff9&CallSid=v3%3Aabc&CallStatus=ringing&Direction=inbound&From=%2B35319605860&To=%2B13129457420";
    const SIG: &str =
        "bbsivtdw/vnTUPmxDd3kaw1GDK18G4omc7ihUtA/mC11HFu08HX/BkBmUZ6v/E1jrVv7jIJ6236mGCV4DT3tCA==";

    fn at(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(secs).expect("a time")
    }

    #[test]
    fn the_protocol_vector_verifies_within_five_minutes_only() {
        let Telnyx { key: Some(key) } = Telnyx::new(Some(KEY)).expect("a key") else {
            panic!("no key")
        };
        let ts = Some("1700000000");
        let ok = |now| verify(&key, BODY.as_bytes(), ts, Some(SIG), at(now));
        assert_eq!(ok(1_700_000_000), Ok(()));
        assert_eq!(ok(1_700_000_300), Ok(()));
        assert!(ok(1_700_000_301).is_err(), "stale");
        assert!(ok(1_699_999_000).is_err(), "from the future");
        let now = at(1_700_000_000);
        assert!(verify(&key, b"CallSid=v3%3Aabd", ts, Some(SIG), now).is_err());
        assert!(verify(&key, BODY.as_bytes(), Some("1700000001"), Some(SIG), now).is_err());
        assert!(verify(&key, BODY.as_bytes(), ts, Some("bm90IGEgc2ln"), now).is_err());
        assert!(verify(&key, BODY.as_bytes(), ts, Some("%%%"), now).is_err());
        assert!(verify(&key, BODY.as_bytes(), Some("soon"), Some(SIG), now).is_err());
        assert!(verify(&key, BODY.as_bytes(), None, Some(SIG), now).is_err());
    }

    #[test]
    fn keys_that_are_not_ed25519_public_keys_are_refused_at_start() {
        assert!(Telnyx::new(Some("c2hvcnQ=")).is_err());
        assert!(Telnyx::new(Some("not base64!")).is_err());
        assert!(Telnyx::new(None).is_ok_and(|t| !t.signed()));
    }
}
