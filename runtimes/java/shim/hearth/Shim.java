package hearth;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Shim is the java runtime's entry point, not part of the function API: it serves the function
 * contract (HTTP on $PORT, GET /_/ready, every other request to the {@link Handler} named by
 * $HEARTH_HANDLER) with the JDK's built-in HTTP server.
 *
 * <pre>
 * java hearth.Shim            serve (the function image's entry point)
 * java hearth.Shim --check    check that the handler class exists and fits, without running it
 * java hearth.Shim --train    serve a few calls to a built-in handler and exit (the image build
 *                             runs this to record a class data sharing archive)
 * </pre>
 */
public final class Shim {
    static final String HANDLER_ENV = "HEARTH_HANDLER";
    static final String DEFAULT_HANDLER = "Handler";
    static final String PORT_ENV = "PORT";
    static final int DEFAULT_PORT = 8080;
    /** Calls running at once; more wait in a queue. The platform's concurrency limit is lower. */
    static final int MAX_THREADS = 256;

    private Shim() {}

    public static void main(String[] args) {
        String mode = args.length > 0 ? args[0] : "";
        String name = System.getenv().getOrDefault(HANDLER_ENV, DEFAULT_HANDLER).trim();
        try {
            switch (mode) {
                case "" -> serve(name);
                case "--check" -> {
                    check(name);
                    System.out.println("handler " + name + " is a hearth.Handler");
                }
                case "--train" -> train(name);
                default -> throw new Failure("unknown argument " + mode + "; use --check, --train or none");
            }
        } catch (Failure e) {
            Log.quiet = false;
            Log.line("ERROR", "cannot start", "handler", name, "error", e.getMessage());
            System.exit(2);
        } catch (Throwable e) {
            Log.quiet = false;
            Log.line("ERROR", "cannot start", "handler", name, "error", e.toString(), "stack", Calls.stack(e));
            System.exit(1);
        }
    }

    /** Failure is a start-up problem with a message for the function's developer. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(message);
        }
    }

    /**
     * Loads the handler class without initializing it (no code of the function runs) and checks
     * that it implements Handler and has a no-argument constructor.
     */
    static Constructor<?> check(String name) throws Failure {
        if (name.isEmpty()) {
            throw new Failure("func.yaml's handler is empty; name the class implementing hearth.Handler, e.g. Handler");
        }
        if (name.endsWith(".java") || name.contains("/")) {
            throw new Failure("func.yaml's handler " + name + " looks like a file; name the class instead, "
                    + "package-qualified (e.g. com.example.Greeter for src/com/example/Greeter.java)");
        }
        Class<?> c;
        try {
            c = Class.forName(name, false, Shim.class.getClassLoader());
        } catch (ClassNotFoundException | NoClassDefFoundError e) {
            throw new Failure("no class " + name + " in the function: func.yaml's handler must name a class that "
                    + "implements hearth.Handler, package-qualified if it has a package (e.g. com.example.Greeter); "
                    + "the default is Handler (Handler.java without a package line)");
        }
        if (!Handler.class.isAssignableFrom(c)) {
            throw new Failure("class " + name + " does not implement hearth.Handler; declare it as "
                    + "`public class " + c.getSimpleName() + " implements hearth.Handler`");
        }
        if (c.isInterface() || Modifier.isAbstract(c.getModifiers())) {
            throw new Failure("class " + name + " is abstract; hearth needs a concrete class to make an instance of");
        }
        if (c.getEnclosingClass() != null && !Modifier.isStatic(c.getModifiers())) {
            throw new Failure("class " + name + " is an inner class; make it a top-level or static nested class");
        }
        try {
            Constructor<?> ctor = c.getDeclaredConstructor();
            ctor.setAccessible(true);
            return ctor;
        } catch (NoSuchMethodException e) {
            throw new Failure("class " + name + " has no constructor without arguments; add `public "
                    + c.getSimpleName() + "() {}` (read settings from ctx.config() or System.getenv())");
        }
    }

    static int port() throws Failure {
        String v = System.getenv(PORT_ENV);
        if (v == null || v.isEmpty()) {
            return DEFAULT_PORT;
        }
        try {
            int p = Integer.parseInt(v);
            if (p > 0 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new Failure(PORT_ENV + "=" + v + " is not a port number");
    }

    static void serve(String name) throws Exception {
        int port = port();
        Constructor<?> ctor = check(name);
        Handler handler;
        try {
            handler = (Handler) ctor.newInstance();
        } catch (java.lang.reflect.InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw new Failure("the constructor of " + name + " threw " + cause + "; stack: " + Calls.stack(cause));
        } catch (ExceptionInInitializerError e) {
            Throwable cause = e.getCause();
            throw new Failure("the static initializer of " + name + " threw " + cause + "; stack: " + Calls.stack(cause));
        }
        Server s = start(new InetSocketAddress(port), handler);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> s.shutdown(handler), "hearth-shutdown"));
        Log.line("INFO", "serving", "addr", s.http.getAddress(), "handler", name);
    }

    /** Server is a running HTTP server and the pool its calls run on. */
    static final class Server {
        final HttpServer http;
        final Calls calls;
        final ThreadPoolExecutor pool;

        Server(HttpServer http, Calls calls, ThreadPoolExecutor pool) {
            this.http = http;
            this.calls = calls;
            this.pool = pool;
        }

        /**
         * Stops accepting connections, waits for the calls in flight (the platform kills the
         * process when its grace period ends, so there is no limit of our own), then closes the
         * handler if it is AutoCloseable.
         */
        void shutdown(Handler handler) {
            Log.line("INFO", "shutting down", "in_flight", calls.inFlight());
            calls.draining = true;
            // HttpServer.stop closes the listening socket at once, then waits for exchanges to
            // finish; in JDK 17 it waits its whole delay when there are none, so it runs on its
            // own thread and the in-flight count decides when we are done.
            Thread stopper = new Thread(() -> http.stop(3600), "hearth-stop");
            stopper.setDaemon(true);
            stopper.start();
            calls.awaitIdle();
            pool.shutdown();
            if (handler instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Throwable e) {
                    Log.line("WARN", "handler close failed", "error", e.toString());
                }
            }
            Log.line("INFO", "stopped");
        }
    }

    static Server start(InetSocketAddress addr, Handler handler) throws IOException {
        // Without TCP_NODELAY a response written as headers then body can wait for a delayed ACK.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        // Idle keep-alive connections are closed by the platform's router (after 90 s), never
        // first by the server (30 s by default): a call sent on a connection as the server closes
        // it would fail. This matters most after a pause, when the server's idle timer fires at
        // once.
        System.setProperty("sun.net.httpserver.idleInterval", "600");
        System.setProperty("sun.net.httpserver.maxIdleConnections", "1024");
        AtomicInteger n = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "hearth-call-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        // A bounded pool whose threads are made on demand and end after a minute idle.
        ThreadPoolExecutor pool = new ThreadPoolExecutor(MAX_THREADS, MAX_THREADS, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), threads);
        pool.allowCoreThreadTimeOut(true);
        HttpServer http = HttpServer.create(addr, 1024);
        Calls calls = new Calls(handler, System.getenv());
        http.createContext("/", calls);
        http.setExecutor(pool);
        http.start();
        return new Server(http, calls, pool);
    }

    /**
     * train exercises the server's call path (ready, a call, a failing call) with a built-in
     * handler, so that a class data sharing archive recorded at exit holds the classes every
     * instance loads at start. The function's handler class is loaded but not initialized: no
     * code of the function runs at build time.
     */
    static void train(String name) throws Exception {
        check(name);
        Log.quiet = true;
        Handler h = (req, ctx) -> {
            if (req.path().equals("/fail")) {
                throw new IllegalStateException("training failure");
            }
            return Response.ok(req.text() + ctx.callId() + ctx.remaining() + req.query("q") + req.header("x-a"))
                    .header("X-Train", "1");
        };
        Server s = start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), h);
        int port = s.http.getAddress().getPort();
        String deadline = Instant.now().plusSeconds(60).toString();
        exchange(port, "GET /_/ready HTTP/1.1\r\nHost: x\r\n\r\n");
        exchange(port, "POST /train?q=a%20b HTTP/1.1\r\nHost: x\r\nHearth-Call-Id: train\r\nHearth-Deadline: "
                + deadline + "\r\nX-A: b\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
        exchange(port, "GET /fail HTTP/1.1\r\nHost: x\r\nHearth-Call-Id: train\r\n\r\n");
        s.shutdown(h);
        s.http.stop(0);
        Log.quiet = false;
        Log.line("INFO", "trained", "handler", name);
    }

    /** Sends one raw request and reads the response until the server closes the connection. */
    private static void exchange(int port, String request) throws IOException {
        try (Socket sock = new Socket(InetAddress.getLoopbackAddress(), port)) {
            OutputStream out = sock.getOutputStream();
            out.write(request.replace("Host: x\r\n", "Host: x\r\nConnection: close\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = sock.getInputStream();
            in.readAllBytes();
        }
    }
}
