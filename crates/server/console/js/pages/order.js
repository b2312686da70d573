// One order: media with previews (videos and frame sets play), per-media liveness with the gesture
// check, biometry pairs side by side, blacklist hits next to the enrolled photo with the person's
// name and collection, best shots, metadata, analyses history, webhook deliveries, the operator
// decision with its audit trail and the next order waiting, and the PDF report.

import * as api from '../api.js';
import { h, mount, time, shortId, chip, num, scoreBar, authImg, table, empty, errorBox, toast, field, nextId, button, personName } from '../dom.js';
import { current, render } from '../router.js';
import { canDecide, role, manages, can } from '../roles.js';
import { directory, TYPE_LABEL } from './common.js';

/** Who may change or delete an order (the API's policy: ADMIN, the company's CLIENT ADMIN, the creator). */
const canEdit = (f) => ['ADMIN', 'CLIENT ADMIN'].includes(role()) || (f.user_id === api.user().user_id && role() !== 'OPERATOR');
/** Who may delete an order (Oz: the ADMIN and the company's CLIENT ADMIN). */
const canDelete = manages;

function mediaName(m) {
  return m ? m.original_name || shortId(m.media_id) : 'media';
}

/** Media that play: videos, and frame sets (their preview is an MP4 made from the frames). */
const plays = (m) => m.media_kind === 'VIDEO' || m.media_kind === 'SHOTS_SET';

/** Open a media full size: images as <img>, videos and frame sets as a playable <video>, in a dialog. */
async function preview(m) {
  const dlg = h('dialog.viewer', { 'aria-label': `Preview of ${mediaName(m)}` });
  const close = h('button', { type: 'button', on: { click: () => dlg.close() } }, 'Close');
  dlg.addEventListener('close', () => dlg.remove());
  let body;
  if (plays(m)) {
    body = h('video', { controls: true, playsinline: true, 'aria-label': mediaName(m) });
    api.blobUrl(m.preview_url || m.original_url).then((u) => (body.src = u)).catch((e) => body.replaceWith(errorBox(e)));
  } else {
    body = authImg(m.original_url, mediaName(m), 'full');
  }
  dlg.append(h('div.viewer-head', h('strong', mediaName(m)), close), body);
  document.body.append(dlg);
  dlg.showModal();
  close.focus();
}

function mediaCard(m, quality) {
  const open = h('button.thumbbtn', { type: 'button', 'aria-label': `Open ${mediaName(m)}`, on: { click: () => preview(m) } }, authImg(m.thumb_url, mediaName(m)));
  if (plays(m)) open.append(h('span.play', { 'aria-hidden': 'true' }, '▶'));
  const lines = (quality || []).map((q) =>
    h(
      'div.result',
      chip(q.resolution_status, 'Liveness'),
      q.results_data && typeof q.results_data.confidence_spoofing === 'number'
        ? scoreBar(q.results_data.confidence_spoofing, q.results_data.threshold, 'confidence_spoofing')
        : null,
      gestureBlock(q.results_data && q.results_data.gesture),
      q.error ? h('div.note.error', `${mediaName(m)}: ${q.error.message} (${q.error.code})`) : null,
    ),
  );
  return h(
    'figure.media',
    { dataset: { mediaId: m.media_id } },
    open,
    h('figcaption', h('strong', mediaName(m)), h('div.muted', `${m.media_kind} · ${(m.tags || []).join(', ') || 'no tags'}`), lines),
  );
}

const GESTURES = {
  video_selfie_left: 'turn left',
  video_selfie_right: 'turn right',
  video_selfie_down: 'look down',
  video_selfie_high: 'look up',
  video_selfie_smile: 'smile',
  video_selfie_eyes: 'close the eyes',
  video_selfie_scan: 'scan',
  video_selfie_blank: 'no action',
  video_selfie_best: 'best shot',
};
const gestureName = (n) => GESTURES[n] || n || 'gesture';

/**
 * The gesture check of a selfie video: asked, performed or not, how far (peak), and each step of a
 * sequence — so that "did not turn" reads apart from "looked like a spoof".
 */
function gestureBlock(g) {
  if (!g) return null;
  const yes = (b) => (b ? 'performed' : 'not performed');
  return h(
    'div.gesture',
    { dataset: { performed: String(!!g.performed) } },
    h('strong', `Gesture “${gestureName(g.name)}”: ${yes(g.performed)}`),
    h('div.muted', `peak ${num(g.peak, 2)} · ${g.frames_matching ?? '–'} of ${g.frames_with_face ?? '–'} frames with a face match`),
    Array.isArray(g.sequence) && g.sequence.length
      ? h('ol', g.sequence.map((st) => h('li', `${gestureName(st.name)}: ${yes(st.performed)} (peak ${num(st.peak, 2)})`)))
      : null,
    Array.isArray(g.unexpected) && g.unexpected.length ? h('div.muted', `also seen: ${g.unexpected.map(gestureName).join(', ')}`) : null,
  );
}

