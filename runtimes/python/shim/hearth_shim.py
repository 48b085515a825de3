"""hearth_shim: the Python runtime's shim, the function contract around one handler.

`python3 -m hearth_shim` imports the handler named by HEARTH_HANDLER ("module.function",
default main.handle) and serves it on $PORT (default 8080).

GET /_/ready answers 200 once the handler is imported; every other method and path is a call.
Each call runs on its own thread (ThreadingHTTPServer), so concurrent calls overlap. An
exception in the handler becomes a 500 with the contract's JSON error body and the
Hearth-Instance-Failed header. SIGTERM stops the listener, lets calls in flight finish, and
exits.
"""

import importlib
import json
import logging
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import types
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from hearth import Context, Headers, Request, Response, logfmt, now_rfc3339, parse_deadline

# The function contract, copied from hearth's runtimes/contract (the image cannot import Go).
PORT_ENV = "PORT"
DEFAULT_PORT = 8080
READY_PATH = "/_/ready"
HEADER_CALL_ID = "Hearth-Call-Id"
HEADER_DEADLINE = "Hearth-Deadline"
HEADER_FAILED = "Hearth-Instance-Failed"
CODE_HANDLER_ERROR = "handler_error"

HANDLER_ENV = "HEARTH_HANDLER"
DEFAULT_HANDLER = "main.handle"
# The folders the function's modules are imported from, in order (the image sets
# /function:/deps); the working directory when unset. They go on sys.path only after the shim
# has imported its own modules, so that a function's logging.py cannot break the shim, and then
# at its front, as `python3 main.py` would put them.
FUNCTION_PATH_ENV = "HEARTH_FUNCTION_PATH"

# Statuses whose responses have no body (nor a Content-Length).
_NO_BODY = {204, 304}

# Fields the shim computes itself; a handler's values for them are dropped.
_OWN_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}

_SIGNALS = {signal.SIGTERM, signal.SIGINT}

# Where the shim's files are: their frames are left out of the tracebacks logged for a handler.
_SHIM_DIR = os.path.dirname(os.path.abspath(__file__))

_log_lock = threading.Lock()


def log(level, msg, **fields):
    """Writes one logfmt line to stdout."""
    line = logfmt(time=now_rfc3339(), level=level, msg=msg, **fields)
    with _log_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class _FunctionLogFormatter(logging.Formatter):
    """Formats ctx.logger records as logfmt lines carrying the call id."""

    def format(self, record):
        fields = {"time": now_rfc3339(), "level": record.levelname, "call_id": getattr(record, "call_id", "")}
        fields["msg"] = record.getMessage()
        line = logfmt(**fields)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _setup_function_logger():
    logger = logging.getLogger("function")
    if not logger.handlers:
        h = logging.StreamHandler(sys.stdout)
        h.setFormatter(_FunctionLogFormatter())
        logger.addHandler(h)
        logger.setLevel(logging.INFO)
        logger.propagate = False


class HandlerError(Exception):
    """The handler cannot be loaded; the message says what to fix."""


def split_handler(spec):
    """Splits "module.function" (or "module:function") into its two names."""
    if ":" in spec:
        module_name, _, func_name = spec.partition(":")
    else:
        module_name, _, func_name = spec.rpartition(".")
    names = module_name.split(".") + [func_name]
    if not all(n.isidentifier() for n in names):
        raise HandlerError(f"handler {spec!r} is not of the form module.function (e.g. main.handle): "
                           "set func.yaml's handler")
    return module_name, func_name


