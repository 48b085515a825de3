package hearth;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Calls is the HTTP handler for every request: it answers the readiness check itself and turns
 * everything else into a call of the function's Handler.
 */
final class Calls implements HttpHandler {
    static final String READY_PATH = "/_/ready";
    static final String HEADER_CALL_ID = "Hearth-Call-Id";
    static final String HEADER_DEADLINE = "Hearth-Deadline";
    static final String HEADER_FAILED = "Hearth-Instance-Failed";
    static final String CODE_HANDLER_ERROR = "handler_error";

    /** Headers the server writes itself; a handler's values for them are dropped. */
    private static final Set<String> HOP_BY_HOP = Set.of("content-length", "transfer-encoding", "connection",
            "keep-alive", "upgrade", "te", "trailer");

    private final Handler handler;
    private final Map<String, String> config;
    private final Object idle = new Object();
    private int inFlight; // guarded by idle
    volatile boolean draining;

    Calls(Handler handler, Map<String, String> config) {
        this.handler = handler;
        this.config = config;
    }

    int inFlight() {
        synchronized (idle) {
            return inFlight;
        }
    }

    /** Blocks until no call is in flight. */
    void awaitIdle() {
        synchronized (idle) {
            while (inFlight > 0) {
                try {
                    idle.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    @Override
    public void handle(HttpExchange ex) {
        synchronized (idle) {
            inFlight++;
        }
        try {
            URI uri = ex.getRequestURI();
            String method = ex.getRequestMethod();
            if (READY_PATH.equals(uri.getRawPath()) && (method.equals("GET") || method.equals("HEAD"))) {
                ex.sendResponseHeaders(draining ? 503 : 200, -1);
            } else {
                call(ex, uri, method);
            }
        } catch (IOException e) {
            // The connection broke while the response was being sent: nobody is left to answer.
        } finally {
            ex.close();
            synchronized (idle) {
                if (--inFlight == 0) {
                    idle.notifyAll();
                }
            }
        }
    }

    private void call(HttpExchange ex, URI uri, String method) throws IOException {
        long start = System.nanoTime();
        Headers in = ex.getRequestHeaders();
        String callId = orEmpty(in.getFirst(HEADER_CALL_ID));
        Instant deadline = null;
        String dl = in.getFirst(HEADER_DEADLINE);
        if (dl != null && !dl.isEmpty()) {
            try {
                deadline = OffsetDateTime.parse(dl).toInstant();
            } catch (DateTimeParseException e) {
                Log.line("WARN", "ignoring a malformed deadline", "call_id", callId, "value", dl);
            }
        }
        byte[] body;
        try (InputStream bodyIn = ex.getRequestBody()) {
            body = bodyIn.readAllBytes();
        } catch (IOException e) {
            Log.line("WARN", "cannot read the request body", "call_id", callId, "error", e.toString());
            return;
        }
        Request req = new Request(method, uri.getPath(), uri.getRawQuery(), in, body);
        Context ctx = new Context(callId, deadline, config);

        int status;
        byte[] out;
        Throwable failure = null;
        try {
            Response resp = handler.handle(req, ctx);
            if (resp == null) {
                resp = Response.empty(200);
            }
            status = resp.status();
            out = resp.body();
            setHeaders(ex.getResponseHeaders(), resp, callId);
        } catch (Throwable t) {
            failure = t;
            Log.line("ERROR", "handler threw", "call_id", callId, "error", t.toString(), "stack", stack(t));
            status = 500;
            out = failureBody(t);
            Headers h = ex.getResponseHeaders();
            h.clear();
            if (!callId.isEmpty()) {
                h.set(HEADER_CALL_ID, callId);
            }
            h.set(HEADER_FAILED, "true");
            h.set("Content-Type", "application/json");
            h.set("X-Content-Type-Options", "nosniff");
        }
        try {
            // HEAD, 1xx, 204 and 304 responses have no body; 0 would mean "chunked" to the server.
            boolean noBody = method.equals("HEAD") || status < 200 || status == 204 || status == 304;
            ex.sendResponseHeaders(status, noBody ? -1 : (out.length == 0 ? -1 : out.length));
            if (!noBody && out.length > 0) {
                OutputStream os = ex.getResponseBody();
                os.write(out);
                os.close();
            }
        } finally {
            double ms = (System.nanoTime() - start) / 1e6;
            Log.line(failure == null ? "INFO" : "ERROR", "call", "call_id", callId, "method", method,
                    "path", req.path(), "status", status, "duration", String.format("%.3fms", ms));
        }
    }

    /** Copies the handler's headers, leaving out those the server must write itself. */
    private static void setHeaders(Headers h, Response resp, String callId) {
        for (Map.Entry<String, List<String>> e : resp.headers().entrySet()) {
            if (!HOP_BY_HOP.contains(e.getKey().toLowerCase())) {
                // Headers.put checks the values: a CR or LF in one throws, as a handler error.
                h.put(e.getKey(), List.copyOf(e.getValue()));
            }
        }
        if (!callId.isEmpty() && !h.containsKey(HEADER_CALL_ID)) {
            h.set(HEADER_CALL_ID, callId);
        }
    }

    /** Returns the contract's error body: {"error":{"code":"handler_error","message":"..."}}. */
    static byte[] failureBody(Throwable t) {
        String json = "{\"error\":{\"code\":\"" + CODE_HANDLER_ERROR + "\",\"message\":" + Json.quote(t.toString()) + "}}\n";
        return json.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Returns t's stack trace without the frames of the runtime below the handler (the shim and
     * the HTTP server), which say nothing about the function.
     */
    static String stack(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        StringBuilder b = new StringBuilder();
        boolean skipping = false;
        for (String line : w.toString().split("\n")) {
            String l = line.stripTrailing();
            if (l.startsWith("\tat ")) {
                skipping = skipping || l.startsWith("\tat hearth.Calls.call(");
                if (skipping) {
                    continue;
                }
            } else {
                skipping = false;
                if (l.startsWith("\t...")) {
                    continue;
                }
            }
            b.append(l).append('\n');
        }
        return b.toString().strip();
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }
}
