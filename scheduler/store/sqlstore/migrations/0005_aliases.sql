-- Versions and aliases: a function's current version may be an older one (rollback), its
-- aliases route calls to versions by weight, and /invoke/NAME may follow a default alias.
-- Calls record the alias they came through. Weights are JSON ([{version, weight}]).
ALTER TABLE functions ADD COLUMN default_alias TEXT NOT NULL DEFAULT '';

CREATE TABLE aliases (
    function   TEXT    NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    weights    TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (function, name)
);

ALTER TABLE calls ADD COLUMN alias TEXT NOT NULL DEFAULT '';

-- ListCalls by function and version (hearth calls NAME --version N).
CREATE INDEX calls_function_version ON calls (function, version, created_at, id);
