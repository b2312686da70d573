// Users (create, edit, deactivate, roles and analysis permissions, reset password) and companies
// (create, rename, delete). What a role may change is the API's decision; the forms only offer
// what the role can do.

import * as api from '../api.js';
import { h, mount, field, select, table, empty, errorBox, toast, button, nextId, foldable } from '../dom.js';
import { current, go, render } from '../router.js';
import { manages } from '../roles.js';
import { directory, forgetDirectory } from './common.js';

const ROLES = ['ADMIN', 'OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR', 'CLIENT', 'CLIENT SERVICE'];
const CLIENT_ROLES = ROLES.slice(2);
const FLAGS = [
  ['can_start_analysis_quality', 'Can start liveness'],
  ['can_start_analysis_biometry', 'Can start biometry'],
  ['can_start_analysis_collection', 'Can start blacklist checks'],
];

const isAdmin = () => api.user().user_type === 'ADMIN';

/** A random password of 16 characters from the browser's CSPRNG. */
function generatePassword() {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

function checkbox(name, label, checked) {
  const c = h('input', { type: 'checkbox', name, checked: !!checked, id: nextId() });
  return [c, h('span.check', c, h('label', { for: c.id }, label))];
}

export async function usersPage(r, g) {
  if (r.parts[1]) return userPage(r.parts[1], g);
  const p = r.params;
  const dir = await directory();
  const search = h('input', { type: 'search', name: 'q', value: p.get('q') || '' });
  const role = select('role', ['', ...ROLES], p.get('role'));
  const company = isAdmin() || api.user().user_type === 'OPERATOR' ? select('company', [['', 'Any'], ...dir.companies.map((c) => [c.company_id, c.name])], p.get('company')) : null;
  const filters = h('form.filters', { role: 'search', 'aria-label': 'User filters' }, field('Name or e-mail', search), field('Role', role), company ? field('Company', company) : null, h('div.actions', h('button.primary', { type: 'submit' }, 'Apply')));
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go('users', { q: search.value.trim(), role: role.value, company: company ? company.value : '' });
  });
  const data = await api.get(`/api/users${api.qs({ search_text: p.get('q'), user_type: p.get('role'), company_id: p.get('company'), limit: 1000 })}`);
  if (!current(g)) return;
  mount(
    h('div.head', h('h1', 'Users'), h('a', { href: '#/companies' }, 'Companies ›')),
    foldable(filters, ['q', 'role', 'company'].filter((k) => p.get(k)).length),
    data.items.length
      ? table(
          ['E-mail', 'Name', 'Role', 'Company', 'Active'],
          data.items.map((x) =>
            h(
              'tr',
              { class: x.is_active ? '' : 'inactive' },
              h('td', h('a', { href: api.path`#/users/${x.user_id}` }, x.email)),
              h('td', [x.first_name, x.last_name].filter(Boolean).join(' ')),
              h('td', x.user_type),
              h('td', dir.company(x.company_id)),
              h('td', x.is_active ? 'yes' : 'deactivated'),
            ),
          ),
          `${data.total} user${data.total === 1 ? '' : 's'}`,
        )
      : empty('No users match.'),
    manages() ? createUserForm(dir) : null,
  );
}

