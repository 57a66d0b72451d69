-- Each group's service-level threshold (`service_level` in `[groups.*]`,
-- default 20 s) kept with each queue wait as it was when the call waited,
-- so a report counts every wait against its own group's threshold even
-- after the flows change. Older waits were counted against 20 s.
ALTER TABLE queue_waits ADD COLUMN sl_secs INTEGER NOT NULL DEFAULT 20;
-- The report's index again, with the threshold, so the queue section still
-- reads the index alone.
DROP INDEX queue_waits_for_reports;
CREATE INDEX queue_waits_for_reports ON queue_waits (grp, kind, result, joined_at, waited, sl_secs);
