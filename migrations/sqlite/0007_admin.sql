-- What admins change by hand.
--
-- `closures`: a group closed until a time (`switchboard close`, the admin
-- page), one row per group; every instance reads this table twice a second
-- and routes the group's callers like closing hours until `closed_until` (Unix
-- milliseconds). `message` is a JSON object of what callers hear first, by
-- language tag (`{}` for none).
--
-- Voicemails gain `handled_at` and callbacks `done_at` (when an admin marked
-- them; NULL while open), with indexes over the open ones, oldest first, for
-- the inbox and the callback queue.
CREATE TABLE closures (
    grp        TEXT PRIMARY KEY,
    closed_until INTEGER NOT NULL,
    message    TEXT NOT NULL,
    closed_at  INTEGER NOT NULL
);

ALTER TABLE voicemails ADD COLUMN handled_at INTEGER;
ALTER TABLE callbacks ADD COLUMN done_at INTEGER;
UPDATE callbacks SET done_at = at WHERE done <> 0;
CREATE INDEX voicemails_open ON voicemails (at, id) WHERE handled_at IS NULL;
CREATE INDEX callbacks_open ON callbacks (at, id) WHERE done_at IS NULL;
