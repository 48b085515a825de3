// The overview: every function with its state and recent figures, the nodes, and the latest
// failed calls, from GET /v1/overview every 2 s.
//
// With a thousand functions a poll must not rebuild the table: each function keeps its row
// (keyed by name) and a poll changes only the text that changed, moving rows only when the
// set of functions did.

import { get } from '../api.js';
import { h, setText, section, scroller, message, showError, ms, num, pct, ago, DASH } from '../dom.js';
import { poll, isAbort } from '../live.js';
import { href, go } from '../router.js';
import * as session from '../session.js';
import { badge, setBadge, bar, instanceCounts, callLink, functionLink } from '../widgets.js';

const INTERVAL = 2000;

// The table's columns after the name: [key, header, cell text from a function's entry].
const COLS = [
  ['state', 'State', null],
  ['version', 'Version', (f) => String(f.version)],
  ['runtime', 'Runtime', (f) => f.runtime || DASH],
  ['calls_per_min', 'Calls/min', (f) => num(round1(f.calls_per_min))],
  ['error_rate', 'Errors', (f) => (f.calls_per_min > 0 ? pct(f.error_rate) : DASH)],
  ['p50_ms', 'p50', (f) => (f.calls_per_min > 0 ? ms(f.p50_ms) : DASH)],
  ['p99_ms', 'p99', (f) => (f.calls_per_min > 0 ? ms(f.p99_ms) : DASH)],
  ['ready', 'Ready', (f) => String(inst(f, 'ready'))],
  ['busy', 'Busy', (f) => String(inst(f, 'busy'))],
  ['paused', 'Paused', (f) => String(inst(f, 'paused'))],
  ['starting', 'Starting', (f) => String(inst(f, 'starting'))],
  ['cold_starts_1h', 'Cold starts 1h', (f) => String(f.cold_starts_1h || 0)],
];

const INSTANCE_COLS = ['ready', 'busy', 'paused', 'starting'];
const round1 = (v) => Math.round((v || 0) * 10) / 10;
const inst = (f, s) => (f.instances && f.instances[s]) || 0;

export async function render(root, ctx) {
  root.append(h('h1', null, 'Overview'));
  if (!session.can('read')) {
    root.append(invokerView());
    return 'Overview';
  }

  const page = h('div', { test: 'overview', 'data-state': 'loading' });
  const error = message('', 'error', 'overview-error');
  error.hidden = true;
  const updated = h('p', { class: 'muted small', test: 'overview-updated' }, 'Loading…');
  const summary = h('dl', { class: 'tiles', test: 'overview-summary' });
  const tiles = {};
  for (const [k, label] of [['functions', 'Functions'], ['failing', 'Failing'], ['cpm', 'Calls/min'],
    ['instances', 'Instances'], ['cold', 'Cold starts 1h']]) {
    tiles[k] = h('dd', { test: 'summary-' + k, class: k === 'instances' ? 'long' : null }, DASH);
    summary.append(h('div', { class: 'tile' }, h('dt', null, label), tiles[k]));
  }

  const table = functionsTable();
  const filter = h('input', { id: 'overview-filter', type: 'search', test: 'overview-filter', autocomplete: 'off' });
  const shown = h('span', { class: 'muted small', 'aria-live': 'polite', test: 'overview-shown' });
  const empty = h('p', { class: 'note', test: 'overview-empty', hidden: true },
    'No functions yet: ', h('code', null, 'hearth init'), ', then ', h('code', null, 'hearth deploy'), '.');
  const functions = section('Functions', 'ov-functions',
    h('div', { class: 'toolbar' }, h('label', { for: 'overview-filter' }, 'Filter by name'), filter, shown),
    scroller('Functions', table.el), empty);

  const nodesBox = h('div', { class: 'nodes-grid', test: 'overview-nodes' });
  const nodes = section('Nodes', 'ov-nodes', nodesBox);
  nodes.hidden = true;
  const failuresBox = h('div', { test: 'overview-failures' });
  const failures = section('Recent failures', 'ov-failures', failuresBox);

  page.append(error, summary, functions, nodes, failures, updated);
  root.append(page);

  let query = '';
  filter.addEventListener('input', () => {
    query = filter.value.trim().toLowerCase();
    table.filter(query);
    setText(shown, table.shownText());
  });

  let nodesKey = '';
  let failuresState = null;
  poll(async (signal) => {
    let ov;
    try {
      ov = await get('/v1/overview', { signal });
    } catch (err) {
      if (isAbort(err)) return;
      showError(error, err);
      if (page.getAttribute('data-state') === 'loading') page.setAttribute('data-state', 'error');
      return;
    }
    showError(error, null);
    const fns = ov.functions || [];
    table.update(fns, query);
    setText(shown, table.shownText());
    empty.hidden = fns.length > 0;
    updateSummary(tiles, fns);

    nodes.hidden = !ov.nodes;
    if (ov.nodes) {
      const key = JSON.stringify(ov.nodes.map((n) => [n.id, n.state, n.reserved, n.capacity, n.instances, n.problem]));
      if (key !== nodesKey) {
        nodesKey = key;
        nodesBox.replaceChildren(...(ov.nodes.length ? ov.nodes.map(nodeCard) : [message('No nodes.')]));
      }
    }
    failuresState = updateFailures(failuresBox, ov.recent_failures || [], failuresState);
    const at = ov.generated_at ? new Date(ov.generated_at) : new Date();
    setText(updated, `Updated ${at.toLocaleTimeString()} · live every ${INTERVAL / 1000} s while this tab is visible`);
    if (page.getAttribute('data-state') !== 'ready') {
      page.setAttribute('data-state', 'ready');
      // For the bench: the time from navigation to the first complete render.
      performance.mark('hearth:overview-ready');
    }
  }, INTERVAL, ctx.signal);
  return 'Overview';
}

