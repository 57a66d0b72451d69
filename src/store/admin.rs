//! What admins change and act on by hand, the same SQL on both backends
//! (`$1`, `$2`, … in the order they appear, which SQLite's writer binds by
//! position too): group closures ([`Closure`], `switchboard close` and
//! `open`, the admin page), and the work callers left behind — open
//! voicemails ([`OpenVoicemail`]) and callback requests ([`OpenCallback`]),
//! oldest first, and marking one handled ([`Marked`]).
//!
//! Times are Unix milliseconds in the database; a closure's message is a
//! JSON object of texts by language tag.

use super::StoreError;
use crate::program::Lang;
use crate::routing::Closure;
use jiff::Timestamp;
use std::collections::BTreeMap;

/// The closures still in force at `$1`, by group.
/// The states of calls waiting in a queue now, on any instance: live
/// (not ended, started since `$1`) and whose latest step waits for a
/// queue's result; the same SQL on both backends. For Switchboard's own
/// queue (providers without queues of their own).
pub(super) const WAITING_SQL: &str = "SELECT CAST(s.state AS TEXT) FROM calls c
    JOIN steps s ON s.call_id = c.id
    WHERE c.ended_at IS NULL AND c.started_at >= $1 AND s.wait = 'Queue'
      AND s.step = (SELECT MAX(t.step) FROM steps t WHERE t.call_id = c.id)
    ORDER BY c.started_at, c.call_sid
    LIMIT 10000";

pub(super) const CLOSURES_SQL: &str = "SELECT grp, closed_until, message, closed_at
    FROM closures WHERE closed_until > $1 ORDER BY grp";

/// Close group `$1` until `$2` with message `$3`, closed at `$4` (a group
/// closed again gets the new time and message).
pub(super) const CLOSE_SQL: &str =
    "INSERT INTO closures (grp, closed_until, message, closed_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (grp) DO UPDATE SET closed_until = excluded.closed_until,
        message = excluded.message, closed_at = excluded.closed_at";

/// Reopen group `$1`.
pub(super) const OPEN_SQL: &str = "DELETE FROM closures WHERE grp = $1";

/// Voicemails not yet handled, oldest first, of group `$1` (NULL: every
/// group), at most `$2`, with their caller's number.
pub(super) const VOICEMAILS_SQL: &str =
    "SELECT v.id, v.call_sid, v.grp, c.caller, v.url, CAST(v.seconds AS BIGINT), v.at
    FROM voicemails v LEFT JOIN calls c ON c.call_sid = v.call_sid
    WHERE v.handled_at IS NULL AND (CAST($1 AS TEXT) IS NULL OR v.grp = $1)
    ORDER BY v.at, v.id LIMIT $2";

/// Callback requests not yet done, oldest first, of group `$1` (NULL:
/// every group), at most `$2`.
pub(super) const CALLBACKS_SQL: &str = "SELECT id, call_sid, grp, number, at FROM callbacks
    WHERE done_at IS NULL AND (CAST($1 AS TEXT) IS NULL OR grp = $1)
    ORDER BY at, id LIMIT $2";

/// Mark a voicemail handled at `$1`: voicemail `$2`, if it is not yet.
pub(super) const VOICEMAIL_HANDLED_SQL: &str =
    "UPDATE voicemails SET handled_at = $1 WHERE id = $2 AND handled_at IS NULL";

/// When voicemail `$1` was handled (a row with NULL: not yet; no row: no
/// such voicemail).
pub(super) const VOICEMAIL_STATE_SQL: &str = "SELECT handled_at FROM voicemails WHERE id = $1";

/// Mark a callback request done at `$1`: request `$2`, if it is not yet.
pub(super) const CALLBACK_DONE_SQL: &str =
    "UPDATE callbacks SET done = 1, done_at = $1 WHERE id = $2 AND done_at IS NULL";

/// When callback request `$1` was done (as [`VOICEMAIL_STATE_SQL`]).
pub(super) const CALLBACK_STATE_SQL: &str = "SELECT done_at FROM callbacks WHERE id = $1";

/// The funnel's rows ([`super::reports::FUNNEL_SQL`]) as the diagram
/// shades nodes: calls that reached each node, and that hung up there.
pub(super) fn node_traffic(
    funnel: Vec<super::reports::FunnelRow>,
) -> BTreeMap<String, crate::diagram::NodeTraffic> {
    use crate::report::facts::{HUNG_UP, REACHED};
    let mut out: BTreeMap<String, crate::diagram::NodeTraffic> = BTreeMap::new();
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    for (node, what, count) in funnel {
        let t = out.entry(node).or_default();
        match what.as_str() {
            REACHED => t.reached = n(count),
            HUNG_UP => t.left = n(count),
            _ => continue,
        }
        t.reached = t.reached.max(t.left);
    }
    out.retain(|_, t| t.reached > 0);
    out
}

/// A [`CLOSURES_SQL`] row: group, until, message (JSON), closed at.
pub(super) type ClosureRow = (String, i64, String, i64);

/// A [`VOICEMAILS_SQL`] row: id, call, group, caller, url, seconds, at.
pub(super) type VoicemailRow = (i64, String, String, Option<String>, String, i64, i64);

