import hearth.Context;
import hearth.Request;
import hearth.Response;
import java.util.List;
import java.util.Map;

/** The java runtime's contract function: each path exercises one promise of the contract. */
public class Handler implements hearth.Handler {
    @Override
    public Response handle(Request req, Context ctx) throws Exception {
        switch (req.path()) {
            case "/echo": {
                String status = req.query("status");
                Response resp = Response.of(status == null ? 200 : Integer.parseInt(status), req.body());
                for (Map.Entry<String, List<String>> h : req.headers().entrySet()) {
                    if (h.getKey().toLowerCase().startsWith("x-echo-")) {
                        for (String v : h.getValue()) {
                            resp.addHeader(h.getKey(), v);
                        }
                    }
                }
                if (req.header("Content-Type") != null) {
                    resp.header("Content-Type", req.header("Content-Type"));
                }
                return resp;
            }
            case "/fail":
                throw new IllegalStateException("contract failure");
            case "/sleep": {
                String ms = req.query("ms");
                Thread.sleep(ms == null ? 0 : Long.parseLong(ms)); // ignores the deadline on purpose
                return Response.ok("slept");
            }
            case "/info":
                return Response.json("{\"method\":" + quote(req.method())
                        + ",\"path\":" + quote(req.path())
                        + ",\"query\":" + quote(req.rawQuery())
                        + ",\"call_id\":" + quote(ctx.callId())
                        + ",\"deadline\":" + quote(ctx.deadline() == null ? "" : ctx.deadline().toString())
                        + ",\"env\":" + quote(ctx.config("CONTRACT_ENV", "")) + "}");
            default:
                return Response.of(404, "no such contract path " + req.path());
        }
    }

    /** Returns s as a JSON string (the values here need only quotes and backslashes escaped). */
    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