// functionsTable is the keyed table of functions: update() changes it in place.
function functionsTable() {
  const tbody = h('tbody');
  const el = h('table', { class: 'data fixed', test: 'overview-functions' },
    h('caption', { class: 'sr-only' }, 'Functions, their state, load and instances'),
    // Fixed column widths: the browser lays the table out from them, without measuring every
    // cell of a thousand rows first.
    h('colgroup', null, h('col', { class: 'c-name' }), COLS.map(([k]) => h('col', { class: 'c-' + k }))),
    h('thead', null,
      h('tr', null, h('th', { scope: 'col', rowspan: '2' }, 'Function'),
        COLS.map(([k, label]) => (INSTANCE_COLS.includes(k)
          ? (k === 'ready' ? h('th', { scope: 'colgroup', colspan: '4', class: 'group' }, 'Instances') : null)
          : h('th', { scope: 'col', rowspan: '2', class: k === 'state' || k === 'runtime' ? '' : 'num' }, label)))),
      h('tr', null, COLS.filter(([k]) => INSTANCE_COLS.includes(k)).map(([, label]) => h('th', { scope: 'col', class: 'num' }, label)))),
    tbody);
  // A template row, cloned for each new function: much cheaper than building cells one by one.
  const tpl = h('tr', null, h('th', { scope: 'row' }, h('a')),
    COLS.map(([k]) => h('td', { 'data-col': k, class: k === 'state' || k === 'runtime' ? '' : 'num' })));
  tpl.cells[1].append(badge(''));
  const rows = new Map();
  let total = 0;
  let visible = 0;

  function makeRow(name) {
    const tr = tpl.cloneNode(true);
    tr.setAttribute('data-test', 'function-row-' + name);
    const a = tr.cells[0].firstChild;
    a.href = href('/functions/' + encodeURIComponent(name));
    a.textContent = name;
    return { tr, name, cells: [...tr.cells].slice(1), badge: tr.cells[1].firstChild, gen: 0 };
  }

  let gen = 0;
  return {
    el,
    update(fns, query) {
      gen++;
      // The first answer builds every row off the page and adds them at once.
      const first = rows.size === 0;
      const frag = first ? document.createDocumentFragment() : null;
      let next = tbody.firstChild;
      for (const f of fns) {
        let r = rows.get(f.name);
        if (!r) {
          r = makeRow(f.name);
          rows.set(f.name, r);
          r.tr.hidden = !!query && !f.name.includes(query);
        }
        r.gen = gen;
        setBadge(r.badge, f.state);
        for (let i = 1; i < COLS.length; i++) setText(r.cells[i], COLS[i][2](f));
        r.cells[4].classList.toggle('bad', f.calls_per_min > 0 && f.error_rate >= 0.05);
        // Keyed placement: a row already in place stays; a new or moved one goes before next.
        if (first) frag.append(r.tr);
        else if (r.tr === next) next = next.nextSibling;
        else tbody.insertBefore(r.tr, next);
      }
      if (first) tbody.append(frag);
      for (const [name, r] of rows) {
        if (r.gen !== gen) {
          r.tr.remove();
          rows.delete(name);
        }
      }
      total = fns.length;
      visible = query ? [...rows.values()].filter((r) => !r.tr.hidden).length : total;
    },
    filter(query) {
      visible = 0;
      for (const r of rows.values()) {
        r.tr.hidden = !!query && !r.name.includes(query);
        if (!r.tr.hidden) visible++;
      }
    },
    shownText() {
      return visible === total ? `${total} function${total === 1 ? '' : 's'}` : `showing ${visible} of ${total}`;
    },
  };
}

