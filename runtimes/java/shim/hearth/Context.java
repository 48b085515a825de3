package hearth;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;

/**
 * Context is what the platform tells a handler about one call besides the request: its id, its
 * deadline and the function's config. It is immutable.
 */
public final class Context {
    private final String callId;
    private final Instant deadline;
    private final Map<String, String> config;

    /**
     * Makes a context; the runtime does this for every call, tests of a handler may too.
     *
     * @param callId the call's id ("" when the call has none)
     * @param deadline when the platform cuts the call off; null for no deadline
     * @param config the function's config (the runtime passes the process environment)
     */
    public Context(String callId, Instant deadline, Map<String, String> config) {
        this.callId = callId == null ? "" : callId;
        this.deadline = deadline;
        this.config = config == null ? Map.of() : Collections.unmodifiableMap(config);
    }

    /** Returns the call's id (the Hearth-Call-Id header); "" when the call has none. */
    public String callId() {
        return callId;
    }

    /**
     * Returns the instant the platform cuts the call off (the Hearth-Deadline header), or null
     * when the call has no deadline.
     */
    public Instant deadline() {
        return deadline;
    }

    /**
     * Returns the time left until the deadline, never negative, or null when the call has no
     * deadline. Work that may take longer should stop early.
     */
    public Duration remaining() {
        if (deadline == null) {
            return null;
        }
        Duration d = Duration.between(Instant.now(), deadline);
        return d.isNegative() ? Duration.ZERO : d;
    }

    /**
     * Returns the function's config: the process environment, which holds func.yaml's
     * {@code env} and {@code hearth config} values. The map is unmodifiable.
     */
    public Map<String, String> config() {
        return config;
    }

    /** Returns the config value key, or null when it is not set. */
    public String config(String key) {
        return config.get(key);
    }

    /** Returns the config value key, or fallback when it is not set. */
    public String config(String key, String fallback) {
        return config.getOrDefault(key, fallback);
    }

    /** Writes one log line to stdout (so to `hearth logs`) carrying this call's id. */
    public void log(String message) {
        Log.line("INFO", "function", "call_id", callId, "message", message);
    }
}
