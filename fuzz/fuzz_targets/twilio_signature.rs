//! `X-Twilio-Signature` checking on arbitrary requests. The input is lines:
//! the `X-Twilio-Webhooks-Signature-Settings` header, the
//! `X-Twilio-Signature` header (an empty line: no such header), the auth
//! token, the URL, then the body. A body that starts with `{` is checked as
//! a JSON body (signed over the URL, hashed into `bodySHA256`), any other as
//! a form body. Besides "no panic": whatever `sign` makes, `verify` accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::provider::twilio::signature::{Algorithm, form_pairs, sign, verify};

fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(5, |&b| b == b'\n');
    let mut line = || String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let settings = line();
    let signature = line();
    let key = line();
    let url = line();
    let body = lines.next().unwrap_or_default();

    let algorithm = Algorithm::from_settings(Some(settings.as_str()).filter(|s| !s.is_empty()));
    let signature = Some(signature.as_str()).filter(|s| !s.is_empty());
    let json = body.first() == Some(&b'{');
    let params = if json { Vec::new() } else { form_pairs(body) };
    let json_body = json.then_some(body);
    let _ = verify(algorithm, &key, &url, &params, json_body, signature);

    let good = sign(algorithm, &key, &url, &params);
    assert_eq!(
        verify(algorithm, &key, &url, &params, None, Some(&good)),
        Ok(()),
        "a request signed as Twilio signs it was refused"
    );
});
