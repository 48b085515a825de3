// A call's detail: its record (timings, start type, error), an async call's result, and its
// log lines (logs?call=ID). A call still queued or running is read again every 2 s until it ends.

import { get, ndjson, seg } from '../api.js';
import { h, setText, section, message, showError, fmtTime, preciseMs, ms, DASH, errorText } from '../dom.js';
import { poll, isAbort } from '../live.js';
import * as session from '../session.js';
import { badge, functionLink, startType } from '../widgets.js';
import { logLine } from './function-logs.js';

const INTERVAL = 2000;

export async function render(root, ctx) {
  const id = ctx.params.id;
  const error = message('', 'error', 'call-error');
  error.hidden = true;
  const facts = h('dl', { class: 'facts wide', test: 'call-detail' });
  const result = h('div', { test: 'call-result' });
  const logs = h('ol', { class: 'logs', test: 'call-logs', tabindex: '0', 'aria-label': 'Log lines of this call' });
  const logsNote = h('p', { class: 'note', test: 'call-logs-note' }, 'Loading…');
  const resultSection = section('Async result', 'call-result', result);
  resultSection.hidden = true;
  const logsSection = section('Log lines', 'call-logs', logsNote, logs);
  root.append(h('h1', null, 'Call ', h('span', { class: 'mono', test: 'call-id' }, id)), error,
    section('Record', 'call-record', facts), resultSection, logsSection);

  // Lines reach the log collector a moment after the answer: read them a few more times once
  // the call has ended, then stop.
  let after = 0;
  poll(async (signal) => {
    if (after > 5) return;
    let c;
    try {
      c = await get('/v1/calls/' + seg(id), { signal });
    } catch (err) {
      if (isAbort(err)) return;
      showError(error, err);
      if (err.status === 404) {
        after = Infinity; // no such call: nothing more to read
        root.querySelectorAll('section').forEach((s) => { s.hidden = true; });
      }
      return;
    }
    showError(error, null);
    showRecord(facts, c);
    if (c.async) {
      resultSection.hidden = false;
      showResult(result, c);
    }
    if (c.status !== 'queued' && c.status !== 'running') after++;
    await loadLogs(c, logs, logsNote, signal);
  }, INTERVAL, ctx.signal);
  return 'Call ' + id.slice(-8);
}

function showRecord(dl, c) {
  const created = preciseMs(c.created_at);
  const started = preciseMs(c.started_at);
  const finished = preciseMs(c.finished_at);
  const rows = [
    ['status', 'Status', [badge(c.status), c.http_status ? ` HTTP ${c.http_status}` : '']],
    ['function', 'Function', [functionLink(c.function), c.version ? ` version ${c.version}` : '']],
    ['kind', 'Kind', c.async ? 'async' : 'sync'],
    ['start', 'Start', startLabel(c)],
    ['created', 'Received', fmtTime(c.created_at)],
    ['started', 'Started', fmtTime(c.started_at)],
    ['finished', 'Finished', fmtTime(c.finished_at)],
    ['wait', 'Waited', created && started ? ms(started - created) + ' from received to started (queue and instance start)' : DASH],
    ['duration', 'Duration', c.duration_ms ? ms(c.duration_ms) + ' from an instance taking it to the end of the answer' : DASH],
    ['total', 'Total', created && finished ? ms(finished - created) : DASH],
    ['instance', 'Instance', h('span', { class: 'mono' }, c.instance || DASH)],
  ];
  if (c.error) rows.push(['error', 'Error', h('span', { class: 'error wrap' }, c.error)]);
  if (c.async) {
    rows.push(['attempts', 'Attempts', String(c.attempts || 0)]);
    if (c.callback_url) rows.push(['callback', 'Callback', h('span', { class: 'mono wrap' }, c.callback_url)]);
  }
  dl.replaceChildren(...rows.flatMap(([k, label, v]) => [h('dt', null, label), h('dd', { test: 'call-field-' + k }, v)]));
}

function startLabel(c) {
  const s = startType(c);
  if (s === 'new') return 'new: the call waited for a new instance to start';
  if (s === 'resumed') return 'resumed: the call waited for a paused instance';
  if (s === 'warm') return 'warm: an instance was ready';
  return s;
}

function showResult(box, c) {
  if (!c.result) {
    box.replaceChildren(message(c.status === 'queued' || c.status === 'running'
      ? 'No result yet: the call has not finished.' : 'No result was kept for this call.'));
    return;
  }
  const r = c.result;
  const headers = Object.entries(r.headers || {}).flatMap(([k, vs]) => vs.map((v) => `${k}: ${v}`)).join('\n');
  box.replaceChildren(
    h('dl', { class: 'facts' }, h('dt', null, 'Status'), h('dd', { test: 'call-result-status' }, String(r.status))),
    h('details', null, h('summary', null, 'Headers'), h('pre', { class: 'mono small' }, headers || '(none)')),
    h('h3', null, 'Body'), h('pre', { class: 'mono', test: 'call-result-body', tabindex: '0' }, decodeBody(r.body)));
}

// decodeBody shows a result's base64 body as text, or says how many bytes it is.
export function decodeBody(b64) {
  if (!b64) return '(empty)';
  let bytes;
  try {
    bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  } catch {
    return '(a body that is not base64)';
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `(${bytes.length} bytes that are not UTF-8 text)`;
  }
}

async function loadLogs(c, list, note, signal) {
  if (!session.can('logs', c.function)) {
    setText(note, session.whyNot('logs'));
    return;
  }
  const lines = [];
  try {
    await ndjson('/v1/functions/' + seg(c.function) + '/logs', { query: { call: c.id, tail: 'all' }, signal, onItem: (l) => lines.push(l) });
  } catch (err) {
    if (!isAbort(err)) setText(note, 'Could not read the logs: ' + errorText(err));
    return;
  }
  list.replaceChildren(...lines.map(logLine));
  note.hidden = lines.length > 0;
  setText(note, 'No log lines were matched to this call. Lines written while an instance served several calls at once are not matched to any.');
}
