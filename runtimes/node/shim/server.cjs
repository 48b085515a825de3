'use strict';
// server.cjs: the node runtime's shim, the function contract around one handler.
//
// `node server.cjs` loads the handler named by HEARTH_HANDLER ("FILE" or "FILE:EXPORT", default
// index.js) from the function's folder (HEARTH_FUNCTION_DIR, default the working directory) and
// serves it on $PORT (default 8080). `node server.cjs --check` only checks that the handler's
// file is there and parses, without running it: the image build's step.
//
// GET /_/ready answers 200 once the handler is loaded (503 while draining); every other method
// and path is a call. Calls run concurrently on Node's event loop. A handler that throws or
// rejects gets a 500 with the contract's JSON error body and the Hearth-Instance-Failed header.
// SIGTERM (or SIGINT) stops accepting, lets calls in flight finish, and exits 0.

const http = require('node:http');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { pathToFileURL } = require('node:url');

const { Context, Request, ReturnError, log, parseDeadline, toResponse } = require('./hearth.cjs');

// The function contract, copied from hearth's runtimes/contract (the image cannot import Go).
const PORT_ENV = 'PORT';
const DEFAULT_PORT = 8080;
const READY_PATH = '/_/ready';
const HEADER_CALL_ID = 'Hearth-Call-Id';
const HEADER_DEADLINE = 'Hearth-Deadline';
const HEADER_FAILED = 'Hearth-Instance-Failed';
const CODE_HANDLER_ERROR = 'handler_error';

const HANDLER_ENV = 'HEARTH_HANDLER';
const DEFAULT_HANDLER = 'index.js';
const FUNCTION_DIR_ENV = 'HEARTH_FUNCTION_DIR';

// Idle keep-alive connections stay open this long: longer than the platform's own idle timeout
// (90 s), so that the platform, never the shim, closes an idle connection and a call is never
// sent on a connection the shim is closing. Node's default is 5 s.
const KEEP_ALIVE_MS = 120 * 1000;

// The longest delay setTimeout takes; a deadline further away than that (24 days) never fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

// Statuses whose responses have no body (nor a Content-Length).
const NO_BODY = new Set([204, 304]);

/** HandlerError: the handler cannot be loaded; the message says what to fix. */
class HandlerError extends Error {}

const HANDLER_FORM = "set func.yaml's handler to FILE or FILE:EXPORT (e.g. index.js, or app.js:greet)";

/** splitHandler splits "FILE[:EXPORT]" into its two parts. */
function splitHandler(spec) {
  const i = spec.lastIndexOf(':');
  const file = i === -1 ? spec : spec.slice(0, i);
  const name = i === -1 ? '' : spec.slice(i + 1);
  if (file === '' || (i !== -1 && !/^[A-Za-z_$][\w$]*$/.test(name))) {
    throw new HandlerError(`handler ${JSON.stringify(spec)} is not of the form FILE or FILE:EXPORT: ${HANDLER_FORM}`);
  }
  return { file, name };
}

/** resolveHandler finds the handler's file in dir the way require('./FILE') would. */
function resolveHandler(dir, spec) {
  const { file, name } = splitHandler(spec);
  let resolved;
  try {
    resolved = require.resolve(path.resolve(dir, file));
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e;
    throw new HandlerError(`handler ${spec}: no file ${file} in the function's folder: add it or ${HANDLER_FORM}`);
  }
  return { resolved, name, rel: path.relative(dir, resolved) || file };
}

/**
 * checkHandler checks, without running the function's code, that the handler's file exists and
 * parses. The build runs it, so that a wrong handler fails the deploy rather than every start.
 */
function checkHandler(dir, spec) {
  const { resolved, rel } = resolveHandler(dir, spec);
  if (!/\.[cm]?js$/.test(resolved)) return;
  const r = spawnSync(process.execPath, ['--check', resolved], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new HandlerError(`handler ${spec}: ${rel} does not parse:\n${(r.stderr || r.error || '').toString().trim()}`);
  }
}

/**
 * pick returns [function, this] for the export the handler names: EXPORT when given, else the
 * module itself when it is a function (module.exports = async function handle), else its
 * `handle`, else its default export (ES modules, or CommonJS compiled from them).
 */
