// The console shell: hash router, role-based navigation, session expiry handling.
// Routes are `#/section/...?...filters`; the filters live in the hash so a page can be reloaded,
// shared, and restored after signing in again.

import * as api from './api.js';
import { h, mount, errorBox } from './dom.js';
import { loginPage } from './pages/login.js';
import { ordersPage, reviewPage } from './pages/orders.js';
import { orderPage } from './pages/order.js';
import { createPage } from './pages/create.js';
import { blacklistPage } from './pages/blacklist.js';
import { usersPage, companiesPage } from './pages/users.js';
import { statsPage } from './pages/stats.js';
import { settingsPage } from './pages/settings.js';

const ALL = ['ADMIN', 'OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR', 'CLIENT'];
/** Sections and the roles that see them (mirrors the API's policy; the API still decides). */
export const SECTIONS = [
  { id: 'orders', label: 'Orders', roles: ALL },
  { id: 'review', label: 'Review queue', roles: ['OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR'] },
  { id: 'create', label: 'Create order', roles: ['ADMIN', 'CLIENT ADMIN', 'CLIENT OPERATOR', 'CLIENT'] },
  { id: 'blacklist', label: 'Blacklist', roles: ['ADMIN', 'OPERATOR', 'CLIENT ADMIN'] },
  { id: 'users', label: 'Users', roles: ['ADMIN', 'OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR'] },
  { id: 'companies', label: 'Companies', roles: ['ADMIN', 'OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR'] },
  { id: 'stats', label: 'Statistics', roles: ['ADMIN', 'OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR'] },
  { id: 'settings', label: 'Settings', roles: ALL },
];

export function can(section, u = api.user()) {
  const s = SECTIONS.find((x) => x.id === section);
  return !!(u && s && s.roles.includes(u.user_type));
}

/** Roles that may take the operator's decision (ADMIN manages but does not review). */
export const canDecide = (u = api.user()) => !!u && ['OPERATOR', 'CLIENT OPERATOR'].includes(u.user_type);

/** Whether `s` is an object id (a UUID): what every id segment of a route must be. */
export const isId = (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

/** The parsed hash: path segments and query parameters. */
export function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

export function go(path, params) {
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v != null)).toString() : '';
  const target = `#/${path}${q ? `?${q}` : ''}`;
  if (location.hash === target) render();
  else location.hash = target;
}

function nav(u) {
  const top = document.getElementById('top');
  if (!u) {
    top.hidden = true;
    return;
  }
  top.hidden = false;
  const current = route().parts[0] || 'orders';
  const active = current === 'orders' && route().parts[1] === 'new' ? 'create' : current;
  document.getElementById('nav').replaceChildren(
    ...SECTIONS.filter((s) => can(s.id, u)).map((s) =>
      h(
        'li',
        h(
          'a',
          {
            href: s.id === 'create' ? '#/orders/new' : `#/${s.id}`,
            'aria-current': s.id === active ? 'page' : null,
          },
          s.label,
        ),
      ),
    ),
  );
  document.getElementById('who').textContent = `${u.email} · ${u.user_type}`;
}

const PAGES = {
  orders: (r) => (r.parts[1] === 'new' ? ['create', createPage] : r.parts[1] ? ['orders', orderPage] : ['orders', ordersPage]),
  review: () => ['review', reviewPage],
  blacklist: () => ['blacklist', blacklistPage],
  users: () => ['users', usersPage],
  companies: () => ['companies', companiesPage],
  stats: () => ['stats', statsPage],
  settings: () => ['settings', settingsPage],
};

let generation = 0;
/** Whether the page started as render number `g` is still the one on screen. */
export const current = (g) => g === generation;

export async function render() {
  const g = ++generation;
  const main = document.getElementById('main');
  // `data-ready` names the route once its page has rendered (for tests and assistive tools)
  delete main.dataset.ready;
  const hash = location.hash;
  api.releaseBlobs();
  const r = route();
  const u = api.user();
  if (r.parts[0] === 'login' || !u) {
    nav(null);
    if (r.parts[0] !== 'login') {
      // keep where the user was going (with its filters) for after signing in
      location.replace(`#/login?next=${encodeURIComponent(location.hash.slice(1) || '/orders')}`);
      return;
    }
    loginPage(r);
    main.dataset.ready = hash;
    return;
  }
  if (u.user_type === 'CLIENT SERVICE') {
    nav(null);
    mount(
      h('section.card.narrow', h('h1', 'Service account'), h('p', 'Service accounts use the API only; sign in with a personal account to use the console.'), h('button', { type: 'button', on: { click: signOut } }, 'Sign out')),
    );
    return;
  }
  nav(u);
  const pick = PAGES[r.parts[0]];
  if (!pick) return go('orders');
  // Every segment after the section names an object: a UUID, or the route goes nowhere (a
  // crafted link cannot carry a path into the API calls of a page).
  if (r.parts.slice(1).some((p, i) => !isId(p) && !(r.parts[0] === 'orders' && i === 0 && p === 'new')) || r.parts.length > 3) {
    mount(h('section', h('h1', 'Not found'), h('p.empty', 'This link does not name an object of the console.')));
    main.dataset.ready = hash;
    return;
  }
  const [section, page] = pick(r);
  if (!can(section, u)) {
    mount(h('section', h('h1', 'Not available'), h('p.empty', 'This page is not available for your role.')));
    main.dataset.ready = hash;
    return;
  }
  try {
    await page(r, g);
  } catch (e) {
    if (e.status === 401) return;
    if (current(g)) mount(h('section', h('h1', 'Something went wrong'), errorBox(e)));
  }
  if (current(g)) {
    main.dataset.ready = hash;
    const a = document.activeElement;
    if (!a || a === document.body || !document.contains(a)) document.getElementById('main').focus({ preventScroll: true });
    const h1 = document.querySelector('#main h1');
    document.title = `${h1 ? h1.textContent : 'faceproof'} · faceproof console`;
  }
}

async function signOut() {
  await api.signOut();
  location.hash = '#/login';
}

api.whenExpired(() => {
  const here = location.hash.slice(1);
  if (here.startsWith('/login')) return;
  location.replace(`#/login?expired=1&next=${encodeURIComponent(here || '/orders')}`);
});

window.addEventListener('hashchange', render);
document.getElementById('signout').addEventListener('click', signOut);
render();