function updateSummary(tiles, fns) {
  let failing = 0, cpm = 0, cold = 0;
  const states = { ready: 0, busy: 0, paused: 0, starting: 0 };
  for (const f of fns) {
    if (f.state === 'failing') failing++;
    cpm += f.calls_per_min || 0;
    cold += f.cold_starts_1h || 0;
    for (const s in states) states[s] += inst(f, s);
  }
  setText(tiles.functions, String(fns.length));
  setText(tiles.failing, String(failing));
  tiles.failing.classList.toggle('bad', failing > 0);
  setText(tiles.cpm, num(round1(cpm)));
  setText(tiles.instances, instanceCounts(states));
  setText(tiles.cold, String(cold));
}

function nodeCard(n) {
  return h('div', { class: 'node-card', test: 'node-card-' + n.id },
    h('div', { class: 'node-head' },
      h('a', { href: href('/nodes'), class: 'strong' }, n.name || n.id), ' ', badge(n.state),
      n.local ? h('span', { class: 'muted small' }, ' local') : null),
    bar('memory', n.reserved.memory_mb, n.capacity.memory_mb),
    bar('cpu', n.reserved.cpu_milli, n.capacity.cpu_milli),
    h('p', { class: 'small muted' }, 'Instances: ', instanceCounts(n.instances)),
    n.problem ? h('p', { class: 'small error' }, n.problem) : null);
}

// updateFailures rebuilds the list only when its calls changed (a focused link survives a
// poll otherwise) and refreshes the "ago" texts.
function updateFailures(box, calls, state) {
  const key = calls.map((c) => c.id).join(',');
  if (state && state.key === key) {
    for (const [el, t] of state.times) setText(el, ago(t));
    return state;
  }
  const times = [];
  if (!calls.length) {
    box.replaceChildren(message('No failed calls recently.', 'note', 'overview-no-failures'));
    return { key, times };
  }
  const tbody = h('tbody', null, calls.map((c) => {
    const when = h('time', { datetime: c.created_at, title: new Date(c.created_at).toLocaleString() }, ago(c.created_at));
    times.push([when, c.created_at]);
    return h('tr', { test: 'failure-row-' + c.id },
      h('td', null, when), h('td', null, functionLink(c.function)), h('td', null, badge(c.status)),
      h('td', { class: 'num' }, c.http_status ? String(c.http_status) : DASH),
      h('td', { class: 'wrap' }, c.error || DASH), h('td', null, callLink(c.id)));
  }));
  box.replaceChildren(scroller('Recent failures', h('table', { class: 'data' },
    h('thead', null, h('tr', null, ['When', 'Function', 'Status', 'HTTP', 'Error', 'Call'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody)));
  return { key, times };
}

// invokerView is the overview of a token that may call functions but not list them.
function invokerView() {
  const me = session.current();
  const box = h('div', { test: 'overview-invoker' },
    message(`Your token has the role ${me.role}: it may call functions and read their calls, but not list functions or their state.`));
  if (session.scoped()) {
    box.append(h('ul', null, me.functions.map((f) => h('li', null, functionLink(f)))));
  } else {
    const input = h('input', { id: 'open-function', autocomplete: 'off', required: true });
    box.append(h('form', {
      class: 'inline', onsubmit: (ev) => {
        ev.preventDefault();
        if (input.value.trim()) go('/functions/' + encodeURIComponent(input.value.trim()), null);
      },
    }, h('label', { for: 'open-function' }, 'Function name'), input, h('button', { type: 'submit' }, 'Open')));
  }
  box.append(h('p', null, h('a', { href: href('/calls') }, 'Your calls')));
  return box;
}