/// A [`CALLBACKS_SQL`] row: id, call, group, number, at.
pub(super) type CallbackRow = (i64, String, String, String, i64);

/// The two kinds of work callers leave behind that an admin marks off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tray {
    /// Voicemails, marked handled.
    Voicemails,
    /// Callback requests, marked done.
    Callbacks,
}

impl Tray {
    /// The statement marking one off (`$1` when, `$2` id).
    pub(super) fn mark_sql(self) -> &'static str {
        match self {
            Tray::Voicemails => VOICEMAIL_HANDLED_SQL,
            Tray::Callbacks => CALLBACK_DONE_SQL,
        }
    }

    /// The statement reading when one was marked off (`$1` id).
    pub(super) fn state_sql(self) -> &'static str {
        match self {
            Tray::Voicemails => VOICEMAIL_STATE_SQL,
            Tray::Callbacks => CALLBACK_STATE_SQL,
        }
    }
}

/// What marking a voicemail handled or a callback done did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marked {
    /// Marked now.
    Now,
    /// It already was, at this time if known (nothing changed).
    Already(Option<Timestamp>),
    /// No such id (a wrong number, or purged or erased since).
    Unknown,
}

impl Marked {
    /// What a backend found: rows the update changed, and when the row
    /// was marked before it (`None`: no row; `Some(None)`: not marked).
    pub(super) fn of(changed: u64, before: Option<Option<i64>>) -> Marked {
        match (changed, before) {
            (1.., _) => Marked::Now,
            (0, Some(Some(ms))) => Marked::Already(Some(time(ms))),
            // Marked by another admin between the update and the read.
            (0, Some(None)) => Marked::Already(None),
            (0, None) => Marked::Unknown,
        }
    }
}

/// A voicemail not yet handled.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OpenVoicemail {
    /// Its id (`switchboard voicemails done ID`).
    pub id: i64,
    /// The call that left it.
    pub call: String,
    /// The group it is for.
    pub group: String,
    /// The caller's number, if the call is still stored.
    pub caller: Option<String>,
    /// Where the provider keeps the recording.
    pub url: String,
    /// Its length.
    pub seconds: u32,
    /// When it was left.
    pub at: Timestamp,
}

/// A callback request not yet done.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OpenCallback {
    /// Its id (`switchboard callbacks done ID`).
    pub id: i64,
    /// The call that asked.
    pub call: String,
    /// The group that calls back.
    pub group: String,
    /// The number to call.
    pub number: String,
    /// When it was promised.
    pub at: Timestamp,
}

/// A stored time; one beyond jiff's range is its end (a closure "until
/// further notice" is stored as [`Timestamp::MAX`], whose milliseconds
/// read back past it).
fn time(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms > 0 {
        Timestamp::MAX
    } else {
        Timestamp::MIN
    })
}

/// A closure as [`CLOSE_SQL`] binds it: group, until, message, closed at.
pub(super) fn closure_params(c: &Closure) -> Result<(String, i64, String, i64), StoreError> {
    Ok((
        c.group.clone(),
        c.until.as_millisecond(),
        serde_json::to_string(&c.message)?,
        c.closed_at.as_millisecond(),
    ))
}

/// A [`CLOSURES_SQL`] row as a closure. A message that is not a JSON
/// object of texts by language (written by hand) is an error naming the
/// group, not a silent closure without one.
pub(super) fn closure(
    (group, until, message, closed_at): ClosureRow,
) -> Result<Closure, StoreError> {
    let message: BTreeMap<Lang, String> = serde_json::from_str(&message)?;
    Ok(Closure {
        group,
        until: time(until),
        message,
        closed_at: time(closed_at),
    })
}

/// A [`VOICEMAILS_SQL`] row.
pub(super) fn voicemail(
    (id, call, group, caller, url, seconds, at): VoicemailRow,
) -> OpenVoicemail {
    OpenVoicemail {
        id,
        call,
        group,
        caller,
        url,
        seconds: u32::try_from(seconds).unwrap_or(0),
        at: time(at),
    }
}

/// A [`CALLBACKS_SQL`] row.
pub(super) fn callback((id, call, group, number, at): CallbackRow) -> OpenCallback {
    OpenCallback {
        id,
        call,
        group,
        number,
        at: time(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_time_survives_the_database() {
        assert_eq!(time(Timestamp::MAX.as_millisecond()), Timestamp::MAX);
        assert_eq!(time(1_000).as_millisecond(), 1_000);
    }

    #[test]
    fn marking_reads_what_the_backend_found() {
        assert_eq!(Marked::of(1, Some(None)), Marked::Now);
        assert_eq!(
            Marked::of(0, Some(Some(1_000))),
            Marked::Already(Some(Timestamp::from_millisecond(1_000).unwrap()))
        );
        assert_eq!(Marked::of(0, None), Marked::Unknown);
    }

    #[test]
    fn a_hand_written_message_that_is_not_texts_by_language_is_an_error() {
        let row = ("desk".to_owned(), 1, "\"closed\"".to_owned(), 0);
        assert!(closure(row).is_err());
        let row = ("desk".to_owned(), 1, r#"{"en-US":"Closed."}"#.to_owned(), 0);
        assert_eq!(closure(row).unwrap().message.len(), 1);
    }
}
