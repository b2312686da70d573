// The web plugin in headless Chromium (Debian's, through playwright-core), run by
// crates/cli/tests/api/browser_web_sdk.rs with FACEPROOF_SCENARIO (JSON):
//   { base, out, page_port, scenarios: [{ name, camera: <y4m path> | "denied" | "none",
//     host: "127.0.0.1" | "localhost", viewport?: [w, h], open: {…OzLiveness.open options without
//     callbacks…}, until: "complete" | "error" | "capture" | "shown", shots?: true,
//     denied_retries?: n, phone?: { camera: <y4m path>, viewport: [w, h] } }] }
//
// The harness acts as the person: it presses the integrator's "Check my face" button (the
// plugin's opener), Start on the start screen, "Try again" when the plugin asks for another
// capture (a screenshot <name>-retry-<k>.png and the texts shown first), "Try again" then Close
// on the camera-denied screen, and — when the plugin shows a QR code to continue on a phone —
// opens the code's link in a second browser context (the phone, with its own fake camera and
// size), where it does the same. Every screen the plugin passes through is recorded (its state,
// step, progress and texts); with `shots`, each new one is also a screenshot
// <name>-NN-<state>.png (the phone's: <name>-phone-NN-<state>.png).
//
// The integrator's page is served by this script on ANOTHER origin (http://<host>:<page_port>),
// with a strict Content-Security-Policy (no inline script or style, scripts and connections only
// from itself and the faceproof server). For each scenario: the callbacks received, CSP
// violations, the time to first camera frame, the screens, where the focus went on close, and a
// screenshot (<out>/<name>.png) at the first instruction, written to <out>/results.json.

import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const sc = JSON.parse(process.env.FACEPROOF_SCENARIO);
fs.mkdirSync(sc.out, { recursive: true });
const server = new URL(sc.base);

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Integrator page</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<script src="${sc.base}/plugin_liveness.php"></script><script src="/page.js"></script></head>
<body><h1>Integrator page</h1><button id="open" type="button">Check my face</button></body></html>`;
// The integrator's script: opens the plugin from its button with the options from the URL's hash
// and records every callback in window.__fp (read by this harness).
const PAGE_JS = `
window.__fp = { events: [], csp: [] };
document.addEventListener('securitypolicyviolation', function (e) {
  window.__fp.csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
var opts = JSON.parse(decodeURIComponent(location.hash.slice(1)));
['on_submit', 'on_result', 'on_complete', 'on_error', 'on_capture_complete', 'on_close'].forEach(function (k) {
  opts[k] = function (p) { window.__fp.events.push({ name: k, payload: p === undefined ? null : p }); };
});
document.addEventListener('DOMContentLoaded', function () {
  document.getElementById('open').addEventListener('click', function () { OzLiveness.open(opts); });
});
`;
const CSP = `default-src 'none'; script-src 'self' ${server.origin}; connect-src ${server.origin}; ` +
  `style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; base-uri 'none'`;

const pages = http.createServer((req, res) => {
  const p = new URL(req.url, 'http://x').pathname;
  if (p === '/page.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP });
    res.end(PAGE);
  } else if (p === '/page.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
    res.end(PAGE_JS);
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((r) => pages.listen(sc.page_port, '127.0.0.1', r));

const ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required'];

/** One browser per camera (the clip is a launch flag): "denied" has a camera and refuses it,
 * "none" has no camera at all. */
const browsers = new Map();
async function browserFor(camera) {
  if (browsers.has(camera)) return browsers.get(camera);
  const args = [...ARGS];
  if (camera !== 'none') args.push('--use-fake-device-for-media-stream');
  if (camera !== 'denied' && camera !== 'none') {
    args.push('--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${camera}`);
  }
  const b = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args });
  browsers.set(camera, b);
  return b;
}

