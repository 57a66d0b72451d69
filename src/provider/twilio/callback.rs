//! Twilio's callbacks as engine events: the new-call request, the step
//! callbacks our TwiML points at (Gather, Dial, Enqueue and Record actions,
//! and the no-input Redirect), and the status callback.
//!
//! Parsing is pure and strict (see [`crate::provider::callback`]).

use crate::engine::{CallStatus, DialStatus, Event, QueueResult};

pub use crate::provider::callback::{
    BadCallback, Incoming, QueueWait, StatusCallback, StepCallback, param,
};
use crate::provider::callback::{digits, number, our_step, required};
use std::time::Duration;

/// What Twilio's step callbacks carry, for [`BadCallback::NoResult`].
const RESULTS: &str = "Digits, SpeechResult, DialCallStatus, QueueResult or RecordingUrl";

/// Parse the new-call request.
pub fn incoming(params: &[(String, String)]) -> Result<Incoming, BadCallback> {
    Ok(Incoming {
        call_sid: required(params, "CallSid")?.to_owned(),
        from: param(params, "From").unwrap_or("anonymous").to_owned(),
        to: required(params, "To")?.to_owned(),
    })
}

/// Parse a step callback: `query` is our URL's (`call`, `s`, and `ev=noinput`
/// for the no-input redirect), `params` the form body.
pub fn step(
    query: &[(String, String)],
    params: &[(String, String)],
) -> Result<StepCallback, BadCallback> {
    let (call_sid, step) = our_step(query, params, "CallSid")?;
    let event = if param(query, "ev") == Some("noinput") {
        Event::NoInput
    } else {
        event(params)?
    };
    Ok(StepCallback {
        call_sid,
        step,
        event,
    })
}

fn event(params: &[(String, String)]) -> Result<Event, BadCallback> {
    if let Some(status) = param(params, "DialCallStatus") {
        return Ok(Event::Dial(match status {
            "completed" | "answered" => DialStatus::Completed,
            "busy" => DialStatus::Busy,
            "no-answer" => DialStatus::NoAnswer,
            "failed" => DialStatus::Failed,
            "canceled" => DialStatus::Canceled,
            other => return Err(BadCallback::Invalid("DialCallStatus", other.to_owned())),
        }));
    }
    if let Some(result) = param(params, "QueueResult") {
        let result = match result {
            "bridged" | "bridging-in-process" => QueueResult::Bridged,
            "queue-full" => QueueResult::Full,
            "leave" | "redirected" => QueueResult::Timeout,
            "hangup" => QueueResult::Hangup,
            "error" | "system-error" => QueueResult::Error,
            other => return Err(BadCallback::Invalid("QueueResult", other.to_owned())),
        };
        let waited = number(params, "QueueTime")?;
        return Ok(Event::Queue { result, waited });
    }
    if let Some(url) = param(params, "RecordingUrl").filter(|u| !u.is_empty()) {
        let d = param(params, "RecordingDuration").unwrap_or("0");
        let seconds = d
            .parse()
            .map_err(|_| BadCallback::Invalid("RecordingDuration", d.to_owned()))?;
        return Ok(Event::Recording {
            url: url.to_owned(),
            seconds,
        });
    }
    if let Some(text) = param(params, "SpeechResult").filter(|t| !t.trim().is_empty()) {
        let confidence = param(params, "Confidence")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0.0);
        return Ok(Event::Speech {
            text: text.to_owned(),
            confidence,
        });
    }
    match param(params, "Digits") {
        Some(d) => digits("Digits", d),
        None => Err(BadCallback::NoResult(RESULTS)),
    }
}

/// Parse a queue's wait URL request: `query` is our URL's (`call`,
/// `group`), `params` Twilio's (`QueueTime`, `QueuePosition`, `AvgQueueTime`).
pub fn wait(
    query: &[(String, String)],
    params: &[(String, String)],
) -> Result<QueueWait, BadCallback> {
    let secs = |name| number::<u64>(params, name);
    Ok(QueueWait {
        call_sid: required(query, "call")?.to_owned(),
        group: required(query, "group")?.to_owned(),
        waited: secs("QueueTime")?.map(Duration::from_secs),
        position: secs("QueuePosition")?,
        average: secs("AvgQueueTime")?.map(Duration::from_secs),
    })
}