/**
 * A blacklist hit's person: name and collection when the role may read the collection (every role
 * of the company may); otherwise says so rather than showing an id.
 */
function hitPerson(m, collections) {
  const alias = ((collections || []).find((c) => c.collection_id === m.collection_id) || {}).alias;
  const name = h('span.hitname', 'Loading…');
  const where = h('div.muted', alias ? `Collection “${alias}”` : 'Collection');
  api
    .get(api.path`/api/collections/${m.collection_id}/persons/${m.person_id}`)
    .then((p) => {
      const n = personName(p.meta_data);
      name.replaceChildren(can('blacklist') ? h('a', { href: api.path`#/blacklist/${m.collection_id}/${m.person_id}` }, n) : n);
    })
    .catch(() => name.replaceChildren('a person your role cannot see'));
  return h('div', name, where);
}

function decisionForm(a, onDone) {
  const id = nextId('d');
  const reason = h('textarea', { name: 'reason', required: true, rows: 3, maxlength: 2000 });
  const approve = h('input', { type: 'radio', name: `${id}-v`, value: 'SUCCESS', id: `${id}-ok`, required: true });
  const decline = h('input', { type: 'radio', name: `${id}-v`, value: 'DECLINED', id: `${id}-no` });
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h(
    'form.decision',
    { 'aria-label': `Decision on ${TYPE_LABEL[a.type] || a.type} analysis` },
    h(
      'fieldset',
      h('legend', `Decision on ${TYPE_LABEL[a.type] || a.type} ${shortId(a.analysis_id)}`),
      h('div.radios', h('span', approve, h('label', { for: approve.id }, 'Approve (SUCCESS)')), h('span', decline, h('label', { for: decline.id }, 'Decline (DECLINED)'))),
      field('Reason (required, kept in the audit trail)', reason),
      out,
      h('button.primary', { type: 'submit' }, 'Record decision'),
    ),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    const choice = form.querySelector(`input[name="${id}-v"]:checked`);
    if (!choice) return out.replaceChildren(errorBox('Choose approve or decline.'));
    if (!reason.value.trim()) {
      reason.focus();
      return out.replaceChildren(errorBox('A reason is required.'));
    }
    const verb = choice.value === 'SUCCESS' ? 'approve' : 'decline';
    if (!window.confirm(`Really ${verb} this analysis?`)) return;
    form.querySelector('button').disabled = true;
    try {
      await api.call('PATCH', api.path`/api/analyses/${a.analysis_id}`, { resolution_status: choice.value, comment: reason.value.trim() });
      toast('Decision recorded.');
      onDone();
    } catch (e) {
      out.replaceChildren(errorBox(e));
      form.querySelector('button').disabled = false;
    }
  });
  return form;
}

