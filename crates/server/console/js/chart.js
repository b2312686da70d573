// Plain SVG charts: stacked bars over time and horizontal bars. Colours come from CSS classes
// (`.s-SUCCESS`, …) so the style sheet owns them; every bar carries a <title> with its value.

import { h, s } from './dom.js';

// Charts are drawn at the width they are shown at (one SVG unit = one CSS pixel), so labels keep
// their size (≥ 11 px) on a phone and in a half-width column alike.
const H = 220;
const chartWidth = (w) => Math.max(280, Math.min(1200, Math.round(w || 1100)));
const PAD = { l: 40, r: 10, t: 10, b: 40 };

/** The axis maximum: 4 ticks of a round step (1, 2, 5 × 10^k) covering `v`. */
function niceMax(v) {
  const raw = Math.max(1, v) / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw);
  return Math.max(1, Math.ceil(step)) * 4;
}

/**
 * Stacked bars: `columns` = [{label, values: {series: n}}], `series` = names in stacking order.
 */
export function stackedBars(columns, series, title, width) {
  const W = chartWidth(width);
  const max = niceMax(Math.max(1, ...columns.map((c) => series.reduce((a, k) => a + (c.values[k] || 0), 0))));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const slot = columns.length ? iw / columns.length : iw;
  const bw = Math.min(slot, 90);
  const left = PAD.l + (iw - slot * columns.length) / 2 + (slot - bw) / 2;
  const y = (v) => PAD.t + ih - (v / max) * ih;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart' }, s('title', {}, title));
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    svg.append(s('line', { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: 'grid' }), s('text', { x: PAD.l - 4, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, String(Math.round(v))));
  }
  // a label every ~90 px at most
  const every = Math.max(1, Math.ceil(columns.length / Math.max(1, Math.floor(iw / 90))));
  columns.forEach((c, i) => {
    let acc = 0;
    const x = left + i * slot + bw * 0.15;
    for (const k of series) {
      const v = c.values[k] || 0;
      if (!v) continue;
      svg.append(s('rect', { x, y: y(acc + v), width: Math.max(1, bw * 0.7), height: y(acc) - y(acc + v), class: `s-${k}` }, s('title', {}, `${c.label}: ${k} ${v}`)));
      acc += v;
    }
    if (i % every === 0) svg.append(s('text', { x: x + bw * 0.35, y: H - PAD.b + 16, class: 'axis', 'text-anchor': 'middle' }, c.label));
  });
  return h('figure.chartbox', svg, legend(series), h('figcaption.sr', title));
}

/** Horizontal bars: rows = [{label, value, cls}], values shown as text next to each bar. */
export function hBars(rows, title, fmt = String, width) {
  const W = chartWidth(width);
  const labelW = 100;
  const max = Math.max(1, ...rows.map((r) => r.value || 0));
  const rowH = 26;
  const height = rows.length * rowH + 10;
  const svg = s('svg', { viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-label': title, class: 'chart' }, s('title', {}, title));
  rows.forEach((r, i) => {
    const y = 5 + i * rowH;
    const w = ((r.value || 0) / max) * (W - labelW - 70);
    svg.append(
      s('text', { x: labelW - 6, y: y + 17, class: 'axis', 'text-anchor': 'end' }, r.label),
      s('rect', { x: labelW, y: y + 4, width: Math.max(0, w), height: rowH - 8, class: r.cls || 's-bar' }, s('title', {}, `${r.label}: ${fmt(r.value)}`)),
      s('text', { x: labelW + 6 + w, y: y + 17, class: 'val' }, fmt(r.value)),
    );
  });
  return h('figure.chartbox', svg, h('figcaption.sr', title));
}

function legend(series) {
  return h(
    'ul.legend',
    series.map((k) => h('li', s('svg', { width: 12, height: 12, 'aria-hidden': 'true' }, s('rect', { width: 12, height: 12, class: `s-${k}` })), ` ${k}`)),
  );
}
