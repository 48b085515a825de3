-- Cron triggers (scheduler/triggers). A call a trigger made says so ("cron/<name>", with
-- " (catch-up of N)" for the one call standing for times missed while the server was down).
ALTER TABLE calls ADD COLUMN trigger_mark TEXT NOT NULL DEFAULT '';

-- Where each trigger of each function is: the schedule it was registered with (schedule and
-- timezone; a change starts it afresh), when that was, the scheduled time it last fired for and
-- that firing's call. Times are Unix nanoseconds (UTC), 0 when unset. The rows of a deleted
-- function or a trigger taken out of func.yaml go with it.
CREATE TABLE trigger_states (
    function      TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    schedule      TEXT    NOT NULL,
    registered_at INTEGER NOT NULL,
    last_fired    INTEGER NOT NULL DEFAULT 0,
    last_call_id  TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (function, name)
);
