-- First-contact resolution and the per-node funnel (src/report/facts.rs).
--
-- `again_ms` on a call's row: how long after it started the same caller
-- called again about the same group (the next call from the number whose
-- group is the same, stored after it), in milliseconds; -1 for a withheld number, whose
-- calls cannot be told apart; NULL while nobody has. Each call that ends
-- with a group sets it on the caller's previous call about that group, so a
-- report finds the calls not followed within any window by reading one
-- index, not by joining a year of calls with itself. The previous call is
-- found through `calls_by_caller` (caller, started_at): an index of its
-- own would cost every new call another page written at a random place.
ALTER TABLE calls ADD COLUMN again_ms BIGINT;
UPDATE calls SET again_ms = -1
WHERE grp IS NOT NULL AND lower(trim(caller)) IN
    ('', 'anonymous', 'restricted', 'unknown', 'unavailable', 'private', 'blocked', 'withheld');
UPDATE calls SET again_ms = (
    SELECT MIN(n.started_at) - calls.started_at FROM calls n
    WHERE n.caller = calls.caller AND n.grp = calls.grp AND n.started_at >= calls.started_at
      AND n.id > calls.id)
WHERE grp IS NOT NULL AND again_ms IS NULL;
-- The outcomes index again, with `again_ms`, so the repeat section reads the
-- index alone.
DROP INDEX calls_for_reports;
CREATE INDEX calls_for_reports ON calls (class, grp, kind, started_at, again_ms);

-- The per-node funnel, rolled up by the hour calls ended in: at each node
-- (qualified name), how many calls reached it, timed out, entered
-- something invalid, ran out of tries, hung up there, and chose each option
-- (`what` = `chose:` and the option). Added to as calls end, one row per
-- hour, node and count, so a year's funnel is a few hundred thousand rows
-- however many calls. Calls stored before this are not in it.
--
-- Each writer connection adds to rows of its own (`shard`, drawn at random
-- as it starts): the current hour's rows are the same for every batch, and
-- a batch holds the rows it adds to until it commits, so shared rows would
-- have each writer wait for the one before it to commit, where the writers
-- are there to commit side by side. A report sums the shards.
CREATE TABLE node_hours (
    hour  BIGINT NOT NULL,
    node  TEXT NOT NULL,
    what  TEXT NOT NULL,
    shard INTEGER NOT NULL,
    n     BIGINT NOT NULL,
    PRIMARY KEY (hour, node, what, shard)
);
-- No index beside the key: one by node would have every batch of calls
-- write a page per node and count (each node's run of rows sits apart),
-- where the current hour's rows share a page or two of the key. A report
-- reads the period's hours and sums them (0.6 s for a year of rows).
