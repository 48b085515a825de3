-- Functions' secrets: each value sealed with AES-256-GCM by scheduler/secrets (nonce and
-- ciphertext in one blob); the key that opens them is kept outside this database. Deleting a
-- function deletes its secrets. updated_at is Unix nanoseconds (UTC).
CREATE TABLE secrets (
    function   TEXT    NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (function, key)
);
