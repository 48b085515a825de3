// api.js: the one way the dashboard talks to hearth's /v1 API.
//
// The token lives in this tab's sessionStorage and travels only as an Authorization header:
// no cookie is ever set, so no page of another site can make the browser use it. Every error
// body ({"error": {"code", "message", "field"}}) becomes an ApiError; a 401 (token unknown,
// revoked or expired) signs the tab out and sends it to the sign-in page with a message.

const TOKEN_KEY = 'hearth-token';

/** ApiError is a failed API request: the HTTP status and the error body's code, field and message. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || '';
    this.field = field || '';
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// The handler the app installs for a 401: it clears the token and shows the sign-in page.
let unauthorized = () => {};

/** onUnauthorized sets what happens when the server refuses the token (401). */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

/** authHeaders returns the bearer header for the current token, or nothing when signed out. */
export function authHeaders() {
  const token = getToken();
  return token ? { Authorization: 'Bearer ' + token } : {};
}

/** url builds a path with query parameters, leaving out those that are empty. */
export function url(path, query) {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? path + '?' + s : path;
}

/** seg escapes one path segment (a function name, a call or node id). */
export function seg(s) {
  return encodeURIComponent(s);
}

/**
 * errorFrom reads a failed response's error body into an ApiError. A body that is not hearth's
 * JSON error (a proxy's page, say) still gives a message naming the status.
 */
export async function errorFrom(resp) {
  let code = '', message = '', field = '';
  try {
    const text = await resp.text();
    try {
      const body = JSON.parse(text);
      if (body && body.error) {
        ({ code = '', message = '', field = '' } = body.error);
      }
    } catch {
      message = text.trim().slice(0, 300);
    }
  } catch {
    // The body could not be read; the status says enough.
  }
  if (!message) message = `${resp.status} ${resp.statusText || 'error'}`;
  return new ApiError(resp.status, code, message, field);
}

/**
 * request sends one API request and returns its JSON answer (null for an empty one).
 * opts: body (sent as JSON), signal, query, keep401 (do not sign out on 401: the sign-in check).
 */
export async function request(method, path, opts = {}) {
  const headers = { Accept: 'application/json', ...authHeaders() };
  const init = { method, headers, signal: opts.signal, cache: 'no-store' };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  const resp = await fetch(url(path, opts.query), init);
  if (!resp.ok) {
    const err = await errorFrom(resp);
    if (resp.status === 401 && !opts.keep401) unauthorized(err);
    throw err;
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, opts) => request('POST', path, opts);
export const patch = (path, body, opts = {}) => request('PATCH', path, { ...opts, body });

/**
 * ndjson reads a newline-delimited JSON stream (the logs endpoint) with fetch streaming, calling
 * onItem for each object as it arrives. It resolves when the server ends the stream and rejects
 * with an ApiError for an error answer, or an AbortError when signal is aborted; onOpen runs
 * once the answer's headers came (the stream is open). fetch rather
 * than EventSource: EventSource cannot send the bearer header.
 */
export async function ndjson(path, { query, signal, onItem, onOpen }) {
  const resp = await fetch(url(path, query), {
    headers: { Accept: 'application/x-ndjson', ...authHeaders() },
    signal,
    cache: 'no-store',
  });
  if (!resp.ok) {
    const err = await errorFrom(resp);
    if (resp.status === 401) unauthorized(err);
    throw err;
  }
  if (onOpen) onOpen();
  if (!resp.body) return;
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) onItem(JSON.parse(line));
    }
  }
  const rest = (buf + decoder.decode()).trim();
  if (rest) onItem(JSON.parse(rest));
}
