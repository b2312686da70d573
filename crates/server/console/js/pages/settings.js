// Settings: the signed-in user's profile and password; for ADMIN and CLIENT ADMIN, a company's
// thresholds, webhook (endpoint and signing secret) and web plugin (allowed origins, result mode,
// actions, languages, blacklist, session tokens) via /api/companies/{id}/settings.

import * as api from '../api.js';
import { h, mount, field, select, toast, errorBox, button, nextId } from '../dom.js';
import { current, go, render } from '../router.js';
import { directory } from './common.js';

const THRESHOLDS = [
  ['liveness_threshold', 'Liveness: confidence_spoofing at or above declines'],
  ['biometry_threshold', 'Biometry: SUCCESS from'],
  ['biometry_operator_threshold', 'Biometry: OPERATOR_REQUIRED from (empty = no review zone)'],
  ['collection_threshold', 'Blacklist: a match at or above declines (empty = raised with the number of enrolled faces, from 0.85)'],
];

export async function settingsPage(r, g) {
  const me = await api.get('/api/users/me');
  api.setUser(me);
  if (!current(g)) return;
  const parts = [h('h1', 'Settings'), profile(me)];
  const role = me.user_type;
  if (role === 'ADMIN' || role === 'CLIENT ADMIN') {
    let companyId = me.company_id;
    if (role === 'ADMIN') {
      const dir = await directory();
      companyId = r.params.get('company') || (dir.companies[0] || {}).company_id;
      const pick = select('company', dir.companies.map((c) => [c.company_id, c.name]), companyId);
      pick.addEventListener('change', () => go('settings', { company: pick.value }));
      parts.push(h('section.card.inline', h('h2', 'Company'), field('Company to configure', pick)));
    }
    if (companyId) parts.push(...(await companySettings(companyId)));
  }
  if (!current(g)) return;
  mount(parts);
}

