// The calls page: call records newest first, filtered by function and status, paged with the
// API's `next` cursor. The filters and the page are in the route (#/calls?function=&status=&before=)
// so that a link or a reload shows the same list; the newest page stays live (every 2 s).

import { get } from '../api.js';
import { h, setText, scroller, message, showError } from '../dom.js';
import { poll, isAbort } from '../live.js';
import { go } from '../router.js';
import * as session from '../session.js';
import { callsTable } from '../calltable.js';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'error', 'canceled'];
const LIMIT = 50;
const INTERVAL = 2000;

// The cursors of the pages before this one, so that "Newer" goes back the way "Older" came.
// Kept per filter: a new filter starts at the newest page.
let trail = { key: '', stack: [] };

export async function render(root, ctx) {
  const q = ctx.query;
  let fn = q.get('function') || '';
  const status = q.get('status') || '';
  const before = q.get('before') || '';
  const me = session.current();

  // A token limited to some functions must name one to list calls.
  if (!fn && session.scoped()) {
    go('/calls', { function: me.functions[0], status }, true);
    return 'Calls';
  }
  const key = fn + '|' + status;
  if (trail.key !== key) trail = { key, stack: [] };
  if (!before) trail.stack = [];

  root.append(h('h1', null, 'Calls'));
  const fnInput = functionFilter(fn);
  const statusSel = h('select', { id: 'calls-status', test: 'calls-filter-status' },
    h('option', { value: '' }, 'Any status'), STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)));
  const filters = h('form', { class: 'filters', test: 'calls-filters', role: 'search', 'aria-label': 'Filter calls' },
    h('div', { class: 'field' }, h('label', { for: 'calls-function' }, 'Function'), fnInput.el),
    h('div', { class: 'field' }, h('label', { for: 'calls-status' }, 'Status'), statusSel),
    h('div', { class: 'actions' }, h('button', { type: 'submit', test: 'calls-apply' }, 'Show'),
      status || (fn && !session.scoped()) ? h('a', { href: session.scoped() ? '#/calls?function=' + encodeURIComponent(fn) : '#/calls', test: 'calls-reset' }, 'Clear filters') : null));
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go('/calls', { function: fnInput.value(), status: statusSel.value }, false);
  });
  // A changed status needs no button: it applies at once.
  statusSel.addEventListener('change', () => go('/calls', { function: fnInput.value(), status: statusSel.value }, false));

  const error = message('', 'error', 'calls-error');
  error.hidden = true;
  const table = callsTable({ withFunction: true, test: 'calls-table' });
  const empty = message('No calls match.', 'note', 'calls-empty');
  empty.hidden = true;
  const where = h('p', { class: 'muted small', test: 'calls-where' },
    before ? `Older calls, before ${before.slice(-8)}.` : 'Newest first; this page follows new calls live.');
  const older = h('button', { type: 'button', test: 'calls-older', disabled: true }, 'Older calls');
  const newer = h('button', { type: 'button', class: 'secondary', test: 'calls-newer', disabled: !before }, 'Newer calls');
  const newest = h('a', { href: '#/calls?' + new URLSearchParams(Object.entries({ function: fn, status }).filter(([, v]) => v)), test: 'calls-newest', hidden: !before }, 'Newest');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of calls' }, newer, older, newest);
  root.append(filters, error, where, scroller('Calls', table.el), empty, pager);

  let next = '';
  older.addEventListener('click', () => {
    if (!next) return;
    trail.stack.push(before);
    go('/calls', { function: fn, status, before: next }, false);
  });
  newer.addEventListener('click', () => {
    const prev = trail.stack.pop();
    go('/calls', { function: fn, status, before: prev || '' }, false);
  });

  const load = async (signal) => {
    try {
      const list = await get('/v1/calls', { query: { function: fn, status, before, limit: LIMIT }, signal });
      showError(error, null);
      const items = list.items || [];
      table.update(items);
      empty.hidden = items.length > 0;
      next = list.next || '';
      older.disabled = !next;
    } catch (err) {
      if (isAbort(err)) return;
      showError(error, err);
    }
  };
  // Only the newest page moves; an older one is history and is read once.
  if (before) await load(ctx.signal);
  else poll(load, INTERVAL, ctx.signal);
  return 'Calls';
}

// functionFilter is a select of the token's functions when it is limited to some, else a text
// box suggesting the functions it may read.
function functionFilter(fn) {
  const me = session.current();
  if (session.scoped()) {
    const sel = h('select', { id: 'calls-function', test: 'calls-filter-function' },
      me.functions.map((f) => h('option', { value: f, selected: f === fn }, f)));
    return { el: sel, value: () => sel.value };
  }
  const list = h('datalist', { id: 'calls-function-names' });
  const input = h('input', {
    id: 'calls-function', test: 'calls-filter-function', value: fn, list: 'calls-function-names',
    autocomplete: 'off', spellcheck: 'false', placeholder: 'all functions',
  });
  if (session.can('read')) {
    // One page of the largest size: suggestions, not a complete list (typing a name works).
    get('/v1/functions', { query: { limit: 1000 } }).then((l) => {
      list.replaceChildren(...(l.items || []).map((f) => h('option', { value: f.name })));
    }, () => {});
  }
  return { el: h('div', null, input, list), value: () => input.value.trim() };
}
