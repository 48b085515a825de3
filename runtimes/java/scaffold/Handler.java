import hearth.Context;
import hearth.Request;
import hearth.Response;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The function: hearth calls handle for every request routed to it. func.yaml's handler names
 * this class (the default is Handler); a class in a package is named with its package, such as
 * com.example.Greeter. The API is documented in docs/user/runtimes/java.md.
 */
public class Handler implements hearth.Handler {
    // The JDK has no JSON parser: a real function would put one (e.g. a Jackson or Gson jar) in
    // lib/. For one string field a pattern does.
    private static final Pattern NAME = Pattern.compile("\"name\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** Greets the caller: {"name": "Ada"} gets "Hello, Ada!", an empty body "Hello, world!". */
    @Override
    public Response handle(Request req, Context ctx) {
        String body = req.text().strip();
        String name = "world";
        if (!body.isEmpty()) {
            Matcher m = NAME.matcher(body);
            if (!m.find()) {
                return Response.of(400, "send JSON such as {\"name\": \"Ada\"}");
            }
            name = m.group(1).replace("\\\"", "\"").replace("\\\\", "\\");
        }
        if (name.isBlank()) {
            name = "world";
        }
        return Response.ok("Hello, " + name + "!");
    }
}
