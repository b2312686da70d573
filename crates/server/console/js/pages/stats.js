// Statistics: GET /api/statistics/summary and /timeseries (aggregated by the server in SQL,
// scoped to what the user may see), charts in plain SVG, CSV export of the same numbers.

import * as api from '../api.js';
import { h, mount, field, select, table, empty, errorBox, toast, dayToUnix, foldable } from '../dom.js';
import { go, current } from '../router.js';
import { seesAllCompanies } from '../roles.js';
import { stackedBars, hBars } from '../chart.js';
import { directory, TYPES, TYPE_LABEL } from './common.js';

const ORDER_STATUSES = ['SUCCESS', 'DECLINED', 'OPERATOR_REQUIRED', 'FAILED', 'PROCESSING', 'INITIAL'];
const RESULTS = ['SUCCESS', 'DECLINED', 'OPERATOR_REQUIRED', 'FAILED', 'PROCESSING'];
const DAY = 86400;

const pct = (x) => (typeof x === 'number' ? `${(x * 100).toFixed(1)} %` : '–');
const ms = (x) => (typeof x === 'number' ? (x >= 10000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`) : '–');

function stat(key, value, label) {
  return h('div.stat', h('span.v', { dataset: { stat: key } }, String(value)), h('span.l', label));
}

function utcDay(secs) {
  return new Date(secs * 1000).toISOString().slice(0, 10);
}

export async function statsPage(r, g) {
  const p = r.params;
  const dir = await directory();
  if (!current(g)) return;
  const wide = seesAllCompanies();
  const f = {
    from: h('input', { type: 'date', name: 'from', value: p.get('from') || '' }),
    to: h('input', { type: 'date', name: 'to', value: p.get('to') || '' }),
    company: wide ? select('company', [['', 'All companies'], ...dir.companies.map((c) => [c.company_id, c.name])], p.get('company')) : null,
    user: select('user', [['', 'All users'], ...dir.users.map((x) => [x.user_id, x.email])], p.get('user')),
    interval: select('interval', [['day', 'Day'], ['week', 'Week']], p.get('interval') || 'day'),
  };
  const form = h(
    'form.filters',
    { role: 'search', 'aria-label': 'Statistics filters' },
    field('From', f.from),
    field('To', f.to),
    f.company ? field('Company', f.company) : null,
    field('User', f.user),
    field('Interval', f.interval),
    h('div.actions', h('button.primary', { type: 'submit' }, 'Apply')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go('stats', { from: f.from.value, to: f.to.value, company: f.company ? f.company.value : '', user: f.user.value, interval: f.interval.value });
  });
  const query = {
    'time_created.min': dayToUnix(p.get('from')),
    'time_created.max': dayToUnix(p.get('to'), true),
    company_id: p.get('company'),
    user_id: p.get('user'),
  };
  const interval = p.get('interval') === 'week' ? 'week' : 'day';
  const body = h('div', { 'aria-live': 'polite' }, h('p.muted', 'Loading…'));
  const csv = (what) => async () => {
    try {
      await api.download(`/api/statistics/${what}${api.qs({ ...query, interval, format: 'csv' })}`, `faceproof-${what}.csv`);
    } catch (e) {
      toast(e.message, 'error');
    }
  };
  mount(
    h('div.head', h('h1', 'Statistics'), h('div.actions', h('button', { type: 'button', on: { click: csv('summary') } }, 'Export summary (CSV)'), h('button', { type: 'button', on: { click: csv('timeseries') } }, 'Export over time (CSV)'))),
    foldable(form, ['from', 'to', 'company', 'user'].filter((k) => p.get(k)).length),
    body,
  );
  let sum, ts;
  try {
    [sum, ts] = await Promise.all([api.get(`/api/statistics/summary${api.qs(query)}`), api.get(`/api/statistics/timeseries${api.qs({ ...query, interval })}`)]);
  } catch (e) {
    if (e.status !== 401 && current(g)) body.replaceChildren(errorBox(e));
    return;
  }
  if (!current(g)) return;

  const cards = h(
    'div.stats',
    stat('orders.total', sum.orders.total, 'Orders'),
    stat('analyses.total', sum.analyses.total, 'Analyses'),
    stat('liveness.rate', pct(sum.pass_rates.liveness.rate), `Liveness pass rate (${sum.pass_rates.liveness.passed}/${sum.pass_rates.liveness.finished})`),
    stat('biometry.rate', pct(sum.pass_rates.biometry.rate), `Biometry pass rate (${sum.pass_rates.biometry.passed}/${sum.pass_rates.biometry.finished})`),
    stat('decisions.pending', sum.decisions.pending, 'Waiting for review'),
    stat('decisions.total', sum.decisions.total, 'Operator decisions'),
  );

  // fill the gaps between buckets so the time axis is regular
  const step = interval === 'week' ? 7 * DAY : DAY;
  const cols = [];
  if (ts.buckets.length) {
    const byStart = new Map(ts.buckets.map((b) => [b.start, b]));
    for (let t = ts.buckets[0].start; t <= ts.buckets[ts.buckets.length - 1].start && cols.length < 400; t += step) {
      const b = byStart.get(t);
      cols.push({ label: utcDay(t), values: b ? b.orders : {} });
    }
  }

  const typeRows = TYPES.map((t) => {
    const x = sum.analyses.by_type[t] || { total: 0, by_status: {} };
    return h('tr', h('th', { scope: 'row' }, TYPE_LABEL[t]), h('td.num', { dataset: { stat: `analyses.${t}.total` } }, String(x.total)), RESULTS.map((s) => h('td.num', { dataset: { stat: `analyses.${t}.${s}` } }, String(x.by_status[s] || 0))));
  });
  const perf = TYPES.map((t) => {
    const x = sum.processing_ms[t] || {};
    return h('tr', h('th', { scope: 'row' }, TYPE_LABEL[t]), h('td.num', String(x.count || 0)), h('td.num', ms(x.median)), h('td.num', ms(x.p95)));
  });

  // charts as wide as the space they get (labels stay readable)
  const full = Math.max(280, body.clientWidth - 20);
  body.replaceChildren(
    cards,
    h(
      'section',
      h('h2', 'Orders by status over time (UTC)'),
      cols.length ? stackedBars(cols, ORDER_STATUSES, `Orders per ${interval} by status`, full) : empty('No orders in this period.'),
      h('div.chips', ORDER_STATUSES.map((s) => h('span.kv', `${s}: `, h('strong', { dataset: { stat: `orders.${s}` } }, String(sum.orders.by_status[s] || 0))))),
    ),
    h(
      'section',
      h('h2', 'Analyses by type and result'),
      table(['Type', 'Total', ...RESULTS], typeRows),
      hBars(
        TYPES.map((t) => ({ label: TYPE_LABEL[t], value: (sum.analyses.by_type[t] || {}).total || 0 })),
        'Analyses by type',
        String,
        full,
      ),
    ),
    h(
      'div.two',
      h(
        'section',
        h('h2', 'Processing time'),
        table(['Type', 'Analyses', 'Median', '95th percentile'], perf),
        h('p.muted', 'From order to result, for analyses without an operator decision.'),
      ),
      h(
        'section',
        h('h2', 'Operator decisions'),
        table(
          ['Approved', 'Declined', 'Waiting', 'Median time to decision'],
          [h('tr', h('td.num', { dataset: { stat: 'decisions.SUCCESS' } }, String(sum.decisions.by_status.SUCCESS || 0)), h('td.num', { dataset: { stat: 'decisions.DECLINED' } }, String(sum.decisions.by_status.DECLINED || 0)), h('td.num', String(sum.decisions.pending)), h('td.num', ms(sum.decisions.time_to_decision_ms.median)))],
        ),
      ),
    ),
  );
}
