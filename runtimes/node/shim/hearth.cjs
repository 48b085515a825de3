'use strict';
// hearth.cjs: what a Node.js function's handler sees, and how its return value becomes a response.
//
// hearth copies this file and server.cjs into every node function image (at /opt/hearth/shim)
// and runs `node /opt/hearth/shim/server.cjs`, which loads the function's handler and serves the
// function contract around it (see docs/user/runtimes/node.md). Both use only Node's standard
// library.
//
// A handler is `async function handle(req, ctx)`; req is a Request, ctx a Context. It returns a
// string, a Buffer (or any Uint8Array or ArrayBuffer), undefined or null (an empty body), any
// other JSON value (sent as JSON), or a response: ctx.response({status, headers, body}), or a
// WHATWG Response (`new Response(body, {status, headers})`, global in Node 18).

const util = require('node:util');

// RESPONSE marks the objects ctx.response makes. It is a registered symbol, so a handler's tests
// can make the same objects without hearth: {[Symbol.for('hearth.response')]: true, status, ...}.
// JSON never has symbol keys, so a plain object returned for JSON can never be taken for one.
const RESPONSE = Symbol.for('hearth.response');

// Fields the shim computes itself; a handler's values for them are dropped.
const OWN_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

// Statuses whose responses have no body.
const NO_BODY = new Set([204, 304]);

// RFC 3339 date-time, as Hearth-Deadline carries it (nanoseconds allowed).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** ReturnError: the handler returned something the shim cannot send. */
class ReturnError extends TypeError {}

/**
 * Request is one call as the handler sees it.
 *
 * method ('GET'), url (the request target, '/a%20b?x=1'), path (percent-decoded, without the
 * query: '/a b'), rawPath ('/a%20b'), rawQuery ('x=1&x=2'), query (an object: a name sent once
 * maps to its value, a name sent more than once to an array of its values), searchParams (a
 * URLSearchParams of the query), headers (Node's: lower-case names), body (a Buffer, empty when
 * there is none), text() and json().
 */
class Request {
  constructor(method, url, headers, body) {
    const q = url.indexOf('?');
    this.method = method;
    this.url = url;
    this.rawPath = q === -1 ? url : url.slice(0, q);
    this.rawQuery = q === -1 ? '' : url.slice(q + 1);
    this.path = decodePath(this.rawPath);
    this.searchParams = new URLSearchParams(this.rawQuery);
    this.query = queryObject(this.searchParams);
    this.headers = headers || {};
    this.body = body || Buffer.alloc(0);
  }

  /** header returns the value of the header field called name (any case), or undefined. */
  header(name) {
    return this.headers[String(name).toLowerCase()];
  }

  /** text returns the body decoded with the Content-Type's charset (UTF-8 when none is given). */
  text() {
    const m = /;\s*charset="?([^";\s]+)"?/i.exec(this.header('content-type') || '');
    try {
      return new util.TextDecoder(m ? m[1] : 'utf-8').decode(this.body);
    } catch {
      return this.body.toString('utf8');
    }
  }

  /** json returns the body parsed as JSON, or null for an empty body. Invalid JSON throws a SyntaxError. */
  json() {
    const s = this.text();
    return s.trim() === '' ? null : JSON.parse(s);
  }
}

function decodePath(raw) {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // a malformed escape: the path as sent
  }
}

