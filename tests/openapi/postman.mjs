// The Postman collection of the API, and a run of it with newman. Used by
// crates/cli/tests/api/openapi.rs:
//
//   node postman.mjs generate <openapi.json> <collection.json>
//     converts the document with the pinned openapi-to-postmanv2 (requests named by their
//     summary, in folders by tag, example bodies from the schemas) and writes it without the
//     random ids the converter adds (and without its example responses: the reference has them),
//     so that the same document always gives the same file —
//     the server serves that file at GET /api/postman.json.
//   node postman.mjs run
//     fetches FACEPROOF_BASE/api/postman.json and runs, with newman, the collection's own
//     requests "Log in", "Create folder with media", "Start analyses" and "Get analysis" (polled
//     until the analysis finishes), filling in the variables (base URL, token, ids, the photo
//     file) with test scripts; prints one JSON line with what it read.
import fs from 'node:fs';
import newman from 'newman';

const [cmd, input, output] = process.argv.slice(2);

function withoutIds(v) {
  if (Array.isArray(v)) return v.map(withoutIds);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'id' && k !== '_postman_id' && k !== 'response') out[k] = withoutIds(x);
    return out;
  }
  return v;
}

if (cmd === 'generate') {
  // The converter fakes values for parameters without an example with Math.random: a seeded
  // generator makes the same document give the same collection.
  let seed = 0x5eed;
  Math.random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // (imported after the seeding: the faker keeps the function it finds at load time)
  const Converter = (await import('openapi-to-postmanv2')).default;
  const data = fs.readFileSync(input, 'utf8');
  const options = { folderStrategy: 'Tags', requestNameSource: 'Fallback', parametersResolution: 'Example', requestParametersResolution: 'Example' };
  Converter.convert({ type: 'string', data }, options, (err, result) => {
    if (err || !result.result) {
      console.error('conversion failed:', err || result.reason);
      process.exit(1);
    }
    const collection = withoutIds(result.output[0].data);
    fs.writeFileSync(output, JSON.stringify(collection, null, 1) + '\n');
  });
} else if (cmd === 'run') {
  const env = (k) => {
    if (!process.env[k]) throw new Error(`${k} is not set`);
    return process.env[k];
  };
  const base = env('FACEPROOF_BASE');
  const served = await (await fetch(`${base}/api/postman.json`)).json();
  const find = (name, items = served.item) => {
    for (const it of items) {
      if (it.name === name && it.request) return structuredClone(it);
      if (it.item) {
        const hit = find(name, it.item);
        if (hit) return hit;
      }
    }
    return null;
  };
  const names = ['Log in', 'Create folder with media', 'Start analyses', 'Get analysis'];
  const [login, upload, start, read] = names.map((n) => {
    const it = find(n);
    if (!it) throw new Error(`the served collection has no request "${n}"`);
    delete it.response;
    return it;
  });
  const test = (...lines) => [{ listen: 'test', script: { type: 'text/javascript', exec: lines } }];
  // Log in: the generated example body, with this server's account.
  login.request.body.raw = JSON.stringify({ credentials: { email: '{{email}}', password: '{{password}}' } });
  login.event = test(
    "pm.test('signed in', () => pm.response.to.have.status(200));",
    "pm.collectionVariables.set('apiKey', pm.response.json().access_token);",
  );
  // Upload: the generated form, with the photo file and a payload; the other example fields off.
  for (const field of upload.request.body.formdata) {
    if (field.key === 'photo1') {
      field.type = 'file';
      field.src = env('FACEPROOF_PHOTO');
      delete field.value;
    } else if (field.key === 'payload') {
      field.value = JSON.stringify({ 'media:tags': { photo1: ['photo_selfie'] }, 'folder:meta_data': { client: 'newman' } });
    } else {
      field.disabled = true;
    }
  }
  upload.event = test(
    "pm.test('uploaded', () => pm.response.to.have.status(201));",
    "pm.collectionVariables.set('folder_id', pm.response.json().folder_id);",
  );
  // Start analyses: the generated example body ({analyses: [{type: quality}]}) as it is.
  for (const v of start.request.url.variable || []) if (v.key === 'folder_id') v.value = '{{folder_id}}';
  start.event = test(
    "pm.test('ordered', () => pm.response.to.have.status(201));",
    "pm.collectionVariables.set('analysis_id', pm.response.json()[0].analysis_id);",
  );
  for (const v of read.request.url.variable || []) if (v.key === 'analysis_id') v.value = '{{analysis_id}}';
  read.event = [
    { listen: 'prerequest', script: { type: 'text/javascript', exec: ["if (pm.collectionVariables.get('polls')) setTimeout(() => {}, 250);"] } },
    ...test(
      "pm.test('read', () => pm.response.to.have.status(200));",
      "const polls = Number(pm.collectionVariables.get('polls') || 0) + 1;",
      "pm.collectionVariables.set('polls', polls);",
      "if (pm.response.json().state === 'PROCESSING' && polls < 1200) postman.setNextRequest('Get analysis');",
      "else pm.test('finished', () => pm.expect(pm.response.json().state).to.eql('FINISHED'));",
    ),
  ];
  const collection = { info: served.info, item: [login, upload, start, read], variable: served.variable, auth: served.auth };
  const responses = {};
  newman
    .run({
      collection,
      envVar: [
        { key: 'baseUrl', value: base },
        { key: 'email', value: env('FACEPROOF_EMAIL') },
        { key: 'password', value: env('FACEPROOF_PASSWORD') },
      ],
      reporters: ['cli'],
      reporter: { cli: { noSummary: false } },
      timeoutRequest: 120000,
    })
    .on('request', (err, o) => {
      if (!err && o.response) {
        responses[o.item.name] = { status: o.response.code, body: o.response.stream ? o.response.stream.toString() : '' };
      }
    })
    .on('done', (err, summary) => {
      const failures = summary ? summary.run.failures.map((f) => `${f.source && f.source.name}: ${f.error && f.error.message}`) : [];
      const parse = (name) => {
        try {
          return JSON.parse(responses[name].body);
        } catch {
          return null;
        }
      };
      const analysis = parse('Get analysis') || {};
      console.log(
        JSON.stringify({
          error: err ? String(err) : null,
          failures,
          requests: summary ? summary.run.stats.requests.total : 0,
          upload_status: responses['Create folder with media'] && responses['Create folder with media'].status,
          folder_id: (parse('Create folder with media') || {}).folder_id,
          analysis_id: analysis.analysis_id,
          state: analysis.state,
          resolution_status: analysis.resolution_status,
          results_media: analysis.results_media,
        }),
      );
      process.exit(err || failures.length ? 1 : 0);
    });
} else {
  console.error('usage: node postman.mjs generate <openapi.json> <collection.json> | run');
  process.exit(2);
}
