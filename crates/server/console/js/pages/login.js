// Sign-in: e-mail and password against POST /api/authorize/auth; then back to where the user was.

import * as api from '../api.js';
import { h, mount, field, errorBox } from '../dom.js';

export function loginPage(r) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const out = h('div', { 'aria-live': 'assertive' });
  const next = r.params.get('next') || '/orders';
  const form = h(
    'form.card.narrow',
    { novalidate: false },
    h('h1', 'Sign in'),
    r.params.get('expired') ? h('p.note.warn', { role: 'status' }, 'Your session has ended. Sign in again to continue where you were.') : null,
    field('E-mail', email),
    field('Password', password),
    out,
    h('button.primary', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    const btn = form.querySelector('button');
    btn.disabled = true;
    try {
      await api.signIn(email.value.trim(), password.value);
      location.hash = `#${next.startsWith('/') && !next.startsWith('/login') ? next : '/orders'}`;
    } catch (e) {
      out.replaceChildren(errorBox(e.status === 401 ? 'Wrong e-mail or password.' : e));
      password.select();
    } finally {
      btn.disabled = false;
    }
  });
  mount(h('div.center', h('p.brand.big', 'faceproof console'), form));
  email.focus();
}
