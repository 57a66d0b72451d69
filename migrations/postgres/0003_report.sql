-- What reports add up, written once as each call ends (src/report/facts.rs),
-- so `switchboard report` aggregates rows instead of reading event logs.
--
-- On the call's row: how it ended as reports class it (agent, transfer,
-- voicemail, callback, self-service, ended, menu-hangup, queue-abandon,
-- failure), the group it ended with or last waited for, and that group's
-- kind (service or support). Calls stored before this have their class
-- worked out from their outcome (a hang-up then counts as in a menu, since
-- their queue waits were not kept) and no queue waits or topics.
ALTER TABLE calls ADD COLUMN class TEXT;
ALTER TABLE calls ADD COLUMN kind TEXT;
ALTER TABLE calls ADD COLUMN grp TEXT;
UPDATE calls SET
    class = CASE
        WHEN outcome LIKE 'group:%' THEN 'agent'
        WHEN outcome LIKE 'voicemail:%' THEN 'voicemail'
        WHEN outcome LIKE 'callback:%' THEN 'callback'
        WHEN outcome = 'transfer' THEN 'transfer'
        WHEN outcome = 'fallback' THEN 'failure'
        WHEN outcome = 'hangup' THEN 'ended'
        ELSE 'menu-hangup' END,
    grp = outcome_group
WHERE ended_at IS NOT NULL;

-- One row per wait in a group's queue: when it began, how it ended
-- (answered, abandoned, timeout, full, error), the seconds waited, and the
-- group the call waited for next (an overflow or an escalation).
CREATE TABLE queue_waits (
    call_id    BIGINT NOT NULL,
    seq        INTEGER NOT NULL,
    grp        TEXT NOT NULL,
    kind       TEXT,
    tier       INTEGER,
    joined_at  BIGINT NOT NULL,
    result     TEXT NOT NULL,
    waited     INTEGER NOT NULL,
    next_grp   TEXT,
    PRIMARY KEY (call_id, seq)
);
CREATE INDEX queue_waits_by_joined ON queue_waits (joined_at);

-- One row per self-service answer (a node's `topic`) a call heard, and
-- whether the caller went on to an agent after it.
CREATE TABLE topics_heard (
    call_id    BIGINT NOT NULL,
    seq        INTEGER NOT NULL,
    topic      TEXT NOT NULL,
    then_agent BOOLEAN NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (call_id, seq)
);
CREATE INDEX topics_heard_by_at ON topics_heard (at);
