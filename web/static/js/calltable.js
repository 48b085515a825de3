// calltable.js: the table of call records shared by the calls page and a function's page.
//
// update() rebuilds the rows only when the calls or their statuses changed, so that a poll
// every 2 s does not take the focus away from a link; otherwise it refreshes the "ago" times.

import { h, setText, ms, ago, DASH, parseTime } from './dom.js';
import { badge, callLink, functionLink, startType } from './widgets.js';

/**
 * callsTable makes an empty table. opts.withFunction adds the function's column; opts.test
 * names the table (data-test); rows are call-row-ID.
 */
export function callsTable(opts = {}) {
  const head = ['When'];
  if (opts.withFunction) head.push('Function');
  head.push('Status', 'HTTP', 'Duration', 'Start', 'Version', 'Kind', 'Call');
  const tbody = h('tbody');
  const table = h('table', { class: 'data', test: opts.test || 'calls-table' },
    h('caption', { class: 'sr-only' }, opts.caption || 'Calls, newest first'),
    h('thead', null, h('tr', null, head.map((t) => h('th', {
      scope: 'col', class: ['HTTP', 'Duration', 'Version'].includes(t) ? 'num' : '',
    }, t)))),
    tbody);
  let key = null;
  let times = [];

  function row(c) {
    const when = h('time', { datetime: c.created_at, title: (parseTime(c.created_at) || new Date()).toLocaleString() }, ago(c.created_at));
    times.push([when, c.created_at]);
    return h('tr', { test: 'call-row-' + c.id, 'data-status': c.status },
      h('td', null, when),
      opts.withFunction ? h('td', null, functionLink(c.function)) : null,
      h('td', null, badge(c.status)),
      h('td', { class: 'num' }, c.http_status ? String(c.http_status) : DASH),
      h('td', { class: 'num' }, c.duration_ms ? ms(c.duration_ms) : DASH),
      h('td', null, startType(c)),
      h('td', { class: 'num' }, c.version ? String(c.version) : DASH),
      h('td', null, c.async ? 'async' : 'sync'),
      h('td', null, callLink(c.id)));
  }

  return {
    el: table,
    update(calls) {
      const k = calls.map((c) => c.id + ':' + c.status).join(',');
      if (k === key) {
        for (const [el, t] of times) setText(el, ago(t));
        return;
      }
      key = k;
      times = [];
      tbody.replaceChildren(...calls.map(row));
    },
  };
}