function profile(me) {
  const first = h('input', { name: 'first_name', value: me.first_name });
  const last = h('input', { name: 'last_name', value: me.last_name });
  const current = h('input', { type: 'password', name: 'current_password', autocomplete: 'current-password' });
  const pw = h('input', { type: 'password', name: 'new_password', minlength: 8, autocomplete: 'new-password' });
  const pw2 = h('input', { type: 'password', name: 'confirm_password', minlength: 8, autocomplete: 'new-password' });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form.card',
    { 'aria-label': 'Your profile' },
    h('h2', 'Your profile'),
    h('p', `${me.email} · ${me.user_type}`),
    h('div.row', field('First name', first), field('Last name', last)),
    h('div.row', field('Current password', current, 'needed to change the password'), field('New password', pw, 'at least 8 characters; leave empty to keep'), field('Confirm new password', pw2)),
    out,
    h('button.primary', { type: 'submit' }, 'Save profile'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    if (pw.value !== pw2.value) return out.replaceChildren(errorBox('The two passwords differ.'));
    const body = { first_name: first.value.trim(), last_name: last.value.trim() };
    if (pw.value) {
      if (!current.value) return out.replaceChildren(errorBox('Enter your current password to change it.'));
      body.password = pw.value;
      body.current_password = current.value;
    }
    try {
      api.setUser(await api.call('PATCH', api.path`/api/users/${me.user_id}`, body));
      toast('Profile saved.');
      current.value = pw.value = pw2.value = '';
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  return form;
}

async function companySettings(companyId) {
  const path = api.path`/api/companies/${companyId}/settings`;
  let s;
  try {
    s = await api.get(path);
  } catch (e) {
    return [errorBox(e)];
  }
  const inputs = THRESHOLDS.map(([k, label]) => [k, label, h('input', { type: 'number', name: k, min: 0, max: 1, step: 'any', value: typeof s[k] === 'number' ? String(Math.round(s[k] * 1e6) / 1e6) : '' })]);
  const endpoint = h('input', { type: 'url', name: 'resolution_endpoint', value: s.resolution_endpoint || '', placeholder: 'https://…' });
  const secret = h('input', { type: 'password', name: 'webhook_secret', value: s.webhook_secret || '', readonly: true });
  const reveal = h('button', { type: 'button', on: { click: () => { secret.type = secret.type === 'password' ? 'text' : 'password'; reveal.textContent = secret.type === 'password' ? 'Show' : 'Hide'; } } }, 'Show');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form.card',
    { 'aria-label': 'Company settings' },
    h('h2', 'Thresholds'),
    h('div.grid2', inputs.map(([, label, el]) => field(label, el))),
    h('h2', 'Webhook'),
    field('Default endpoint (resolution_endpoint)', endpoint, 'Receives analyses.finished for orders that name no endpoint'),
    h('div.field', h('label', { for: (secret.id = 'whsecret') }, 'Signing secret (HMAC-SHA256)'), h('div.inline', secret, reveal, button('Rotate', async () => {
      if (!window.confirm('Make a new secret? Receivers must switch to it.')) return;
      await api.call('PATCH', path, { rotate_webhook_secret: true });
      toast('Secret rotated.');
      render();
    }))),
    out,
    h('button.primary', { type: 'submit' }, 'Save settings'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    // only what changed: an untouched field keeps following the server's default
    const body = {};
    for (const [k, , el] of inputs) if (el.value !== el.defaultValue) body[k] = el.value.trim() === '' ? null : Number(el.value);
    if (endpoint.value !== endpoint.defaultValue) body.resolution_endpoint = endpoint.value.trim() || null;
    try {
      await api.call('PATCH', path, body);
      toast('Settings saved.');
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  return [form, await webPlugin(path, s.web_sdk || {}, companyId)];
}

const RESULT_MODES = [
  ['safe', 'safe: finished or not, no verdict'],
  ['status', 'status: the verdict'],
  ['folder', 'folder: the verdict and the order id'],
  ['full', 'full: every analysis result'],
];
const ACTIONS = [
  ['auto', 'Random gestures (auto)'],
  ['video_selfie_blank', 'Selfie video, no action'],
  ['video_selfie_best', 'Selfie video, best shot'],
  ['video_selfie_left', 'Turn left'],
  ['video_selfie_right', 'Turn right'],
  ['video_selfie_down', 'Look down'],
  ['video_selfie_high', 'Look up'],
  ['video_selfie_smile', 'Smile'],
  ['video_selfie_eyes', 'Close the eyes'],
  ['video_selfie_scan', 'Scan'],
  ['photo_selfie', 'Selfie photo'],
  ['photo_id_front', 'ID front'],
  ['photo_id_back', 'ID back'],
];
const LANGUAGES = [['en', 'English'], ['ru', 'Русский'], ['es', 'Español'], ['pt-BR', 'Português (Brasil)'], ['tr', 'Türkçe']];

function checks(name, options, chosen) {
  return options.map(([v, label]) => {
    const c = h('input', { type: 'checkbox', name, value: v, checked: (chosen || []).includes(v), id: nextId() });
    return h('span.check', c, h('label', { for: c.id }, label));
  });
}

/** The web plugin's settings for the company (the `web_sdk` object of the settings API). */
async function webPlugin(path, w, companyId) {
  let collections = [];
  try {
    const list = await api.get('/api/collections?limit=1000');
    collections = (Array.isArray(list) ? list : list.items || []).filter((c) => c.company_id === companyId);
  } catch {
    /* no blacklist to offer */
  }
  const origins = h('textarea', { name: 'allowed_origins', rows: 3, placeholder: 'https://shop.example' }, (w.allowed_origins || []).join('\n'));
  const mode = select('result_mode', RESULT_MODES, w.result_mode || 'safe');
  const actions = checks('actions_default', ACTIONS, w.actions_default);
  const langs = checks('lang_allow', LANGUAGES, w.lang_allow);
  const langDefault = select('lang_default', LANGUAGES, w.lang_default || 'en');
  const coll = select('collection_id', [['', 'No blacklist check'], ...collections.map((c) => [c.collection_id, c.alias])], w.collection_id || '');
  const attempts = h('input', { type: 'number', name: 'max_attempts', min: 1, max: 10, step: 1, value: String(w.max_attempts ?? 3) });
  const token = h('input', { type: 'checkbox', name: 'require_session_token', checked: w.require_session_token !== false, id: nextId() });
  const out = h('div', { 'aria-live': 'polite' });
  const group = (legend, items) => h('fieldset.checks', h('legend', legend), h('div.flags', items));
  const form = h(
    'form.card',
    { 'aria-label': 'Web plugin settings' },
    h('h2', 'Web plugin'),
    field('Allowed origins (one per line: scheme://host[:port], or *)', origins),
    h('div.row', field('Result sent to the page (result mode)', mode), field('Blacklist checked on every capture', coll), field('Attempts per session', attempts)),
    group('Actions when the page names none', actions),
    group('Languages offered', langs),
    h('div.row', field('Default language', langDefault)),
    h('span.check', token, h('label', { for: token.id }, 'Require a session token (minted by your server) to open the plugin')),
    out,
    h('div.actions', h('button.primary', { type: 'submit' }, 'Save web plugin settings')),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    const picked = (list) => list.map((x) => x.querySelector('input')).filter((c) => c.checked).map((c) => c.value);
    const webSdk = {
      allowed_origins: origins.value.split('\n').map((x) => x.trim()).filter(Boolean),
      result_mode: mode.value,
      actions_default: picked(actions),
      lang_allow: picked(langs),
      lang_default: langDefault.value,
      collection_id: coll.value || null,
      max_attempts: Number(attempts.value),
      require_session_token: token.checked,
    };
    if (!webSdk.actions_default.length) return out.replaceChildren(errorBox('Pick at least one action.'));
    if (!webSdk.lang_allow.includes(webSdk.lang_default)) return out.replaceChildren(errorBox('The default language must be one of the languages offered.'));
    try {
      await api.call('PATCH', path, { web_sdk: webSdk });
      toast('Web plugin settings saved.');
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  return form;
}