function createUserForm(dir) {
  const admin = isAdmin();
  const email = h('input', { type: 'email', name: 'email', required: true });
  const password = h('input', { type: 'text', name: 'password', required: true, minlength: 8, autocomplete: 'new-password' });
  const gen = h('button', { type: 'button', on: { click: () => (password.value = generatePassword()) } }, 'Generate');
  const first = h('input', { name: 'first_name', required: true });
  const last = h('input', { name: 'last_name', required: true });
  const role = select('user_type', admin ? ROLES : CLIENT_ROLES, 'CLIENT');
  const company = admin ? select('company_id', [['', 'No company (ADMIN, OPERATOR)'], ...dir.companies.map((c) => [c.company_id, c.name])], '') : null;
  const flags = FLAGS.map(([k, l]) => [k, ...checkbox(k, l, true)]);
  const out = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form.card',
    { 'aria-label': 'Add user' },
    h('h2', 'Add user'),
    h('div.row', field('E-mail (login)', email), h('div.field.pw', h('label', { for: (password.id = nextId()) }, 'Password'), h('div.inline', password, gen))),
    h('div.row', field('First name', first), field('Last name', last)),
    h('div.row', field('Role', role), company ? field('Company', company) : null),
    h('div.flags', flags.map(([, , el]) => el)),
    out,
    h('button.primary', { type: 'submit' }, 'Create user'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    const body = { email: email.value.trim(), password: password.value, first_name: first.value.trim(), last_name: last.value.trim(), user_type: role.value };
    if (company && company.value) body.company_id = company.value;
    for (const [k, c] of flags) body[k] = c.checked;
    try {
      const created = await api.call('POST', '/api/users', body);
      forgetDirectory();
      toast(`User ${created.email} created.`);
      render();
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  return form;
}

async function userPage(id, g) {
  const [x, dir] = await Promise.all([api.get(api.path`/api/users/${id}`), directory()]);
  if (!current(g)) return;
  const me = api.user();
  const self = me.user_id === x.user_id;
  const manage = manages() && !self;
  const first = h('input', { name: 'first_name', value: x.first_name });
  const last = h('input', { name: 'last_name', value: x.last_name });
  const email = h('input', { type: 'email', name: 'email', value: x.email });
  const role = manage ? select('user_type', isAdmin() ? ROLES : CLIENT_ROLES, x.user_type) : null;
  const company = manage && isAdmin() ? select('company_id', [['', 'No company'], ...dir.companies.map((c) => [c.company_id, c.name])], x.company_id || '') : null;
  const flags = manage ? FLAGS.map(([k, l]) => [k, ...checkbox(k, l, x[k])]) : [];
  const out = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form.card',
    { 'aria-label': 'Edit user' },
    h('h2', 'Profile and permissions'),
    h('div.row', field('First name', first), field('Last name', last)),
    field('E-mail (login)', email),
    role ? h('div.row', field('Role', role), company ? field('Company', company) : null) : h('p', `Role: ${x.user_type} · Company: ${dir.company(x.company_id)}`),
    flags.length ? h('div.flags', flags.map(([, , el]) => el)) : null,
    out,
    h('button.primary', { type: 'submit' }, 'Save'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { first_name: first.value.trim(), last_name: last.value.trim(), email: email.value.trim() };
    if (role) body.user_type = role.value;
    if (company) body.company_id = company.value || null;
    for (const [k, c] of flags) body[k] = c.checked;
    try {
      await api.call('PATCH', api.path`/api/users/${x.user_id}`, body);
      forgetDirectory();
      toast('Saved.');
      render();
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });

  const newPw = h('output', { 'aria-live': 'polite' });
  const actions = h(
    'section.card',
    h('h2', 'Account'),
    h('p', x.is_active ? 'The account is active.' : 'The account is deactivated: it cannot sign in.'),
    h(
      'div.actions',
      manage
        ? button(x.is_active ? 'Deactivate' : 'Reactivate', async () => {
            await api.call('PATCH', api.path`/api/users/${x.user_id}`, { is_active: !x.is_active });
            toast(x.is_active ? 'Deactivated.' : 'Reactivated.');
            render();
          })
        : null,
      // one's own password changes in Settings (with the current one)
      manage
        ? button('Reset password', async () => {
            const pw = generatePassword();
            if (!window.confirm(`Set a new generated password for ${x.email}?`)) return;
            await api.call('PATCH', api.path`/api/users/${x.user_id}`, { password: pw });
            newPw.replaceChildren(h('span', 'New password (shown once): '), h('code', pw));
          })
        : null,
      manage
        ? button('Delete user', async () => {
            if (!window.confirm(`Delete ${x.email}? Deactivating keeps the history readable.`)) return;
            await api.call('DELETE', api.path`/api/users/${x.user_id}`);
            forgetDirectory();
            toast('User deleted.');
            go('users');
          }, { class: 'danger' })
        : null,
    ),
    newPw,
  );
  mount(h('p', h('a', { href: '#/users' }, '‹ Users')), h('h1', x.email), form, actions);
}

export async function companiesPage(r, g) {
  const data = await api.get(api.path`/api/companies?limit=1000${r.params.get('q') ? `&search_text=${encodeURIComponent(r.params.get('q'))}` : ''}`);
  if (!current(g)) return;
  const admin = isAdmin();
  let create = null;
  if (admin) {
    const name = h('input', { name: 'name', required: true });
    create = h('form.card.inline', { 'aria-label': 'Add company' }, h('h2', 'Add company'), field('Name', name), h('button.primary', { type: 'submit' }, 'Create company'));
    create.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api.call('POST', '/api/companies', { name: name.value.trim() });
        forgetDirectory();
        toast('Company created.');
        render();
      } catch (e) {
        toast(e.message, 'error');
      }
    });
  }
  mount(
    h('div.head', h('h1', 'Companies'), h('a', { href: '#/users' }, 'Users ›')),
    data.items.length
      ? table(
          admin ? ['Name', 'Id', 'Actions'] : ['Name', 'Id'],
          data.items.map((c) =>
            h(
              'tr',
              h('td', c.name),
              h('td.mono', c.company_id),
              admin
                ? h(
                    'td',
                    button('Rename', async () => {
                      const n = window.prompt('New name', c.name);
                      if (!n || !n.trim()) return;
                      await api.call('PATCH', api.path`/api/companies/${c.company_id}`, { name: n.trim() });
                      forgetDirectory();
                      render();
                    }, { class: 'link', 'aria-label': `Rename ${c.name}` }),
                    button('Delete', async () => {
                      if (!window.confirm(`Delete ${c.name}? (refused while it has users)`)) return;
                      await api.call('DELETE', api.path`/api/companies/${c.company_id}`);
                      forgetDirectory();
                      render();
                    }, { class: 'link danger', 'aria-label': `Delete ${c.name}` }),
                  )
                : null,
            ),
          ),
        )
      : empty('No companies.'),
    create,
  );
}
