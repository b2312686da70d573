// Blacklist: collections per company → persons with their photos (enrol, add photos, remove)
// → search a collection with a photo. Managing is for ADMIN and the company's CLIENT ADMIN;
// OPERATOR reads.

import * as api from '../api.js';
import { h, mount, field, select, authImg, table, empty, errorBox, toast, button, shortId, time, num, personName } from '../dom.js';
import { current, go, render } from '../router.js';
import { manages } from '../roles.js';
import { directory } from './common.js';

export async function blacklistPage(r, g) {
  if (r.parts[1] && r.parts[2]) return personPage(r.parts[1], r.parts[2], g);
  if (r.parts[1]) return collectionPage(r.parts[1], g);
  const dir = await directory();
  const data = await api.get('/api/collections?limit=1000&paged=true');
  if (!current(g)) return;
  const u = api.user();
  let create = null;
  if (manages()) {
    const alias = h('input', { name: 'alias', required: true, maxlength: 200 });
    const company = u.user_type === 'ADMIN' ? select('company', dir.companies.map((c) => [c.company_id, c.name]), '') : null;
    create = h(
      'form.card.inline',
      { 'aria-label': 'New collection' },
      h('h2', 'New collection'),
      field('Name (alias)', alias),
      company ? field('Company', company) : null,
      h('button.primary', { type: 'submit' }, 'Create collection'),
    );
    create.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const body = { alias: alias.value.trim() };
        if (company) body.company_id = company.value;
        const c = await api.call('POST', '/api/collections', body);
        toast('Collection created.');
        go(`blacklist/${c.collection_id}`);
      } catch (e) {
        toast(e.message, 'error');
      }
    });
  }
  mount(
    h('h1', 'Blacklist'),
    h('p.muted', 'Collections of persons that the blacklist (COLLECTION) analysis searches; a match declines the order.'),
    data.items.length
      ? table(
          ['Collection', 'Company', 'Created'],
          data.items.map((c) =>
            h('tr', h('td', h('a', { href: api.path`#/blacklist/${c.collection_id}` }, c.alias)), h('td', dir.company(c.company_id)), h('td', time(c.time_created))),
          ),
        )
      : empty('No collections yet.'),
    create,
  );
}

function photoInput(name = 'photos') {
  return h('input', { type: 'file', name, accept: 'image/*', multiple: true });
}

async function collectionPage(cid, g) {
  const [c, persons] = await Promise.all([api.get(api.path`/api/collections/${cid}`), api.get(api.path`/api/collections/${cid}/persons?limit=1000`)]);
  if (!current(g)) return;
  // From here on, the ids are the fetched object's, not the address bar's.
  cid = c.collection_id;
  const q = h('input', { type: 'search', name: 'q', placeholder: 'name' });
  const grid = h('div.people');
  const draw = () => {
    const needle = q.value.trim().toLowerCase();
    const shown = persons.items.filter((p) => !needle || personName(p.meta_data).toLowerCase().includes(needle));
    grid.replaceChildren(
      ...(shown.length
        ? shown.map((p) =>
            h(
              'a.person',
              { href: api.path`#/blacklist/${cid}/${p.person_id}` },
              authImg(p.images && p.images[0] && p.images[0].thumb_url, personName(p.meta_data)),
              h('span', personName(p.meta_data)),
              h('small.muted', `${(p.images || []).length} photo${(p.images || []).length === 1 ? '' : 's'}`),
            ),
          )
        : [empty(persons.items.length ? 'Nobody matches this name.' : 'No persons enrolled yet.')]),
    );
  };
  q.addEventListener('input', draw);
  draw();

  let enrol = null;
  if (manages()) {
    const first = h('input', { name: 'first_name', required: true });
    const last = h('input', { name: 'last_name' });
    const photos = photoInput();
    const out = h('div', { 'aria-live': 'polite' });
    enrol = h(
      'form.card',
      { 'aria-label': 'Enrol a person' },
      h('h2', 'Enrol a person'),
      h('div.row', field('First name', first), field('Last name', last)),
      field('Photos (one face each)', photos),
      out,
      h('button.primary', { type: 'submit' }, 'Enrol'),
    );
    enrol.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      out.replaceChildren();
      if (!photos.files.length) return out.replaceChildren(errorBox('Choose at least one photo.'));
      const fd = new FormData();
      const tags = {};
      [...photos.files].forEach((f, i) => {
        fd.append(`photo${i}`, f, f.name);
        tags[`photo${i}`] = ['photo_selfie'];
      });
      fd.append('payload', JSON.stringify({ 'media:tags': tags, 'person:meta_data': { person_info: { first_name: first.value.trim(), last_name: last.value.trim() } } }));
      enrol.querySelector('button').disabled = true;
      try {
        await api.call('POST', api.path`/api/collections/${cid}/persons`, fd);
        toast('Person enrolled.');
        render();
      } catch (e) {
        // errors name the user's files, not the form's field names
        const named = (t) => String(t).replace(/'?\bphoto(\d+)\b'?/g, (w, i) => (photos.files[Number(i)] ? `“${photos.files[Number(i)].name}”` : w));
        out.replaceChildren(errorBox(named(e.body && e.body.details && e.body.details.reason ? `${e.message} (${e.body.details.reason})` : e.message || e)));
        enrol.querySelector('button').disabled = false;
      }
    });
  }

  const probe = photoInput('probe');
  probe.multiple = false;
  const hits = h('div', { 'aria-live': 'polite' });
  const search = h('form.card', { 'aria-label': 'Search with a photo' }, h('h2', 'Search with a photo'), field('Photo', probe), h('button', { type: 'submit' }, 'Search'), hits);
  search.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!probe.files.length) return hits.replaceChildren(errorBox('Choose a photo.'));
    const fd = new FormData();
    fd.append('photo', probe.files[0], probe.files[0].name);
    try {
      const res = await api.call('POST', api.path`/api/collections/${cid}/search`, fd);
      // the photo searched with (a local blob: URL, released with the page) beside each match's photo
      const probeUrl = URL.createObjectURL(probe.files[0]);
      hits.replaceChildren(
        h('figure.probe', h('img.thumb', { src: probeUrl, alt: `Searched photo ${probe.files[0].name}` }), h('figcaption', probe.files[0].name)),
        res.hits.length
          ? h(
              'ul.people.hits',
              res.hits.map((x) =>
                h(
                  'li.person',
                  authImg(api.path`/api/collections/${cid}/persons/${x.person_id}/images/${x.person_image_id}/thumb`, `Enrolled photo of ${personName(x.meta_data)}`),
                  h('a', { href: api.path`#/blacklist/${cid}/${x.person_id}` }, personName(x.meta_data)),
                  h('small', `confidence ${num(x.confidence, 4)} · similarity ${num(x.similarity, 4)}`),
                ),
              ),
            )
          : empty(`No match at threshold ${num(res.threshold, 2)}.`),
      );
    } catch (e) {
      hits.replaceChildren(errorBox(e));
    }
  });

  mount(
    h('p', h('a', { href: '#/blacklist' }, '‹ Blacklist')),
    h('div.head', h('h1', c.alias), manages() ? button('Delete collection', async () => {
      if (!window.confirm(`Delete the collection "${c.alias}" with every person and photo?`)) return;
      await api.call('DELETE', api.path`/api/collections/${cid}`);
      toast('Collection deleted.');
      go('blacklist');
    }, { class: 'danger' }) : null),
    h('section', h('h2', `Persons (${persons.total})`), field('Search by name', q), grid),
    h('div.two', enrol, search),
  );
}

