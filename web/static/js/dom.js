// dom.js: building elements and formatting values.
//
// Every string from the API reaches the page as a text node or an attribute value, never as
// HTML: h() has no way to set innerHTML, so a function name or a log line cannot inject markup.

/**
 * h makes an element. attrs: "class", "test" (data-test), "on<event>" (listeners), booleans
 * (set when true, left out when false), anything else as an attribute. children: nodes,
 * strings (as text), arrays of either, or null/undefined/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'test') el.setAttribute('data-test', v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** setText changes el's text only when it differs, so that updates in place stay cheap. */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

/** link makes an in-app link to a hash route. */
export function link(route, text, attrs = {}) {
  return h('a', { href: '#' + route, ...attrs }, text);
}

/** message makes a paragraph for a note or an error; kind "error" is announced. */
export function message(text, kind = 'note', test) {
  return h('p', { class: kind, role: kind === 'error' ? 'alert' : null, test }, text);
}

/** showError puts an error's message (or clears it, for null) into a paragraph. */
export function showError(el, err) {
  el.hidden = !err;
  setText(el, err ? errorText(err) : '');
}

/** errorText says what went wrong in one line, with the API's own message. */
export function errorText(err) {
  if (!err) return '';
  if (err.name === 'TypeError') return 'The server could not be reached: ' + err.message;
  return err.message || String(err);
}

/** section makes a titled section with an id for in-page links. */
export function section(title, id, ...children) {
  return h('section', { class: 'card', 'aria-labelledby': id + '-h' }, h('h2', { id: id + '-h' }, title), children);
}

/** scroller wraps a wide table so that it scrolls sideways on a phone, by keyboard too. */
export function scroller(label, table) {
  return h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': label }, table);
}

// Formatting. The API's zero time (Go's 0001-01-01) and missing values show as a dash.

const DASH = '—';

/** time parses an API time; null for a missing or zero one. */
export function parseTime(s) {
  if (!s) return null;
  const d = new Date(s);
  if (isNaN(d) || d.getUTCFullYear() < 1971) return null;
  return d;
}

/**
 * preciseMs returns an RFC 3339 time as milliseconds since the epoch with its fraction kept
 * (a Date keeps whole milliseconds only, which makes sub-millisecond spans read as 0 or 1 ms),
 * or null.
 */
export function preciseMs(s) {
  const d = parseTime(s);
  if (!d) return null;
  const m = /\.(\d+)/.exec(s);
  const fracMs = m ? Number('0.' + m[1]) * 1000 : 0;
  return d.getTime() - Math.floor(fracMs) + fracMs;
}

/** fmtTime writes a time in the browser's locale. */
export function fmtTime(s) {
  const d = parseTime(s);
  return d ? d.toLocaleString() : DASH;
}

/** ago says how long ago a time was: "4 s ago", "3 min ago". */
export function ago(s, now = Date.now()) {
  const d = parseTime(s);
  if (!d) return DASH;
  const sec = Math.round((now - d.getTime()) / 1000);
  if (sec < 0) return 'just now';
  if (sec < 60) return `${sec} s ago`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.floor(sec / 3600)} h ago`;
  return `${Math.floor(sec / 86400)} d ago`;
}

/** timeEl makes a <time> showing how long ago, with the exact time as its title. */
export function timeEl(s) {
  const d = parseTime(s);
  if (!d) return h('span', { class: 'muted' }, DASH);
  return h('time', { datetime: d.toISOString(), title: d.toLocaleString() }, ago(s));
}

/** ms writes a duration in milliseconds with sensible precision. */
export function ms(v) {
  if (v === undefined || v === null || isNaN(v)) return DASH;
  if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 1 : 2) + ' s';
  if (v >= 100) return Math.round(v) + ' ms';
  if (v >= 10) return v.toFixed(1) + ' ms';
  return v.toFixed(2) + ' ms';
}

/** num writes a count or a rate: whole numbers as they are, others with one decimal. */
export function num(v) {
  if (v === undefined || v === null || isNaN(v)) return DASH;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** pct writes a fraction (0.012) as a percentage ("1.2%"). */
export function pct(v) {
  if (v === undefined || v === null || isNaN(v)) return DASH;
  if (v === 0) return '0%';
  const p = v * 100;
  return (p < 10 ? p.toFixed(1) : Math.round(p)) + '%';
}

/** short shortens an id to its last 8 characters, as `hearth calls` shows it. */
export function short(id) {
  return id && id.length > 12 ? '…' + id.slice(-8) : id || DASH;
}

/** mb writes megabytes, as GB from 10 GB up. */
export function mb(v) {
  if (!v) return '0 MB';
  return v >= 10240 ? (v / 1024).toFixed(1) + ' GB' : v + ' MB';
}

/** cpu writes millicores as cores. */
export function cpu(milli) {
  if (!milli) return '0 cores';
  const c = milli / 1000;
  return (Number.isInteger(c) ? c : c.toFixed(2)) + (c === 1 ? ' core' : ' cores');
}

export { DASH };
