package hearth;

import java.time.Instant;

/** Log writes logfmt lines to stdout, one println each, so that lines never interleave. */
final class Log {
    /** quiet drops every line (the build's training run sets it while it serves). */
    static volatile boolean quiet;

    private Log() {}

    /** Writes time=... level=... msg=... followed by the key/value pairs in kv. */
    static void line(String level, String msg, Object... kv) {
        if (quiet) {
            return;
        }
        StringBuilder b = new StringBuilder(128);
        b.append("time=").append(Instant.now()).append(" level=").append(level).append(" msg=");
        value(b, msg);
        for (int i = 0; i + 1 < kv.length; i += 2) {
            b.append(' ').append(kv[i]).append('=');
            value(b, String.valueOf(kv[i + 1]));
        }
        System.out.println(b);
    }

    /** Appends s, quoted when it is empty or holds a space, a quote, '=' or a control character. */
    private static void value(StringBuilder b, String s) {
        boolean quote = s.isEmpty();
        for (int i = 0; i < s.length() && !quote; i++) {
            char c = s.charAt(i);
            quote = c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f;
        }
        if (!quote) {
            b.append(s);
            return;
        }
        b.append('"');
        Json.escape(b, s);
        b.append('"');
    }
}
