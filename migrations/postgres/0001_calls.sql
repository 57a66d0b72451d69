-- Switchboard's call store on PostgreSQL: the same tables, columns and
-- meaning as SQLite's after its three migrations (migrations/sqlite), so
-- that reports read both alike. Times are Unix milliseconds (UTC) in
-- BIGINT columns; the engine's state and each step's records are JSONB.
--
-- The hot path appends: every callback inserts one `steps` row (and a new
-- call one `calls` row). A call's row changes again only when its summary
-- does: when its outcome becomes known and when it ends.

-- One row per call: who called what, the flow and flow version it runs on,
-- when it started and ended, its final status and outcome (group, transfer,
-- voicemail, callback, hangup, abandoned, ...) and the node where it ended.
-- `id` is given in the order calls are stored; steps refer to it.
CREATE TABLE calls (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_sid      TEXT NOT NULL UNIQUE,
    flow          TEXT NOT NULL,
    version       TEXT NOT NULL,
    caller        TEXT NOT NULL,
    called        TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    -- Where the call was when this row last changed: its end node, once ended.
    node          TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    ended_at      BIGINT,
    final_status  TEXT,
    outcome       TEXT,
    outcome_group TEXT
);
CREATE INDEX calls_by_caller ON calls (caller, started_at);
CREATE INDEX calls_by_version ON calls (version);

-- The append-only log of every call: one row per step, numbered from 1 with
-- no gaps, holding the node the call then waited at, the engine's state
-- after the step, the voice XML answered (so a retried callback gets the
-- same document) and the engine's records of the step (an array of objects
-- with `type` and `node`). Events that moved nothing (a late or duplicate
-- result) are appended to the records of the step they came at. The unique
-- (call_id, step) is the optimistic check: a duplicated or racing callback
-- computes a step that is already taken, on whichever instance it ran.
CREATE TABLE steps (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id  BIGINT NOT NULL,
    step     BIGINT NOT NULL,
    at       BIGINT NOT NULL,
    node     TEXT NOT NULL,
    wait     TEXT NOT NULL,
    state    JSONB NOT NULL,
    response TEXT,
    events   JSONB NOT NULL
);
CREATE UNIQUE INDEX steps_by_call ON steps (call_id, step);

-- Every call as of its latest step: the step number, the node it waits at,
-- its attempts there and its variables, beside the call's summary.
CREATE VIEW calls_now AS
SELECT c.call_sid, c.flow, c.version, c.caller, c.called, c.started_at,
       s.step, s.node, s.wait,
       s.state -> 'attempts' AS attempts,
       s.state -> 'vars' AS variables,
       s.at AS updated_at, c.ended_at, c.final_status, c.outcome, c.outcome_group
FROM calls c
JOIN steps s ON s.call_id = c.id
 AND s.step = (SELECT MAX(step) FROM steps WHERE call_id = c.id);

CREATE TABLE voicemails (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_sid  TEXT NOT NULL,
    grp       TEXT NOT NULL,
    url       TEXT NOT NULL,
    seconds   INTEGER NOT NULL,
    at        BIGINT NOT NULL
);

CREATE TABLE callbacks (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_sid  TEXT NOT NULL,
    grp       TEXT NOT NULL,
    number    TEXT NOT NULL,
    at        BIGINT NOT NULL,
    done      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE surveys (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_sid  TEXT NOT NULL,
    node      TEXT NOT NULL,
    grp       TEXT,
    rating    INTEGER NOT NULL,
    scale     INTEGER NOT NULL,
    at        BIGINT NOT NULL
);

-- Every flow set an instance has installed, under its version (the hash in
-- `calls.version`): the flow files' paths, names and texts and the
-- recordings folder's index, as JSON text (`flow::snapshot::Snapshot`,
-- kept byte for byte: a version is compared by its text). A call continues
-- on the version it started with, on any instance: one that does not have
-- the version in memory compiles it again from here. Rows are never
-- changed; a version is written once.
CREATE TABLE flow_versions (
    version   TEXT PRIMARY KEY,
    saved_at  BIGINT NOT NULL,
    snapshot  TEXT NOT NULL
);
