// charts.js: time-series charts with uPlot, the vendored library (vendor/README.md), loaded
// the first time a chart is drawn so that pages without charts do not pay for it.

let loading = null;

/** loadUPlot loads vendor/uPlot.iife.min.js once and resolves to the uPlot constructor. */
export function loadUPlot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = 'vendor/uPlot.iife.min.js';
      s.onload = () => (window.uPlot ? resolve(window.uPlot) : reject(new Error('the chart library did not load')));
      s.onerror = () => {
        loading = null;
        reject(new Error('the chart library (vendor/uPlot.iife.min.js) could not be loaded'));
      };
      document.head.append(s);
    });
  }
  return loading;
}

// Colours with enough contrast on white, told apart by more than hue where it matters
// (dashes for the second and third series).
export const COLORS = {
  blue: '#1d4ed8',
  red: '#b91c1c',
  green: '#15803d',
  amber: '#b45309',
  purple: '#7e22ce',
};

/**
 * Chart draws one uPlot chart into a container and keeps it the container's width. series:
 * [{ label, color, dash, fill, unit }]. set(xs, ...ys) gives it data (xs in seconds).
 */
export class Chart {
  constructor(uPlot, box, { series, unit = '', height = 200 }) {
    this.box = box;
    const fmt = (v) => (v === null || v === undefined ? '—' : (Math.round(v * 100) / 100) + (unit ? ' ' + unit : ''));
    const opts = {
      width: Math.max(box.clientWidth, 280),
      height,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, unit ? 1 : 4)] } },
      axes: [
        { stroke: '#374151', grid: { stroke: '#e5e7eb' } },
        { stroke: '#374151', grid: { stroke: '#e5e7eb' }, size: 56, values: (u, vals) => vals.map((v) => v + (unit ? ' ' + unit : '')) },
      ],
      series: [{}, ...series.map((s) => ({
        label: s.label, stroke: s.color, width: 2, dash: s.dash, fill: s.fill, value: (u, v) => fmt(v), spanGaps: false,
        // uPlot shows the points when they are far enough apart; a lone value between gaps
        // (the one minute with calls in a quiet day) draws no line, so its point is shown
        // whatever the spacing.
        points: { size: 5, filter: lonePoints },
      }))],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    this.u = new uPlot(opts, [[], ...series.map(() => [])], box);
    this.ro = new ResizeObserver(() => {
      const w = Math.max(box.clientWidth, 280);
      if (w !== this.u.width) this.u.setSize({ width: w, height });
    });
    this.ro.observe(box);
  }

  set(data) {
    this.u.setData(data);
  }

  destroy() {
    this.ro.disconnect();
    this.u.destroy();
  }
}

/**
 * lonePoints is a uPlot points filter: with the points shown (show), all of them; otherwise
 * the values that have no neighbour to draw a line to, which would not be seen at all.
 */
function lonePoints(u, seriesIdx, show) {
  if (show) return null;
  const ys = u.data[seriesIdx] || [];
  const lone = [];
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] != null && ys[i - 1] == null && ys[i + 1] == null) lone.push(i);
  }
  return lone;
}