/// Parse the status callback.
pub fn status(params: &[(String, String)]) -> Result<StatusCallback, BadCallback> {
    let call_sid = required(params, "CallSid")?.to_owned();
    let status = match required(params, "CallStatus")? {
        "completed" => CallStatus::Completed,
        "busy" => CallStatus::Busy,
        "no-answer" => CallStatus::NoAnswer,
        "failed" => CallStatus::Failed,
        "canceled" => CallStatus::Canceled,
        other => return Err(BadCallback::Invalid("CallStatus", other.to_owned())),
    };
    let duration = param(params, "CallDuration").and_then(|d| d.parse().ok());
    Ok(StatusCallback {
        call_sid,
        status,
        duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::provider::callback::p;

    fn step_event(body: &[(&str, &str)]) -> Result<Event, BadCallback> {
        let mut params = p(&[("CallSid", "CA1")]);
        params.extend(p(body));
        step(&p(&[("call", "CA1"), ("s", "3")]), &params).map(|s| s.event)
    }

    #[test]
    fn new_calls_need_a_call_sid_and_a_called_number() {
        let i = incoming(&p(&[
            ("CallSid", "CA1"),
            ("From", "+15550001111"),
            ("To", "+18005550100"),
        ]))
        .unwrap();
        assert_eq!(
            (i.call_sid.as_str(), i.from.as_str(), i.to.as_str()),
            ("CA1", "+15550001111", "+18005550100")
        );
        assert_eq!(
            incoming(&p(&[("To", "+1")])),
            Err(BadCallback::Missing("CallSid"))
        );
        assert_eq!(
            incoming(&p(&[("CallSid", "CA1")])),
            Err(BadCallback::Missing("To"))
        );
        assert_eq!(
            incoming(&p(&[("CallSid", "CA1"), ("To", "+1")]))
                .unwrap()
                .from,
            "anonymous"
        );
    }

    #[test]
    fn step_callbacks_become_events() {
        assert_eq!(
            step_event(&[("Digits", "1")]),
            Ok(Event::Digits("1".into()))
        );
        assert_eq!(step_event(&[("Digits", "")]), Ok(Event::NoInput));
        assert_eq!(
            step_event(&[
                ("Digits", ""),
                ("SpeechResult", "billing please"),
                ("Confidence", "0.92")
            ]),
            Ok(Event::Speech {
                text: "billing please".into(),
                confidence: 0.92
            })
        );
        assert_eq!(
            step_event(&[("DialCallStatus", "no-answer")]),
            Ok(Event::Dial(DialStatus::NoAnswer))
        );
        assert_eq!(
            step_event(&[("DialCallStatus", "answered")]),
            Ok(Event::Dial(DialStatus::Completed))
        );
        assert_eq!(
            step_event(&[("QueueResult", "queue-full")]),
            Ok(Event::queue(QueueResult::Full))
        );
        assert_eq!(
            step_event(&[("QueueResult", "leave")]),
            Ok(Event::queue(QueueResult::Timeout))
        );
        assert_eq!(
            step_event(&[("QueueResult", "bridged")]),
            Ok(Event::queue(QueueResult::Bridged))
        );
        assert_eq!(
            step_event(&[("QueueResult", "hangup"), ("QueueTime", "73")]),
            Ok(Event::Queue {
                result: QueueResult::Hangup,
                waited: Some(73)
            })
        );
        assert!(step_event(&[("QueueResult", "hangup"), ("QueueTime", "-1")]).is_err());
        assert_eq!(
            step_event(&[
                ("RecordingUrl", "https://api.twilio.com/R1"),
                ("RecordingDuration", "14"),
                ("Digits", "hangup")
            ]),
            Ok(Event::Recording {
                url: "https://api.twilio.com/R1".into(),
                seconds: 14
            })
        );
        let no_input = step(
            &p(&[("call", "CA1"), ("s", "3"), ("ev", "noinput")]),
            &p(&[("CallSid", "CA1")]),
        );
        assert_eq!(no_input.map(|s| (s.step, s.event)), Ok((3, Event::NoInput)));
    }

    #[test]
    fn bad_step_callbacks_are_refused_with_a_reason() {
        assert_eq!(step_event(&[]), Err(BadCallback::NoResult(RESULTS)));
        assert_eq!(
            step_event(&[("Digits", "1<script>")]),
            Err(BadCallback::Invalid(
                "Digits",
                "9 characters, not only keys 0-9, * and #".into()
            ))
        );
        assert_eq!(
            step_event(&[("QueueResult", "maybe")]),
            Err(BadCallback::Invalid("QueueResult", "maybe".into()))
        );
        let other_call = step(
            &p(&[("call", "CA1"), ("s", "3")]),
            &p(&[("CallSid", "CA2"), ("Digits", "1")]),
        );
        assert!(matches!(other_call, Err(BadCallback::WrongCall { .. })));
        let no_step = step(
            &p(&[("call", "CA1")]),
            &p(&[("CallSid", "CA1"), ("Digits", "1")]),
        );
        assert_eq!(no_step, Err(BadCallback::Missing("s")));
        let bad_step = step(
            &p(&[("call", "CA1"), ("s", "x")]),
            &p(&[("CallSid", "CA1"), ("Digits", "1")]),
        );
        assert_eq!(
            bad_step,
            Err(BadCallback::Invalid("step number", "x".into()))
        );
    }

    #[test]
    fn status_callbacks_end_calls() {
        let s = status(&p(&[
            ("CallSid", "CA1"),
            ("CallStatus", "completed"),
            ("CallDuration", "93"),
        ]))
        .unwrap();
        assert_eq!((s.status, s.duration), (CallStatus::Completed, Some(93)));
        assert_eq!(
            status(&p(&[("CallSid", "CA1"), ("CallStatus", "ringing")])),
            Err(BadCallback::Invalid("CallStatus", "ringing".into()))
        );
    }
}
