-- API tokens. Only the SHA-256 of a token's secret is kept (hex); functions is a JSON array of
-- names, empty for every function. Times are Unix nanoseconds (UTC); 0 means unset (no expiry,
-- never used). A revoked token is deleted.
CREATE TABLE tokens (
    id           TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL DEFAULT '',
    role         TEXT    NOT NULL,
    functions    TEXT    NOT NULL DEFAULT '[]',
    hash         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL DEFAULT 0,
    last_used_at INTEGER NOT NULL DEFAULT 0
);
