// Create order: upload photos, videos and ID photos with their tags, pick the analyses (and
// optional thresholds), then watch the results arrive.

import * as api from '../api.js';
import { h, mount, field, select, chip, errorBox, empty, num, nextId } from '../dom.js';
import { current, render } from '../router.js';
import { TYPE_LABEL } from './common.js';

const KINDS = [
  ['selfie', 'Selfie (photo)', ['photo_selfie']],
  ['id_front', 'Document with photo (front)', ['photo_id', 'photo_id_front']],
  ['id_back', 'Document without photo (back)', ['photo_id', 'photo_id_back']],
  ['video_blank', 'Selfie video, no action', ['video_selfie', 'video_selfie_blank']],
  ['video_scan', 'Selfie video, scan', ['video_selfie', 'video_selfie_scan']],
  ['video_left', 'Selfie video, turn left', ['video_selfie', 'video_selfie_left']],
  ['video_right', 'Selfie video, turn right', ['video_selfie', 'video_selfie_right']],
  ['video_down', 'Selfie video, turn down', ['video_selfie', 'video_selfie_down']],
  ['video_high', 'Selfie video, turn up', ['video_selfie', 'video_selfie_high']],
  ['video_smile', 'Selfie video, smile', ['video_selfie', 'video_selfie_smile']],
  ['video_eyes', 'Selfie video, close eyes', ['video_selfie', 'video_selfie_eyes']],
];
const MAX_FILES = 10;

function parseMeta(text) {
  const out = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const i = line.indexOf('=');
    if (i <= 0) throw new Error(`Metadata line "${line}": use key=value`);
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function threshold(input, name) {
  const v = input.value.trim();
  if (!v) return undefined;
  const x = Number(v);
  if (!(x >= 0 && x <= 1)) throw new Error(`${name} must be a number between 0 and 1`);
  return x;
}

export async function createPage(r, g) {
  const u = api.user();
  const rows = [];
  const list = h('div.filelist', empty('No files chosen yet.'));
  const picker = h('input', { type: 'file', name: 'files', multiple: true, accept: 'image/*,video/*,.zip' });

  function addFiles(files) {
    for (const file of files) {
      if (rows.length >= MAX_FILES) break;
      const isVideo = (file.type || '').startsWith('video/');
      const kind = select('kind', KINDS.map(([v, l]) => [v, l]), isVideo ? 'video_blank' : rows.length === 1 ? 'id_front' : 'selfie', { 'aria-label': `Content of ${file.name}` });
      const orient = select('orientation', [['', 'Orientation: any'], ['orientation_portrait', 'Portrait'], ['orientation_landscape', 'Landscape']], '', { 'aria-label': `Orientation of ${file.name}` });
      const row = { file, kind, orient };
      const remove = h('button.link', { type: 'button', 'aria-label': `Remove ${file.name}` }, 'Remove');
      row.el = h('div.filerow', h('span.fname', file.name), h('span.muted', `${Math.round(file.size / 1024)} KB`), kind, orient, remove);
      remove.addEventListener('click', () => {
        rows.splice(rows.indexOf(row), 1);
        redraw();
      });
      rows.push(row);
    }
    redraw();
  }
  function redraw() {
    list.replaceChildren(...(rows.length ? rows.map((x) => x.el) : [empty('No files chosen yet.')]));
    for (const x of rows) x.orient.hidden = !x.kind.value.startsWith('video');
  }
  picker.addEventListener('change', () => {
    addFiles(picker.files);
    picker.value = '';
  });
  list.addEventListener('change', redraw);
  picker.id = nextId();
  const drop = h('div.drop', { tabindex: '-1' }, h('label', { for: picker.id }, 'Drop files here, or choose them: '), picker);
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    addFiles(e.dataTransfer.files);
  });

  const checks = {};
  const flags = { QUALITY: u.can_start_analysis_quality, BIOMETRY: u.can_start_analysis_biometry, COLLECTION: u.can_start_analysis_collection };
  const thr = {
    QUALITY: h('input', { type: 'number', min: 0, max: 1, step: 'any', name: 'threshold_spoofing', placeholder: 'company default' }),
    BIOMETRY_MIN: h('input', { type: 'number', min: 0, max: 1, step: 'any', name: 'threshold_min', placeholder: 'company default' }),
    BIOMETRY_MAX: h('input', { type: 'number', min: 0, max: 1, step: 'any', name: 'threshold_max', placeholder: 'company default' }),
    COLLECTION: h('input', { type: 'number', min: 0, max: 1, step: 'any', name: 'threshold', placeholder: 'company default' }),
  };
  const bestShot = h('input', { type: 'checkbox', name: 'best_shot', checked: true, id: nextId() });
  const analysisBox = (type, extra) => {
    if (flags[type] === false) return null;
    const c = h('input', { type: 'checkbox', name: `an_${type}`, checked: type !== 'COLLECTION', id: nextId() });
    checks[type] = c;
    return h('div.analysis', h('div', c, h('label', { for: c.id }, TYPE_LABEL[type])), h('div.sub', extra));
  };
  const meta = h('textarea', { name: 'meta', rows: 3, placeholder: 'transaction_id=42\nclient_iin=…' });
  const out = h('div', { 'aria-live': 'polite' });
  const submit = h('button.primary', { type: 'submit' }, 'Submit analysis');

  const form = h(
    'form.create',
    h('section.card', h('h2', '1. Files'), h('p.muted', `Photos, videos or shots sets; at most ${MAX_FILES} files. Pick what each file shows: wrong tags give wrong results.`), drop, list),
    h(
      'section.card',
      h('h2', '2. Analyses'),
      analysisBox('QUALITY', [h('span', bestShot, h('label', { for: bestShot.id }, 'Extract best shot from videos')), field('Liveness threshold', thr.QUALITY)]),
      analysisBox('BIOMETRY', [field('Decline below', thr.BIOMETRY_MIN), field('Success from', thr.BIOMETRY_MAX, 'between the two: OPERATOR_REQUIRED')]),
      analysisBox('COLLECTION', [field('Match threshold', thr.COLLECTION, "searches the company's blacklists")]),
    ),
    h('section.card', h('h2', '3. Metadata (optional)'), field('One key=value per line', meta)),
    out,
    submit,
  );

  // the user's file names for the form's field names: errors name what the user chose
  const byField = (text) => String(text).replace(/'?\bfile(\d+)\b'?/g, (w, i) => (rows[Number(i)] ? `“${rows[Number(i)].file.name}”` : w));
  let sent = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // one order per form: a second click (or Enter) while or after sending does nothing
    if (sent) return;
    out.replaceChildren();
    let analyses, metaData;
    try {
      if (!rows.length) throw new Error('Choose at least one file.');
      metaData = parseMeta(meta.value);
      analyses = [];
      if (checks.QUALITY && checks.QUALITY.checked) {
        analyses.push({ type: 'quality', params: { extract_best_shot: bestShot.checked, threshold_spoofing: threshold(thr.QUALITY, 'Liveness threshold') } });
      }
      if (checks.BIOMETRY && checks.BIOMETRY.checked) {
        analyses.push({ type: 'biometry', params: { threshold_min: threshold(thr.BIOMETRY_MIN, 'Decline below'), threshold_max: threshold(thr.BIOMETRY_MAX, 'Success from') } });
      }
      if (checks.COLLECTION && checks.COLLECTION.checked) {
        analyses.push({ type: 'collection', params: { threshold: threshold(thr.COLLECTION, 'Match threshold') } });
      }
      if (!analyses.length) throw new Error('Pick at least one analysis.');
      for (const a of analyses) a.params = JSON.parse(JSON.stringify(a.params)); // drop undefined
    } catch (e) {
      out.replaceChildren(errorBox(e));
      return;
    }
    const fd = new FormData();
    const tags = {};
    rows.forEach((x, i) => {
      const key = `file${i}`;
      fd.append(key, x.file, x.file.name);
      const t = [...KINDS.find(([v]) => v === x.kind.value)[2]];
      if (x.kind.value.startsWith('video') && x.orient.value) t.push(x.orient.value);
      tags[key] = t;
    });
    fd.append('payload', JSON.stringify({ 'media:tags': tags, 'folder:meta_data': metaData }));
    sent = true;
    submit.disabled = true;
    out.replaceChildren(h('p.muted', 'Uploading…'));
    out.scrollIntoView({ block: 'nearest' });
    let folder = null;
    try {
      folder = await api.call('POST', '/api/folders', fd);
      out.replaceChildren(h('p.muted', 'Starting analyses…'));
      await api.call('POST', api.path`/api/folders/${folder.folder_id}/analyses`, { analyses });
    } catch (e) {
      out.replaceChildren(errorBox(byField(e.message || e)));
      // nothing was created: the form may be corrected and sent again
      if (!folder) {
        sent = false;
        submit.disabled = false;
      }
      return;
    }
    submit.hidden = true;
    await watch(folder.folder_id, out, g);
  });

  mount(h('h1', 'Create order'), form);
}

