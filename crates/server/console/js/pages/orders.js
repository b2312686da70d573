// Orders list (filters, sorting, paging, all kept in the URL hash) and the review queue of
// OPERATOR_REQUIRED orders, oldest first.

import * as api from '../api.js';
import { h, mount, field, select, time, ago, shortId, chip, table, empty, errorBox, dayToUnix, foldable } from '../dom.js';
import { go, current, render } from '../router.js';
import { can } from '../roles.js';
import { directory, STATUSES, TYPES, RESOLUTIONS, TYPE_LABEL } from './common.js';

const PER_PAGE = 20;

/** key=value, key==value or key!=value → the API's meta_data filter. */
function metaFilter(v) {
  v = (v || '').trim();
  if (!v) return '';
  if (v.includes('==') || v.includes('!=')) return v;
  const i = v.indexOf('=');
  return i > 0 ? `${v.slice(0, i).trim()}==${v.slice(i + 1).trim()}` : '';
}

/** The latest analysis of each type, as chips. */
function analysisChips(analyses) {
  const latest = {};
  for (const a of analyses || []) latest[a.type] = a;
  return Object.values(latest).map((a) => chip(a.resolution_status, TYPE_LABEL[a.type] || a.type));
}

function row(f, dir, withAge) {
  const link = h('a', { href: api.path`#/orders/${f.folder_id}` }, shortId(f.folder_id));
  return h(
    'tr',
    h('td', time(f.time_created), withAge ? h('div.muted', ago(f.time_created)) : null),
    h('td.mono', link),
    h('td', dir.company(f.company_id)),
    h('td', dir.user(f.user_id)),
    h('td.num', String((f.media || []).length)),
    h('td', h('div.chips', analysisChips(f.analyses))),
    h('td', chip(f.resolution_status)),
    h('td.mono', f.meta_data && f.meta_data.transaction_id ? String(f.meta_data.transaction_id) : ''),
  );
}

const HEAD = ['Created', 'Order', 'Company', 'Created by', 'Media', 'Analyses', 'Status', 'Transaction'];

export async function ordersPage(r, g) {
  const p = r.params;
  const page = Math.max(1, Number(p.get('page') || 1));
  const sort = p.get('sort') || 'time_created{desc}';
  const dir = await directory();
  if (!current(g)) return;
  const u = api.user();
  const wide = ['ADMIN', 'OPERATOR'].includes(u.user_type);
  const companyScoped = u.user_type !== 'CLIENT';

  const f = {
    status: select('status', ['', ...STATUSES], p.get('status')),
    type: select('type', [['', 'Any'], ...TYPES.map((t) => [t, TYPE_LABEL[t]])], p.get('type')),
    resolution: select('resolution', ['', ...RESOLUTIONS], p.get('resolution')),
    from: h('input', { type: 'date', name: 'from', value: p.get('from') || '' }),
    to: h('input', { type: 'date', name: 'to', value: p.get('to') || '' }),
    meta: h('input', { type: 'text', name: 'meta', placeholder: 'transaction_id=…', value: p.get('meta') || '' }),
    company: wide
      ? select('company', [['', 'Any'], ...dir.companies.map((c) => [c.company_id, c.name])], p.get('company'))
      : null,
    user: companyScoped
      ? select('user', [['', 'Anyone'], ...dir.users.map((x) => [x.user_id, x.email])], p.get('user'))
      : null,
    sort: select(
      'sort',
      [
        ['time_created{desc}', 'Newest first'],
        ['time_created{asc}', 'Oldest first'],
        ['time_updated{desc}', 'Recently updated'],
        ['time_updated{asc}', 'Least recently updated'],
      ],
      sort,
    ),
  };
  const form = h(
    'form.filters',
    { role: 'search', 'aria-label': 'Order filters' },
    field('Status', f.status),
    field('Analysis type', f.type),
    field('Analysis result', f.resolution),
    field('Created from', f.from),
    field('Created to', f.to),
    field('Metadata', f.meta),
    f.company ? field('Company', f.company) : null,
    f.user ? field('Created by', f.user) : null,
    field('Sort', f.sort),
    h('div.actions', h('button.primary', { type: 'submit' }, 'Apply'), h('button', { type: 'button', on: { click: () => go('orders') } }, 'Reset')),
  );
  const values = () => ({
    status: f.status.value,
    type: f.type.value,
    resolution: f.resolution.value,
    from: f.from.value,
    to: f.to.value,
    meta: f.meta.value.trim(),
    company: f.company ? f.company.value : '',
    user: f.user ? f.user.value : '',
    sort: f.sort.value,
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go('orders', values());
  });

  const results = h('div', { 'aria-live': 'polite' }, h('p.muted', 'Loading…'));
  mount(
    h('div.head', h('h1', 'Orders'), can('create') ? h('a.button.primary', { href: '#/orders/new' }, 'Create order') : null),
    foldable(form, ['status', 'type', 'resolution', 'from', 'to', 'meta', 'company', 'user'].filter((k) => p.get(k)).length),
    results,
  );
  if (p.get('meta') && !metaFilter(p.get('meta'))) {
    results.replaceChildren(errorBox('Metadata filter: use key=value or key!=value.'));
    return;
  }
  const query = {
    with_analyses: 'true',
    offset: (page - 1) * PER_PAGE,
    limit: PER_PAGE,
    sorting: sort,
    resolution_status: p.get('status'),
    analysis_type: p.get('type'),
    analysis_resolution: p.get('resolution'),
    'time_created.min': dayToUnix(p.get('from')),
    'time_created.max': dayToUnix(p.get('to'), true),
    meta_data: metaFilter(p.get('meta')),
    company_id: p.get('company'),
    user_id: p.get('user'),
  };
  let data;
  try {
    data = await api.get(`/api/folders${api.qs(query)}`);
  } catch (e) {
    if (e.status !== 401 && current(g)) results.replaceChildren(errorBox(e));
    return;
  }
  if (!current(g)) return;
  const pages = Math.max(1, Math.ceil(data.total / PER_PAGE));
  const pager = (n, label) =>
    h('button', { type: 'button', disabled: n < 1 || n > pages, on: { click: () => go('orders', { ...Object.fromEntries(p), page: n }) } }, label);
  results.replaceChildren(
    data.items.length
      ? table(HEAD, data.items.map((x) => row(x, dir)), `${data.total} order${data.total === 1 ? '' : 's'}`)
      : empty('No orders match these filters.'),
    h('nav.pager', { 'aria-label': 'Pages' }, pager(page - 1, '‹ Previous'), h('span', `Page ${page} of ${pages}`), pager(page + 1, 'Next ›')),
  );
  // follow orders still processing (the page re-renders itself, keeping its filters)
  if (data.items.some((x) => x.resolution_status === 'PROCESSING')) setTimeout(() => current(g) && render(), 3000);
}

export async function reviewPage(r, g) {
  const dir = await directory();
  if (!current(g)) return;
  const results = h('div', { 'aria-live': 'polite' }, h('p.muted', 'Loading…'));
  mount(
    h('h1', 'Review queue'),
    h('p.muted', 'Orders waiting for an operator decision (OPERATOR_REQUIRED), oldest first.'),
    results,
  );
  const data = await api.get('/api/folders?resolution_status=OPERATOR_REQUIRED&sorting=time_created%7Basc%7D&with_analyses=true&limit=100');
  if (!current(g)) return;
  results.replaceChildren(
    data.items.length
      ? table(HEAD, data.items.map((x) => row(x, dir, true)), `${data.total} waiting`)
      : empty('Nothing to review. New OPERATOR_REQUIRED orders appear here.'),
  );
}