export async function orderPage(r, g) {
  const id = r.parts[1];
  let f;
  try {
    f = await api.get(api.path`/api/folders/${id}?with_analyses=true&with_user=true&with_company=true`);
  } catch (e) {
    if (!current(g)) return;
    if (e.status === 404 || e.status === 400) {
      mount(h('h1', 'Order not found'), h('p.empty', 'This order does not exist or is not visible to you.'), h('a', { href: '#/orders' }, 'Back to orders'));
      return;
    }
    throw e;
  }
  if (!current(g)) return;
  const dir = await directory();
  if (!current(g)) return;
  const media = f.media || [];
  const byId = (mid) => media.find((m) => m.media_id === mid);
  const analyses = f.analyses || [];
  const qualityByMedia = {};
  for (const a of analyses.filter((x) => x.type === 'QUALITY')) {
    for (const rm of a.results_media || []) (qualityByMedia[rm.source_media_id] ||= []).push(rm);
  }
  const bestShotIds = new Set();
  // best shots cut from videos are media of their own; a photo's best shot is the photo itself
  for (const a of analyses) {
    for (const rm of a.results_media || []) {
      for (const o of rm.output_images || []) if (o.media_id !== rm.source_media_id) bestShotIds.add(o.media_id);
    }
  }

  const sections = [];
  // header
  sections.push(
    h(
      'div.head',
      h('h1', `Order ${shortId(f.folder_id)}`),
      chip(f.resolution_status),
      button('Report (PDF)', () => api.download(api.path`/api/folders/${f.folder_id}/report.pdf`, `order-${shortId(f.folder_id)}.pdf`)),
      canDelete(f)
        ? button('Delete order', async () => {
            if (!window.confirm('Delete this order with its media and results?')) return;
            await api.call('DELETE', api.path`/api/folders/${f.folder_id}`);
            toast('Order deleted.');
            location.hash = '#/orders';
          }, { class: 'danger' })
        : null,
    ),
    h(
      'dl.facts',
      h('dt', 'Order id'), h('dd.mono', f.folder_id),
      h('dt', 'Created'), h('dd', time(f.time_created)),
      h('dt', 'Updated'), h('dd', time(f.time_updated)),
      h('dt', 'Created by'), h('dd', f.user ? f.user.email : dir.user(f.user_id)),
      h('dt', 'Company'), h('dd', f.company ? f.company.name : dir.company(f.company_id)),
    ),
  );

  // decisions pending
  const pending = analyses.filter((a) => a.state === 'FINISHED' && a.resolution_status === 'OPERATOR_REQUIRED');
  if (pending.length) {
    sections.push(
      h(
        'section.card.attention',
        { 'aria-labelledby': 'dec-h' },
        h('h2#dec-h', 'Operator decision'),
        canDecide()
          ? pending.map((a) => decisionForm(a, () => render()))
          : h('p', 'This order waits for an operator decision. Your role cannot decide.'),
      ),
    );
  }

  // after a decision (or on an order that waits for none): the next order in the review queue
  if (canDecide() && !pending.length) {
    const next = h('p.next', { 'aria-live': 'polite' });
    sections.push(next);
    api
      .get(`/api/folders${api.qs({ resolution_status: 'OPERATOR_REQUIRED', sorting: 'time_created{asc}', limit: 2 })}`)
      .then((list) => {
        const other = (list.items || []).find((x) => x.folder_id !== f.folder_id);
        next.replaceChildren(other ? h('a.button.primary', { href: api.path`#/orders/${other.folder_id}` }, `Next in queue › ${shortId(other.folder_id)}`) : h('span.muted', 'The review queue is empty.'));
      })
      .catch(() => next.remove());
  }

  // media
  const uploads = media.filter((m) => !bestShotIds.has(m.media_id));
  sections.push(
    h('section', { 'aria-labelledby': 'media-h' }, h('h2#media-h', 'Media'), uploads.length ? h('div.gallery', uploads.map((m) => mediaCard(m, qualityByMedia[m.media_id]))) : empty('No media.')),
  );
  const shots = media.filter((m) => bestShotIds.has(m.media_id));
  if (shots.length) {
    sections.push(h('section', { 'aria-labelledby': 'bs-h' }, h('h2#bs-h', 'Best shots'), h('div.gallery', shots.map((m) => mediaCard(m)))));
  }

  // biometry pairs
  const bio = analyses.filter((a) => a.type === 'BIOMETRY' && a.state === 'FINISHED');
  if (bio.length) {
    const a = bio[bio.length - 1];
    const d = a.results_data || {};
    sections.push(
      h(
        'section',
        { 'aria-labelledby': 'bio-h' },
        h('h2#bio-h', 'Biometry'),
        h('p', chip(a.resolution_status), ` least similar pair ${num(d.min_confidence, 4)}, most similar ${num(d.max_confidence, 4)}; SUCCESS at ≥ ${num(d.threshold_max, 2)}, DECLINED below ${num(d.threshold_min, 2)}`),
        (d.pairs || []).length
          ? h(
              'div.pairs',
              d.pairs.map((p) =>
                h(
                  'div.pair',
                  p.media_ids.map((mid) => h('figure', authImg((byId(mid) || {}).thumb_url, mediaName(byId(mid))), h('figcaption', mediaName(byId(mid))))),
                  h('div.pairscore', h('span.muted', 'confidence'), scoreBar(p.confidence, d.threshold_max, 'confidence')),
                ),
              ),
            )
          : empty('No pair could be compared (see the media results).'),
      ),
    );
  }

  // blacklist hits
  const coll = analyses.filter((a) => a.type === 'COLLECTION' && a.state === 'FINISHED');
  if (coll.length) {
    const a = coll[coll.length - 1];
    const hits = [];
    for (const rm of a.results_media || []) for (const m of (rm.results_data && rm.results_data.matches) || []) hits.push([rm, m]);
    sections.push(
      h(
        'section',
        { 'aria-labelledby': 'bl-h' },
        h('h2#bl-h', 'Blacklist'),
        h('p', chip(a.resolution_status), hits.length ? ` ${hits.length} match${hits.length > 1 ? 'es' : ''}` : ' no match'),
        hits.length
          ? h(
              'div.pairs',
              hits.map(([rm, m]) =>
                h(
                  'div.pair.hit',
                  h('figure', authImg((byId(rm.source_media_id) || {}).thumb_url, mediaName(byId(rm.source_media_id))), h('figcaption', mediaName(byId(rm.source_media_id)))),
                  h('figure', authImg(m.image_url, 'Enrolled photo'), h('figcaption', 'Enrolled photo')),
                  h('div.pairscore', hitPerson(m, (a.results_data || {}).collections), h('span.muted', 'confidence'), scoreBar(m.confidence, (rm.results_data || {}).threshold ?? (a.results_data || {}).threshold, 'confidence')),
                ),
              ),
            )
          : null,
      ),
    );
  }

  // metadata (editable by those who may change the order)
  const meta = Object.entries(f.meta_data || {});
  let metaForm = null;
  if (canEdit(f)) {
    const key = h('input', { name: 'meta_key', required: true, maxlength: 100 });
    const value = h('input', { name: 'meta_value', maxlength: 1000 });
    metaForm = h('form.inline-form', { 'aria-label': 'Set a metadata key' }, field('Key', key), field('Value (empty removes the key)', value), h('button', { type: 'submit' }, 'Set'));
    metaForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api.call('PATCH', api.path`/api/folders/${f.folder_id}/meta_data`, { [key.value.trim()]: value.value === '' ? null : value.value });
        toast('Metadata saved.');
        render();
      } catch (e) {
        toast(e.message, 'error');
      }
    });
  }
  sections.push(
    h(
      'section',
      { 'aria-labelledby': 'md-h' },
      h('h2#md-h', 'Metadata'),
      meta.length ? table(['Key', 'Value'], meta.map(([k, v]) => h('tr', h('td.mono', k), h('td', typeof v === 'string' ? v : JSON.stringify(v))))) : empty('No metadata.'),
      metaForm,
    ),
  );

  // analyses history
  sections.push(
    h(
      'section',
      { 'aria-labelledby': 'an-h' },
      h('h2#an-h', 'Analyses'),
      analyses.length
        ? table(
            ['Type', 'Analysis', 'Group', 'State', 'Result', 'Started', 'Finished', 'Started by', 'Details'],
            analyses.map((a) =>
              h(
                'tr',
                h('td', TYPE_LABEL[a.type] || a.type),
                h('td.mono', shortId(a.analysis_id)),
                h('td.mono', shortId(a.group_id)),
                h('td', chip(a.state)),
                h('td', chip(a.resolution_status)),
                h('td', time(a.time_created)),
                h('td', a.state === 'PROCESSING' ? '–' : time(a.time_updated)),
                h('td', dir.user(a.user_id)),
                h('td', a.error ? a.error.message : ''),
              ),
            ),
          )
        : empty('No analyses were ordered yet.'),
    ),
  );

  // audit trail
  const decisions = analyses.flatMap((a) => (a.decisions || []).map((d) => ({ ...d, type: a.type })));
  decisions.sort((x, y) => x.time_created - y.time_created);
  sections.push(
    h(
      'section',
      { 'aria-labelledby': 'au-h' },
      h('h2#au-h', 'Audit trail'),
      decisions.length
        ? table(
            ['When', 'Who', 'Analysis', 'Before', 'After', 'Reason'],
            decisions.map((d) =>
              h(
                'tr.audit',
                h('td', time(d.time_created)),
                h('td', dir.user(d.user_id)),
                h('td', `${TYPE_LABEL[d.type] || d.type} ${shortId(d.analysis_id)}`),
                h('td', chip(d.before)),
                h('td', chip(d.after)),
                h('td', d.comment),
              ),
            ),
          )
        : empty('No operator decisions.'),
    ),
  );

  const hooks = h('section', { 'aria-labelledby': 'wh-h' }, h('h2#wh-h', 'Webhook deliveries'), h('p.muted', 'Loading…'));
  sections.push(hooks);
  mount(h('p', h('a', { href: '#/orders' }, '‹ Orders')), sections);

  try {
    const list = await api.get(api.path`/api/folders/${f.folder_id}/webhooks`);
    if (!current(g)) return;
    const items = Array.isArray(list) ? list : list.items || [];
    hooks.replaceChildren(
      h('h2#wh-h', 'Webhook deliveries'),
      items.length
        ? table(
            ['URL', 'State', 'Attempts', 'Last answer'],
            items.map((d) => {
              const attempts = d.attempts || [];
              const l = attempts[attempts.length - 1];
              return h('tr', h('td.mono', d.url), h('td', chip(d.state)), h('td.num', String(attempts.length)), h('td', l ? `${l.status_code ?? ''} ${l.error ?? ''}`.trim() : '–'));
            }),
          )
        : empty('No webhook was sent for this order.'),
    );
  } catch (e) {
    hooks.replaceChildren(h('h2#wh-h', 'Webhook deliveries'), errorBox(e));
  }

  // keep the page current while analyses run
  if (analyses.some((a) => a.state === 'PROCESSING')) {
    setTimeout(() => current(g) && render(), 1500);
  }
}
