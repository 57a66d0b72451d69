-- One row per call: the engine's state as JSON plus the columns reports and
-- the caller-history lookup need. Times are Unix milliseconds (UTC).
CREATE TABLE calls (
    call_sid      TEXT PRIMARY KEY,
    flow          TEXT NOT NULL,
    version       TEXT NOT NULL,
    caller        TEXT NOT NULL,
    called        TEXT NOT NULL,
    step          INTEGER NOT NULL,
    node          TEXT NOT NULL,
    wait          TEXT NOT NULL,
    state         TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    final_status  TEXT,
    outcome       TEXT,
    outcome_group TEXT
);
CREATE INDEX calls_by_caller ON calls (caller, started_at);

-- The voice XML each step answered, so that a retried callback gets the same document.
CREATE TABLE responses (
    call_sid TEXT NOT NULL,
    step     INTEGER NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (call_sid, step)
) WITHOUT ROWID;

-- Append-only event log: the engine's records with their time and node.
CREATE TABLE events (
    id       INTEGER PRIMARY KEY,
    call_sid TEXT NOT NULL,
    step     INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    node     TEXT,
    kind     TEXT NOT NULL,
    data     TEXT NOT NULL
);
CREATE INDEX events_by_call ON events (call_sid, id);

CREATE TABLE voicemails (
    id        INTEGER PRIMARY KEY,
    call_sid  TEXT NOT NULL,
    grp       TEXT NOT NULL,
    url       TEXT NOT NULL,
    seconds   INTEGER NOT NULL,
    at        INTEGER NOT NULL
);

CREATE TABLE callbacks (
    id        INTEGER PRIMARY KEY,
    call_sid  TEXT NOT NULL,
    grp       TEXT NOT NULL,
    number    TEXT NOT NULL,
    at        INTEGER NOT NULL,
    done      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE surveys (
    id        INTEGER PRIMARY KEY,
    call_sid  TEXT NOT NULL,
    node      TEXT NOT NULL,
    grp       TEXT,
    rating    INTEGER NOT NULL,
    scale     INTEGER NOT NULL,
    at        INTEGER NOT NULL
);