def check_handler(spec):
    """Checks, without running the function's code, that spec names a module on sys.path and,
    when that module is a .py file, that it defines the function at its top level. The build
    runs this so that a wrong handler fails the deploy rather than every instance start.
    """
    module_name, func_name = split_handler(spec)
    parts = module_name.split(".")
    origin = None
    for base in sys.path:
        p = os.path.join(base or ".", *parts)
        for candidate in (p + ".py", os.path.join(p, "__init__.py")):
            if os.path.isfile(candidate):
                origin = candidate
                break
        if origin is None and os.path.isdir(p) and len(parts) > 1:
            origin = p  # a namespace package or extension module: nothing more to check cheaply
        if origin:
            break
    if origin is None and len(parts) == 1:
        import importlib.util  # only the build's check needs it

        found = importlib.util.find_spec(module_name)  # a top-level module is found without running it
        origin = found and (found.origin or module_name)
    if origin is None:
        raise HandlerError(f"handler {spec}: no module {module_name!r} in the function's folder: add "
                           f"{module_name.replace('.', '/')}.py or set func.yaml's handler")
    if not origin.endswith(".py"):
        return
    import ast  # only the build's check needs it

    with open(origin, "rb") as f:
        tree = ast.parse(f.read(), origin)
    defined, uncertain = set(), False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                uncertain = uncertain or alias.name == "*"  # anything may come from a star import
                defined.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                defined.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            uncertain = True  # definitions made at run time: leave them to the import at start
    if func_name not in defined and not uncertain:
        raise HandlerError(f"handler {spec}: {os.path.relpath(origin)} defines no {func_name!r} at its top level: "
                           f"define def {func_name}(req, ctx) or set func.yaml's handler")


def format_syntax_error(e):
    """Words a SyntaxError as the other runtimes' builds show a compile error: the place, as
    "main.py:3:5: SyntaxError: expected ':'" (the path relative to the current directory, the
    function's folder), then the offending line and a caret under the spot.
    """
    place = os.path.relpath(e.filename) if e.filename and os.path.isabs(e.filename) else (e.filename or "<unknown>")
    if e.lineno:
        place += f":{e.lineno}"
        if e.offset:
            place += f":{e.offset}"
    head = f"{place}: {type(e).__name__}: {e.msg}"
    line = (e.text or "").rstrip("\r\n")
    if not line.strip() or not e.offset:
        return head
    offset = min(max(e.offset, 1), len(line) + 1)
    width = 1
    end_offset = getattr(e, "end_offset", None)
    if getattr(e, "end_lineno", None) == e.lineno and end_offset and end_offset > offset:
        width = min(end_offset, len(line) + 1) - offset
    # Tabs stay tabs under the line, so the caret lands where the terminal shows the spot.
    pad = "".join("\t" if c == "\t" else " " for c in line[:offset - 1])
    return f"{head}\n{line}\n{pad}{'^' * max(width, 1)}"


def check_syntax(root):
    """Compiles every .py file of the function's folder root (without running any), and returns
    each syntax error found, worded by format_syntax_error, in path order. Folders the build
    removes before compiling the bytecode (.hearth, and pip's inputs wheels/ and vendor/ when
    there is a requirements.txt) are skipped, as are __pycache__ folders.
    """
    skip = {".hearth", "__pycache__"}
    if os.path.isfile(os.path.join(root, "requirements.txt")):
        skip |= {"wheels", "vendor"}
    errors = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not (dirpath == root and d in skip) and d != "__pycache__")
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    source = f.read()
                compile(source, os.path.relpath(path, root), "exec", dont_inherit=True)
            except SyntaxError as e:  # IndentationError and TabError are SyntaxErrors
                errors.append(format_syntax_error(e))
            except (ValueError, OSError) as e:  # null bytes; an unreadable file
                errors.append(f"{os.path.relpath(path, root)}: {e}")
    return errors


def load_handler(spec):
    """Imports the handler named by spec, "module.function" or "module:function".

    Returns a callable taking (req, ctx). An `async def` handler is run to completion on an
    event loop of its own per call.
    """
    module_name, func_name = split_handler(spec)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name.split(".")[0] and e.name != module_name:
            raise  # the module was found; something it imports was not
        raise HandlerError(
            f"handler {spec}: no module {module_name!r} in the function's folder: add "
            f"{module_name.replace('.', '/')}.py or set func.yaml's handler") from None
    fn = getattr(module, func_name, None)
    if fn is None:
        raise HandlerError(f"handler {spec}: module {module_name!r} has no {func_name!r}: "
                           f"define def {func_name}(req, ctx) or set func.yaml's handler")
    if not callable(fn):
        raise HandlerError(f"handler {spec}: {func_name!r} is not a function")

    def call(req, ctx):
        result = fn(req, ctx)
        if isinstance(result, types.CoroutineType):
            # asyncio is imported only by functions that need it: it costs ~30 ms at start.
            import asyncio
            result = asyncio.run(result)
        return result

    return call


class ReturnError(TypeError):
    """The handler returned something the shim cannot send."""