function pick(mod, name) {
  const fnAt = (o, k) => o !== null && (typeof o === 'object' || typeof o === 'function') && typeof o[k] === 'function';
  if (name) {
    if (fnAt(mod, name)) return [mod[name], mod];
    if (mod && fnAt(mod.default, name)) return [mod.default[name], mod.default];
    return [null];
  }
  if (typeof mod === 'function') return [mod, undefined];
  if (fnAt(mod, 'handle')) return [mod.handle, mod];
  if (fnAt(mod, 'default')) return [mod.default, undefined];
  if (mod && fnAt(mod.default, 'handle')) return [mod.default.handle, mod.default];
  return [null];
}

/**
 * loadHandler loads the handler named by spec from dir and returns a function (req, ctx) ->
 * promise. A CommonJS module is required; an ES module (.mjs, or "type": "module") is imported.
 */
async function loadHandler(dir, spec) {
  const { resolved, name, rel } = resolveHandler(dir, spec);
  let mod;
  try {
    mod = require(resolved);
  } catch (e) {
    if (e.code !== 'ERR_REQUIRE_ESM') throw e;
    mod = await import(pathToFileURL(resolved).href);
  }
  const [fn, self] = pick(mod, name);
  if (!fn) {
    const what = name ? `no function ${name}` : 'no handler function';
    throw new HandlerError(`handler ${spec}: ${rel} exports ${what}: export one with ` +
      'module.exports = async function handle(req, ctx) {...} (or exports.handle, or export default), ' +
      `or ${HANDLER_FORM}`);
  }
  return async (req, ctx) => fn.call(self, req, ctx);
}

/** readBody reads a request's whole body into a Buffer. */
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      chunks.push(c);
      n += c.length;
    });
    req.on('end', () => resolve(Buffer.concat(chunks, n)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the caller went away before sending the whole body'));
    });
  });
}

/**
 * headerObject groups [name, value] pairs for writeHead (a field sent twice becomes an array, sent
 * as two lines) and checks every name and value, so that a bad header is the handler's error
 * before anything is written.
 */
function headerObject(pairs) {
  const out = Object.create(null); // a header called constructor or __proto__ is just a name
  const names = new Map(); // lower-case name -> the name as first given
  for (const [name, value] of pairs) {
    try {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
    } catch (e) {
      throw new ReturnError(`response header ${JSON.stringify(name)}: ${e.message}`);
    }
    const key = names.get(name.toLowerCase()) || name;
    names.set(name.toLowerCase(), key);
    out[key] = Object.hasOwn(out, key) ? [].concat(out[key], value) : value;
  }
  return out;
}

