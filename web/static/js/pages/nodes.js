// The nodes page: each node's state, memory and CPU reserved of its capacity, instances by
// state, and for admins drain and undrain. Read every 2 s.

import { get, post, seg } from '../api.js';
import { h, setText, scroller, message, showError, timeEl, errorText, DASH } from '../dom.js';
import { poll, isAbort } from '../live.js';
import * as session from '../session.js';
import { badge, bar, instanceCounts } from '../widgets.js';

const INTERVAL = 2000;

export async function render(root, ctx) {
  root.append(h('h1', null, 'Nodes'));
  if (!session.can('nodes')) {
    root.append(message(session.whyNot('nodes'), 'note', 'nodes-denied'));
    return 'Nodes';
  }
  const admin = session.can('manageNodes');
  const error = message('', 'error', 'nodes-error');
  error.hidden = true;
  // Where the outcome of a drain or undrain is said, for everyone.
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', test: 'nodes-status' });
  const tbody = h('tbody');
  const table = h('table', { class: 'data', test: 'nodes-table' },
    h('caption', { class: 'sr-only' }, 'Nodes'),
    h('thead', null, h('tr', null, ['Node', 'State', 'Capacity reserved', 'Instances', 'Images', 'Driver', 'Last seen', admin ? 'Actions' : null]
      .filter(Boolean).map((t) => h('th', { scope: 'col', class: t === 'Images' ? 'num' : '' }, t)))),
    tbody);
  if (!admin) root.append(message(session.whyNot('manageNodes').replace('This', 'Draining and undraining'), 'note', 'nodes-readonly'));
  root.append(
    h('p', { class: 'help' }, 'Draining stops placements on a node at once, stops its idle instances, and its busy ones after their last call. It lasts across restarts until undrained.'),
    error, status, scroller('Nodes', table));

  let key = '';
  const rows = new Map();
  const run = poll(async (signal) => {
    let list;
    try {
      list = await get('/v1/nodes', { signal });
    } catch (err) {
      if (!isAbort(err)) showError(error, err);
      return;
    }
    showError(error, null);
    const nodes = list.items || [];
    // Rebuild only when something shown changed, so that a focused button keeps its focus.
    const k = JSON.stringify(nodes.map((n) => [n.id, n.state, n.reserved, n.capacity, n.instances, n.images, n.problem, n.driver, n.labels]));
    if (k !== key) {
      key = k;
      rows.clear();
      const focused = document.activeElement && document.activeElement.getAttribute('data-test');
      tbody.replaceChildren(...nodes.map((n) => {
        const r = row(n);
        rows.set(n.id, r);
        return r.tr;
      }));
      if (focused) {
        // The focused button comes back, or its counterpart once the node changed state
        // (node-drain-ID became node-undrain-ID): a keyboard user stays where they were.
        const other = focused.startsWith('node-drain-') ? focused.replace('node-drain-', 'node-undrain-')
          : focused.replace('node-undrain-', 'node-drain-');
        const again = tbody.querySelector(`[data-test="${CSS.escape(focused)}"]`) ||
          tbody.querySelector(`[data-test="${CSS.escape(other)}"]`);
        if (again) again.focus();
      }
      if (!nodes.length) tbody.append(h('tr', null, h('td', { colspan: '8', class: 'muted' }, 'No nodes.')));
    }
    for (const n of nodes) {
      const r = rows.get(n.id);
      if (r && !n.local) r.seen.replaceChildren(timeEl(n.last_seen));
    }
  }, INTERVAL, ctx.signal);

  function row(n) {
    const seen = h('td', null, n.local ? 'local' : timeEl(n.last_seen));
    const labels = Object.entries(n.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ');
    const tr = h('tr', { test: 'node-row-' + n.id },
      h('th', { scope: 'row' }, h('div', { class: 'strong' }, n.name || n.id),
        n.name && n.name !== n.id ? h('div', { class: 'mono small muted' }, n.id) : null, n.address ? h('div', { class: 'small' }, n.address) : null,
        labels ? h('div', { class: 'small muted' }, labels) : null),
      h('td', null, badge(n.state, 'node-state-' + n.id), n.local ? h('span', { class: 'small muted' }, ' local') : null,
        n.problem ? h('div', { class: 'small error' }, n.problem) : null),
      h('td', { class: 'bars' }, bar('memory', n.reserved.memory_mb, n.capacity.memory_mb), bar('cpu', n.reserved.cpu_milli, n.capacity.cpu_milli)),
      h('td', null, instanceCounts(n.instances)),
      h('td', { class: 'num' }, String(n.images || 0)),
      h('td', { class: 'small' }, n.driver || DASH, n.can_pause ? '' : h('div', { class: 'muted' }, 'cannot pause')),
      seen,
      admin ? h('td', null, actionButton(n)) : null);
    return { tr, seen };
  }

  function actionButton(n) {
    const draining = n.state === 'draining';
    const verb = draining ? 'undrain' : 'drain';
    const b = h('button', {
      type: 'button', class: draining ? 'secondary small' : 'small', test: (draining ? 'node-undrain-' : 'node-drain-') + n.id,
      'aria-label': `${draining ? 'Undrain' : 'Drain'} ${n.name || n.id}`,
    }, draining ? 'Undrain' : 'Drain');
    // Busy is said with aria-disabled rather than disabled: a disabled button drops the
    // keyboard focus, which should stay on it (and on its counterpart once the row is redrawn).
    b.addEventListener('click', async () => {
      if (b.getAttribute('aria-disabled') === 'true') return;
      b.setAttribute('aria-disabled', 'true');
      status.className = 'status';
      setText(status, `${draining ? 'Undraining' : 'Draining'} ${n.name || n.id}…`);
      try {
        const after = await post(`/v1/nodes/${seg(n.id)}/${verb}`);
        status.className = 'status ok';
        setText(status, `${after.name || after.id} is now ${after.state}.`);
        run.now();
      } catch (err) {
        status.className = 'status error';
        setText(status, `Could not ${verb} ${n.name || n.id}: ${errorText(err)}`);
        b.removeAttribute('aria-disabled');
      }
    });
    return b;
  }
  return 'Nodes';
}
