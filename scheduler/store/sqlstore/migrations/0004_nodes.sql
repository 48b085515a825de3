-- The cluster's nodes and the tokens agents join with. labels are JSON objects of strings.
-- Times are Unix nanoseconds (UTC); 0 means unset (a node never seen since it joined). A
-- removed node is deleted; a revoked join token is kept with revoked = 1, so that an agent
-- using it is told it was revoked rather than that it is unknown.
CREATE TABLE nodes (
    id             TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL DEFAULT '',
    labels         TEXT    NOT NULL DEFAULT '{}',
    advertise_addr TEXT    NOT NULL DEFAULT '',
    state          TEXT    NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'draining')),
    joined_at      INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE join_tokens (
    id          TEXT    PRIMARY KEY,
    secret_hash TEXT    NOT NULL,
    labels      TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
);
