//! What a call should do next, independent of any provider: the engine's
//! output and every renderer's input (TwiML first; Plivo XML, TeXML and
//! VoiceXML render the same list).
//!
//! Actions carry no URLs: each renderer asks a URL builder for the step,
//! no-input, hold-music and recording addresses, so the engine owns no routes.

use crate::program::{GroupId, Key, Lang};
use crate::routing::Endpoint;
use std::time::Duration;

/// Something the caller hears, alone or inside a [`Action::Gather`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Speech {
    /// Text to speak.
    Say {
        /// The text.
        text: String,
        /// Its language.
        language: Lang,
        /// TTS voice for the language, if configured.
        voice: Option<String>,
    },
    /// A file from the recordings folder (path relative to it).
    Play {
        /// Relative path, e.g. `en-US/greeting.wav`.
        file: String,
    },
    /// Silence.
    Pause {
        /// How long.
        seconds: u32,
    },
}

/// Which kinds of input a gather accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputModes {
    /// Phone keys.
    pub dtmf: bool,
    /// Spoken words.
    pub speech: bool,
}

/// One step of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Speak or play.
    Speak(Speech),
    /// Prompt and wait for keys or speech; nothing entered yields a no-input event.
    Gather {
        /// Played while waiting (interrupted by input).
        prompts: Vec<Speech>,
        /// Keys, speech or both.
        input: InputModes,
        /// Stop after this many digits.
        num_digits: Option<u32>,
        /// Wait this long for input.
        timeout: Duration,
        /// Key that ends input (not part of the digits); `None` for none.
        finish_on_key: Option<Key>,
        /// The keys that are an answer here, for providers that list them
        /// in a grammar (VoiceXML): a menu's options and its flow's global
        /// keys, a survey's ratings. Empty: any digits, up to `num_digits`.
        keys: Vec<Key>,
        /// Words to help speech recognition.
        hints: Vec<String>,
        /// Speech recognition language.
        language: Lang,
    },
    /// Put the caller in a provider-side queue for a group, with hold music.
    Enqueue {
        /// Provider queue name.
        queue: String,
        /// The group (for the wait URL: hold music, announcements, max wait).
        group: GroupId,
        /// Priority 1–10 (higher first), where the provider supports it.
        priority: u32,
    },
    /// Ring one or more endpoints at once; the first to answer is connected.
    Dial {
        /// Who to ring.
        to: Vec<Endpoint>,
        /// How long to ring.
        timeout: Duration,
        /// Caller ID to present.
        caller_id: Option<String>,
    },
    /// Record a message after an optional beep; an empty recording yields a no-input event.
    Record {
        /// Longest message.
        max_length: Duration,
        /// Beep first.
        beep: bool,
    },
    /// Continue the call at its current step URL (fetch the next instructions).
    Redirect,
    /// Take the caller out of the queue they wait in (the queue's wait URL
    /// answers with this once the group's `max_wait` has passed, or, where
    /// the queue is our own, when it is over `max_queue`).
    Leave {
        /// Because the queue is full (the queue result `full`, else `timeout`).
        full: bool,
    },
    /// Join a conference room: a caller an agent took from Switchboard's
    /// own queue (its result is the queue's `bridged`), or the agent.
    Conference {
        /// The room.
        room: String,
        /// The agent's side (starts the room and ends it on leaving).
        agent: bool,
    },
    /// An agent waits for a caller of `group` in Switchboard's own queue:
    /// ask again (the agent URL) after the hold music before it.
    AwaitCaller {
        /// The group, by name.
        group: String,
    },
    /// End the call.
    Hangup,
}
