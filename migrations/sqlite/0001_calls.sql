-- Switchboard's call store. Times are Unix milliseconds (UTC).
--
-- The hot path appends: every callback inserts one `steps` row (and a new
-- call one `calls` row). A call's row changes again only when its summary
-- does: when its outcome becomes known and when it ends.

-- One row per call: who called what, the flow and flow version it runs on,
-- when it started and ended, its final status and outcome (group, transfer,
-- voicemail, callback, hangup, abandoned, ...) and the node where it ended.
CREATE TABLE calls (
    call_sid      TEXT PRIMARY KEY,
    flow          TEXT NOT NULL,
    version       TEXT NOT NULL,
    caller        TEXT NOT NULL,
    called        TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    -- Where the call was when this row last changed: its end node, once ended.
    node          TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    final_status  TEXT,
    outcome       TEXT,
    outcome_group TEXT
);
CREATE INDEX calls_by_caller ON calls (caller, started_at);

-- The append-only log of every call: one row per step, numbered from 1 with
-- no gaps, holding the node the call then waited at, the engine's state
-- after the step (JSON), the voice XML answered (so a retried callback gets
-- the same document) and the engine's records of the step (a JSON array of
-- objects with `type` and `node`). Events that moved nothing (a late or
-- duplicate result) are appended to the records of the step they came at.
CREATE TABLE steps (
    id       INTEGER PRIMARY KEY,
    call_sid TEXT NOT NULL,
    step     INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    node     TEXT NOT NULL,
    wait     TEXT NOT NULL,
    state    TEXT NOT NULL,
    response TEXT,
    events   TEXT NOT NULL
);
CREATE UNIQUE INDEX steps_by_call ON steps (call_sid, step);

-- Every call as of its latest step: the step number, the node it waits at,
-- its attempts there and its variables, beside the call's summary.
CREATE VIEW calls_now AS
SELECT c.call_sid, c.flow, c.version, c.caller, c.called, c.started_at,
       s.step, s.node, s.wait,
       json_extract(s.state, '$.attempts') AS attempts,
       json_extract(s.state, '$.vars') AS variables,
       s.at AS updated_at, c.ended_at, c.final_status, c.outcome, c.outcome_group
FROM calls c
JOIN steps s ON s.call_sid = c.call_sid
 AND s.step = (SELECT MAX(step) FROM steps WHERE call_sid = c.call_sid);

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
