//! `X-Twilio-Signature`: proof that a request comes from Twilio.
//!
//! The signature is base64(HMAC-SHA1(auth token, URL + every POST parameter
//! as name + value, sorted by name, repeated names' values sorted too)).
//! JSON bodies are signed over the URL only, which carries
//! `bodySHA256=<hex sha256(body)>` that must match the body. With the header
//! `X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256` the
//! MAC is HMAC-SHA256 with the shared key. Like Twilio's own SDKs, a
//! signature is also accepted over the URL without its port, and with the
//! scheme's default port added. Comparison is in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Which MAC signs the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// The classic `X-Twilio-Signature`: HMAC-SHA1 with the auth token.
    Sha1,
    /// The shared-key variant announced by `X-Twilio-Webhooks-Signature-Settings`.
    Sha256,
}

impl Algorithm {
    /// The algorithm a `X-Twilio-Webhooks-Signature-Settings` header asks for
    /// (`None` header: the classic SHA-1).
    pub fn from_settings(header: Option<&str>) -> Algorithm {
        let asks_sha256 = header.is_some_and(|h| {
            h.split(',')
                .any(|kv| kv.trim().eq_ignore_ascii_case("algorithm=HMAC_SHA256"))
        });
        if asks_sha256 {
            Algorithm::Sha256
        } else {
            Algorithm::Sha1
        }
    }
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// No `X-Twilio-Signature` header.
    #[error("the request has no X-Twilio-Signature header")]
    Missing,
    /// The signature does not match the URL and parameters.
    #[error("the X-Twilio-Signature does not match the request")]
    Mismatch,
    /// A JSON body whose SHA-256 is not the URL's `bodySHA256`.
    #[error("the body does not match the bodySHA256 in the URL")]
    BodyHash,
}

/// The string Twilio signs: the URL, then each parameter's name and value,
/// sorted by name (and by value for repeated names), with no separators.
pub fn signed_string(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut s = String::with_capacity(url.len() + params.len() * 24);
    s.push_str(url);
    for (k, v) in sorted {
        s.push_str(k);
        s.push_str(v);
    }
    s
}

fn mac(algorithm: Algorithm, key: &str, data: &str) -> Vec<u8> {
    match algorithm {
        Algorithm::Sha1 => {
            let mut m = <Hmac<Sha1> as KeyInit>::new_from_slice(key.as_bytes())
                .expect("HMAC takes keys of any length");
            m.update(data.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Algorithm::Sha256 => {
            let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
                .expect("HMAC takes keys of any length");
            m.update(data.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
    }
}

/// The signature Twilio would send for this URL and these POST parameters
/// (no parameters for GET or JSON requests).
pub fn sign(algorithm: Algorithm, key: &str, url: &str, params: &[(String, String)]) -> String {
    B64.encode(mac(algorithm, key, &signed_string(url, params)))
}

/// The URL as given, without its port, and with the scheme's default port:
/// every form Twilio's SDKs accept a signature for.
pub(crate) fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    // A port follows the last ':' unless that ':' is inside an IPv6 literal.
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') && p.chars().all(|c| c.is_ascii_digit()) => (h, Some(p)),
        _ => (hostport, None),
    };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" => Some("443"),
        "http" => Some("80"),
        _ => None,
    };
    match port {
        Some(_) => out.push(format!("{scheme}://{userinfo}{host}{tail}")),
        None => {
            if let Some(d) = default {
                out.push(format!("{scheme}://{userinfo}{host}:{d}{tail}"));
            }
        }
    }
    out
}

/// Verify a request. `url` is the full URL Twilio requested (scheme, host,
/// port as seen by Twilio, path and query); `params` are the decoded POST
/// form parameters (empty for GET and JSON); `body` is the raw body of a JSON
/// request, whose hash the URL's `bodySHA256` must match.
pub fn verify(
    algorithm: Algorithm,
    key: &str,
    url: &str,
    params: &[(String, String)],
    json_body: Option<&[u8]>,
    signature: Option<&str>,
) -> Result<(), Rejected> {
    let signature = signature.ok_or(Rejected::Missing)?;
    let given = B64
        .decode(signature.trim())
        .map_err(|_| Rejected::Mismatch)?;
    let matches = url_variants(url).iter().any(|u| {
        let expected = mac(algorithm, key, &signed_string(u, params));
        bool::from(expected.ct_eq(&given))
    });
    if !matches {
        return Err(Rejected::Mismatch);
    }
    if let Some(body) = json_body {
        let hex: String = Sha256::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let claimed = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "bodySHA256")
            .map(|(_, v)| v);
        match claimed {
            Some(c) if bool::from(c.as_bytes().ct_eq(hex.as_bytes())) => {}
            _ => return Err(Rejected::BodyHash),
        }
    }
    Ok(())
}

pub use crate::provider::callback::form_pairs;

#[cfg(test)]
mod tests {
    use super::*;

    type Params = Vec<(String, String)>;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const TOKEN: &str = "12345";

    fn t1() -> (String, Params) {
        (
            "https://mycompany.com/myapp.php?foo=1&bar=2".into(),
            p(&[
                ("CallSid", "CA1234567890ABCDE"),
                ("Caller", "+12349013030"),
                ("Digits", "1234"),
                ("From", "+12349013030"),
                ("To", "+18005551212"),
            ]),
        )
    }
    fn t2() -> (String, Params) {
        (
            "https://example.com:8443/ivr/voice".into(),
            p(&[
                ("CallSid", "CA00000000000000000000000000000001"),
                ("AccountSid", "AC00000000000000000000000000000001"),
                ("From", "+15005550006"),
                ("To", "+15005550001"),
                ("CallStatus", "ringing"),
                ("Direction", "inbound"),
                ("ApiVersion", "2010-04-01"),
            ]),
        )
    }
    fn t3() -> (String, Params) {
        let body = b"CallSid=CA00000000000000000000000000000002&Digits=1%23&SpeechResult=caf%C3%A9+%2B+cr%C3%A8me&Confidence=0.92&From=%2B441234567890";
        (
            "https://example.com/ivr/gather?step=menu".into(),
            form_pairs(body),
        )
    }