def _encode_body(body):
    """Returns (bytes, default content type) for a body value."""
    if body is None:
        return b"", None
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), "application/octet-stream"
    if isinstance(body, (dict, list)):
        return json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"
    raise ReturnError(f"the handler returned a body of type {type(body).__name__}; return str, bytes, "
                      "a dict or list (JSON), None, a hearth.Response or a (body, status[, headers]) tuple")


def _header_pairs(headers):
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    try:
        return [(str(k), str(v)) for k, v in items]
    except (TypeError, ValueError):
        raise ReturnError("response headers must be a dict or a list of (name, value) pairs") from None


def to_response(result):
    """Converts a handler's return value into (status, [(name, value)], body bytes)."""
    status, headers, body = 200, None, result
    if isinstance(result, tuple):
        if len(result) not in (2, 3):
            raise ReturnError("a tuple return must be (body, status) or (body, status, headers)")
        body, status = result[0], result[1]
        headers = result[2] if len(result) == 3 else None
    elif isinstance(result, Response) or (
            hasattr(result, "status") and hasattr(result, "body") and hasattr(result, "headers")
            and not isinstance(result, (str, bytes, dict, list))):
        status, headers, body = result.status, result.headers, result.body
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ReturnError(f"status {status!r} is not an HTTP status code from 200 to 599")
    data, default_type = _encode_body(body)
    if status in _NO_BODY:
        data, default_type = b"", None
    pairs = [(k, v) for k, v in _header_pairs(headers) if k.lower() not in _OWN_HEADERS]
    for k, v in pairs:
        if any(c in k + v for c in "\r\n"):
            raise ReturnError(f"response header {k!r} holds a line break")
    if default_type and data and not any(k.lower() == "content-type" for k, _ in pairs):
        pairs.append(("Content-Type", default_type))
    return status, pairs, data


def _user_traceback(e):
    """Formats e's traceback without the shim's own frames at its top."""
    tb = e.__traceback__
    while tb is not None and os.path.dirname(tb.tb_frame.f_code.co_filename) == _SHIM_DIR:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb)).rstrip()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of concurrent calls must not overflow the accept queue

    def __init__(self, addr, handler_cls, function):
        self.function = function
        self.draining = False
        self._inflight = 0
        self._idle = threading.Condition()
        super().__init__(addr, handler_cls)

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN, which waits on DNS: skip it, it only
        # feeds SERVER_NAME for CGI.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = host, port

    def begin_call(self):
        with self._idle:
            self._inflight += 1

    def end_call(self):
        with self._idle:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.notify_all()

    def wait_idle(self):
        with self._idle:
            while self._inflight > 0:
                self._idle.wait()


class _CallHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the platform reuses connections
    server_version = "hearth-python"

    def version_string(self):
        return self.server_version

    def __getattr__(self, name):
        # BaseHTTPRequestHandler dispatches on do_<METHOD>; every method is a call.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format, *args):
        pass  # one line per call is written by _serve

    def log_error(self, format, *args):
        log("WARN", "http", error=format % args)

    def _serve(self):
        path, _, query = self.path.partition("?")
        if path == READY_PATH and self.command in ("GET", "HEAD"):
            status = 503 if self.server.draining else 200
            self._send(status, [], b"")
            return
        self.server.begin_call()
        try:
            self._call(path, query)
        finally:
            self.server.end_call()

    def _call(self, path, query):
        start = time.monotonic()
        call_id = self.headers.get(HEADER_CALL_ID, "")
        status = 500
        try:
            body = self._read_body()
        except (ValueError, OSError) as e:
            log("WARN", "bad request body", call_id=call_id, error=str(e))
            self.close_connection = True
            self._send(400, [], json.dumps({"error": {"code": "bad_request", "message": str(e)}}).encode(),
                       call_id, content_type="application/json")
            return
        req = Request(self.command, unquote(path), query, Headers(self.headers.items()), body)
        deadline_header = self.headers.get(HEADER_DEADLINE, "")
        deadline = parse_deadline(deadline_header)
        if deadline_header and deadline is None:
            log("WARN", "ignoring a malformed deadline", call_id=call_id, value=deadline_header)
        ctx = Context(call_id, deadline)
        try:
            status, pairs, data = to_response(self.server.function(req, ctx))
        except Exception as e:  # noqa: BLE001: any exception of the handler is the contract's 500
            message = str(e) or type(e).__name__
            log("ERROR", "handler raised", call_id=call_id, error=message, traceback=_user_traceback(e))
            status = 500
            err = json.dumps({"error": {"code": CODE_HANDLER_ERROR, "message": message}}).encode()
            self._send(500, [(HEADER_FAILED, "true"), ("X-Content-Type-Options", "nosniff")], err, call_id,
                       content_type="application/json")
            return
        finally:
            log("INFO", "call", call_id=call_id, method=self.command, path=path, status=status,
                duration=f"{(time.monotonic() - start) * 1000:.1f}ms")
        self._send(status, pairs, data, call_id)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        n = int(length)
        if n < 0:
            raise ValueError("negative Content-Length")
        data = self.rfile.read(n)
        if len(data) != n:
            raise ValueError("the request body ended early")
        return data

    def _read_chunked(self):
        parts = []
        while True:
            line = self.rfile.readline(65537)
            if not line:
                raise ValueError("the chunked request body ended early")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers are not passed on
                return b"".join(parts)
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise ValueError("the chunked request body ended early")
            parts.append(chunk)
            self.rfile.readline(3)

    def _send(self, status, pairs, data, call_id="", content_type=None):
        if self.server.draining:
            self.close_connection = True
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in pairs:
            self.send_header(k, v)
        if call_id:
            self.send_header(HEADER_CALL_ID, call_id)
        if status not in _NO_BODY:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)


