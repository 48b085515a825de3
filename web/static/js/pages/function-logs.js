// A function's logs, following live: GET .../logs?follow=true read as an ndjson stream with
// fetch (EventSource cannot send the bearer header). When the stream ends (the server
// restarted, the network dropped) it reconnects from the last line's time, skipping the lines
// it already has.

import { ndjson, seg } from '../api.js';
import { h, setText, section, errorText } from '../dom.js';
import { isAbort } from '../live.js';
import { callLink } from '../widgets.js';

const KEEP = 2000; // lines kept on the page; older ones are dropped
const RETRY_MS = 3000;

/** logLine makes one log line's element (shared with the call page). */
export function logLine(l) {
  const t = new Date(l.time);
  return h('li', { test: 'log-line', class: l.stream === 'stderr' ? 'stderr' : '', 'data-call': l.call_id || null },
    h('time', { datetime: l.time, title: t.toLocaleString() }, timeOfDay(t)),
    h('span', { class: 'inst', title: l.instance }, (l.instance || '').slice(-8)),
    l.call_id ? callLink(l.call_id, { class: 'mono call', tabindex: '-1' }) : h('span', { class: 'call' }),
    h('span', { class: 'text', test: 'log-text' }, l.line));
}

function timeOfDay(t) {
  if (isNaN(t)) return '';
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}.${p(t.getMilliseconds(), 3)}`;
}

export function logsSection(name, pageSignal) {
  const list = h('ol', { class: 'logs', test: 'logs-lines', tabindex: '0', 'aria-label': `Log lines of ${name}` });
  const empty = h('p', { class: 'note', test: 'logs-empty' }, 'No output yet.');
  const follow = h('input', { id: 'logs-follow', type: 'checkbox', checked: true, test: 'logs-follow' });
  const clear = h('button', { type: 'button', class: 'secondary small', test: 'logs-clear' }, 'Clear');
  const status = h('span', { class: 'muted small', role: 'status', test: 'logs-status' });
  const el = section('Logs', 'fn-logs',
    h('div', { class: 'toolbar' }, h('div', { class: 'check-row' }, follow, h('label', { for: 'logs-follow' }, 'Follow live')), clear, status),
    empty, list);

  let last = null; // the newest line's time (ms) ...
  let lastKeys = new Set(); // ... and the lines seen at that very time, to skip when reconnecting
  let stream = null; // the AbortController of the open stream
  let retry = 0;
  let pending = [];
  let flushing = false;

  function key(l) {
    return l.instance + '\u0000' + l.stream + '\u0000' + l.line;
  }

  function take(l) {
    const t = Date.parse(l.time);
    if (last !== null && t < last) return;
    if (t === last && lastKeys.has(key(l))) return;
    if (t !== last) {
      last = t;
      lastKeys = new Set();
    }
    lastKeys.add(key(l));
    pending.push(l);
    if (!flushing) {
      flushing = true;
      queueMicrotask(flush); // one DOM update per chunk of the stream, not per line
    }
  }

  function flush() {
    flushing = false;
    if (!pending.length) return;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const frag = document.createDocumentFragment();
    for (const l of pending) frag.append(logLine(l));
    pending = [];
    list.append(frag);
    while (list.childElementCount > KEEP) list.firstElementChild.remove();
    empty.hidden = true;
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  async function connect() {
    clearTimeout(retry);
    if (stream || pageSignal.aborted || !follow.checked) return;
    const ctl = new AbortController();
    stream = ctl;
    const onPageGone = () => ctl.abort();
    pageSignal.addEventListener('abort', onPageGone);
    const query = last === null ? { follow: 'true', tail: '100' }
      : { follow: 'true', tail: 'all', since: new Date(last).toISOString() };
    setText(status, 'Connecting…');
    try {
      await ndjson('/v1/functions/' + seg(name) + '/logs', {
        query, signal: ctl.signal, onItem: take,
        onOpen: () => setText(status, 'Following: new lines appear as they come.'),
      });
      throw new Error('the server ended the stream');
    } catch (err) {
      if (isAbort(err) || ctl.signal.aborted) return;
      setText(status, `Disconnected (${errorText(err)}); trying again in ${RETRY_MS / 1000} s.`);
      if (err.status === 404 || err.status === 403 || err.status === 401 || err.status === 400) {
        setText(status, 'Cannot read the logs: ' + errorText(err));
        return; // trying again would get the same answer
      }
      retry = setTimeout(connect, RETRY_MS);
    } finally {
      pageSignal.removeEventListener('abort', onPageGone);
      if (stream === ctl) stream = null;
    }
  }

  follow.addEventListener('change', () => {
    if (follow.checked) {
      connect();
    } else {
      clearTimeout(retry);
      if (stream) stream.abort();
      stream = null;
      setText(status, 'Paused: new lines are not shown until you follow again.');
    }
  });
  clear.addEventListener('click', () => {
    list.replaceChildren();
    empty.hidden = false;
  });
  pageSignal.addEventListener('abort', () => clearTimeout(retry));
  connect();
  return { el };
}