/** Poll the order until its analyses finish, showing each analysis as it goes. */
async function watch(folderId, out, g) {
  const link = h('a.button.primary', { href: api.path`#/orders/${folderId}` }, 'Open the order');
  let first = true;
  for (;;) {
    if (!current(g)) return;
    const f = await api.get(api.path`/api/folders/${folderId}?with_analyses=true`);
    const analyses = f.analyses || [];
    const running = analyses.some((a) => a.state === 'PROCESSING');
    const fileName = (id) => ((f.media || []).find((m) => m.media_id === id) || {}).original_name || 'file';
    out.replaceChildren(
      h(
        'section.card.result-panel',
        { dataset: { folderId, state: running ? 'running' : 'done' } },
        h('h2', running ? 'Processing…' : 'Result'),
        h('p', 'Order ', h('span.mono', folderId), ' ', chip(f.resolution_status)),
        h(
          'ul.results',
          analyses.map((a) =>
            h(
              'li',
              { dataset: { type: a.type } },
              chip(a.resolution_status, TYPE_LABEL[a.type] || a.type),
              a.type === 'BIOMETRY' && a.results_data && a.results_data.min_confidence != null ? ` min confidence ${num(a.results_data.min_confidence, 4)}` : '',
              a.type === 'QUALITY'
                ? ` ${(a.results_media || []).map((m) => `${fileName(m.source_media_id)} ${m.results_data && m.results_data.confidence_spoofing != null ? num(m.results_data.confidence_spoofing, 3) : ''}${m.error ? ` ${m.error.message}` : ''}`.trim()).join('; ')}`
                : '',
              a.error ? ` (${a.error.message})` : '',
            ),
          ),
        ),
        h('div.actions', link, h('a.button', { href: '#/orders/new', on: { click: (e) => { e.preventDefault(); render(); } } }, 'Create another order')),
      ),
    );
    if (first) {
      // the result is what the user waits for: bring it on screen
      out.scrollIntoView({ block: 'start' });
      first = false;
    }
    if (!running) return;
    await new Promise((res) => setTimeout(res, 1000));
  }
}
