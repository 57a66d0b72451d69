-- What retention and erasure need.
--
-- Calls by start, for the purge of calls older than the retention period
-- (oldest first, in small batches), and the rows that hang off a call by its
-- call_sid, so a purge or a caller's erasure finds them without reading
-- whole tables. `purges` remembers the oldest time a purge has cleared, so
-- reports can say which period they still cover.
CREATE INDEX calls_by_start ON calls (started_at);
CREATE INDEX voicemails_by_call ON voicemails (call_sid);
CREATE INDEX callbacks_by_call ON callbacks (call_sid);
CREATE INDEX callbacks_by_number ON callbacks (number);
CREATE INDEX surveys_by_call ON surveys (call_sid);

-- One row per purge that removed anything: calls started before `purged_before`
-- (Unix milliseconds) are gone; `at` is when it ran.
CREATE TABLE purges (
    id      INTEGER PRIMARY KEY,
    purged_before  BIGINT NOT NULL,
    at             BIGINT NOT NULL,
    calls          BIGINT NOT NULL
);
