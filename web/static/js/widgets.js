// widgets.js: small pieces several pages draw: state badges, capacity bars, call links.

import { h, setText, mb, cpu, short } from './dom.js';
import { href } from './router.js';

/** badge shows a state ("ready", "failing", "succeeded", ...) with a colour by its class. */
export function badge(state, test) {
  return h('span', { class: 'badge s-' + (state || 'unknown'), test }, state || 'unknown');
}

/** setBadge changes a badge made by badge() in place. */
export function setBadge(el, state) {
  const cls = 'badge s-' + (state || 'unknown');
  if (el.className !== cls) el.className = cls;
  setText(el, state || 'unknown');
}

/**
 * bar shows how much of a capacity is reserved: a meter with its numbers written beside it.
 * kind is "memory" or "cpu"; a capacity of 0 means no limit, so there is nothing to fill.
 */
export function bar(kind, reserved, capacity, test) {
  const fmt = kind === 'memory' ? mb : cpu;
  const label = kind === 'memory' ? 'Memory' : 'CPU';
  const limited = capacity > 0;
  const frac = limited ? Math.min(1, reserved / capacity) : 0;
  const p = Math.round(frac * 100);
  const text = limited ? `${fmt(reserved)} of ${fmt(capacity)} reserved (${p}%)` : `${fmt(reserved)} reserved, no limit`;
  const fill = h('span', { class: 'fill' + (frac >= 0.9 ? ' high' : frac >= 0.7 ? ' mid' : '') });
  fill.style.width = (frac * 100).toFixed(1) + '%';
  return h('div', { class: 'bar-row', test },
    h('span', { class: 'bar-label' }, label),
    h('span', {
      class: 'bar' + (limited ? '' : ' unlimited'), role: 'meter', 'aria-label': `${label} reserved`,
      'aria-valuemin': '0', 'aria-valuemax': String(limited ? capacity : Math.max(reserved, 1)),
      'aria-valuenow': String(reserved), 'aria-valuetext': text,
    }, fill),
    h('span', { class: 'bar-text' }, text));
}

/** instanceCounts writes a node's or function's instances by state: "2 ready · 1 paused". */
export function instanceCounts(counts) {
  const parts = Object.entries(counts || {}).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
  return parts.length ? parts.join(' · ') : 'none';
}

/** callLink links to a call's detail page, showing the end of its id. */
export function callLink(id, attrs = {}) {
  return h('a', { href: href('/calls/' + encodeURIComponent(id)), title: id, class: 'mono', ...attrs }, short(id));
}

/** functionLink links to a function's page. */
export function functionLink(name, attrs = {}) {
  return h('a', { href: href('/functions/' + encodeURIComponent(name)), ...attrs }, name);
}

/** startType says how a call's instance came to take it, from the call's cold field. */
export function startType(c) {
  if (c.cold) return c.cold;
  return c.started_at && !c.started_at.startsWith('0001') && c.instance ? 'warm' : '—';
}
