// Drives ONE headless Chromium (Debian's, through playwright-core) through the operator console
// of a running faceproof server. Started by crates/cli/tests/api/browser_console.rs, which creates the
// companies and users, passes everything in FACEPROOF_SCENARIO (JSON) and afterwards compares the
// figures this script read from the Statistics page and the CSV export (written to
// <out>/results.json) with counts it computes from the database.
//
// Every page visited: its main elements must render and the browser console must stay free of
// errors (CSP violations, exceptions, failed requests) except where a step expects a refusal.
// A screenshot of each page lands in <out>/NN-name.png (1280×800), and axe-core (pinned in
// package.json) checks each screen so shot: no critical or serious finding is allowed. At the end,
// every page again at phone size (390×844) for an ADMIN, an OPERATOR and a CLIENT: nothing may
// scroll sideways (document.scrollingElement.scrollWidth <= innerWidth), each page screenshotted
// (<out>/NN-phone-<role>-<page>.png) and checked by axe; then the web plugin's demo page and the
// plugin itself (a fake camera) under axe too.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

// axe-core's browser build, evaluated in the page through the driver (the console's CSP, which
// forbids inline scripts and eval, does not apply to the driver's evaluation).
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const sc = JSON.parse(process.env.FACEPROOF_SCENARIO);
const BASE = sc.base;
const OUT = sc.out;
fs.mkdirSync(OUT, { recursive: true });
const results = { folders: {}, steps: [], axe: {}, overflow: {} };
const axeFailures = [];
const t0 = Date.now();

/** A file for an upload field under a neutral name (screenshots show file names). */
const as = (file, name) => ({ name, mimeType: 'image/jpeg', buffer: fs.readFileSync(file) });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // a fake camera (a test pattern) for the web plugin's demo at the end
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(30000);

