//! `X-Plivo-Signature-V3`: proof that a request comes from Plivo.
//!
//! The signed string is built from the URL and the parameters as Plivo's
//! SDKs build it (`plivo.utils.signature_v3`): `scheme://host[:port]/path`,
//! then for a POST `?` + the URL's query sorted as `k=v&…`, a `.` when the
//! query was not empty and the body has parameters, then every body
//! parameter as name + value sorted by name (a POST with no parameters
//! adds `?query` only when there is one); for a GET every parameter is
//! merged into the query, sorted, as `k=v&…`. The signature is
//! base64(HMAC-SHA256(auth token, string + "." + nonce)), the nonce from
//! `X-Plivo-Signature-V3-Nonce`. The header may hold several signatures
//! separated by commas: any match is enough. `X-Plivo-Signature-Ma-V3`
//! carries the same signature keyed with the main account's token.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// No signature header, or no nonce.
    #[error("the request has no X-Plivo-Signature-V3 (or no X-Plivo-Signature-V3-Nonce)")]
    Missing,
    /// No signature in the header matches.
    #[error("no X-Plivo-Signature-V3 matches the request")]
    Mismatch,
}

/// Values by name, each name's values sorted (as the SDK's dict of lists).
fn grouped<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in pairs {
        map.entry(k).or_default().push(v);
    }
    for v in map.values_mut() {
        v.sort_unstable();
    }
    map
}

fn query_string(map: &BTreeMap<&str, Vec<&str>>) -> String {
    let mut out = Vec::new();
    for (k, vs) in map {
        for v in vs {
            out.push(format!("{k}={v}"));
        }
    }
    out.join("&")
}

/// The string Plivo signs (before `.nonce`), for a request to `url`
/// (query included, as Plivo requested it) with body `params`.
pub fn signed_string(get: bool, url: &str, params: &[(String, String)]) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let base = base.split('#').next().unwrap_or(base);
    let query_pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if get {
        // The URL's query wins over a body parameter of the same name.
        let mut map = grouped(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for (k, vs) in grouped(query_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            map.insert(k, vs);
        }
        let q = query_string(&map);
        return if q.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{q}")
        };
    }
    let q = query_string(&grouped(
        query_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ));
    let mut out = base.to_owned();
    if params.is_empty() {
        if !q.is_empty() {
            out.push('?');
            out.push_str(&q);
        }
        return out;
    }
    out.push('?');
    out.push_str(&q);
    if !q.is_empty() {
        out.push('.');
    }
    for (k, vs) in grouped(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        for v in vs {
            out.push_str(k);
            out.push_str(v);
        }
    }
    out
}

/// The signature of `signed` with `nonce`, keyed with `token`.
pub fn sign(token: &str, signed: &str, nonce: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token.as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(signed.as_bytes());
    mac.update(b".");
    mac.update(nonce.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// Verify a request: `header` is `X-Plivo-Signature-V3` (or the main
/// account's `-Ma-` header, with its token), comma-separated signatures.
pub fn verify(
    token: &str,
    get: bool,
    url: &str,
    params: &[(String, String)],
    nonce: Option<&str>,
    header: Option<&str>,
) -> Result<(), Rejected> {
    let (Some(nonce), Some(header)) = (nonce, header) else {
        return Err(Rejected::Missing);
    };
    let expected = sign(token, &signed_string(get, url, params), nonce);
    let any = header
        .split(',')
        .any(|s| bool::from(s.trim().as_bytes().ct_eq(expected.as_bytes())));
    if any { Ok(()) } else { Err(Rejected::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "MAXXXXXXXXXXXXXXXXXX_token_abc123";

    use crate::provider::callback::p;

    fn p1() -> Vec<(String, String)> {
        p(&[
            ("CallUUID", "b4d3a1c2-0000-4000-8000-000000000001"),
            ("From", "14155551234"),
            ("To", "14155550000"),
            ("CallStatus", "in-progress"),
            ("Direction", "inbound"),
            ("Event", "StartApp"),
        ])
    }

    #[test]
    fn the_protocol_vectors_verify() {
        let url = "https://example.com/plivo/answer";
        assert_eq!(
            signed_string(false, url, &p1()),
            "https://example.com/plivo/answer?CallStatusin-progressCallUUIDb4d3a1c2-0000-4000-8000-000000000001DirectioninboundEventStartAppFrom14155551234To14155550000"
        );
        assert_eq!(
            sign(
                TOKEN,
                &signed_string(false, url, &p1()),
                "12345678901234567890"
            ),
            "+WUw7g9lnwutYVkwyvQiRHbau44hN6V9WIeQ4e9YDFQ="
        );
        let p2 = p(&[
            ("CallUUID", "b4d3a1c2-0000-4000-8000-000000000002"),
            ("Digits", "1"),
            ("From", "+14155551234"),
        ]);
        let url2 = "https://example.com:8443/plivo/digits?step=menu&lang=en";
        assert_eq!(
            signed_string(false, url2, &p2),
            "https://example.com:8443/plivo/digits?lang=en&step=menu.CallUUIDb4d3a1c2-0000-4000-8000-000000000002Digits1From+14155551234"
        );
        assert_eq!(
            sign(TOKEN, &signed_string(false, url2, &p2), "nonce-xyz-42"),
            "hOg6xCkpeCTXPdtarIBnJAYfBV0ia8L0ByTrauOAYVc="
        );
        let p3 = p(&[("CallUUID", "u-3"), ("Digits", "9")]);
        assert_eq!(
            sign(
                TOKEN,
                &signed_string(true, "https://example.com/plivo/answer?z=1&a=2", &p3),
                "555"
            ),
            "bIKlEo6SrpM36VYr7aQeMnQrfoNYGqeeZhZnFR9mQ6c="
        );
        assert_eq!(
            sign(
                TOKEN,
                &signed_string(false, "https://example.com/plivo/hangup", &[]),
                "abc"
            ),
            "qhjj7FrrzsM9mdHToTY0w5UFm9pH2a3un6h3RiIz+yg="
        );
    }

    #[test]
    fn any_of_several_signatures_is_enough_and_forgeries_are_not() {
        let url = "https://example.com/plivo/answer";
        let good = "+WUw7g9lnwutYVkwyvQiRHbau44hN6V9WIeQ4e9YDFQ=";
        let nonce = Some("12345678901234567890");
        assert_eq!(verify(TOKEN, false, url, &p1(), nonce, Some(good)), Ok(()));
        let several = format!("Zm9yZ2Vk, {good}");
        assert_eq!(
            verify(TOKEN, false, url, &p1(), nonce, Some(&several)),
            Ok(())
        );
        assert_eq!(
            verify(TOKEN, false, url, &p1(), nonce, Some("Zm9yZ2Vk,x")),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify(TOKEN, false, url, &p1(), None, Some(good)),
            Err(Rejected::Missing)
        );
        assert_eq!(
            verify(TOKEN, false, url, &p1(), nonce, None),
            Err(Rejected::Missing)
        );
        // Another nonce, another token, a changed parameter: no match.
        assert!(verify(TOKEN, false, url, &p1(), Some("1"), Some(good)).is_err());
        assert!(verify("other", false, url, &p1(), nonce, Some(good)).is_err());
        let mut changed = p1();
        changed[1].1 = "14155559999".into();
        assert!(verify(TOKEN, false, url, &changed, nonce, Some(good)).is_err());
    }
}
