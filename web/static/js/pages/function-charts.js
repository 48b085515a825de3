// A function's charts over the last hour or day, from GET .../stats: calls and errors,
// duration percentiles, and cold (new, resumed) against warm starts. Each chart has a caption
// with the range's totals, which is also what a screen reader gets.

import { get, seg } from '../api.js';
import { h, setText, section, errorText, ms } from '../dom.js';
import { poll, isAbort } from '../live.js';
import { loadUPlot, Chart, COLORS } from '../charts.js';

// The ranges: what the stats endpoint is asked for, and how often it is asked again.
const RANGES = {
  '1h': { label: 'Last hour', since: '1h', step: '1m', every: 2000 },
  '24h': { label: 'Last day', since: '24h', step: '10m', every: 60000 },
};

const CHARTS = [
  { id: 'calls', title: 'Calls and errors', unit: '', series: [
    { label: 'Calls', color: COLORS.blue, fill: 'rgba(29,78,216,0.08)' },
    { label: 'Errors', color: COLORS.red },
  ] },
  { id: 'latency', title: 'Duration', unit: 'ms', series: [
    { label: 'p50', color: COLORS.green },
    { label: 'p90', color: COLORS.amber, dash: [6, 3] },
    { label: 'p99', color: COLORS.red, dash: [2, 2] },
  ] },
  { id: 'starts', title: 'Warm and cold starts', unit: '', series: [
    { label: 'Warm', color: COLORS.blue },
    { label: 'New instance', color: COLORS.purple, dash: [6, 3] },
    { label: 'Resumed', color: COLORS.amber, dash: [2, 2] },
  ] },
];

/** columns turns the endpoint's points into uPlot's columns, one per chart. */
export function columns(points) {
  const xs = [], calls = [], errors = [], p50 = [], p90 = [], p99 = [], warm = [], cnew = [], cres = [];
  for (const p of points) {
    xs.push(Date.parse(p.t) / 1000);
    calls.push(p.calls);
    errors.push(p.errors);
    // A step without calls has no duration: a gap, not a zero.
    const none = !p.calls;
    p50.push(none ? null : p.p50_ms);
    p90.push(none ? null : p.p90_ms);
    p99.push(none ? null : p.p99_ms);
    cnew.push(p.cold_new);
    cres.push(p.cold_resumed);
    warm.push(Math.max(0, p.calls - p.cold_new - p.cold_resumed));
  }
  return { calls: [xs, calls, errors], latency: [xs, p50, p90, p99], starts: [xs, warm, cnew, cres] };
}

function summaries(points) {
  let calls = 0, errors = 0, cnew = 0, cres = 0, p99 = 0, p50s = 0, n = 0;
  for (const p of points) {
    calls += p.calls;
    errors += p.errors;
    cnew += p.cold_new;
    cres += p.cold_resumed;
    if (p.calls) {
      p99 = Math.max(p99, p.p99_ms);
      p50s += p.p50_ms;
      n++;
    }
  }
  return {
    calls: `${calls} calls, ${errors} errors.`,
    latency: n ? `Highest p99 ${ms(p99)}; mean of the p50s ${ms(p50s / n)}.` : 'No calls: no durations.',
    starts: `${calls - cnew - cres} warm, ${cnew} on a new instance, ${cres} on a resumed one.`,
  };
}

export function chartsSection(name, signal) {
  const range = h('select', { id: 'stats-range', test: 'stats-range' },
    Object.entries(RANGES).map(([k, r]) => h('option', { value: k }, r.label)));
  const status = h('p', { class: 'error', role: 'alert', test: 'stats-error', hidden: true });
  const figs = {};
  const grid = h('div', { class: 'charts' });
  for (const c of CHARTS) {
    const box = h('div', { class: 'chart', test: 'chart-' + c.id, role: 'img', 'aria-label': `${c.title} chart` });
    const caption = h('figcaption', null, h('strong', null, c.title), ' ', h('span', { test: `chart-${c.id}-summary` }, 'Loading…'));
    figs[c.id] = { box, caption: caption.lastChild, chart: null };
    grid.append(h('figure', { class: 'chart-fig' }, caption, box));
  }
  const el = section('Charts', 'fn-charts',
    h('div', { class: 'toolbar' }, h('label', { for: 'stats-range' }, 'Range'), range), status, grid);

  let uPlot = null;
  let current = '1h';
  const run = poll(async (sig) => {
    const r = RANGES[current];
    let stats;
    try {
      [stats, uPlot] = await Promise.all([
        get('/v1/functions/' + seg(name) + '/stats', { query: { since: r.since, step: r.step }, signal: sig }),
        uPlot || loadUPlot(),
      ]);
    } catch (err) {
      if (isAbort(err)) return;
      status.hidden = false;
      setText(status, 'Charts unavailable: ' + errorText(err));
      return;
    }
    status.hidden = true;
    const cols = columns(stats.points || []);
    const sums = summaries(stats.points || []);
    for (const c of CHARTS) {
      const f = figs[c.id];
      // The box is laid out only once the section is in the page: build the chart then.
      if (!f.chart) f.chart = new Chart(uPlot, f.box, { series: c.series, unit: c.unit });
      f.chart.set(cols[c.id]);
      setText(f.caption, sums[c.id]);
    }
  }, RANGES[current].every, signal);

  range.addEventListener('change', () => {
    current = range.value;
    run.setInterval(RANGES[current].every);
    run.now();
  });
  signal.addEventListener('abort', () => {
    for (const f of Object.values(figs)) if (f.chart) f.chart.destroy();
  });
  return { el };
}
