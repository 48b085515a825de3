// A function's page: what it is, its invoke form, charts, instances, recent calls, live logs,
// settings and versions. The function and its calls are polled every 2 s; the logs stream.
// Each part is shown only when the token may read it, with a note saying why when not.

import { get, seg } from '../api.js';
import { h, section, scroller, message, showError, timeEl, fmtTime, ago, short, parseTime, DASH } from '../dom.js';
import { poll, isAbort } from '../live.js';
import * as session from '../session.js';
import { badge, instanceCounts } from '../widgets.js';
import { callsTable } from '../calltable.js';
import { settingsSection } from './function-settings.js';
import { invokeSection } from './function-invoke.js';
import { logsSection } from './function-logs.js';
import { chartsSection } from './function-charts.js';

const INTERVAL = 2000;

export async function render(root, ctx) {
  const name = ctx.params.name;
  // The page's own signal: leaving the page ends it, and so does finding no such function.
  const life = new AbortController();
  ctx.signal.addEventListener('abort', () => life.abort());
  const signal = life.signal;
  const base = '/v1/functions/' + seg(name);
  const error = message('', 'error', 'function-error');
  error.hidden = true;
  const facts = h('dl', { class: 'facts', test: 'function-facts' });
  root.append(h('h1', { test: 'function-name' }, name), error, facts);

  const canRead = session.can('read', name);
  const parts = {};
  const add = (el) => root.append(el);

  // The invoke form first: it is what an author opens this page for most.
  // After an answer the calls are read again at once and shortly after (the call's record is
  // written a moment after its answer), not only at the next poll.
  let callsPoll = null;
  const afterInvoke = () => {
    if (!callsPoll) return;
    for (const ms of [0, 300, 1000]) setTimeout(() => callsPoll.now(), ms);
  };
  add(session.can('invoke', name) ? invokeSection(name, afterInvoke).el
    : denied('Invoke', 'invoke', 'invoke', 'The invoke form is hidden.'));

  if (canRead) {
    parts.charts = chartsSection(name, signal);
    add(parts.charts.el);
    parts.instances = instancesSection();
    add(parts.instances.el);
  }

  if (session.can('calls', name)) {
    parts.calls = callsTable({ test: 'function-calls', caption: `Recent calls of ${name}, newest first` });
    const callsError = message('', 'error', 'function-calls-error');
    callsError.hidden = true;
    add(section('Recent calls', 'fn-calls', callsError, scroller('Recent calls', parts.calls.el),
      h('p', null, h('a', { href: '#/calls?function=' + encodeURIComponent(name) }, 'All calls of ' + name))));
    callsPoll = poll(async (signal) => {
      try {
        const list = await get('/v1/calls', { query: { function: name, limit: 20 }, signal });
        parts.calls.update(list.items || []);
        showError(callsError, null);
      } catch (err) {
        if (!isAbort(err)) showError(callsError, err);
      }
    }, INTERVAL, signal);
  }

  add(session.can('logs', name) ? logsSection(name, signal).el : denied('Logs', 'logs', 'logs'));

  if (canRead) {
    parts.settings = settingsSection(name, { canEdit: session.can('configure', name), onSaved: () => fnPoll.now() });
    add(parts.settings.el);
    parts.versions = versionsSection(name);
    add(parts.versions.el);
  } else {
    facts.append(h('dt', null, 'Access'), h('dd', null, session.whyNot('read').replace('This', 'Reading the function\u2019s state')));
  }

  let versionSeen = 0;
  const fnPoll = canRead ? poll(async (signal) => {
    let fn;
    try {
      fn = await get(base, { signal });
    } catch (err) {
      if (isAbort(err)) return;
      if (err.status === 404 && !versionSeen) {
        life.abort(); // nothing here to poll or stream
        root.replaceChildren(h('h1', { test: 'function-name' }, name), message(err.message, 'error', 'function-error'),
          h('p', null, h('a', { href: '#/' }, 'Back to the overview')));
        return;
      }
      showError(error, err);
      return;
    }
    showError(error, null);
    showFacts(facts, fn);
    parts.instances.update(fn.pool ? fn.pool.instances || [] : []);
    parts.settings.update(fn);
    if (fn.version.number !== versionSeen) {
      try {
        const vs = await get(base + '/versions', { signal });
        versionSeen = fn.version.number;
        parts.versions.update(vs.items || [], versionSeen, Boolean(vs.next));
      } catch (err) {
        if (!isAbort(err)) showError(error, err);
      }
    }
  }, INTERVAL, signal) : null;

  return name;
}

