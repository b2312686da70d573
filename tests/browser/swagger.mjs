// Swagger UI's "Try it out" in Debian's headless Chromium (playwright-core), as a new user of
// the API reference would use it: open /api/docs, send "Log in" with the account's credentials,
// put the answer's access token into "Authorize", then upload a photo with "Create folder with
// media" and start a QUALITY analysis of it — each answered 200/201 in the page. Started by
// crates/cli/tests/api/openapi.rs with FACEPROOF_SCENARIO (JSON: base, out, email, password,
// photo); writes <out>/results.json and a screenshot of each step (<out>/NN-name.png).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

const sc = JSON.parse(process.env.FACEPROOF_SCENARIO);
const OUT = sc.out;
fs.mkdirSync(OUT, { recursive: true });
const results = { steps: [] };
let shots = 0;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
page.setDefaultTimeout(60000);
const errors = [];
page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
page.on('console', (m) => {
  if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
});
const shot = async (name, el) => {
  const file = path.join(OUT, `${String(++shots).padStart(2, '0')}-${name}.png`);
  if (el) await el.screenshot({ path: file });
  else await page.screenshot({ path: file, fullPage: false });
};

/** The operation block of `method path`, opened, in "Try it out" mode. */
async function tryOut(method, p) {
  const op = page.locator(`.opblock.opblock-${method}`, { has: page.locator(`.opblock-summary-path[data-path="${p}"]`) });
  await op.locator('.opblock-summary').first().click();
  await op.locator('button.try-out__btn').click();
  return op;
}

/** Execute and wait for the live answer; its status and body text. */
async function execute(op) {
  await op.locator('button.execute').click();
  const status = op.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor();
  const body = await op.locator('.live-responses-table .response-col_description pre.microlight, .live-responses-table .response-col_description .highlight-code pre').first().textContent();
  return { status: Number((await status.textContent()).trim()), body };
}

try {
  results.steps.push('open the reference');
  await page.goto(`${sc.base}/api/docs`);
  await page.locator('.opblock-tag-section').first().waitFor();
  results.tags = await page.locator('.opblock-tag-section h3 .nostyle span').allTextContents();

  results.steps.push('log in with "Try it out"');
  const login = await tryOut('post', '/api/authorize/auth');
  await login.locator('textarea.body-param__text').fill(JSON.stringify({ credentials: { email: sc.email, password: sc.password } }));
  const signedIn = await execute(login);
  results.login_status = signedIn.status;
  assert.equal(signedIn.status, 200, `log in answered ${signedIn.status}: ${signedIn.body}`);
  const token = JSON.parse(signedIn.body).access_token;
  assert.ok(token, 'an access token');
  await shot('login', login);

  results.steps.push('authorize with the token');
  await page.locator('.auth-wrapper button.authorize').click();
  const modal = page.locator('.dialog-ux .modal-ux');
  const scheme = modal.locator('.auth-container', { hasText: 'X-Forensic-Access-Token' });
  await scheme.locator('input[type="text"], input[type="password"]').first().fill(token);
  await scheme.locator('button.authorize').click();
  await scheme.locator('button.btn-done, button:has-text("Logout")').first().waitFor();
  await shot('authorized', modal);
  await modal.locator('button.close-modal').click();

  results.steps.push('upload a photo with "Create folder with media"');
  const create = await tryOut('post', '/api/folders');
  await create.locator('tr[data-property-name="photo1"] input[type="file"]').setInputFiles(sc.photo);
  const payload = create.locator('tr[data-property-name="payload"] input, tr[data-property-name="payload"] textarea').first();
  await payload.fill(JSON.stringify({ 'media:tags': { photo1: ['photo_selfie'] }, 'folder:meta_data': { client: 'swagger' } }));
  await create.locator('tr[data-property-name="additional_info"] input').first().fill('Chromium, headless (Swagger UI test)');
  const uploaded = await execute(create);
  results.upload_status = uploaded.status;
  assert.equal(uploaded.status, 201, `upload answered ${uploaded.status}: ${uploaded.body}`);
  const folder = JSON.parse(uploaded.body);
  results.folder_id = folder.folder_id;
  results.media = folder.media.length;
  await create.scrollIntoViewIfNeeded();
  await shot('upload', create);

  results.steps.push('start a QUALITY analysis of it');
  const start = await tryOut('post', '/api/folders/{folder_id}/analyses');
  await start.locator('tr[data-param-name="folder_id"] input').fill(folder.folder_id);
  const started = await execute(start);
  results.analyses_status = started.status;
  assert.equal(started.status, 201, `analyses answered ${started.status}: ${started.body}`);
  results.analysis_id = JSON.parse(started.body)[0].analysis_id;
  await shot('analyses', start);
  await page.screenshot({ path: path.join(OUT, 'page.png'), fullPage: false });
  assert.deepEqual(errors, [], 'no errors in the page');
  results.ok = true;
} catch (e) {
  results.ok = false;
  results.error = String(e && e.stack ? e.stack : e);
  try {
    fs.writeFileSync(path.join(OUT, 'failure.html'), await page.content());
    await page.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true });
  } catch {
    /* the browser may be gone */
  }
  console.error(`[swagger-test] FAILED: ${results.error}`);
} finally {
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 2));
  await browser.close();
}
process.exit(results.ok ? 0 : 1);
