package hearth;

/**
 * A hearth function: the class named by func.yaml's {@code handler} (default {@code Handler})
 * implements this interface and has a public no-argument constructor.
 *
 * <p>The runtime makes one instance when the function's instance starts and calls
 * {@link #handle} for every request routed to it, from several threads at once when the
 * function's {@code concurrency} is above 1: keep shared state thread-safe. If the class also
 * implements {@link AutoCloseable}, {@code close()} is called once at shutdown, after the calls
 * in flight have finished.
 */
@FunctionalInterface
public interface Handler {
    /**
     * Handles one call.
     *
     * @param req the HTTP request: method, path, query, headers and body
     * @param ctx the call's id, deadline and the function's config
     * @return the response to send; {@code null} sends 200 with an empty body
     * @throws Exception anything thrown becomes a 500 with a JSON {@code handler_error} body, and
     *     the platform replaces the instance
     */
    Response handle(Request req, Context ctx) throws Exception;
}
