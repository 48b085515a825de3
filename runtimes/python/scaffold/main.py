"""The function's handler. hearth calls handle for every request routed to the function.

req has method, path, query, headers, body (bytes), text and json(); ctx has call_id,
deadline, remaining(), config (the function's env) and logger. Return a str, bytes, a dict or
list (sent as JSON), None, or (body, status[, headers]). See docs/user/runtimes/python.md.
"""


def handle(req, ctx):
    """Greets the caller: a JSON body {"name": "Ada"} gets "Hello, Ada!", an empty body gets
    "Hello, world!"."""
    try:
        data = req.json() or {}
    except ValueError:
        return 'send JSON such as {"name": "Ada"}', 400
    name = data.get("name") if isinstance(data, dict) else None
    return f"Hello, {name or 'world'}!"
