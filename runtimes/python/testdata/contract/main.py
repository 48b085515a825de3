"""The python runtime's contract function: each path exercises one promise of the contract."""

import time


def handle(req, ctx):
    if req.path == "/echo":
        headers = [(k, v) for k, v in req.headers.raw() if k.lower().startswith("x-echo-")]
        if "Content-Type" in req.headers:
            headers.append(("Content-Type", req.headers["Content-Type"]))
        return req.body, int(req.arg("status", "200")), headers
    if req.path == "/fail":
        raise RuntimeError("contract failure")
    if req.path == "/sleep":
        time.sleep(int(req.arg("ms", "0")) / 1000)  # ignores the deadline on purpose
        return "slept"
    if req.path == "/info":
        return {
            "method": req.method,
            "path": req.path,
            "query": req.query_string,
            "call_id": ctx.call_id,
            "deadline": ctx.deadline.isoformat().replace("+00:00", "Z") if ctx.deadline else "",
            "env": ctx.config.get("CONTRACT_ENV", ""),
        }
    return f"no such contract path {req.path}", 404
