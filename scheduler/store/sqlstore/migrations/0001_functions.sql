-- Functions and their versions. Times are Unix nanoseconds (UTC); specs are JSON
-- (api.FunctionSpec), so new spec fields need no migration.
CREATE TABLE functions (
    name            TEXT PRIMARY KEY,
    current_version INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE versions (
    function    TEXT    NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    image       TEXT    NOT NULL,
    source_hash TEXT    NOT NULL,
    spec        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (function, number)
);
