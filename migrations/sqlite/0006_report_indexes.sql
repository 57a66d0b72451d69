-- Indexes for `switchboard report`: each section's GROUP BY columns first,
-- then the period's column, so a report reads one small index per section
-- in group order (a skip-scan over the few distinct groups on SQLite) and
-- never sorts a year of rows. On a store of 1,000,000 calls the whole report
-- takes well under the 2 s target (docs/performance.md).
CREATE INDEX calls_for_reports ON calls (class, grp, kind, started_at);
CREATE INDEX queue_waits_for_reports ON queue_waits (grp, kind, result, joined_at, waited);
CREATE INDEX topics_for_reports ON topics_heard (topic, then_agent, at);
CREATE INDEX topics_by_call ON topics_heard (call_id, then_agent, at);
CREATE INDEX surveys_for_reports ON surveys (grp, rating, scale, at);
-- Only the waits that another followed (overflows, escalations).
CREATE INDEX queue_waits_moved ON queue_waits (joined_at) WHERE next_grp IS NOT NULL;
