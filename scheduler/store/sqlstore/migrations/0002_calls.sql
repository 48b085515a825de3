-- Call records and the durable async queue. Times are Unix nanoseconds (UTC), NULL when unset
-- (a call not started, not finished, or a sync call's due). A sync call is inserted finished;
-- an async call moves queued -> running -> finished, back to queued on a retry or a restart.
CREATE TABLE calls (
    id             TEXT    PRIMARY KEY,
    function       TEXT    NOT NULL,
    version        INTEGER NOT NULL DEFAULT 0,
    async          INTEGER NOT NULL DEFAULT 0,   -- 0 or 1
    status         TEXT    NOT NULL,             -- api.CallStatus
    http_status    INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    finished_at    INTEGER,
    duration_ms    REAL    NOT NULL DEFAULT 0,
    instance       TEXT    NOT NULL DEFAULT '',
    cold           TEXT    NOT NULL DEFAULT '',
    error          TEXT    NOT NULL DEFAULT '',
    attempts       INTEGER NOT NULL DEFAULT 0,
    callback_url   TEXT    NOT NULL DEFAULT '',
    -- Async only: when the call may run next, and the request it replays (store.AsyncRequest
    -- as JSON without its body, and the body). The body is dropped once the call finishes.
    due            INTEGER,
    request        TEXT,
    request_body   BLOB,
    -- Async only, once finished with an answer: api.CallResult (headers as JSON).
    result_status  INTEGER,
    result_headers TEXT,
    result_body    BLOB
);

-- ListCalls: newest first, with and without filters; the status index also counts the queue.
CREATE INDEX calls_created  ON calls (created_at, id);
CREATE INDEX calls_function ON calls (function, created_at, id);
CREATE INDEX calls_status   ON calls (status, created_at, id);
-- ClaimAsync: queued calls by due time. Partial, so it holds only the queue; status leads so
-- that the planner prefers it to calls_status for "status = 'queued' AND due <= ?".
CREATE INDEX calls_due      ON calls (status, due, created_at, id) WHERE status = 'queued';
-- PruneCalls.
CREATE INDEX calls_finished ON calls (finished_at);
