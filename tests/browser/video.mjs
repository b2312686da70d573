// Plays videos in headless Chromium (Debian's, through playwright-core) the way a page does: a
// <video> element whose src is the URL as the API handed it out. Run by crates/cli/tests/api/
// compat.rs with FACEPROOF_SCENARIO (JSON):
//   { out, page_port, videos: [{ name, url, headers?: {…} }] }
// The page is served by this script on its own origin (http://127.0.0.1:<page_port>), so the
// video is a cross-origin media request as on an integrator's page. `headers` are sent with every
// request of that video's browser context (how a console with the token header loads it); without
// them only what the URL itself carries opens the file (a signed link).
//
// For each video: the codecs this Chromium says it plays, then after loading and playing — the
// duration, the picture's size, the playback position at the start and after playing, and any
// media error — with a screenshot (<out>/<name>.png), written to <out>/results.json.

import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const sc = JSON.parse(process.env.FACEPROOF_SCENARIO);
fs.mkdirSync(sc.out, { recursive: true });

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Player</title>
<script src="/player.js"></script></head><body><video id="v" muted playsinline width="360"></video></body></html>`;
// Loads the URL from the hash, plays it and resolves window.__played with what happened.
const PLAYER_JS = `
window.__played = new Promise(function (resolve) {
  document.addEventListener('DOMContentLoaded', function () {
    var v = document.getElementById('v');
    var done = false;
    function finish(r) {
      if (done) return;
      done = true;
      r.duration = v.duration; r.width = v.videoWidth; r.height = v.videoHeight;
      r.current_time = v.currentTime; r.ready_state = v.readyState;
      r.error = v.error ? { code: v.error.code, message: v.error.message } : null;
      resolve(r);
    }
    v.addEventListener('error', function () { finish({ stage: 'load' }); });
    v.addEventListener('loadedmetadata', function () {
      var start = v.currentTime;
      v.play().then(function () {
        // Playing means the position moves: wait until it has gone half a second (or the end).
        var want = Math.min(0.5, v.duration / 2);
        (function poll() {
          if (done) return;
          if (v.currentTime - start >= want || v.ended) finish({ stage: 'played', start: start });
          else setTimeout(poll, 50);
        })();
      }, function (e) { finish({ stage: 'play', play_error: String(e) }); });
    });
    v.src = decodeURIComponent(location.hash.slice(1));
  });
});
`;

const pages = http.createServer((req, res) => {
  const p = new URL(req.url, 'http://x').pathname;
  if (p === '/player.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  } else if (p === '/player.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
    res.end(PLAYER_JS);
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((r) => pages.listen(sc.page_port, '127.0.0.1', r));

const results = { videos: [] };
let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
      '--autoplay-policy=no-user-gesture-required'],
  });
  for (const v of sc.videos) {
    const context = await browser.newContext({ extraHTTPHeaders: v.headers || {} });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${sc.page_port}/player.html#${encodeURIComponent(v.url)}`);
    const codecs = await page.evaluate(() => {
      const el = document.createElement('video');
      return {
        h264_high: el.canPlayType('video/mp4; codecs="avc1.64001F"'),
        h264_baseline: el.canPlayType('video/mp4; codecs="avc1.42E01E"'),
        vp9_webm: el.canPlayType('video/webm; codecs="vp9"'),
      };
    });
    const played = await Promise.race([
      page.evaluate(() => window.__played),
      new Promise((r) => setTimeout(() => r({ stage: 'timeout' }), 90000)),
    ]);
    await page.screenshot({ path: path.join(sc.out, `${v.name}.png`) });
    results.videos.push({ name: v.name, codecs, errors, ...played });
    await context.close();
  }
  results.ok = true;
} catch (e) {
  results.ok = false;
  results.error = String((e && e.stack) || e);
} finally {
  if (browser) await browser.close();
}
fs.writeFileSync(path.join(sc.out, 'results.json'), JSON.stringify(results, null, 1));
pages.close();
process.exit(results.ok ? 0 : 1);
