//! The calls in progress, kept in memory beside the database, so that a
//! callback for a live call needs no read.
//!
//! The database stays the truth: an entry is put only after its step has
//! committed, a newer step is never replaced by an older one, and a call the
//! cache does not know (after a restart, or evicted) is read from the
//! database. The last [`ENDED`] calls to end stay a while, for the status
//! callback that follows every hang-up; a call that never gets its final
//! status callback is swept once it has been idle longer than any call can
//! last.

use crate::engine::{CallState, Wait};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest a call may sit idle in the cache: Twilio ends every call after
/// four hours at most (the default `TimeLimit`), so a call idle longer has
/// ended and its final status was lost.
pub const IDLE: Duration = Duration::from_secs(4 * 3600 + 600);

/// Sweep for idle calls once per this many puts.
const SWEEP_EVERY: u32 = 4096;

/// How many ended calls stay known (the most recent ones).
pub const ENDED: usize = 1024;

/// Live calls by call id.
#[derive(Debug, Default)]
pub struct LiveCalls {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    calls: HashMap<String, Entry>,
    /// Ended calls still in `calls`, oldest first.
    ended: VecDeque<String>,
    puts: u32,
}

#[derive(Debug)]
struct Entry {
    state: CallState,
    touched: Instant,
}

impl LiveCalls {
    /// A call's state, if it is live and known here.
    pub fn get(&self, call_id: &str) -> Option<CallState> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.calls.get(call_id).map(|e| e.state.clone())
    }

    /// Remember a committed (or freshly read) state: an entry at a later
    /// step is kept over an earlier one, and only the last [`ENDED`] ended
    /// calls are kept.
    pub fn put(&self, state: &CallState) {
        self.put_at(state.clone(), Instant::now());
    }

    /// [`LiveCalls::put`], taking the state rather than copying it.
    pub fn put_owned(&self, state: CallState) {
        self.put_at(state, Instant::now());
    }

    fn put_at(&self, state: CallState, now: Instant) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let ends = state.wait == Wait::Ended;
        let ended = match inner.calls.get_mut(&state.call_id) {
            Some(e) if e.state.step >= state.step && e.state.wait == Wait::Ended => None,
            Some(e) if e.state.step > state.step => None,
            Some(e) => {
                let id = ends.then(|| state.call_id.clone());
                e.state = state;
                e.touched = now;
                id
            }
            None => {
                let id = ends.then(|| state.call_id.clone());
                inner.calls.insert(
                    state.call_id.clone(),
                    Entry {
                        state,
                        touched: now,
                    },
                );
                id
            }
        };
        if let Some(id) = ended {
            inner.ended.push_back(id);
            while inner.ended.len() > ENDED {
                if let Some(old) = inner.ended.pop_front() {
                    inner.calls.remove(&old);
                }
            }
        }
        inner.puts = inner.puts.wrapping_add(1);
        if inner.puts.is_multiple_of(SWEEP_EVERY) {
            inner
                .calls
                .retain(|_, e| now.saturating_duration_since(e.touched) < IDLE);
            let Inner { calls, ended, .. } = &mut *inner;
            ended.retain(|id| calls.contains_key(id));
        }
    }

    /// Forget a call (its write failed, so the database may differ).
    pub fn forget(&self, call_id: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = inner.calls.remove(call_id)
            && e.state.wait == Wait::Ended
        {
            inner.ended.retain(|id| id != call_id);
        }
    }

    /// The states of the calls live here (not ended, touched within [`IDLE`]).
    pub fn live_states(&self) -> Vec<CallState> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        inner
            .calls
            .values()
            .filter(|e| {
                e.state.wait != Wait::Ended && now.saturating_duration_since(e.touched) < IDLE
            })
            .map(|e| e.state.clone())
            .collect()
    }

    /// How many calls are live (known here and not ended).
    pub fn len(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.calls.len().saturating_sub(inner.ended.len())
    }

    /// Are there none?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: &str, step: u64, wait: Wait) -> CallState {
        let flow = "[flow]\nstart = \"desk\"\n[queue.desk]\ngroup = \"desk\"\n";
        let groups = "[groups.desk]\nkind = \"service\"\n";
        let (_, c) = crate::compile::compile_texts([("main", flow), ("groups", groups)]);
        let p = c.program.expect("the test flow compiles");
        let start = crate::engine::Start {
            call_id: id.into(),
            caller: "+15550001111".into(),
            called: "+15550002222".into(),
            history: Vec::new(),
            language: None,
        };
        let mut s = crate::engine::start(&p, start, jiff::Timestamp::UNIX_EPOCH).state;
        s.step = step;
        s.wait = wait;
        s
    }

    #[test]
    fn keeps_the_latest_step_and_drops_ended_calls() {
        let live = LiveCalls::default();
        live.put(&state("CA1", 3, Wait::Choice));
        live.put(&state("CA1", 2, Wait::Choice));
        assert_eq!(live.get("CA1").map(|s| s.step), Some(3), "never goes back");
        live.put(&state("CA1", 4, Wait::Choice));
        assert_eq!(live.get("CA1").map(|s| s.step), Some(4));
        live.put(&state("CA1", 5, Wait::Ended));
        assert_eq!(
            live.get("CA1").map(|s| s.wait),
            Some(Wait::Ended),
            "an ended call stays a while, for its status callback"
        );
        for i in 0..ENDED {
            live.put(&state(&format!("CA-end{i}"), 2, Wait::Ended));
        }
        assert!(
            live.get("CA1").is_none(),
            "only the last {ENDED} ended calls stay"
        );
        assert_eq!(live.len(), 0, "ended calls are not live");
        live.put(&state("CA2", 1, Wait::Choice));
        live.forget("CA-end7");
        live.put(&state("CA-end7", 2, Wait::Ended));
        assert_eq!(live.len(), 1);
    }

    #[test]
    fn sweeps_calls_idle_longer_than_a_call_can_last() {
        let live = LiveCalls::default();
        let then = Instant::now();
        live.put_at(state("CA-old", 1, Wait::Choice), then);
        let later = then + IDLE + Duration::from_secs(1);
        for i in 0..SWEEP_EVERY {
            live.put_at(state(&format!("CA{i}"), 1, Wait::Choice), later);
        }
        assert!(live.get("CA-old").is_none());
        assert_eq!(live.len(), SWEEP_EVERY as usize);
        live.forget("CA0");
        assert!(live.get("CA0").is_none());
    }
}
