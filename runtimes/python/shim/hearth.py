"""hearth: the types a Python function's handler sees.

hearth copies this module and hearth_shim.py into every Python function image (at
/opt/hearth/shim, on PYTHONPATH) and runs `python3 -m hearth_shim`, which imports the function's
handler and serves the function contract around it (see docs/user/runtimes/python.md). Both use
only the standard library.

A handler is `def handle(req, ctx)`; `req` is a Request, `ctx` a Context. It returns a str,
bytes, a dict or list (sent as JSON), None (an empty body), a Response, or a tuple
(body, status) or (body, status, headers). `from hearth import Response` works inside the
image; any object with `body`, `status` and `headers` attributes is taken as a Response too,
so a handler can be tested without this module.
"""

import json
import logging
import os
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import parse_qs

__all__ = ["Context", "Headers", "Request", "Response"]


class Headers(Mapping):
    """Headers is a read-only, case-insensitive view of HTTP header fields.

    `h["content-type"]`, `h.get("Content-Type")` and `"CONTENT-TYPE" in h` agree; a field
    sent more than once reads as its values joined by ", ", and `get_all` returns them apart.
    Iteration yields each name once, as first sent.
    """

    def __init__(self, pairs=()):
        self._pairs = [(str(k), str(v)) for k, v in pairs]
        self._index = {}
        for k, v in self._pairs:
            self._index.setdefault(k.lower(), (k, []))[1].append(v)

    def __getitem__(self, name):
        return ", ".join(self._index[name.lower()][1])

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self):
        return (name for name, _ in self._index.values())

    def __len__(self):
        return len(self._index)

    def get_all(self, name):
        """Returns every value of the field called name, in order ([] when absent)."""
        entry = self._index.get(name.lower())
        return list(entry[1]) if entry else []

    def raw(self):
        """Returns the fields as (name, value) pairs, as sent."""
        return list(self._pairs)

    def __repr__(self):
        return f"Headers({self._pairs!r})"


class Request:
    """Request is one call as the handler sees it.

    Attributes: method ("GET"), path ("/a b" for /a%20b: percent-decoded, without the query),
    query (a dict of lists:
    {"x": ["1", "2"]}), query_string (the raw query, "x=1&x=2"), headers (Headers) and body
    (bytes, b"" when there is none).
    """

    def __init__(self, method, path, query_string="", headers=None, body=b""):
        self.method = method
        self.path = path
        self.query_string = query_string
        self.query = parse_qs(query_string, keep_blank_values=True)
        self.headers = headers if isinstance(headers, Headers) else Headers(headers or ())
        self.body = body

    @property
    def content_type(self):
        """The media type of the body without parameters ("application/json"), or ""."""
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()

    @property
    def text(self):
        """The body decoded with the Content-Type's charset (UTF-8 when none is given)."""
        charset = "utf-8"
        for param in self.headers.get("Content-Type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self):
        """The body parsed as JSON; None for an empty body. Invalid JSON raises ValueError."""
        if not self.body.strip():
            return None
        return json.loads(self.body)

    def arg(self, name, default=None):
        """The first value of query parameter name, or default."""
        values = self.query.get(name)
        return values[0] if values else default

    def __repr__(self):
        return f"<Request {self.method} {self.path}{'?' + self.query_string if self.query_string else ''}>"


class Context:
    """Context is what the platform says about a call.

    Attributes: call_id (the Hearth-Call-Id header, "" outside hearth), deadline (an aware
    datetime in UTC, or None when the call has none), config (the function's configuration:
    func.yaml's env, as the process environment) and logger (a logging.Logger-like object whose
    lines carry the call id).
    """

    def __init__(self, call_id="", deadline=None, config=None, logger=None):
        self.call_id = call_id
        self.deadline = deadline
        self.config = os.environ if config is None else config
        self.logger = logger or logging.LoggerAdapter(logging.getLogger("function"), {"call_id": call_id})

    def remaining(self):
        """Seconds left until the deadline (never below 0), or None when there is no deadline."""
        if self.deadline is None:
            return None
        return max(0.0, (self.deadline - datetime.now(timezone.utc)).total_seconds())

    def __repr__(self):
        return f"<Context call_id={self.call_id!r} deadline={self.deadline}>"


class Response:
    """Response sets the status and headers of an answer as well as its body.

    body may be str, bytes, a dict or list (sent as JSON) or None; headers a dict or a list of
    (name, value) pairs (a list may name a field twice, e.g. Set-Cookie).
    """

    def __init__(self, body=None, status=200, headers=None):
        self.body = body
        self.status = status
        self.headers = headers

    def __repr__(self):
        return f"<Response {self.status}>"


def parse_deadline(value):
    """Parses a Hearth-Deadline header (RFC 3339, nanoseconds allowed) into an aware datetime.

    Python keeps microseconds, so digits past the sixth are dropped. Returns None for a value
    that is not a time.
    """
    if not value:
        return None
    v = value.strip()
    if v[-1:] in ("Z", "z"):
        v = v[:-1] + "+00:00"
    # Trim a fraction longer than microseconds (fromisoformat of older Pythons refuses it).
    dot = v.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(v) and v[end].isdigit():
            end += 1
        v = v[:dot] + v[dot:end][:7] + v[end:]
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return dt.astimezone(timezone.utc)


def logfmt(**fields):
    """Formats fields as one logfmt line: key=value, values with spaces or quotes quoted."""
    parts = []
    for key, value in fields.items():
        s = value if isinstance(value, str) else str(value)
        if s == "" or any(c in s for c in ' "=\\') or not s.isprintable():
            s = json.dumps(s)
        parts.append(f"{key}={s}")
    return " ".join(parts)


def now_rfc3339():
    """The current time, RFC 3339 in UTC with milliseconds."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"
