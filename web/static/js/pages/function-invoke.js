// The invoke form: a call through the front door (/invoke/NAME/path) with the method, path,
// headers and body given, showing the answer's status, headers, body, how long it took and how
// its instance came to take it (the Hearth-Start header: warm, new or resumed).
//
// It uses fetch directly rather than api.js: a function's own 401 is its answer to show, not a
// reason to sign the tab out.

import { authHeaders, seg } from '../api.js';
import { h, setText, section, ms, errorText } from '../dom.js';
import { callLink } from '../widgets.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const MAX_SHOWN = 256 * 1024; // bytes of the answer's body shown; the rest is counted

/** parseHeaders reads "Name: value" lines; it throws naming the first line that is not one. */
export function parseHeaders(text) {
  const out = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const c = line.indexOf(':');
    const name = c > 0 ? line.slice(0, c).trim() : '';
    if (!name || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new Error(`Line ${i + 1} is not a header: write it as Name: value.`);
    }
    out.push([name, line.slice(c + 1).trim()]);
  });
  return out;
}

/**
 * invokeSection makes the invoke form; onAnswer runs after each answer (the page reads its
 * calls again then, so that the call shows at once rather than at the next poll).
 */
export function invokeSection(name, onAnswer) {
  const method = h('select', { id: 'invoke-method', test: 'invoke-method' }, METHODS.map((m) => h('option', { value: m }, m)));
  const path = h('input', { id: 'invoke-path', test: 'invoke-path', value: '/', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'invoke-path-help' });
  const headers = h('textarea', {
    id: 'invoke-headers', test: 'invoke-headers', rows: '3', spellcheck: 'false', class: 'mono',
    placeholder: 'Content-Type: application/json', 'aria-describedby': 'invoke-headers-help invoke-headers-error',
  });
  const headersError = h('p', { id: 'invoke-headers-error', class: 'field-error', role: 'alert', hidden: true, test: 'invoke-headers-error' });
  const body = h('textarea', { id: 'invoke-body', test: 'invoke-body', rows: '5', spellcheck: 'false', class: 'mono', 'aria-describedby': 'invoke-body-help' });
  const bodyHelp = h('p', { id: 'invoke-body-help', class: 'help' }, 'Sent as it is.');
  const async = h('input', { id: 'invoke-async', type: 'checkbox', test: 'invoke-async', 'aria-describedby': 'invoke-async-help' });
  const submit = h('button', { type: 'submit', test: 'invoke-submit' }, 'Invoke');

  const out = {
    status: h('strong', { test: 'invoke-status' }),
    start: h('span', { test: 'invoke-start' }),
    duration: h('span', { test: 'invoke-duration' }),
    call: h('span', { test: 'invoke-call' }),
    headers: h('pre', { class: 'mono small', test: 'invoke-headers-out', tabindex: '0' }),
    body: h('pre', { class: 'mono', test: 'invoke-body-out', tabindex: '0' }),
  };
  const error = h('p', { class: 'error', test: 'invoke-error', hidden: true });
  const answer = h('div', { class: 'answer', hidden: true, test: 'invoke-answer' },
    h('dl', { class: 'facts' },
      h('dt', null, 'Status'), h('dd', null, out.status),
      h('dt', null, 'Start'), h('dd', null, out.start),
      h('dt', null, 'Duration'), h('dd', null, out.duration),
      h('dt', null, 'Call'), h('dd', null, out.call)),
    h('details', null, h('summary', null, 'Headers'), out.headers),
    h('h3', null, 'Body'), out.body);
  // One live region for the whole answer: a screen reader hears the status when it comes.
  const result = h('div', { 'aria-live': 'polite', 'aria-atomic': 'false', test: 'invoke-result' }, error, answer);

  const form = h('form', { class: 'invoke', test: 'invoke-form' },
    h('div', { class: 'invoke-line' },
      h('div', { class: 'field narrow' }, h('label', { for: 'invoke-method' }, 'Method'), method),
      h('div', { class: 'field grow' }, h('label', { for: 'invoke-path' }, 'Path'),
        h('div', { class: 'prefixed' }, h('span', { class: 'prefix mono', 'aria-hidden': 'true' }, '/invoke/' + name), path),
        h('p', { id: 'invoke-path-help', class: 'help' }, 'After the function\u2019s URL, with a query if you like: /orders?id=4'))),
    h('div', { class: 'field' }, h('label', { for: 'invoke-headers' }, 'Headers'), headers,
      h('p', { id: 'invoke-headers-help', class: 'help' }, 'One per line, Name: value. Your token is sent as the Authorization header unless you give one.'),
      headersError),
    h('div', { class: 'field' }, h('label', { for: 'invoke-body' }, 'Body'), body, bodyHelp),
    h('div', { class: 'field check' }, h('div', { class: 'check-row' }, async, h('label', { for: 'invoke-async' }, 'Async')),
      h('p', { id: 'invoke-async-help', class: 'help' }, 'Sends Hearth-Async: true: the call is stored and answered at once with its id.')),
    h('div', { class: 'actions' }, submit));

  const noBody = () => method.value === 'GET' || method.value === 'HEAD';
  method.addEventListener('change', () => {
    body.disabled = noBody();
    setText(bodyHelp, noBody() ? `A ${method.value} request has no body.` : 'Sent as it is.');
  });
  method.dispatchEvent(new Event('change'));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    headersError.hidden = true;
    headers.removeAttribute('aria-invalid');
    let hdrs;
    try {
      hdrs = parseHeaders(headers.value);
    } catch (err) {
      headersError.hidden = false;
      setText(headersError, err.message);
      headers.setAttribute('aria-invalid', 'true');
      headers.focus();
      return;
    }
    const h2 = new Headers();
    const own = hdrs.some(([k]) => k.toLowerCase() === 'authorization');
    if (!own) for (const [k, v] of Object.entries(authHeaders())) h2.set(k, v);
    try {
      for (const [k, v] of hdrs) h2.append(k, v);
    } catch (err) {
      headersError.hidden = false;
      setText(headersError, 'A header was refused: ' + err.message);
      return;
    }
    if (async.checked) h2.set('Hearth-Async', 'true');
    let p = path.value.trim() || '/';
    if (!p.startsWith('/')) p = '/' + p;
    const target = '/invoke/' + seg(name) + (p === '/' ? '' : p);

    submit.disabled = true;
    setText(submit, 'Invoking…');
    error.hidden = true;
    const t0 = performance.now();
    try {
      const resp = await fetch(target, {
        method: method.value, headers: h2, body: noBody() ? undefined : body.value,
        cache: 'no-store', redirect: 'manual',
      });
      const buf = new Uint8Array(await resp.arrayBuffer());
      const took = performance.now() - t0;
      showAnswer(resp, buf, took);
      if (onAnswer) onAnswer();
    } catch (err) {
      answer.hidden = true;
      error.hidden = false;
      setText(error, 'The call did not get an answer: ' + errorText(err));
    } finally {
      submit.disabled = false;
      setText(submit, 'Invoke');
    }
  });

  function showAnswer(resp, buf, took) {
    answer.hidden = false;
    setText(out.status, resp.type === 'opaqueredirect' ? 'a redirect (not followed)' : `${resp.status} ${resp.statusText}`.trim());
    out.status.className = resp.status >= 500 ? 'bad' : resp.status >= 400 ? 'warn' : 'good';
    const start = resp.headers.get('Hearth-Start');
    let startText = 'none: the call reached no instance';
    if (start) startText = start + (start === 'warm' ? '' : ' (a cold start: the call waited for its instance)');
    else if (resp.status === 202 && async.checked) startText = 'not yet: the async call runs in the background; its page says how it went';
    setText(out.start, startText);
    setText(out.duration, ms(took) + ' in the browser, from sending to the end of the answer');
    const id = resp.headers.get('Hearth-Call-Id');
    out.call.replaceChildren(id ? callLink(id, { test: 'invoke-call-link' }) : '—');
    const lines = [];
    resp.headers.forEach((v, k) => lines.push(`${k}: ${v}`));
    setText(out.headers, lines.join('\n') || '(none)');
    setText(out.body, bodyText(buf, resp.headers.get('Content-Type') || ''));
  }

  return { el: section('Invoke', 'fn-invoke', form, result) };
}

// bodyText shows an answer's body: text as it is (JSON indented), anything else as a count.
function bodyText(buf, type) {
  if (!buf.length) return '(empty)';
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, MAX_SHOWN), { stream: buf.length > MAX_SHOWN });
  } catch {
    return `(${buf.length} bytes that are not UTF-8 text)`;
  }
  if (/json/i.test(type) && buf.length <= MAX_SHOWN) {
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON after all: show it as it came.
    }
  }
  return buf.length > MAX_SHOWN ? text + `\n… (${buf.length - MAX_SHOWN} more bytes)` : text;
}
