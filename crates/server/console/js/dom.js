// Small DOM helpers: element builder (text is always set as text, never parsed as HTML),
// formatting, status chips, authenticated images, notices.

import { blobUrl } from './api.js';

/**
 * h('tag.class#id', {attrs, on: {click}}, ...children). Attribute `class` and `for` work;
 * booleans set/unset; children may be strings, nodes, arrays, null.
 */
export function h(spec, attrs, ...children) {
  if (attrs === null || typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  const [, tag, rest] = spec.match(/^([a-z0-9-]+)(.*)$/i);
  const el = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'on') for (const [ev, f] of Object.entries(v)) el.addEventListener(ev, f);
    else if (k === 'class') String(v).split(/\s+/).filter(Boolean).forEach((c) => el.classList.add(c));
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else if (v === false || v === null || v === undefined) continue;
    else if (k === 'value' && el.tagName === 'INPUT') el.setAttribute('value', v); // also the default value
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replace the main area's content and move focus there (for keyboard and screen readers). */
export function mount(...children) {
  const main = document.getElementById('main');
  main.replaceChildren(...children.flat().filter(Boolean));
  return main;
}

let uid = 0;
export const nextId = (p = 'f') => `${p}${++uid}`;

/** A labelled form field. `input` is an element; returns a wrapper with the label bound to it. */
export function field(label, input, hint) {
  if (!input.id) input.id = nextId();
  return h(
    'div.field',
    h('label', { for: input.id }, label),
    input,
    hint ? h('small.muted', hint) : null,
  );
}

export function select(name, options, value, attrs = {}) {
  return h(
    'select',
    { name, ...attrs },
    options.map((o) => {
      const [v, label] = Array.isArray(o) ? o : [o, o === '' ? 'Any' : o];
      return h('option', { value: v, selected: String(v) === String(value ?? '') }, label);
    }),
  );
}

export function time(secs) {
  if (secs === null || secs === undefined) return '–';
  const d = new Date(secs * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function ago(secs) {
  const d = Date.now() / 1000 - secs;
  if (d < 90) return `${Math.max(0, Math.round(d))} s ago`;
  if (d < 5400) return `${Math.round(d / 60)} min ago`;
  if (d < 129600) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86400)} days ago`;
}

export const shortId = (id) => (id ? String(id).slice(0, 8) : '–');

export function num(x, digits = 3) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–';
}

const STATUS_CLASS = {
  SUCCESS: 'ok',
  FINISHED: 'ok',
  DELIVERED: 'ok',
  DECLINED: 'bad',
  FAILED: 'bad',
  OPERATOR_REQUIRED: 'warn',
  PROCESSING: 'busy',
  PENDING: 'busy',
  INITIAL: 'idle',
};

export function chip(status, extra) {
  return h(`span.chip.${STATUS_CLASS[status] || 'idle'}`, extra ? `${extra}: ${status}` : status || '–');
}

/** A bar showing a score against a threshold (both 0..1), with the exact value as text. */
export function scoreBar(value, threshold, label) {
  const wrap = h('span.score', { title: `${label || 'score'} ${num(value, 4)}; threshold ${num(threshold, 2)}` });
  const bar = h('span.bar');
  const fill = h('span.fill');
  fill.style.width = `${Math.max(0, Math.min(1, value || 0)) * 100}%`;
  bar.append(fill);
  if (typeof threshold === 'number') {
    const t = h('span.tick');
    t.style.left = `${threshold * 100}%`;
    bar.append(t);
  }
  wrap.append(bar, h('span.val', num(value, 4)));
  return wrap;
}

/** An <img> filled from an authenticated URL. */
export function authImg(url, alt, cls = 'thumb') {
  const img = h(`img.${cls}`, { alt, loading: 'lazy' });
  if (url) {
    blobUrl(url)
      .then((u) => (img.src = u))
      .catch(() => {
        img.replaceWith(h(`span.${cls}.missing`, { role: 'img', 'aria-label': `${alt} (not available)` }, 'n/a'));
      });
  }
  return img;
}

export function toast(msg, kind = 'info') {
  const t = document.getElementById('toast');
  const el = h(`div.note.${kind}`, msg);
  t.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

export function errorBox(e) {
  return h('div.note.error', { role: 'alert' }, e && e.message ? e.message : String(e));
}

export function empty(msg) {
  return h('p.empty', msg);
}

/**
 * A table in its own scrolling box. Each cell carries its column's name (`data-label`) so that on
 * a phone the rows show as cards (the style sheet's `table.cards`).
 */
export function table(headers, rows, caption) {
  for (const tr of [rows].flat()) {
    if (!tr || !tr.children) continue;
    [...tr.children].forEach((cell, i) => {
      if (headers[i] && !cell.dataset.label) cell.dataset.label = headers[i];
      // an empty cell has no line in a row's card
      if (!cell.textContent.trim() && !cell.querySelector('img, button, a, input, select')) cell.classList.add('blank');
    });
  }
  return h(
    'div.tablewrap',
    h(
      'table.cards',
      caption ? h('caption', caption) : null,
      h('thead', h('tr', headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', rows),
    ),
  );
}

/** Buttons that run an async action, disabled while it runs; errors become a toast. */
export function button(label, action, attrs = {}) {
  const b = h('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', async (ev) => {
    b.disabled = true;
    try {
      await action(ev);
    } catch (e) {
      toast(e.message || String(e), 'error');
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** Date input value (YYYY-MM-DD, local) → UNIX seconds at the start (or end) of that day. */
export function dayToUnix(v, end = false) {
  if (!v) return '';
  const [y, m, d] = v.split('-').map(Number);
  const t = new Date(y, m - 1, d, end ? 23 : 0, end ? 59 : 0, end ? 59 : 0);
  return Math.floor(t.getTime() / 1000);
}

export function personName(meta) {
  const p = (meta && meta.person_info) || {};
  const n = [p.first_name, p.middle_name, p.last_name].filter(Boolean).join(' ');
  return n || 'Unnamed person';
}

/**
 * Filters folded away behind a summary ("Filters · 2 set"): open on wide screens, closed on a
 * phone so the data comes first.
 */
export function foldable(form, active = 0) {
  const wide = window.matchMedia('(min-width: 721px)').matches;
  return h('details.filterbox', { open: wide }, h('summary', active ? `Filters · ${active} set` : 'Filters'), form);
}
