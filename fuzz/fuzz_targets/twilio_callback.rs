//! Twilio's callbacks as the server reads them: the input's first line is
//! the request's query string, the rest its form body. Both are decoded as
//! the server decodes them and parsed as each route parses them (new call,
//! step, status); whatever parses is then fed to the engine on the demo
//! flows, a step callback to a call started for it, and the answer rendered
//! as TwiML.
#![no_main]

use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use switchboard::engine::{self, Event, Start};
use switchboard::provider::twilio::{self, callback, signature::form_pairs};
use switchboard_fuzz::{demo, urls};

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let query = form_pairs(query);
    let params = form_pairs(body);
    let p = demo();
    let now = Timestamp::from_second(1_772_445_600).unwrap_or(Timestamp::UNIX_EPOCH);
    let answer = |step: &engine::Step| {
        twilio::render(
            &step.actions,
            p,
            &step.state.call_id,
            step.state.step,
            &urls(),
        )
    };

    let _ = callback::param(&query, "call");
    if let Ok(new) = callback::incoming(&params) {
        let start = Start {
            call_id: new.call_sid,
            caller: new.from,
            called: new.to,
            history: Vec::new(),
            language: None,
        };
        answer(&engine::start(p, start, now));
    }
    if let Ok(cb) = callback::step(&query, &params) {
        let start = Start {
            call_id: cb.call_sid.clone(),
            caller: "+15555550123".into(),
            called: params
                .iter()
                .find(|(k, _)| k == "To")
                .map_or_else(String::new, |(_, v)| v.clone()),
            history: Vec::new(),
            language: None,
        };
        let first = engine::start(p, start, now);
        let next = engine::step(p, &first.state, cb.event, now);
        answer(&next);
        assert!(engine::fits(p, &next.state).is_ok());
    }
    if let Ok(st) = callback::status(&params) {
        let start = Start {
            call_id: st.call_sid,
            caller: "+15555550123".into(),
            called: String::new(),
            history: Vec::new(),
            language: None,
        };
        let first = engine::start(p, start, now);
        let ended = engine::step(p, &first.state, Event::Status(st.status), now);
        assert_eq!(ended.state.wait, engine::Wait::Ended);
        answer(&ended);
    }
});