function queryObject(params) {
  const out = {};
  for (const [k, v] of params) {
    const prev = Object.hasOwn(out, k) ? out[k] : undefined;
    // defineProperty, not assignment: a parameter called __proto__ is a name like any other.
    const value = prev === undefined ? v : [].concat(prev, v);
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Context is what the platform says about a call: callId (the Hearth-Call-Id header, '' outside
 * hearth), deadline (a Date, or null when the call has none), remainingMs(), signal (an
 * AbortSignal aborted at the deadline or when the caller goes away), config (the function's
 * configuration: func.yaml's env, as process.env), log (log lines carrying the call id) and
 * response() (a response with a status and headers).
 */
class Context {
  constructor(callId, deadline, signal, log) {
    this.callId = callId || '';
    this.deadline = deadline || null;
    this.signal = signal || new AbortController().signal;
    this.config = process.env;
    this.log = log || makeLogger(this.callId);
  }

  /** remainingMs returns the milliseconds left before the deadline (never below 0), or null without one. */
  remainingMs() {
    return this.deadline === null ? null : Math.max(0, this.deadline.getTime() - Date.now());
  }

  /**
   * response returns a response with a status and headers as well as a body:
   * ctx.response({status: 201, headers: {'X-Id': '7'}, body: {id: 7}}). body takes every form a
   * handler may return (string, Buffer, JSON value, undefined).
   */
  response({ status = 200, headers, body } = {}) {
    return response({ status, headers, body });
  }
}

function response({ status = 200, headers, body } = {}) {
  return { [RESPONSE]: true, status, headers, body };
}

/** parseDeadline parses a Hearth-Deadline value (RFC 3339, nanoseconds allowed) into a Date, or null. */
function parseDeadline(value) {
  if (!value || !RFC3339.test(value.trim())) return null;
  const d = new Date(value.trim());
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * toResponse converts a handler's return value into {status, headers: [[name, value]...], body}
 * with body a Buffer. A WHATWG Response is read whole, hence the promise.
 */
async function toResponse(result) {
  let status = 200;
  let headers;
  let body = result;
  if (isWebResponse(result)) {
    status = result.status;
    headers = [...result.headers];
    if (typeof result.headers.getSetCookie === 'function') {
      headers = headers.filter(([k]) => k.toLowerCase() !== 'set-cookie');
      for (const c of result.headers.getSetCookie()) headers.push(['set-cookie', c]);
    }
    body = Buffer.from(await result.arrayBuffer());
  } else if (result !== null && typeof result === 'object' && result[RESPONSE] === true) {
    status = result.status === undefined ? 200 : result.status;
    headers = result.headers;
    body = result.body;
  }
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new ReturnError(`status ${util.inspect(status)} is not an HTTP status code from 200 to 599`);
  }
  let [data, defaultType] = encodeBody(body);
  const pairs = headerPairs(headers).filter(([k]) => !OWN_HEADERS.has(k.toLowerCase()));
  if (NO_BODY.has(status)) [data, defaultType] = [Buffer.alloc(0), undefined];
  if (defaultType && data.length > 0 && !pairs.some(([k]) => k.toLowerCase() === 'content-type')) {
    pairs.push(['Content-Type', defaultType]);
  }
  return { status, headers: pairs, body: data };
}

function isWebResponse(v) {
  return typeof globalThis.Response === 'function' && v instanceof globalThis.Response;
}

/** encodeBody returns [Buffer, default Content-Type] for a body value. */
function encodeBody(body) {
  if (body === undefined || body === null) return [Buffer.alloc(0), undefined];
  if (typeof body === 'string') return [Buffer.from(body, 'utf8'), 'text/plain; charset=utf-8'];
  if (Buffer.isBuffer(body)) return [body, 'application/octet-stream'];
  if (ArrayBuffer.isView(body)) {
    return [Buffer.from(body.buffer, body.byteOffset, body.byteLength), 'application/octet-stream'];
  }
  if (body instanceof ArrayBuffer) return [Buffer.from(body), 'application/octet-stream'];
  if (typeof body === 'function' || typeof body === 'symbol' || typeof body === 'bigint' ||
      typeof body.then === 'function' || typeof body.pipe === 'function') {
    throw new ReturnError(`the handler returned a body of type ${describe(body)}; return a string, a Buffer, ` +
      'a JSON value (object, array, number, boolean), undefined, or ctx.response({status, headers, body})');
  }
  const json = JSON.stringify(body); // throws on a cycle or a BigInt inside: the handler's bug
  return [Buffer.from(json, 'utf8'), 'application/json'];
}

function describe(v) {
  if (typeof v === 'object') return v.constructor && v.constructor.name ? v.constructor.name : 'object';
  return typeof v;
}

/**
 * headerPairs flattens a handler's headers into [name, value] pairs: a plain object (an array
 * value sends the field once per element), a Map or Headers, or an array of [name, value] pairs.
 * undefined and null values are left out.
 */
function headerPairs(headers) {
  if (headers === undefined || headers === null) return [];
  let entries;
  if (Array.isArray(headers) || headers instanceof Map ||
      (typeof globalThis.Headers === 'function' && headers instanceof globalThis.Headers)) {
    entries = [...headers];
  } else if (typeof headers === 'object') {
    entries = Object.entries(headers);
  } else {
    throw new ReturnError('response headers must be an object, a Map, a Headers or an array of [name, value] pairs');
  }
  const pairs = [];
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new ReturnError('response headers must be an object, a Map, a Headers or an array of [name, value] pairs');
    }
    const [name, value] = entry;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined && v !== null) pairs.push([String(name), String(v)]);
    }
  }
  return pairs;
}

/** logfmt formats fields as one logfmt line: key=value, values with spaces or quotes quoted. */
function logfmt(fields) {
  const parts = [];
  for (const [k, v] of Object.entries(fields)) {
    let s = typeof v === 'string' ? v : String(v);
    if (s === '' || /[\s"=\\\x00-\x1f\x7f]/.test(s)) s = JSON.stringify(s);
    parts.push(`${k}=${s}`);
  }
  return parts.join(' ');
}

/** log writes one logfmt line to stdout. */
function log(level, msg, fields) {
  process.stdout.write(logfmt({ time: new Date().toISOString(), level, msg, ...fields }) + '\n');
}

/**
 * makeLogger returns ctx.log for a call: ctx.log(...) and ctx.log.info(...) write an INFO line,
 * ctx.log.debug/warn/error their levels; the arguments are formatted as console.log does, and
 * every line carries the call id.
 */
function makeLogger(callId) {
  const at = (level) => (...args) => log(level, util.format(...args), { call_id: callId });
  const logger = at('INFO');
  logger.debug = at('DEBUG');
  logger.info = logger;
  logger.warn = at('WARN');
  logger.error = at('ERROR');
  return logger;
}

module.exports = {
  Context, Request, RESPONSE, ReturnError,
  encodeBody, headerPairs, log, logfmt, makeLogger, parseDeadline, response, toResponse,
};
