// The console shell: draws the route's page (router.js), the role's navigation (roles.js) with
// its menu button on small screens, and handles session expiry. Nothing imports this module.

import * as api from './api.js';
import { h, mount, errorBox } from './dom.js';
import { route, go, current, isId, setRenderer, render } from './router.js';
import { SECTIONS, can } from './roles.js';
import { loginPage } from './pages/login.js';
import { ordersPage, reviewPage } from './pages/orders.js';
import { orderPage } from './pages/order.js';
import { createPage } from './pages/create.js';
import { blacklistPage } from './pages/blacklist.js';
import { usersPage, companiesPage } from './pages/users.js';
import { statsPage } from './pages/stats.js';
import { settingsPage } from './pages/settings.js';

function nav(u) {
  const top = document.getElementById('top');
  document.getElementById('foot').hidden = !u;
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

async function draw(g) {
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

setRenderer(draw);
window.addEventListener('hashchange', () => {
  closeMenu();
  render();
});
document.getElementById('signout').addEventListener('click', signOut);

// Small screens: the sections fold into a menu opened by a button.
const menu = document.getElementById('menu');
function closeMenu() {
  menu.setAttribute('aria-expanded', 'false');
  document.getElementById('top').classList.remove('open');
}
menu.addEventListener('click', () => {
  const open = menu.getAttribute('aria-expanded') !== 'true';
  menu.setAttribute('aria-expanded', String(open));
  document.getElementById('top').classList.toggle('open', open);
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && menu.getAttribute('aria-expanded') === 'true') {
    closeMenu();
    menu.focus();
  }
});
render();