def serve(function, port, on_ready=None):
    """Serves function on port until SIGTERM or SIGINT, then drains the calls in flight."""
    server = _Server(("0.0.0.0", port), _CallHandler, function)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    loop.start()
    if on_ready:
        on_ready(server.server_address[1])
    sig = signal.sigwait(_SIGNALS)
    log("INFO", "shutting down", signal=signal.Signals(sig).name)
    server.draining = True
    server.shutdown()  # stops accepting; connections already accepted keep their threads
    server.socket.close()
    # No deadline of our own: the platform kills the instance after its grace period.
    server.wait_idle()
    log("INFO", "stopped")


def _add_function_path():
    paths = [os.path.abspath(p) for p in os.environ.get(FUNCTION_PATH_ENV, "").split(os.pathsep) if p]
    paths = paths or [os.getcwd()]
    sys.path[0:0] = paths
    # Python processes the function starts find its modules and dependencies too.
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])


def main(argv=None):
    """Entry point of `python3 -m hearth_shim`: load the handler named by HEARTH_HANDLER and serve
    it. With --check it only checks the function's syntax (check_syntax) and handler
    (check_handler) and exits: the image build's step.
    """
    argv = sys.argv[1:] if argv is None else argv
    _add_function_path()
    if argv == ["--check"]:
        # Syntax errors first, in every file of the function, each with its line and a caret:
        # the handler's check below could only say that its own module does not parse.
        errors = check_syntax(os.getcwd())
        if errors:
            print("\n".join(errors), file=sys.stderr)
            return 1
        spec = os.environ.get(HANDLER_ENV) or DEFAULT_HANDLER
        try:
            check_handler(spec)
        except SyntaxError as e:
            print(format_syntax_error(e), file=sys.stderr)
            return 1
        except HandlerError as e:
            print(f"hearth: {e}", file=sys.stderr)
            return 1
        return 0
    # Only the main thread takes the signals: block them before any thread starts (threads
    # inherit the mask; the handler's module may start some when imported) and wait for them
    # with sigwait in serve.
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    _setup_function_logger()
    spec = os.environ.get(HANDLER_ENV) or DEFAULT_HANDLER
    port_value = os.environ.get(PORT_ENV) or str(DEFAULT_PORT)
    try:
        port = int(port_value)
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        log("ERROR", "shim stopped", error=f"{PORT_ENV}={port_value!r} is not a port number")
        return 1
    try:
        function = load_handler(spec)
    except HandlerError as e:
        log("ERROR", "shim stopped", error=str(e))
        return 1
    except Exception as e:  # noqa: BLE001: an import-time error of the function's own code
        log("ERROR", "shim stopped", error=f"importing handler {spec}: {type(e).__name__}: {e}",
            traceback="".join(traceback.format_exception(e)).rstrip())
        return 1
    try:
        serve(function, port, lambda p: log("INFO", "serving", addr=f":{p}", handler=spec,
                                            python=sys.version.split()[0]))
    except OSError as e:
        log("ERROR", "shim stopped", error=str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
