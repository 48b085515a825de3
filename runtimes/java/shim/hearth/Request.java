package hearth;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Request is one call's HTTP request, as the caller sent it. It is immutable.
 */
public final class Request {
    private final String method;
    private final String path;
    private final String rawQuery;
    private final Map<String, List<String>> query;
    private final Map<String, List<String>> headers;
    private final byte[] body;

    /**
     * Makes a request; the runtime does this for every call, tests of a handler may too.
     *
     * @param method the HTTP method ("GET", "POST", ...)
     * @param path the decoded path, such as "/orders/7"
     * @param rawQuery the query string as sent, without "?"; null or "" when there is none
     * @param headers the request headers; names are matched case-insensitively
     * @param body the request body; null means empty
     */
    public Request(String method, String path, String rawQuery, Map<String, List<String>> headers, byte[] body) {
        this.method = method;
        this.path = path;
        this.rawQuery = rawQuery == null ? "" : rawQuery;
        this.query = parseQuery(this.rawQuery);
        TreeMap<String, List<String>> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        if (headers != null) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                h.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).addAll(e.getValue());
            }
            h.replaceAll((k, v) -> Collections.unmodifiableList(v));
        }
        this.headers = Collections.unmodifiableMap(h);
        this.body = body == null ? new byte[0] : body;
    }

    /** Returns the HTTP method, such as "POST". */
    public String method() {
        return method;
    }

    /** Returns the request's path, decoded, such as "/orders/7". */
    public String path() {
        return path;
    }

    /** Returns the query string as sent, without the "?"; "" when there is none. */
    public String rawQuery() {
        return rawQuery;
    }

    /**
     * Returns the decoded query parameters, in the order they first appear; a name given several
     * times has several values. The map is unmodifiable.
     */
    public Map<String, List<String>> query() {
        return query;
    }

    /** Returns the first value of the query parameter name, or null when there is none. */
    public String query(String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    /**
     * Returns the request headers. The map is unmodifiable and its keys are case-insensitive:
     * {@code headers().get("content-type")} finds "Content-Type".
     */
    public Map<String, List<String>> headers() {
        return headers;
    }

    /** Returns the first value of the header name (case-insensitive), or null when there is none. */
    public String header(String name) {
        List<String> v = headers.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    /** Returns the body (never null; empty when the request has none). The array is not copied. */
    public byte[] body() {
        return body;
    }

    /** Returns the body decoded as UTF-8. */
    public String text() {
        return new String(body, StandardCharsets.UTF_8);
    }

    private static Map<String, List<String>> parseQuery(String raw) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (!raw.isEmpty()) {
            for (String pair : raw.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String name = decode(eq < 0 ? pair : pair.substring(0, eq));
                String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
                out.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            }
            out.replaceAll((k, v) -> Collections.unmodifiableList(v));
        }
        return Collections.unmodifiableMap(out);
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s; // a malformed escape: keep what was sent rather than fail the call
        }
    }
}