/** What the plugin shows: its state, step, progress and visible texts (inside its shadow root). */
const snapshot = (page) => page.evaluate(() => {
  const h = document.getElementById('faceproof-liveness');
  const box = h && h.shadowRoot && h.shadowRoot.querySelector('.fp');
  const events = (window.__fp && window.__fp.events) || [];
  if (!box) return { open: false, events: events.length };
  const q = (s) => box.querySelector(s);
  const primary = q('.buttons button.primary');
  const alt = q('.buttons button.alt');
  const link = q('.panel a.link');
  return {
    open: true, events: events.length,
    state: box.getAttribute('data-state') || '', progress: box.getAttribute('data-progress'),
    title: q('h2').textContent, step: q('.step').textContent, next: q('.next').textContent,
    hint: q('.hint').textContent, text: box.innerText,
    primary: primary && !primary.hidden ? primary.textContent : null,
    alt: alt && !alt.hidden ? alt.textContent : null,
    link: link ? link.href : null,
    live: Array.from(box.querySelectorAll('[aria-live]')).map((e) => e.getAttribute('aria-live')),
    alerts: box.querySelectorAll('[role=alert]').length,
    camera_requests: Number(box.getAttribute('data-camera-requests') || 0),
    frame: box.getAttribute('data-frame'), facing: box.getAttribute('data-facing'),
  };
});

const press = (page, sel) => page.evaluate((s) => {
  document.getElementById('faceproof-liveness').shadowRoot.querySelector(s).click();
}, sel);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** After a button press: wait until the plugin has left `state` (a busy machine takes a moment),
 * so that one screen is never answered twice. */
const left = (page, state) => page.waitForFunction((s) => {
  const b = document.getElementById('faceproof-liveness');
  const fp = b && b.shadowRoot && b.shadowRoot.querySelector('.fp');
  return !fp || fp.getAttribute('data-state') !== s;
}, state, { timeout: 60000, polling: 50 }).catch(() => {});

/** Records the screens a page's plugin passes through; with `shots`, one screenshot each. */
function recorder(page, prefix, shots) {
  const screens = [];
  let lastKey = null, lastShot = 0;
  return {
    screens,
    async see(s) {
      if (!s.open) return;
      // A new screen: another state, step or title, or the progress passing a quarter.
      const bucket = s.progress === null ? '' : Math.min(4, Math.floor(Number(s.progress) / 25));
      const key = [s.state, s.step, s.title, bucket, s.hint].join('|');
      if (key === lastKey) return;
      lastKey = key;
      const entry = { state: s.state, step: s.step, title: s.title, next: s.next, hint: s.hint, frame: s.frame, facing: s.facing,
        progress: s.progress === null ? null : Number(s.progress), text: s.text };
      // While recording, at most about three a second (a screenshot takes the page's time).
      if (shots && (s.state !== 'record' || Date.now() - lastShot > 300 || s.progress === '100')) {
        entry.shot = `${prefix}-${String(screens.length).padStart(2, '0')}-${s.state}.png`;
        await page.screenshot({ path: path.join(sc.out, entry.shot) }).catch(() => { entry.shot = null; });
        lastShot = Date.now();
      }
      screens.push(entry);
    },
  };
}

/** The phone: opens a hand-off link in its own context, as a person who scanned the code. */
async function phone(s, link, errors) {
  const browser = await browserFor(s.phone.camera);
  const [w, h] = s.phone.viewport || [390, 844];
  const context = await browser.newContext({ viewport: { width: w, height: h }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`phone page error: ${e.message}`));
  const csp = [];
  await page.exposeFunction('__cspViolation', (v) => csp.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation(e.violatedDirective + ' ' + e.blockedURI));
  });
  await page.goto(link);
  const rec = recorder(page, `${s.name}-phone`, s.shots);
  const out = { url_after_load: page.url(), retries: 0 };
  const deadline = Date.now() + 300000;
  let clicked = null;
  for (;;) {
    const st = await snapshot(page);
    await rec.see(st);
    if (st.state === 'done' || st.state === 'error') break;
    if (st.state === 'start' && clicked !== 'start') { clicked = 'start'; await press(page, '.buttons button.primary'); }
    if (st.state === 'retry' && clicked !== 'retry' + out.retries) {
      clicked = 'retry' + out.retries;
      out.retries++;
      await press(page, '.buttons button.primary');
      await left(page, 'retry');
    }
    if (Date.now() > deadline) { errors.push('the phone did not finish'); break; }
    await sleep(120);
  }
  out.final = await snapshot(page);
  out.page_status = await page.evaluate(() => document.getElementById('status').textContent);
  out.screens = rec.screens;
  out.csp = csp;
  await page.screenshot({ path: path.join(sc.out, `${s.name}-phone-final.png`) });
  return { out, context };
}

