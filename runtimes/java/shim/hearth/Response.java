package hearth;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Response is what a handler returns: a status, headers and a body.
 *
 * <pre>{@code
 * return Response.ok("Hello!");                                  // 200, text/plain
 * return Response.of(404, "no such order");                      // any status
 * return Response.json("{\"id\":7}");                            // 200, application/json
 * return Response.ok(bytes).header("Content-Type", "image/png"); // bytes, with a header
 * }</pre>
 *
 * <p>Unless a Content-Type is set, bodies given as a String are sent as UTF-8 with
 * {@code Content-Type: text/plain; charset=utf-8}, byte[] bodies with {@code
 * application/octet-stream}. The runtime sets Content-Length itself.
 */
public final class Response {
    private static final String TEXT = "text/plain; charset=utf-8";
    private static final String BINARY = "application/octet-stream";

    private final int status;
    private final Map<String, List<String>> headers = new LinkedHashMap<>();
    private final byte[] body;

    private Response(int status, byte[] body, String contentType) {
        if (status < 200 || status > 599) {
            throw new IllegalArgumentException("HTTP status " + status + " is not between 200 and 599");
        }
        this.status = status;
        this.body = body == null ? new byte[0] : body;
        if (contentType != null) {
            header("Content-Type", contentType);
        }
    }

    /** Returns a 200 response with a text body. */
    public static Response ok(String body) {
        return of(200, body);
    }

    /** Returns a 200 response with a binary body. The array is not copied. */
    public static Response ok(byte[] body) {
        return of(200, body);
    }

    /** Returns a response with the given status and text body (null means empty). */
    public static Response of(int status, String body) {
        return new Response(status, body == null ? null : body.getBytes(StandardCharsets.UTF_8), TEXT);
    }

    /** Returns a response with the given status and binary body (null means empty). The array is not copied. */
    public static Response of(int status, byte[] body) {
        return new Response(status, body, BINARY);
    }

    /** Returns a 200 response whose body is the given JSON text, with Content-Type application/json. */
    public static Response json(String json) {
        return json(200, json);
    }

    /** Returns a response with the given status whose body is the given JSON text. */
    public static Response json(int status, String json) {
        return new Response(status, json == null ? null : json.getBytes(StandardCharsets.UTF_8), "application/json");
    }

    /** Returns a response with the given status and no body, such as {@code Response.empty(204)}. */
    public static Response empty(int status) {
        return new Response(status, null, null);
    }

    /**
     * Sets the header name to value, replacing any value it had (names are case-insensitive),
     * and returns this response.
     */
    public Response header(String name, String value) {
        removeHeader(name);
        return addHeader(name, value);
    }

    /** Adds a value to the header name (for headers such as Set-Cookie) and returns this response. */
    public Response addHeader(String name, String value) {
        if (name == null || name.isEmpty() || value == null) {
            throw new IllegalArgumentException("a header needs a name and a value");
        }
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            if (e.getKey().equalsIgnoreCase(name)) {
                e.getValue().add(value);
                return this;
            }
        }
        List<String> values = new ArrayList<>();
        values.add(value);
        headers.put(name, values);
        return this;
    }

    private void removeHeader(String name) {
        headers.keySet().removeIf(k -> k.equalsIgnoreCase(name));
    }

    /** Returns the HTTP status. */
    public int status() {
        return status;
    }

    /** Returns the headers, in the order they were set. The map is unmodifiable. */
    public Map<String, List<String>> headers() {
        return Collections.unmodifiableMap(headers);
    }

    /** Returns the first value of the header name (case-insensitive), or null. */
    public String header(String name) {
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
                return e.getValue().get(0);
            }
        }
        return null;
    }

    /** Returns the body (never null). The array is not copied. */
    public byte[] body() {
        return body;
    }
}
