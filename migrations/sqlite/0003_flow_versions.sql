-- Every flow set the server has installed, under its version (the hash in
-- `calls.version`): the flow files' paths, names and texts and the
-- recordings folder's index, as JSON (`flow::snapshot::Snapshot`). A call
-- continues on the version it started with, across restarts, reloads and
-- instances: a server that does not have the version in memory compiles it
-- again from here. Rows are never changed; a version is written once.
CREATE TABLE flow_versions (
    version   TEXT PRIMARY KEY,
    saved_at  INTEGER NOT NULL,
    snapshot  TEXT NOT NULL
);