/** errorMessage is what a thrown value says: an Error's message, or the value as a string. */
function errorMessage(e) {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** userStack is e's stack without the shim's own frames. */
function userStack(e) {
  if (!(e instanceof Error) || typeof e.stack !== 'string') return '';
  return e.stack.split('\n').filter((l) => !l.includes(__dirname + path.sep)).join('\n');
}

/** Server serves one handler under the function contract. */
class Server {
  constructor(fn) {
    this.fn = fn;
    this.draining = false;
    this.inflight = 0;
    this.http = http.createServer((req, res) => this.onRequest(req, res));
    this.http.keepAliveTimeout = KEEP_ALIVE_MS;
    this.http.headersTimeout = KEEP_ALIVE_MS + 1000; // above keepAliveTimeout, as Node advises
  }

  listen(port) {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, () => {
        this.http.off('error', reject);
        resolve(this.http.address().port);
      });
    });
  }

  onRequest(req, res) {
    const q = req.url.indexOf('?');
    const rawPath = q === -1 ? req.url : req.url.slice(0, q);
    if (rawPath === READY_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      req.resume();
      this.write(res, this.draining ? 503 : 200, {}, Buffer.alloc(0));
      return;
    }
    this.inflight++;
    this.call(req, res, rawPath).finally(() => {
      this.inflight--;
      if (this.draining) this.http.closeIdleConnections();
    });
  }

  async call(req, res, rawPath) {
    const start = process.hrtime.bigint();
    const callId = req.headers[HEADER_CALL_ID.toLowerCase()] || '';
    let status = 500;
    let body;
    try {
      body = await readBody(req);
    } catch (e) {
      log('WARN', 'call abandoned', { call_id: callId, method: req.method, path: rawPath, error: errorMessage(e) });
      return;
    }
    const deadlineHeader = req.headers[HEADER_DEADLINE.toLowerCase()] || '';
    const deadline = parseDeadline(deadlineHeader);
    if (deadlineHeader && deadline === null) {
      log('WARN', 'ignoring a malformed deadline', { call_id: callId, value: deadlineHeader });
    }
    // ctx.signal: aborted at the deadline, or when the caller closes the connection first.
    const abort = new AbortController();
    const left = deadline && Math.max(0, deadline.getTime() - Date.now());
    const timer = left !== null && left <= MAX_TIMER_MS &&
      setTimeout(() => abort.abort(new Error('the call reached its deadline')), left);
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('the caller went away'));
    });
    const request = new Request(req.method, req.url, req.headers, body);
    try {
      const out = await toResponse(await this.fn(request, new Context(callId, deadline, abort.signal)));
      const headers = headerObject(out.headers);
      status = out.status;
      this.write(res, status, headers, out.body);
    } catch (e) {
      const message = errorMessage(e);
      log('ERROR', 'handler threw', { call_id: callId, error: message, stack: userStack(e) });
      status = 500;
      const err = JSON.stringify({ error: { code: CODE_HANDLER_ERROR, message } });
      this.write(res, 500, {
        'Content-Type': 'application/json',
        'X-Content-Type-Options': 'nosniff',
        [HEADER_FAILED]: 'true',
      }, Buffer.from(err));
    } finally {
      if (timer) clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      log('INFO', 'call', { call_id: callId, method: req.method, path: request.path, status, duration: `${ms.toFixed(1)}ms` });
    }
  }

  // write sends a whole response. The call id is not echoed: the platform returns it itself.
  write(res, status, headers, data) {
    if (res.destroyed) return; // the caller went away: nobody to answer
    if (!NO_BODY.has(status)) headers['Content-Length'] = String(data.length);
    if (this.draining) {
      res.shouldKeepAlive = false;
      headers.Connection = 'close';
    }
    res.writeHead(status, headers);
    res.end(NO_BODY.has(status) ? undefined : data);
  }

  /** drain stops accepting, lets the calls in flight finish, then calls done. */
  drain(done) {
    this.draining = true;
    this.http.close(done);
    this.http.closeIdleConnections();
  }
}

async function main(argv) {
  const dir = path.resolve(process.env[FUNCTION_DIR_ENV] || process.cwd());
  const spec = process.env[HANDLER_ENV] || DEFAULT_HANDLER;
  if (argv.length === 1 && argv[0] === '--check') {
    try {
      checkHandler(dir, spec);
    } catch (e) {
      if (!(e instanceof HandlerError)) throw e;
      process.stderr.write(`hearth: ${e.message}\n`);
      return 1;
    }
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write('usage: node server.cjs [--check]\n');
    return 2;
  }
  const portValue = process.env[PORT_ENV] || String(DEFAULT_PORT);
  const port = Number(portValue);
  if (!/^\d+$/.test(portValue) || port < 1 || port > 65535) {
    log('ERROR', 'shim stopped', { error: `${PORT_ENV}=${JSON.stringify(portValue)} is not a port number` });
    return 1;
  }
  let fn;
  try {
    fn = await loadHandler(dir, spec);
  } catch (e) {
    if (e instanceof HandlerError) {
      log('ERROR', 'shim stopped', { error: e.message });
    } else {
      log('ERROR', 'shim stopped', { error: `loading handler ${spec}: ${errorMessage(e)}`, stack: userStack(e) });
    }
    return 1;
  }
  const server = new Server(fn);
  try {
    await server.listen(port);
  } catch (e) {
    log('ERROR', 'shim stopped', { error: errorMessage(e) });
    return 1;
  }
  const stop = (signal) => {
    if (server.draining) return;
    log('INFO', 'shutting down', { signal, in_flight: server.inflight });
    // No deadline of our own: the platform kills the instance after its grace period.
    server.drain(() => {
      log('INFO', 'stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  log('INFO', 'serving', { addr: `:${port}`, handler: spec, node: process.version });
  return undefined; // keep serving
}

// A code means main is done (a check, or a start that failed): exit now, even if the function's
// module left timers or sockets open.
main(process.argv.slice(2)).then((code) => {
  if (code !== undefined) process.exit(code);
}, (e) => {
  log('ERROR', 'shim stopped', { error: errorMessage(e), stack: userStack(e) });
  process.exit(1);
});