    /// Every HMAC-SHA1 vector of PROTOCOLS.md (T1–T7) and the HMAC-SHA256 ones.
    #[test]
    fn protocol_vectors() {
        let cases: Vec<(Algorithm, (String, Params), &str)> = vec![
            (Algorithm::Sha1, t1(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
            (Algorithm::Sha1, t2(), "i1e5Gmhl/HjGeyCb645TQUNuis8="),
            (Algorithm::Sha1, t3(), "mXfR1ti9vgPKQKOZILB3b68XA7Y="),
            (
                Algorithm::Sha1,
                ("http://127.0.0.1:8080/voice".into(), vec![]),
                "ik1PMefkNsk8Xd86jq8FUkAcgXg=",
            ),
            (
                Algorithm::Sha1,
                ("https://example.com/voice".into(), p(&[("A", "1")])),
                "jPgFZWWm2p9hlMKpEc8jDy6mcnU=",
            ),
            (
                Algorithm::Sha1,
                (
                    "https://example.com/x".into(),
                    p(&[("A", "x"), ("To", "+2"), ("To", "+1")]),
                ),
                "RYhOPVcIwJ8s+k9OWuDXvrmQaSg=",
            ),
            (
                Algorithm::Sha256,
                t1(),
                "Rmm4Vzj+Ky7JGoWXMCsZDZuHDszLr9xvdbvitrDr4/M=",
            ),
            (
                Algorithm::Sha256,
                t2(),
                "xBIj6l2b4/rOXhhxDwNkLPCNRLnTGsBoOjZ1Bk96T7c=",
            ),
            (
                Algorithm::Sha256,
                t3(),
                "3GS0wr4Yfj0+E0/JCnWq7myYfsMTGIlYa1MYTeumNCY=",
            ),
        ];
        for (alg, (url, params), sig) in cases {
            assert_eq!(sign(alg, TOKEN, &url, &params), sig, "{alg:?} {url}");
            assert_eq!(
                verify(alg, TOKEN, &url, &params, None, Some(sig)),
                Ok(()),
                "{url}"
            );
        }
    }

    #[test]
    fn t6_signs_repeated_names_with_sorted_values() {
        let params = p(&[("A", "x"), ("To", "+2"), ("To", "+1")]);
        assert_eq!(
            signed_string("https://example.com/x", &params),
            "https://example.com/xAxTo+1To+2"
        );
    }

    #[test]
    fn t5_port_rules_match_the_sdks() {
        let params = p(&[("A", "1")]);
        let sig = Some("jPgFZWWm2p9hlMKpEc8jDy6mcnU=");
        for url in [
            "https://example.com/voice",
            "https://example.com:443/voice",
            "https://example.com:8443/voice",
        ] {
            assert_eq!(
                verify(Algorithm::Sha1, TOKEN, url, &params, None, sig),
                Ok(()),
                "{url}"
            );
        }
        assert_eq!(
            url_variants("http://[::1]:8080/v?x=1"),
            ["http://[::1]:8080/v?x=1", "http://[::1]/v?x=1"]
        );
        assert_eq!(url_variants("http://h/v"), ["http://h/v", "http://h:80/v"]);
    }

    #[test]
    fn t7_json_bodies_are_signed_by_url_and_hashed() {
        let url = "https://example.com/myapp?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        let body = br#"{"property": "value", "boolean": true}"#;
        let sig = Some("Klp85180pYIxzIO5cuyxpfh1BKw=");
        assert_eq!(
            verify(Algorithm::Sha1, TOKEN, url, &[], Some(body), sig),
            Ok(())
        );
        assert_eq!(
            verify(Algorithm::Sha1, TOKEN, url, &[], Some(b"{}"), sig),
            Err(Rejected::BodyHash)
        );
    }

    #[test]
    fn forged_tampered_and_missing_signatures_are_refused() {
        let (url, mut params) = t1();
        let sig = Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert_eq!(
            verify(Algorithm::Sha1, TOKEN, &url, &params, None, None),
            Err(Rejected::Missing)
        );
        assert_eq!(
            verify(Algorithm::Sha1, "54321", &url, &params, None, sig),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify(
                Algorithm::Sha1,
                TOKEN,
                &url,
                &params,
                None,
                Some("not base64!")
            ),
            Err(Rejected::Mismatch)
        );
        params[2].1 = "9999".into();
        assert_eq!(
            verify(Algorithm::Sha1, TOKEN, &url, &params, None, sig),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify(
                Algorithm::Sha1,
                TOKEN,
                "https://mycompany.com/myapp.php?foo=1&bar=3",
                &t1().1,
                None,
                sig
            ),
            Err(Rejected::Mismatch)
        );
    }

    #[test]
    fn the_settings_header_selects_sha256() {
        assert_eq!(Algorithm::from_settings(None), Algorithm::Sha1);
        assert_eq!(
            Algorithm::from_settings(Some("key=K1,algorithm=HMAC_SHA256")),
            Algorithm::Sha256
        );
        assert_eq!(Algorithm::from_settings(Some("key=K1")), Algorithm::Sha1);
    }
}