async function personPage(cid, pid, g) {
  const p = await api.get(api.path`/api/collections/${cid}/persons/${pid}`);
  if (!current(g)) return;
  // Writes name the person fetched, by its own ids.
  cid = p.collection_id;
  pid = p.person_id;
  const name = personName(p.meta_data);
  let add = null;
  if (manages()) {
    const photos = photoInput();
    add = h('form.card', { 'aria-label': 'Add photos' }, h('h2', 'Add photos'), field('Photos', photos), h('button', { type: 'submit' }, 'Add'));
    add.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!photos.files.length) return;
      const fd = new FormData();
      const tags = {};
      [...photos.files].forEach((f, i) => {
        fd.append(`photo${i}`, f, f.name);
        tags[`photo${i}`] = ['photo_selfie'];
      });
      fd.append('payload', JSON.stringify({ 'media:tags': tags }));
      try {
        await api.call('POST', api.path`/api/collections/${cid}/persons/${pid}/images`, fd);
        render();
      } catch (e) {
        toast(String(e.message).replace(/'?\bphoto(\d+)\b'?/g, (w, i) => (photos.files[Number(i)] ? `“${photos.files[Number(i)].name}”` : w)), 'error');
      }
    });
  }
  mount(
    h('p', h('a', { href: api.path`#/blacklist/${cid}` }, '‹ Collection')),
    h('div.head', h('h1', name), manages() ? button('Remove person', async () => {
      if (!window.confirm(`Remove ${name} and every photo from the blacklist?`)) return;
      await api.call('DELETE', api.path`/api/collections/${cid}/persons/${pid}`);
      toast('Person removed.');
      go(`blacklist/${cid}`);
    }, { class: 'danger' }) : null),
    h('p.muted', 'Person ', h('span.mono', shortId(p.person_id)), ` · enrolled ${time(p.time_created)}`),
    h(
      'div.gallery',
      (p.images || []).map((img) =>
        h(
          'figure.media',
          authImg(img.thumb_url || img.original_url, `Photo of ${name}`),
          h('figcaption', h('span.muted', time(img.time_created)), manages() ? button('Delete photo', async () => {
            if (!window.confirm('Delete this photo?')) return;
            await api.call('DELETE', api.path`/api/collections/${cid}/persons/${pid}/images/${img.person_image_id}`);
            render();
          }, { class: 'link' }) : null),
        ),
      ),
    ),
    add,
  );
}
