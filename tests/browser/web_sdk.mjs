// The web plugin in headless Chromium (Debian's, through playwright-core), run by
// crates/cli/tests/api/browser_web_sdk.rs with FACEPROOF_SCENARIO (JSON):
//   { base, out, page_port, scenarios: [{ name, camera: <y4m path> | "denied", host: "127.0.0.1" |
//     "localhost", open: {…OzLiveness.open options without callbacks…}, until: "complete" |
//     "error" | "capture", expect_text? }] }
// When the plugin asks for another capture ("Try again" after an unusable one), the harness acts
// as the person: a screenshot (<name>-retry-<k>.png) and the texts shown, then a click on the
// button; `retries` in the results lists them.
//
// The integrator's page is served by this script on ANOTHER origin (http://<host>:<page_port>),
// with a strict Content-Security-Policy (no inline script or style, scripts and connections only
// from itself and the faceproof server). The fake camera plays a clip made by the test: one
// browser per clip (the clip is a launch flag), every scenario of that clip in it. For each
// scenario: the callbacks received, CSP violations, the time to first camera frame, a screenshot
// (<out>/<name>.png) and the plugin's visible texts at that moment, written to <out>/results.json.

import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const sc = JSON.parse(process.env.FACEPROOF_SCENARIO);
fs.mkdirSync(sc.out, { recursive: true });
const server = new URL(sc.base);

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Integrator page</title>
<script src="${sc.base}/plugin_liveness.php"></script><script src="/page.js"></script></head>
<body><h1>Integrator page</h1></body></html>`;
// The integrator's script: opens the plugin with the options from the URL's hash and records
// every callback in window.__fp (read by this harness).
const PAGE_JS = `
window.__fp = { events: [], csp: [] };
document.addEventListener('securitypolicyviolation', function (e) {
  window.__fp.csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
var opts = JSON.parse(decodeURIComponent(location.hash.slice(1)));
['on_submit', 'on_result', 'on_complete', 'on_error', 'on_capture_complete', 'on_close'].forEach(function (k) {
  opts[k] = function (p) { window.__fp.events.push({ name: k, payload: p === undefined ? null : p }); };
});
OzLiveness.open(opts);
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

async function launch(camera) {
  const args = [...ARGS, '--use-fake-device-for-media-stream'];
  if (camera !== 'denied') args.push('--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${camera}`);
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args });
}

/** The plugin's visible texts (inside its shadow root). */
const pluginText = (page) => page.evaluate(() => {
  const h = document.getElementById('faceproof-liveness');
  return h && h.shadowRoot ? h.shadowRoot.querySelector('.fp').innerText : '';
});

async function run(browser, s) {
  const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  const url = `http://${s.host}:${sc.page_port}/page.html#${encodeURIComponent(JSON.stringify(s.open))}`;
  const started = Date.now();
  await page.goto(url);
  const out = { name: s.name, errors };
  // The screenshot: once the plugin shows its first instruction (or an error).
  try {
    await page.waitForFunction(() => {
      const h = document.getElementById('faceproof-liveness');
      const t = h && h.shadowRoot && h.shadowRoot.querySelector('.step');
      return (t && t.textContent) || window.__fp.events.length > 0;
    }, null, { timeout: 60000 });
  } catch (e) {
    errors.push('the plugin showed no instruction: ' + e.message);
  }
  out.text = await pluginText(page);
  await page.screenshot({ path: path.join(sc.out, `${s.name}.png`) });
  const want = { complete: 'on_complete', error: 'on_error', capture: 'on_capture_complete' }[s.until];
  out.retries = [];
  const deadline = Date.now() + 180000 * (1 + (s.max_retries || 0));
  for (;;) {
    // Done, or the plugin shows "Try again" after a result that asks for another capture.
    const state = await page.waitForFunction((w) => {
      if (window.__fp.events.some((e) => e.name === w || e.name === 'on_error')) return 'done';
      const asked = window.__fp.events.filter((e) => e.name === 'on_result' && e.payload && e.payload.retry).length;
      const h = document.getElementById('faceproof-liveness');
      const b = h && h.shadowRoot && h.shadowRoot.querySelector('.buttons button:not(.secondary)');
      return asked > (window.__fp.clicked || 0) && b && !b.hidden ? 'retry' : false;
    }, want, { timeout: Math.max(1000, deadline - Date.now()), polling: 250 })
      .then((h) => h.jsonValue(), (e) => { errors.push(`no ${want} within the time allowed: ` + e.message); return 'timeout'; });
    if (state !== 'retry') break;
    const k = out.retries.length + 1;
    await page.screenshot({ path: path.join(sc.out, `${s.name}-retry-${k}.png`) });
    out.retries.push({ text: await pluginText(page) });
    await page.evaluate(() => {
      window.__fp.clicked = (window.__fp.clicked || 0) + 1;
      document.getElementById('faceproof-liveness').shadowRoot
        .querySelector('.buttons button:not(.secondary)').click();
    });
  }
  const fp = await page.evaluate(() => ({ events: window.__fp.events, csp: window.__fp.csp,
    first_frame_ms: (window.OzLiveness && OzLiveness.metrics && OzLiveness.metrics.first_frame_ms) || null }));
  // Close through the API: on_close must follow.
  await page.evaluate(() => OzLiveness.close()).catch((e) => errors.push('close(): ' + e.message));
  const closed = await page.evaluate(() => window.__fp.events.some((e) => e.name === 'on_close'));
  // A capture's frames go to files (<out>/<name>-frames/) for the test's "backend" to upload.
  for (const e of fp.events) {
    if (e.name !== 'on_capture_complete') continue;
    const dir = path.join(sc.out, `${s.name}-frames`);
    fs.mkdirSync(dir, { recursive: true });
    e.payload.frame_files = e.payload.frame_list.map((d, i) => {
      const f = path.join(dir, `frame_${String(i).padStart(4, '0')}.jpg`);
      fs.writeFileSync(f, Buffer.from(d.split(',')[1], 'base64'));
      return f;
    });
    e.payload.frame_list = e.payload.frame_list.length;
    e.payload.best_frame = e.payload.best_frame.slice(0, 23);
    e.payload.best_frame_png = e.payload.best_frame_png.slice(0, 22);
    delete e.payload.actions;
  }
  Object.assign(out, fp, { closed, seconds: (Date.now() - started) / 1000 });
  await context.close();
  return out;
}

const results = { scenarios: [] };
try {
  const byCamera = new Map();
  for (const s of sc.scenarios) {
    if (!byCamera.has(s.camera)) byCamera.set(s.camera, []);
    byCamera.get(s.camera).push(s);
  }
  for (const [camera, list] of byCamera) {
    const browser = await launch(camera);
    try {
      for (const s of list) results.scenarios.push(await run(browser, s));
    } finally {
      await browser.close();
    }
  }
  results.ok = true;
} catch (e) {
  results.ok = false;
  results.error = String(e && e.stack || e);
}
fs.writeFileSync(path.join(sc.out, 'results.json'), JSON.stringify(results, null, 1));
pages.close();
process.exit(results.ok ? 0 : 1);
