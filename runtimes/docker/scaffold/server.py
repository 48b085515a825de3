"""A hearth function with its own server (runtime: docker), using only Python's standard library.

It keeps the function contract (docs/user/function-contract.md): it serves HTTP on $PORT, answers
GET /_/ready with 200, sends every other request to handle(), turns an uncaught exception into a
500 JSON error with Hearth-Instance-Failed: true, logs one line per call with its call id, and on
SIGTERM stops accepting calls and lets the calls in flight finish.
"""

import json
import os
import signal
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handle(method, path, headers, body):
    """Greets the caller: {"name": "Ada"} gets "Hello, Ada!", an empty body "Hello, world!".

    Returns (status, headers, body).
    """
    name = "world"
    if body.strip():
        try:
            name = json.loads(body).get("name") or name
        except (ValueError, AttributeError):
            return 400, {"Content-Type": "text/plain"}, b'send JSON such as {"name": "Ada"}'
    return 200, {"Content-Type": "text/plain; charset=utf-8"}, f"Hello, {name}!".encode()


def read_body(req):
    """Reads the request body, sent with a Content-Length or chunked."""
    if req.headers.get("Transfer-Encoding", "").lower() != "chunked":
        return req.rfile.read(int(req.headers.get("Content-Length") or 0))
    chunks = []
    while True:
        size = int(req.rfile.readline().split(b";")[0], 16)
        if size == 0:
            while req.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunks.append(req.rfile.read(size))
        req.rfile.readline()


class Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connections when many calls arrive at once, and a
    # dropped connection is retried only a second later.
    request_queue_size = 128
    # Non-daemon threads: server_close() then waits for the calls in flight.
    daemon_threads = False

    def server_bind(self):
        # HTTPServer.server_bind looks the host's name up in DNS, which can stall the start of
        # a container; the name is of no use here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one call per connection, so that on SIGTERM no idle keep-alive connection
    # holds a thread the server waits for.
    protocol_version = "HTTP/1.0"

    def serve(self):
        if self.command == "GET" and self.path == "/_/ready":
            self.reply(200, {}, b"ok")
            return
        body = read_body(self)
        try:
            status, headers, out = handle(self.command, self.path, self.headers, body)
        except Exception as e:  # the contract: a crash is a 500 JSON error, and the instance is replaced
            error = {"error": {"code": "handler_error", "message": str(e)}}
            self.reply(500, {"Content-Type": "application/json", "Hearth-Instance-Failed": "true"},
                       json.dumps(error).encode())
            return
        self.reply(status, headers, out)

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, fmt, *args):
        if getattr(self, "path", "") != "/_/ready":
            headers = getattr(self, "headers", None)
            call_id = headers.get("Hearth-Call-Id", "") if headers else ""
            print(f"call_id={call_id} {fmt % args}", flush=True)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = serve


def main():
    server = Server(("", int(os.environ.get("PORT", "8080"))), Handler)
    # shutdown() waits for serve_forever() to return, so it cannot run in the signal handler,
    # which interrupts the very thread serve_forever() runs in.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