// --- console errors and refused requests ----------------------------------------------------
// Chrome reports every 4xx/5xx answer as a console error without its URL; those are tracked
// from the responses instead, so a step can expect a refusal (a 404 for another company's order)
// and still fail on any other.
let errors = [];
let refused = [];
let allowed = [];
page.on('console', (m) => {
  if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded')) errors.push(m.text());
});
page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
// (a media element that stops reading its blob: URL when its dialog closes is no failure)
page.on('requestfailed', (r) => {
  if (r.url().startsWith('blob:') && r.failure() && r.failure().errorText === 'net::ERR_ABORTED') return;
  errors.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`);
});
page.on('response', (r) => {
  if (r.status() >= 400) refused.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
});
page.on('dialog', (d) => d.accept());

/** Refusals the step expects (e.g. 404 for another company's order) are not errors. */
function expectRefusals(...statuses) {
  allowed = statuses;
}
function checkErrors(where) {
  const bad = [...errors, ...refused.filter((r) => !allowed.includes(Number(r.split(' ')[0])) && !(sc.allow_missing_logout && r === '404 POST /api/authorize/logout'))];
  errors = [];
  refused = [];
  allowed = [];
  assert.deepEqual(bad, [], `console errors or refused requests on ${where}`);
}

/**
 * axe-core on the page as it is: every finding is kept in results.axe; critical and serious ones
 * fail the run at the end (all of them listed, not only the first).
 */
async function axeCheck(where, enforce = true) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' ')) }));
  });
  results.axe[where] = found;
  if (enforce) for (const v of found) if (v.impact === 'critical' || v.impact === 'serious') axeFailures.push({ where, ...v });
}

let shots = 0;
/** A screenshot of the viewport, from the top of the page unless `keepScroll`; axe checks it. */
async function shot(name, keepScroll = false) {
  shots += 1;
  // Swagger UI (the API reference) is a third party's page: its findings are kept, not enforced
  if (name !== 'failure') await axeCheck(name, name !== 'api-reference');
  // notices of earlier steps would cover the page
  await page.evaluate((top) => {
    const notes = document.getElementById('toast');
    if (notes) notes.replaceChildren();
    if (top) window.scrollTo(0, 0);
  }, !keepScroll);
  const file = path.join(OUT, `${String(shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  // The documentation's copy (docs/console/) must not carry the test photos (research-licensed
  // data stays out of the repository): every image blurred beyond recognition.
  fs.mkdirSync(path.join(OUT, 'docs'), { recursive: true });
  await page.evaluate(() => document.querySelectorAll('img, video').forEach((i) => (i.style.filter = 'blur(18px) grayscale(1)')));
  await page.screenshot({ path: path.join(OUT, 'docs', `${name}.png`) });
  await page.evaluate(() => document.querySelectorAll('img, video').forEach((i) => (i.style.filter = '')));
  return file;
}

function step(name) {
  results.steps.push({ name, at_ms: Date.now() - t0 });
  console.log(`[console-test] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${name}`);
}

async function heading() {
  return (await page.locator('#main h1').first().textContent()).trim();
}

async function goto(hash, h1) {
  await page.goto(`${BASE}/console/#${hash}`);
  // the app marks the route it finished rendering
  await page.waitForFunction((h) => document.getElementById('main').dataset.ready === h, `#${hash}`);
  await page.locator('#main h1', { hasText: h1 }).first().waitFor();
  // the page's data has arrived when no "Loading…" placeholder is left
  await page.waitForFunction(() => ![...document.querySelectorAll('#main p.muted')].some((p) => p.textContent === 'Loading…'));
}

async function signIn(who) {
  await page.goto(`${BASE}/console/#/login`);
  await page.locator('#main h1', { hasText: 'Sign in' }).waitFor();
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', who.password);
  await page.click('button[type=submit]');
  // (attached: on a phone the header hides the name)
  await page.locator('#who', { hasText: who.email }).waitFor({ state: 'attached' });
  await page.waitForFunction(() => {
    const ready = document.getElementById('main').dataset.ready;
    return ready && !ready.startsWith('#/login');
  });
}

async function signOut() {
  await page.click('#signout');
  await page.locator('#main h1', { hasText: 'Sign in' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'signed out: nothing kept');
}

async function navLinks() {
  return page.locator('#nav a').allTextContents();
}

const overflowFailures = [];
/**
 * One role at phone size (390×844): the menu folds behind a button, filters fold away, and no
 * page scrolls sideways; each page screenshotted and checked by axe.
 */
async function phone(role, who, pages) {
  step(`phone: ${role}`);
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(who);
  assert.equal(await page.locator('#menu').isVisible(), true, 'a menu button');
  assert.equal(await page.locator('#nav').isVisible(), false, 'the sections are folded behind it');
  await page.click('#menu');
  await page.locator('#nav a').first().waitFor({ state: 'visible' });
  assert.equal(await page.locator('#menu').getAttribute('aria-expanded'), 'true');
  await shot(`phone-${role}-menu`);
  await page.click('#menu');
  await page.locator('#nav').waitFor({ state: 'hidden' });
  for (const [name, hash, h1] of pages) {
    await goto(hash, h1);
    // thumbnails have their size once loaded (a broken one would not)
    await page.waitForFunction(() => [...document.querySelectorAll('#main img')].every((i) => i.complete));
    const w = await page.evaluate(() => ({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth }));
    results.overflow[`${role} ${name}`] = w;
    if (w.scrollWidth > w.innerWidth) {
      const wide = await page.evaluate(() => [...document.querySelectorAll('#main *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} ${Math.round(e.getBoundingClientRect().right)}`));
      overflowFailures.push({ role, page: name, ...w, wide });
    }
    if (await page.locator('details.filterbox').count()) assert.equal(await page.locator('details.filterbox').getAttribute('open'), null, `${role} ${name}: filters folded`);
    await shot(`phone-${role}-${name}`);
  }
  checkErrors(`phone pages of ${role}`);
  await signOut();
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Create an order through the Create order page; returns the folder id once finished. */
async function createOrder(files, { analyses, kinds, meta }) {
  await goto('/orders/new', 'Create order');
  await page.setInputFiles('input[type=file][name=files]', files);
  const rows = page.locator('.filerow');
  assert.equal(await rows.count(), files.length);
  for (const [i, kind] of (kinds || []).entries()) await rows.nth(i).locator('select[name=kind]').selectOption(kind);
  for (const t of ['QUALITY', 'BIOMETRY', 'COLLECTION']) {
    const box = page.locator(`input[name=an_${t}]`);
    if (await box.count()) await box.setChecked(analyses.includes(t));
  }
  if (meta) await page.fill('textarea[name=meta]', meta);
  await page.click('button:has-text("Submit analysis")');
  const panel = page.locator('.result-panel[data-state=done]');
  await panel.waitFor({ timeout: 240000 });
  // the result is on screen, and the form cannot be sent a second time
  assert.equal(await page.evaluate(() => { const r = document.querySelector('.result-panel').getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; }), true, 'the result is scrolled into view');
  assert.equal(await page.locator('button:has-text("Submit analysis")').isVisible(), false, 'no second submission');
  const id = await panel.getAttribute('data-folder-id');
  const verdicts = {};
  for (const li of await page.locator('.result-panel li').all()) {
    verdicts[await li.getAttribute('data-type')] = (await li.locator('.chip').textContent()).split(': ')[1];
  }
  return { id, verdicts };
}

try {
  // --- 1. a CLIENT signs in and orders liveness + biometry on a selfie and an ID photo ---------
  step('client: sign in, empty orders list');
  await signIn(sc.client_a);
  assert.equal(await heading(), 'Orders');
  assert.deepEqual(await navLinks(), ['Orders', 'Create order', 'Settings'], 'a CLIENT sees orders, create, settings');
  await page.locator('#main .empty').waitFor();
  checkErrors('orders (empty)');

  step('client: create an order with a selfie and an ID photo');
  const first = await createOrder([as(sc.files.selfie, 'selfie.jpg'), as(sc.files.id_photo, 'id-card.jpg')], { analyses: ['QUALITY', 'BIOMETRY'], kinds: ['selfie', 'id_front'], meta: 'transaction_id=tx-1001' });
  assert.deepEqual(first.verdicts, sc.expect.first_order, 'both analyses finish with the right verdicts');
  results.folders.first = first.id;
  await shot('create-order');
  checkErrors('create order');

  step('client: order view');
  await page.click('a:has-text("Open the order")');
  await page.locator('#main h1', { hasText: 'Order' }).waitFor();
  await page.locator('#bio-h').waitFor();
  assert.equal(await page.locator('section:has(#media-h) figure.media').count(), 2, 'two media');
  // thumbnails are fetched with the token and shown as blob: URLs
  await page.waitForFunction(() => [...document.querySelectorAll('figure.media img')].every((i) => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0));
  assert.match(await page.locator('section:has(#media-h) .result').first().textContent(), /Liveness: SUCCESS/);
  assert.equal(await page.locator('.pair').count(), 1, 'one biometry pair side by side');
  assert.equal(await page.locator('section:has(#md-h) td').allTextContents().then((t) => t.join('=')), 'transaction_id=tx-1001');
  // the creator edits the order's metadata
  await page.fill('input[name=meta_key]', 'channel');
  await page.fill('input[name=meta_value]', 'branch-12');
  await page.click('form[aria-label="Set a metadata key"] button');
  await page.locator('section:has(#md-h) td', { hasText: 'branch-12' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('figure.media img').length === 2 && [...document.querySelectorAll('figure.media img')].every((i) => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0));
  await page.locator('section:has(#media-h) .thumbbtn').first().click();
  await page.waitForFunction(() => { const i = document.querySelector('dialog.viewer img'); return i && i.src.startsWith('blob:') && i.naturalWidth > 0; });
  await page.keyboard.press('Escape');
  await shot('order-view');
  checkErrors('order view');

  step('client: the order report as PDF');
  const [pdf] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Report (PDF)")')]);
  assert.match(pdf.suggestedFilename(), /^order-[0-9a-f]{8}\.pdf$/);
  assert.equal(fs.readFileSync(await pdf.path()).subarray(0, 5).toString(), '%PDF-', 'a PDF');
  checkErrors('report download');

  step('client: errors name the user\'s file; thresholds take any precision');
  await goto('/orders/new', 'Create order');
  await page.setInputFiles('input[type=file][name=files]', [{ name: 'notes-not-a-photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('these are not the pixels of a photo') }]);
  await page.fill('input[name=threshold_spoofing]', '0.999');
  assert.equal(await page.locator('input[name=threshold_spoofing]').evaluate((i) => i.checkValidity()), true, '0.999 is a valid threshold');
  await page.click('button:has-text("Submit analysis")');
  const refusal = await page.locator('form.create .note.error').textContent();
  assert.match(refusal, /notes-not-a-photo\.jpg/, `the error names the file: ${refusal}`);
  assert.doesNotMatch(refusal, /\bfile0\b/, refusal);
  assert.equal(await page.locator('button:has-text("Submit analysis")').isEnabled(), true, 'nothing was created: the form may be sent again');
  results.file_error = refusal;
  await shot('create-order-error', true);
  expectRefusals(400, 413, 415, 422);
  checkErrors('a file that is no photo');
  await goto('/orders', 'Orders');

  step('client: a selfie video, its liveness and best shot, played in the order view');
  const video = await createOrder([{ name: 'selfie-video.mp4', mimeType: 'video/mp4', buffer: fs.readFileSync(sc.files.video) }], { analyses: ['QUALITY'], kinds: ['video_blank'] });
  assert.deepEqual(video.verdicts, { QUALITY: 'SUCCESS' });
  results.folders.video = video.id;
  await page.click('a:has-text("Open the order")');
  await page.locator('#bs-h').waitFor();
  await page.locator('section:has(#media-h) .thumbbtn').first().click();
  await page.waitForFunction(() => { const v = document.querySelector('dialog.viewer video'); return v && v.src.startsWith('blob:') && v.readyState >= 2 && v.duration > 0; });
  await page.evaluate(() => document.querySelector('dialog.viewer video').play());
  await page.waitForFunction(() => document.querySelector('dialog.viewer video').currentTime > 0);
  await shot('video-preview');
  await page.keyboard.press('Escape');
  checkErrors('video order');

  step('client: a frame set (as the plugin captures) with a gesture plays, and its gesture result shows');
  const frames = await createOrder([{ name: 'plugin-capture.zip', mimeType: 'application/zip', buffer: fs.readFileSync(sc.files.frames) }], { analyses: ['QUALITY'], kinds: ['video_left'] });
  results.folders.frames = frames.id;
  results.frames_verdict = frames.verdicts;
  await page.click('a:has-text("Open the order")');
  await page.locator('#media-h').waitFor();
  const gesture = page.locator('section:has(#media-h) .gesture');
  await gesture.waitFor();
  assert.match(await gesture.textContent(), /Gesture “turn left”: (performed|not performed)/);
  assert.match(await gesture.textContent(), /peak \d+\.\d\d/);
  results.gesture = await gesture.textContent();
  await page.locator('section:has(#media-h) .thumbbtn').first().click();
  await page.waitForFunction(() => { const v = document.querySelector('dialog.viewer video'); return v && v.src.startsWith('blob:') && v.readyState >= 2 && v.duration > 0; }, null, { timeout: 120000 });
  await page.evaluate(() => document.querySelector('dialog.viewer video').play());
  await page.waitForFunction(() => document.querySelector('dialog.viewer video').currentTime > 0);
  await shot('frame-set-preview');
  await page.keyboard.press('Escape');
  checkErrors('frame set order');
  await signOut();

  // --- 2. the CLIENT ADMIN opens a review zone, enrols a person into a blacklist ---------------
  step('client admin: company settings');
  await signIn(sc.admin_a);
  assert.deepEqual(await navLinks(), ['Orders', 'Review queue', 'Create order', 'Blacklist', 'Users', 'Companies', 'Statistics', 'Settings']);
  await goto('/settings', 'Settings');
  await page.fill('input[name=biometry_threshold]', '0.99999');
  await page.fill('input[name=biometry_operator_threshold]', '0.2');
  await page.click('button:has-text("Save settings")');
  await page.locator('#toast', { hasText: 'Settings saved.' }).waitFor();
  // the web plugin's settings, from the console (issue 25)
  await page.fill('textarea[name=allowed_origins]', 'https://shop.example\nhttps://app.example:8443');
  await page.selectOption('select[name=result_mode]', 'status');
  await page.check('input[name=actions_default][value=video_selfie_left]');
  await page.uncheck('input[name=require_session_token]');
  await page.click('button:has-text("Save web plugin settings")');
  await page.locator('#toast', { hasText: 'Web plugin settings saved.' }).waitFor();
  const web = await page.evaluate(async () => {
    const { access, user } = JSON.parse(sessionStorage.getItem('faceproof.session'));
    const r = await fetch(`/api/companies/${user.company_id}/settings`, { headers: { 'X-Forensic-Access-Token': access } });
    return (await r.json()).web_sdk;
  });
  assert.deepEqual(web.allowed_origins, ['https://shop.example', 'https://app.example:8443']);
  assert.equal(web.result_mode, 'status');
  assert.ok(web.actions_default.includes('video_selfie_left'), JSON.stringify(web));
  assert.equal(web.require_session_token, false);
  results.web_sdk_settings = web;
  await shot('settings');
  checkErrors('settings');

  step('client admin: blacklist collection and enrolment');
  await goto('/blacklist', 'Blacklist');
  await page.fill('input[name=alias]', 'Watchlist');
  await page.click('button:has-text("Create collection")');
  await page.locator('#main h1', { hasText: 'Watchlist' }).waitFor();
  results.collection = page.url().split('#/blacklist/')[1];
  await page.fill('input[name=first_name]', 'Jordan');
  await page.fill('input[name=last_name]', 'Sample');
  await page.setInputFiles('input[name=photos]', [as(sc.files.enrolled, 'enrolment.jpg')]);
  await page.click('button:has-text("Enrol")');
  await page.locator('.person', { hasText: 'Jordan Sample' }).waitFor();
  await page.waitForFunction(() => { const i = document.querySelector('.person img'); return i && i.src.startsWith('blob:') && i.naturalWidth > 0; });
  await page.setInputFiles('input[name=probe]', [as(sc.files.probe, 'probe.jpg')]);
  await page.click('button:has-text("Search")');
  await page.locator('form:has-text("Search with a photo") .hits li', { hasText: 'Jordan Sample' }).waitFor();
  // the photo searched with and the matched person's photo, both shown
  await page.waitForFunction(() => [...document.querySelectorAll('figure.probe img, .hits li img')].length === 2 && [...document.querySelectorAll('figure.probe img, .hits li img')].every((i) => i.complete && i.naturalWidth > 0));
  await shot('blacklist-collection');
  checkErrors('blacklist collection');
  await page.click('.people a.person');
  await page.locator('#main h1', { hasText: 'Jordan Sample' }).waitFor();
  results.person = page.url().split('#/blacklist/')[1];
  await page.waitForFunction(() => { const i = document.querySelector('figure.media img'); return i && i.src.startsWith('blob:') && i.naturalWidth > 0; });
  await shot('blacklist-person');
  await goto('/blacklist', 'Blacklist');
  await shot('blacklist');
  checkErrors('blacklist');

  step('client admin: an order with the blacklisted person is declined, the hit shown');
  const hit = await createOrder([as(sc.files.probe, 'applicant.jpg')], { analyses: ['COLLECTION'], kinds: ['selfie'] });
  assert.deepEqual(hit.verdicts, { COLLECTION: 'DECLINED' });
  results.folders.blacklisted = hit.id;
  await page.click('a:has-text("Open the order")');
  await page.locator('#bl-h').waitFor();
  assert.equal(await page.locator('.pair.hit').count(), 1, 'one blacklist hit');
  // the order's photo and the enrolled photo side by side, both loaded
  await page.waitForFunction(() => [...document.querySelectorAll('.pair.hit img')].length === 2 && [...document.querySelectorAll('.pair.hit img')].every((i) => i.src.startsWith('blob:') && i.naturalWidth > 0));
  assert.match(await page.locator('#main .head .chip').textContent(), /DECLINED/);
  await page.locator('.pair.hit .hitname', { hasText: 'Jordan Sample' }).waitFor();
  assert.match(await page.locator('.pair.hit').textContent(), /Collection “Watchlist”/);
  await page.locator('#bl-h').scrollIntoViewIfNeeded();
  await shot('order-blacklist-hit', true);
  checkErrors('order with a blacklist hit');
  await signOut();

  // --- 3. the CLIENT orders biometry in the review zone; an OPERATOR decides -------------------
  step('client: an order that needs review');
  await signIn(sc.client_a);
  const review = await createOrder([as(sc.files.review_a, 'selfie.jpg'), as(sc.files.review_b, 'passport.jpg')], { analyses: ['BIOMETRY'], kinds: ['selfie', 'id_front'] });
  assert.deepEqual(review.verdicts, { BIOMETRY: 'OPERATOR_REQUIRED' });
  results.folders.reviewed = review.id;
  // the client sees it waiting but cannot decide
  await page.click('a:has-text("Open the order")');
  await page.locator('#dec-h').waitFor();
  assert.equal(await page.locator('form.decision').count(), 0, 'a CLIENT gets no decision form');
  checkErrors('order waiting for review (client)');
  await signOut();

  step('operator: review queue, decision with a reason, audit trail');
  await signIn(sc.operator);
  assert.deepEqual(await navLinks(), ['Orders', 'Review queue', 'Blacklist', 'Users', 'Companies', 'Statistics', 'Settings']);
  await goto('/review', 'Review queue');
  const queued = page.locator(`a[href="#/orders/${review.id}"]`);
  await queued.waitFor();
  await shot('review-queue');
  checkErrors('review queue');
  await queued.click();
  await page.locator('form.decision').waitFor();
  // the reason is required: the browser refuses the empty form
  await page.check('form.decision input[value=SUCCESS]');
  await page.click('button:has-text("Record decision")');
  assert.equal(await page.locator('tr.audit').count(), 0, 'no decision without a reason');
  const reason = 'Same person on the selfie and the ID photo (checked by eye)';
  await page.fill('form.decision textarea[name=reason]', reason);
  await page.click('button:has-text("Record decision")');
  await page.locator('tr.audit').waitFor();
  const audit = await page.locator('tr.audit td').allTextContents();
  assert.equal(audit[1], sc.operator.email, 'who');
  assert.match(audit[0], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, 'when');
  assert.equal(audit[3], 'OPERATOR_REQUIRED', 'before');
  assert.equal(audit[4], 'SUCCESS', 'after');
  assert.equal(audit[5], reason, 'reason');
  assert.equal(await page.locator('form.decision').count(), 0, 'decided once');
  // after the decision: the next order waiting, or word that none is left
  await page.locator('p.next', { hasText: /Next in queue|review queue is empty/ }).waitFor();
  await page.locator('#au-h').scrollIntoViewIfNeeded();
  await shot('order-audit-trail', true);
  checkErrors('decision');
  results.decision = { who: audit[1], when: audit[0], before: audit[3], after: audit[4], reason: audit[5] };

  // --- 4. an expired session goes back to sign-in and returns with the page's filters ----------
  step('expired session keeps the filters');
  await goto('/orders?status=SUCCESS&type=BIOMETRY&meta=transaction_id%3Dtx-1001&sort=time_created%7Basc%7D', 'Orders');
  assert.equal(await page.locator('#main tbody tr').count(), 1, 'the metadata filter finds the first order');
  assert.equal(await page.locator('select[name=status]').inputValue(), 'SUCCESS');
  await shot('orders');
  checkErrors('orders with filters');
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem('faceproof.session'));
    sessionStorage.setItem('faceproof.session', JSON.stringify({ ...s, access: 'expired-token', refresh: 'expired-refresh' }));
  });
  await page.click('button:has-text("Apply")');
  await page.locator('#main h1', { hasText: 'Sign in' }).waitFor();
  assert.match(page.url(), /expired=1/);
  await page.locator('.note.warn', { hasText: 'session has ended' }).waitFor();
  await shot('sign-in-expired');
  expectRefusals(401);
  checkErrors('expired session');
  await page.fill('input[name=email]', sc.operator.email);
  await page.fill('input[name=password]', sc.operator.password);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => (document.getElementById('main').dataset.ready || '').startsWith('#/orders?'));
  assert.match(page.url(), /#\/orders\?status=SUCCESS&type=BIOMETRY/);
  assert.equal(await page.locator('select[name=status]').inputValue(), 'SUCCESS');
  assert.equal(await page.locator('select[name=type]').inputValue(), 'BIOMETRY');
  assert.equal(await page.locator('input[name=meta]').inputValue(), 'transaction_id=tx-1001');
  checkErrors('back from sign-in');
  await signOut();

  // --- 5. a CLIENT of another company sees none of it -----------------------------------------
  step('client of another company: no pages, no data');
  await signIn(sc.client_b);
  await page.locator('#main .empty', { hasText: 'No orders' }).waitFor();
  for (const id of Object.values(results.folders)) await goto(`/orders/${id}`, 'Order not found');
  expectRefusals(404);
  checkErrors('another company\'s orders');
  for (const hash of ['/users', '/stats', '/blacklist', '/companies', '/review']) await goto(hash, 'Not available');
  await shot('not-available');
  checkErrors('hidden sections');
  const api = await page.evaluate(async (ids) => {
    const { access } = JSON.parse(sessionStorage.getItem('faceproof.session'));
    const headers = { 'X-Forensic-Access-Token': access };
    const out = {};
    for (const id of ids) out[id] = (await fetch(`/api/folders/${id}`, { headers })).status;
    out.list = (await (await fetch('/api/folders', { headers })).json()).total;
    out.stats = (await (await fetch('/api/statistics/summary', { headers })).json()).orders.total;
    const collections = await fetch('/api/collections', { headers });
    out.collections = { status: collections.status, list: await collections.json() };
    return out;
  }, Object.values(results.folders));
  for (const id of Object.values(results.folders)) assert.equal(api[id], 404, 'another company\'s order is hidden');
  assert.equal(api.list, 0);
  assert.equal(api.stats, 0);
  // Every client role reads its own company's collections (as Oz's SDK does); Globex has none,
  // and Acme's blacklist is not among them.
  assert.equal(api.collections.status, 200);
  assert.deepEqual(api.collections.list, []);
  expectRefusals(404);
  checkErrors('API as the other client');
  results.other_company_api = api;
  await signOut();

  // --- 6. the ADMIN: users, companies, statistics and the CSV export --------------------------
  step('admin: users and companies');
  await signIn(sc.admin);
  await goto('/users', 'Users');
  await page.fill('form[aria-label="Add user"] input[name=email]', 'temp.user@acme.test');
  await page.click('form[aria-label="Add user"] button:has-text("Generate")');
  await page.fill('form[aria-label="Add user"] input[name=first_name]', 'Temp');
  await page.fill('form[aria-label="Add user"] input[name=last_name]', 'User');
  await page.selectOption('form[aria-label="Add user"] select[name=company_id]', { label: sc.company_a_name });
  await page.click('button:has-text("Create user")');
  await page.locator('td a', { hasText: 'temp.user@acme.test' }).waitFor();
  await shot('users');
  await page.click('td a:has-text("temp.user@acme.test")');
  await page.locator('#main h1', { hasText: 'temp.user@acme.test' }).waitFor();
  await page.click('button:has-text("Deactivate")');
  await page.locator('#main p', { hasText: 'deactivated' }).waitFor();
  await shot('user-edit');
  await goto('/companies', 'Companies');
  await page.locator('td', { hasText: sc.company_a_name }).waitFor();
  await shot('companies');
  checkErrors('users and companies');

  step('admin: crafted links steer nothing (issue 23)');
  // A link whose id segments carry a path (`..%2F..%2Fcompanies%2F<id>%3Fcascade%3Dtrue`) once
  // turned "Remove person" into DELETE /api/companies/<id>?cascade=true. Ids are validated
  // when routing, every segment is encoded, and writes name the object fetched.
  const ids = await page.evaluate(async (name) => {
    const { access } = JSON.parse(sessionStorage.getItem('faceproof.session'));
    const headers = { 'X-Forensic-Access-Token': access };
    const companies = (await (await fetch('/api/companies?limit=1000', { headers })).json()).items;
    const users = (await (await fetch('/api/users?limit=1000', { headers })).json()).items;
    const collections = await (await fetch('/api/collections', { headers })).json();
    return {
      victim: companies.find((c) => c.name !== name).company_id,
      user: users.find((u) => u.email === 'temp.user@acme.test').user_id,
      collection: collections[0].collection_id,
    };
  }, sc.company_a_name);
  const crafted = [
    `/blacklist/${ids.collection}/..%2F..%2F..%2Fcompanies%2F${ids.victim}%3Fcascade%3Dtrue`,
    `/blacklist/${ids.collection}/..%2F..%2F..%2Fusers%2F${ids.user}`,
    `/blacklist/..%2Fcompanies%2F${ids.victim}%3Fcascade%3Dtrue`,
    `/orders/..%2F..%2Fapi%2Fcompanies%2F${ids.victim}`,
    `/users/..%2Fcompanies%2F${ids.victim}`,
    `/blacklist/${ids.collection}/%2E%2E`,
  ];
  for (const hash of crafted) {
    await goto(hash, 'Not found');
    assert.equal(await page.locator('#main button').count(), 0, `no action offered on ${hash}`);
  }
  await shot('crafted-link');
  checkErrors('crafted links');
  const still = await page.evaluate(async (ids) => {
    const { access } = JSON.parse(sessionStorage.getItem('faceproof.session'));
    const headers = { 'X-Forensic-Access-Token': access };
    return [(await fetch(`/api/companies/${ids.victim}`, { headers })).status, (await fetch(`/api/users/${ids.user}`, { headers })).status];
  }, ids);
  assert.deepEqual(still, [200, 200], 'the company and the user are still there');
  results.crafted_links = crafted.length;

  step('admin: statistics and CSV export');
  await goto('/stats', 'Statistics');
  await page.locator('svg.chart').first().waitFor();
  const stats = {};
  for (const el of await page.locator('[data-stat]').all()) stats[await el.getAttribute('data-stat')] = (await el.textContent()).trim();
  results.stats = stats;
  // charts drawn at their shown size: no label under 11 px; no table wider than its box
  const layout = await page.evaluate(() => ({
    smallest: Math.min(...[...document.querySelectorAll('svg.chart')].flatMap((svg) => {
      const k = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      return [...svg.querySelectorAll('text')].map((t) => parseFloat(getComputedStyle(t).fontSize) * k);
    })),
    overflowing: [...document.querySelectorAll('.tablewrap')].filter((w) => w.scrollWidth > w.clientWidth + 1).length,
  }));
  assert.ok(layout.smallest >= 11, `chart labels of ${layout.smallest.toFixed(1)} px`);
  assert.equal(layout.overflowing, 0, 'a statistics table is wider than its column');
  results.stats_layout = layout;
  await shot('statistics');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export summary (CSV)")')]);
  results.summary_csv = fs.readFileSync(await dl.path(), 'utf8');
  results.summary_csv_name = dl.suggestedFilename();
  const [dl2] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export over time (CSV)")')]);
  results.timeseries_csv = fs.readFileSync(await dl2.path(), 'utf8');
  checkErrors('statistics');

  if (sc.swagger) {
    step('API reference: Swagger UI, "try it out" with the console\'s sign-in');
    await page.goto(`${BASE}/api/docs`);
    const op = page.locator('.opblock', { has: page.locator('.opblock-summary-path[data-path="/api/users/me"]') });
    await op.locator('.opblock-summary').click();
    await op.locator('button.try-out__btn').click();
    await op.locator('button.execute').click();
    await op.locator('.live-responses-table .response-col_status', { hasText: '200' }).waitFor();
    assert.match(await op.locator('.live-responses-table').textContent(), new RegExp(sc.admin.email.replace('.', '\\.')));
    await shot('api-reference', true);
    checkErrors('API reference');
    await page.goto(`${BASE}/console/#/stats`);
    await page.locator('#main h1', { hasText: 'Statistics' }).waitFor();
  }

  step('keyboard: skip link, navigation by Tab and Enter, visible focus');
  await page.focus('a.skip');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.closest('#nav') !== null), true, 'Tab from the skip link reaches the navigation');
  assert.equal(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'solid', 'focus is visible');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.locator('#main h1', { hasText: 'Create order' }).waitFor();
  checkErrors('keyboard navigation');
  await signOut();
  await shot('sign-in');
  checkErrors('sign out');

  // --- 7. every page at phone size, for an ADMIN, an OPERATOR and a CLIENT --------------------
  const f = results.folders;
  await phone('admin', sc.admin, [
    ['orders', '/orders', 'Orders'],
    ['create', '/orders/new', 'Create order'],
    ['order-blacklist-hit', `/orders/${f.blacklisted}`, 'Order'],
    ['order-reviewed', `/orders/${f.reviewed}`, 'Order'],
    ['blacklist', '/blacklist', 'Blacklist'],
    ['collection', `/blacklist/${results.collection}`, 'Watchlist'],
    ['person', `/blacklist/${results.person}`, 'Jordan Sample'],
    ['users', '/users', 'Users'],
    ['companies', '/companies', 'Companies'],
    ['stats', '/stats', 'Statistics'],
    ['settings', '/settings', 'Settings'],
  ]);
  await phone('operator', sc.operator, [
    ['orders', '/orders', 'Orders'],
    ['review', '/review', 'Review queue'],
    ['order-reviewed', `/orders/${f.reviewed}`, 'Order'],
    ['order-frames', `/orders/${f.frames}`, 'Order'],
    ['blacklist', '/blacklist', 'Blacklist'],
    ['users', '/users', 'Users'],
    ['companies', '/companies', 'Companies'],
    ['stats', '/stats', 'Statistics'],
    ['settings', '/settings', 'Settings'],
  ]);
  await phone('client', sc.client_a, [
    ['orders', '/orders', 'Orders'],
    ['create', '/orders/new', 'Create order'],
    ['order', `/orders/${f.first}`, 'Order'],
    ['order-video', `/orders/${f.video}`, 'Order'],
    ['order-frames', `/orders/${f.frames}`, 'Order'],
    ['settings', '/settings', 'Settings'],
  ]);

  // --- 8. the web plugin's demo page: every action, a clean status per run; axe on the plugin --
  step('web plugin demo');
  await page.goto(`${BASE}/web-sdk/demo/`);
  await page.fill('#email', sc.client_a.email);
  await page.fill('#password', sc.client_a.password);
  await page.click('button:has-text("Sign in")');
  await page.locator('#run').waitFor({ state: 'visible' });
  assert.equal(await page.locator('input[name=action]').count(), 13, 'every action of the plugin is offered');
  await shot('demo');
  await page.click('#start');
  await page.waitForFunction(() => { const h = document.getElementById('faceproof-liveness'); const b = h && h.shadowRoot && h.shadowRoot.querySelector('.fp'); return b && b.getAttribute('data-state'); });
  await shot('demo-plugin');
  await page.keyboard.press('Escape');
  await page.locator('#status[data-state=warn]', { hasText: 'Closed before' }).waitFor();
  // a second run starts from a clean result panel
  await page.evaluate(() => { const li = document.createElement('li'); li.textContent = 'from the run before'; document.getElementById('details').append(li); });
  await page.click('#start');
  await page.waitForFunction(() => document.getElementById('details').children.length === 0 && document.getElementById('status').dataset.state === 'busy');
  // the plugin of the second run is open before it is closed
  await page.waitForFunction(() => { const h = document.getElementById('faceproof-liveness'); const b = h && h.shadowRoot && h.shadowRoot.querySelector('.fp'); return b && b.getAttribute('data-state'); });
  await page.keyboard.press('Escape');
  await page.locator('#status[data-state=warn]').waitFor();
  await page.setViewportSize({ width: 390, height: 844 });
  const demoWidth = await page.evaluate(() => document.scrollingElement.scrollWidth <= innerWidth);
  assert.equal(demoWidth, true, 'the demo page fits a phone');
  await shot('phone-demo');
  await page.setViewportSize({ width: 1280, height: 800 });
  checkErrors('web plugin demo');

  assert.deepEqual(overflowFailures, [], `pages that scroll sideways at 390 px: ${JSON.stringify(overflowFailures, null, 1)}`);
  assert.deepEqual(axeFailures, [], `axe findings: ${JSON.stringify(axeFailures, null, 1)}`);
  results.ok = true;
} catch (e) {
  results.ok = false;
  results.error = String(e && e.stack ? e.stack : e);
  try {
    await shot('failure');
  } catch {
    /* the browser may be gone */
  }
  console.error(`[console-test] FAILED: ${results.error}`);
} finally {
  results.duration_ms = Date.now() - t0;
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 2));
  await browser.close();
}
process.exit(results.ok ? 0 : 1);
