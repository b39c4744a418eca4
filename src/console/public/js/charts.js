import { h, svg } from './dom.js';
import { formatClock } from './format.js';

// Small inline-SVG charts. The SVG holds only shapes and stretches to its box; labels are HTML around it, so
// text stays readable at any width. Each chart also has a text summary for screen readers.

const W = 600;
const H = 120;

function frame(title, summary, { max, min = '0', first, last, legend, shapes }) {
  return h('figure', { class: 'chart panel' },
    h('figcaption', null, h('h3', null, title), h('p', { class: 'muted small' }, summary)),
    h('div', { class: 'chart-body' },
      h('span', { class: 'y-max', 'aria-hidden': 'true' }, max),
      h('span', { class: 'y-min', 'aria-hidden': 'true' }, min),
      svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `${title}: ${summary}` },
        svg('line', { class: 'grid-line', x1: 0, x2: W, y1: H / 2, y2: H / 2, 'vector-effect': 'non-scaling-stroke' }),
        shapes)),
    h('div', { class: 'x-axis', 'aria-hidden': 'true' }, h('span', null, first), h('span', null, last)),
    legend ? h('div', { class: 'legend' }, legend.map((l) => h('span', null, h('span', { class: `swatch ${l.cls}` }), l.label))) : null);
}

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= value) ?? 10;
  return step * magnitude;
}

/** Stacked columns, one per point; `stacks` = [{ key, label, fill, legend }]. */
export function columnChart(title, summary, points, stacks) {
  const totals = points.map((p) => stacks.reduce((sum, s) => sum + (Number(p[s.key]) || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const slot = W / Math.max(points.length, 1);
  const gap = slot > 6 ? 1.5 : 0;
  const shapes = points.map((p, i) => {
    let y = H;
    const parts = stacks.map((s) => {
      const v = Number(p[s.key]) || 0;
      const height = (v / max) * H;
      y -= height;
      return v > 0 ? svg('rect', { class: s.fill, x: i * slot + gap / 2, y, width: Math.max(slot - gap, 0.5), height }) : null;
    });
    const tip = `${formatClock(p.minute)}: ${stacks.map((s) => `${Number(p[s.key]) || 0} ${s.label}`).join(', ')}`;
    return svg('g', null, svg('title', null, tip), svg('rect', { x: i * slot, y: 0, width: slot, height: H, fill: 'transparent' }), parts);
  });
  return frame(title, summary, {
    max: String(max),
    first: points.length ? formatClock(points[0].minute) : '',
    last: points.length ? formatClock(points[points.length - 1].minute) : '',
    legend: stacks.map((s) => ({ cls: s.legend, label: s.label })),
    shapes,
  });
}

/** A line over ratios 0…1; points without a value (no attempts that minute) break the line. */
export function ratioChart(title, summary, points, ratioOf) {
  const slot = W / Math.max(points.length, 1);
  const values = points.map(ratioOf);
  const top = Math.max(0.1, ...values.filter((v) => v !== null));
  const max = Math.min(1, niceMax(top * 100) / 100);
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    const x = i * slot + slot / 2;
    const y = H - (Math.min(v, max) / max) * H;
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)} `;
    pen = true;
  });
  const dots = values.map((v, i) => (v === null ? null : svg('rect', { class: 'fill-bad', x: i * slot + slot / 2 - 1.5, y: H - (Math.min(v, max) / max) * H - 1.5, width: 3, height: 3 },
    svg('title', null, `${formatClock(points[i].minute)}: ${(v * 100).toFixed(1)}% failed`))));
  return frame(title, summary, {
    max: `${Math.round(max * 100)}%`,
    min: '0%',
    first: points.length ? formatClock(points[0].minute) : '',
    last: points.length ? formatClock(points[points.length - 1].minute) : '',
    shapes: [d ? svg('path', { class: 'stroke-bad', d: d.trim(), 'vector-effect': 'non-scaling-stroke' }) : null, dots],
  });
}