// denied is a section that says what the token may not see here, and why.
function denied(title, id, act, extra) {
  return section(title, 'fn-' + id, message(session.whyNot(act) + (extra ? ' ' + extra : ''), 'note', id + '-denied'));
}

function showFacts(dl, fn) {
  const v = fn.version || {};
  const spec = v.spec || {};
  const rows = [
    ['Version', [String(v.number), ' · deployed ', timeEl(v.created_at)]],
    ['Runtime', spec.runtime || DASH],
    ['Access', spec.public ? 'public: anyone may call it' : 'private: a token covering it is needed'],
    ['URL', h('code', { class: 'wrap' }, fn.url || DASH)],
    ['Instances', instanceCounts(countStates(fn.pool ? fn.pool.instances : []))],
  ];
  if (spec.label) rows.splice(1, 0, ['Label', spec.label]);
  const key = JSON.stringify([v.number, v.created_at, spec.runtime, spec.public, fn.url, rows[rows.length - 1][1]]);
  if (dl.dataset.key === key) return;
  dl.dataset.key = key;
  dl.replaceChildren(...rows.flatMap(([k, val]) => [h('dt', null, k), h('dd', { test: 'fact-' + k.toLowerCase() }, val)]));
}

function countStates(instances) {
  const c = {};
  for (const i of instances || []) c[i.state] = (c[i.state] || 0) + 1;
  return c;
}

// instancesSection lists the pool's instances: state, node, calls in flight, last use, and why
// the placer put each where it is.
function instancesSection() {
  const tbody = h('tbody');
  const table = h('table', { class: 'data', test: 'instances-table' },
    h('caption', { class: 'sr-only' }, 'Instances of this function'),
    h('thead', null, h('tr', null, ['Instance', 'Version', 'State', 'Node', 'In flight', 'Last use', 'Started', 'Placement']
      .map((t) => h('th', { scope: 'col', class: t === 'In flight' || t === 'Version' ? 'num' : '' }, t)))),
    tbody);
  const none = message('No instances: the next call starts one.', 'note', 'instances-none');
  const el = section('Instances', 'fn-instances', scroller('Instances', table), none);
  return {
    el,
    update(list) {
      none.hidden = list.length > 0;
      table.hidden = list.length === 0;
      tbody.replaceChildren(...list.map((i) => h('tr', { test: 'instance-row-' + i.id },
        h('td', { class: 'mono', title: i.id }, i.id),
        h('td', { class: 'num' }, String(i.version)),
        h('td', null, badge(i.state), parseTime(i.paused_at) ? h('span', { class: 'small muted' }, ' since ' + ago(i.paused_at)) : null),
        h('td', { class: 'mono' }, i.node || DASH),
        h('td', { class: 'num' }, String(i.in_flight)),
        h('td', null, timeEl(i.last_used)),
        h('td', null, timeEl(i.started_at)),
        h('td', { class: 'wrap small' }, i.placement || DASH))));
    },
  };
}

// versionsSection shows the first page of the versions (the newest 100): a function with more
// says so, and the CLI lists them all.
function versionsSection(name) {
  const tbody = h('tbody');
  const table = h('table', { class: 'data', test: 'versions-table' },
    h('caption', { class: 'sr-only' }, 'Versions, newest first'),
    h('thead', null, h('tr', null, ['Version', 'Deployed', 'Label', 'Image', 'Source'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  const more = h('p', { class: 'help', test: 'versions-more', hidden: true }, 'Older versions are not shown: ',
    h('code', null, 'hearth versions ' + name), ' lists them all.');
  const el = section('Versions', 'fn-versions', scroller('Versions', table), more,
    h('p', { class: 'help' }, 'A settings change is a new version with the same image and source.'));
  return {
    el,
    update(items, current, older) {
      more.hidden = !older;
      tbody.replaceChildren(...items.map((v) => h('tr', { test: 'version-row-' + v.number, class: v.number === current ? 'current' : '' },
        h('td', null, String(v.number), v.number === current ? h('span', { class: 'badge s-ready small' }, 'current') : null),
        h('td', null, fmtTime(v.created_at), h('span', { class: 'muted small' }, ' (' + ago(v.created_at) + ')')),
        h('td', null, (v.spec && v.spec.label) || DASH),
        h('td', { class: 'mono wrap small' }, v.image || DASH),
        h('td', { class: 'mono', title: v.source_hash }, short(v.source_hash)))));
    },
  };
}
