-- Calls get an integer id, given in the order calls are stored (that is,
-- as they start), and steps refer to their call by it. A call's steps were indexed by (call_sid, step), and
-- the provider's call ids are random, so every callback wrote its index
-- entry to a random page of that index. Keyed by (call_id, step), the live
-- calls' entries sit together at the index's end, where a batch of commits
-- shares a few pages (docs/performance.md, "Where the time goes").
--
-- Every existing call and step is kept; a step whose call is missing stops
-- the migration (call_id NOT NULL) rather than being dropped.

DROP VIEW IF EXISTS calls_now;

CREATE TABLE calls_new (
    id            INTEGER PRIMARY KEY,
    call_sid      TEXT NOT NULL UNIQUE,
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
INSERT INTO calls_new (call_sid, flow, version, caller, called, started_at, node,
                       updated_at, ended_at, final_status, outcome, outcome_group)
SELECT call_sid, flow, version, caller, called, started_at, node,
       updated_at, ended_at, final_status, outcome, outcome_group
FROM calls ORDER BY rowid;

-- The append-only log of every call: one row per step, numbered from 1 with
-- no gaps, holding the node the call then waited at, the engine's state
-- after the step (JSON), the voice XML answered (so a retried callback gets
-- the same document) and the engine's records of the step (a JSON array of
-- objects with `type` and `node`). Events that moved nothing (a late or
-- duplicate result) are appended to the records of the step they came at.
CREATE TABLE steps_new (
    id       INTEGER PRIMARY KEY,
    call_id  INTEGER NOT NULL,
    step     INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    node     TEXT NOT NULL,
    wait     TEXT NOT NULL,
    state    TEXT NOT NULL,
    response TEXT,
    events   TEXT NOT NULL
);
INSERT INTO steps_new (id, call_id, step, at, node, wait, state, response, events)
SELECT s.id, (SELECT c.id FROM calls_new c WHERE c.call_sid = s.call_sid),
       s.step, s.at, s.node, s.wait, s.state, s.response, s.events
FROM steps s ORDER BY s.id;

DROP TABLE steps;
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;
ALTER TABLE steps_new RENAME TO steps;
CREATE INDEX calls_by_caller ON calls (caller, started_at);
CREATE UNIQUE INDEX steps_by_call ON steps (call_id, step);

-- Every call as of its latest step: the step number, the node it waits at,
-- its attempts there and its variables, beside the call's summary.
CREATE VIEW calls_now AS
SELECT c.call_sid, c.flow, c.version, c.caller, c.called, c.started_at,
       s.step, s.node, s.wait,
       json_extract(s.state, '$.attempts') AS attempts,
       json_extract(s.state, '$.vars') AS variables,
       s.at AS updated_at, c.ended_at, c.final_status, c.outcome, c.outcome_group
FROM calls c
JOIN steps s ON s.call_id = c.id
 AND s.step = (SELECT MAX(step) FROM steps WHERE call_id = c.id);