async function run(s) {
  const browser = await browserFor(s.camera);
  const [w, h] = s.viewport || [1280, 800];
  const context = await browser.newContext({ viewport: { width: w, height: h } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  const url = `http://${s.host}:${sc.page_port}/page.html#${encodeURIComponent(JSON.stringify(s.open))}`;
  const started = Date.now();
  await page.goto(url);
  await page.click('#open');
  const out = { name: s.name, errors, retries: [], refused: [] };
  // The server's refusals (status and body), to say why a screen shows an error.
  page.on('response', (r) => {
    if (r.status() >= 400 && r.url().startsWith(sc.base)) {
      r.text().then((b) => out.refused.push(`${r.status()} ${new URL(r.url()).pathname}: ${b.slice(0, 300)}`), () => {});
    }
  });
  const rec = recorder(page, s.name, s.shots);
  const want = { complete: 'on_complete', error: 'on_error', capture: 'on_capture_complete' }[s.until];
  const deadline = Date.now() + 180000 * (1 + (s.max_retries || 0)) + (s.phone ? 300000 : 0);
  let firstShot = false, deniedTries = 0, clicked = null, phoneRun = null;
  for (;;) {
    const st = await snapshot(page);
    await rec.see(st);
    const ev = await page.evaluate(() => window.__fp.events.map((e) => e.name));
    if (!firstShot && (st.step || st.state === 'denied' || st.state === 'handoff' || ev.length)) {
      // The first instruction (or an error) as the page shows it.
      firstShot = true;
      out.text = st.text || '';
      await page.screenshot({ path: path.join(sc.out, `${s.name}.png`) });
    }
    if (want && ev.includes(want)) break;
    if (ev.includes('on_error')) break;
    if (s.until === 'shown' && st.state === (s.shown || 'handoff')) { out.text = st.text; await page.screenshot({ path: path.join(sc.out, `${s.name}.png`) }); break; }
    if (st.state === 'start' && clicked !== 'start') {
      clicked = 'start';
      out.start_text = st.text;
      await press(page, '.buttons button.primary');
    } else if (st.state === 'retry' && clicked !== `retry${out.retries.length}`) {
      clicked = `retry${out.retries.length}`;
      await page.screenshot({ path: path.join(sc.out, `${s.name}-retry-${out.retries.length + 1}.png`) });
      out.retries.push({ text: st.text });
      await press(page, '.buttons button.primary');
      await left(page, 'retry');
    } else if (st.state === 'denied') {
      if (!out.denied) out.denied = { text: st.text, primary: st.primary, alt: st.alt, live: st.live, alerts: st.alerts };
      if (deniedTries < (s.denied_retries || 0)) {
        // Try again: the camera is asked for again (and refused again).
        deniedTries++;
        const before = st.camera_requests;
        await press(page, '.buttons button.primary');
        await page.waitForFunction((n) => {
          const b = document.getElementById('faceproof-liveness').shadowRoot.querySelector('.fp');
          return Number(b.getAttribute('data-camera-requests')) > n && b.getAttribute('data-state') === 'denied';
        }, before, { timeout: 10000, polling: 50 }).then(() => { out.denied.asked_again = true; }, () => {});
      } else {
        // Close from the denied screen: focus goes back to the button that opened the plugin.
        await press(page, '.buttons button.close');
      }
    } else if ((st.state === 'handoff' || st.state === 'handoff_opened') && st.link && s.phone && !phoneRun) {
      out.handoff = { text: st.text, link: st.link };
      const qr = await page.evaluateHandle(() => document.getElementById('faceproof-liveness').shadowRoot.querySelector('.panel .qr'));
      await qr.asElement().screenshot({ path: path.join(sc.out, `${s.name}-qr.png`) });
      phoneRun = phone(s, st.link, errors);
      // The computer's page goes on polling while the phone works.
      phoneRun.then((p) => { out.phone = p.out; return p.context.close(); }, (e) => errors.push('phone: ' + e.message));
    }
    if (Date.now() > deadline) { errors.push(`no ${want || s.shown} within the time allowed`); break; }
    await sleep(120);
  }
  if (phoneRun) await phoneRun.catch(() => {});
  // The event can come a moment before the screen it ends on: the last screens are recorded too.
  for (let k = 0; k < 300; k++) {
    const st = await snapshot(page);
    await rec.see(st);
    if (!st.open || st.state === 'done' || st.state === 'error' || !want) break;
    await sleep(100);
  }
  const fp = await page.evaluate(() => ({ events: window.__fp.events, csp: window.__fp.csp,
    first_frame_ms: (window.OzLiveness && OzLiveness.metrics && OzLiveness.metrics.first_frame_ms) || null }));
  out.final = await snapshot(page);
  if (out.final.open) {
    await page.screenshot({ path: path.join(sc.out, `${s.name}-final.png`) });
    // Close through the API: on_close must follow.
    await page.evaluate(() => OzLiveness.close()).catch((e) => errors.push('close(): ' + e.message));
  }
  const closed = await page.evaluate(() => window.__fp.events.some((e) => e.name === 'on_close'));
  out.focus_after_close = await page.evaluate(() => document.activeElement ? document.activeElement.id || document.activeElement.tagName : null);
  // A capture's frames go to files (<out>/<name>-frames/) for the test's "backend" to upload.
  for (const e of fp.events) {
    if (e.name !== 'on_capture_complete') continue;
    const dir = path.join(sc.out, `${s.name}-frames`);
    fs.mkdirSync(dir, { recursive: true });
    // Named as the plugin's own upload names them: the rest frames first, marked `_rest`.
    const rest = e.payload.rest_frame_list || [];
    const write = (d, name) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, Buffer.from(d.split(',')[1], 'base64'));
      return f;
    };
    e.payload.rest_frame_files = rest.map((d, i) => write(d, `frame_${String(i).padStart(4, '0')}_rest.jpg`));
    e.payload.frame_files = e.payload.frame_list.map((d, i) => write(d, `frame_${String(rest.length + i).padStart(4, '0')}.jpg`));
    e.payload.frame_list = e.payload.frame_list.length;
    e.payload.rest_frame_list = rest.length;
    e.payload.best_frame = e.payload.best_frame.slice(0, 23);
    e.payload.best_frame_png = e.payload.best_frame_png.slice(0, 22);
    delete e.payload.actions;
  }
  Object.assign(out, fp, { closed, screens: rec.screens, seconds: (Date.now() - started) / 1000 });
  await context.close();
  return out;
}

const results = { scenarios: [] };
try {
  for (let i = 0; i < sc.scenarios.length; i++) {
    results.scenarios.push(await run(sc.scenarios[i]));
    // A browser no later scenario needs is closed (each is a few hundred MB).
    const needed = new Set(sc.scenarios.slice(i + 1).flatMap((s) => [s.camera, s.phone && s.phone.camera]));
    for (const [camera, b] of browsers) {
      if (!needed.has(camera)) { browsers.delete(camera); await b.close().catch(() => {}); }
    }
  }
  results.ok = true;
} catch (e) {
  results.ok = false;
  results.error = String(e && e.stack || e);
} finally {
  for (const b of browsers.values()) await b.close().catch(() => {});
}
fs.writeFileSync(path.join(sc.out, 'results.json'), JSON.stringify(results, null, 1));
pages.close();
process.exit(results.ok ? 0 : 1);
