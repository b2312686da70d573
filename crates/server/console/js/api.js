// The console's only way to the server: the public API with the signed-in user's token.
// Tokens live in sessionStorage (this tab only). A 401 triggers one refresh (the session's
// refresh token, with the current access token in the header as the API requires); when that
// fails the user goes back to sign-in, keeping the page's hash (filters included) to return to.

const KEY = 'faceproof.session';
const TOKEN_HEADER = 'X-Forensic-Access-Token';

export class ApiError extends Error {
  constructor(status, body) {
    const msg = (body && (body.error_message || body.message)) || `HTTP ${status}`;
    super(msg);
    this.status = status;
    this.code = body && body.error_code;
    this.body = body;
  }
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

function save(s) {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export function user() {
  const s = session();
  return s ? s.user : null;
}

export function setUser(u) {
  const s = session();
  if (s) save({ ...s, user: u });
}

let onExpired = () => {};
/** Called (once per expiry) when the session cannot be refreshed. */
export function whenExpired(f) {
  onExpired = f;
}

async function parse(resp) {
  const text = await resp.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { error_message: text.slice(0, 200) };
  }
}

export async function signIn(email, password) {
  const resp = await fetch('/api/authorize/auth', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ credentials: { email, password } }),
  });
  const body = await parse(resp);
  if (!resp.ok) throw new ApiError(resp.status, body);
  save({ access: body.access_token, refresh: body.expire_token, user: body.user });
  return body.user;
}

export async function signOut() {
  const s = session();
  save(null);
  if (!s) return;
  try {
    await fetch('/api/authorize/logout', { method: 'POST', headers: { [TOKEN_HEADER]: s.access } });
  } catch {
    /* the session is gone locally either way */
  }
}

let refreshing = null;
async function refresh() {
  const s = session();
  if (!s || !s.refresh) return false;
  if (!refreshing) {
    refreshing = (async () => {
      const resp = await fetch('/api/authorize/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [TOKEN_HEADER]: s.access },
        body: JSON.stringify({ expire_token: s.refresh }),
      });
      if (!resp.ok) return false;
      const body = await parse(resp);
      save({ access: body.access_token, refresh: body.expire_token, user: body.user || s.user });
      return true;
    })().finally(() => {
      setTimeout(() => (refreshing = null), 0);
    });
  }
  return refreshing;
}

/**
 * An API path with every interpolated value encoded as one path segment:
 * path`/api/collections/${cid}/persons/${pid}`. Ids come from the address bar and the server;
 * unencoded, `..%2F..%2Fcompanies%2F<id>` in a link would turn a request into another one.
 */
export function path(strings, ...values) {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(String(values[i])) : ''), '');
}

/** A request path (before its query) must not hold `.` or `..` segments, encoded or not. */
function checkPath(p) {
  const segments = String(p).split(/[?#]/)[0].split('/');
  if (segments.some((s) => /^(\.|%2e){1,2}$/i.test(s))) throw new ApiError(400, { error_message: 'Refused a request path with dot segments' });
}

/** A raw authenticated fetch (retried once after a refresh on 401). */
export async function raw(path, opts = {}) {
  checkPath(path);
  for (let attempt = 0; ; attempt++) {
    const s = session();
    if (!s) {
      onExpired();
      throw new ApiError(401, { error_message: 'Not signed in' });
    }
    const headers = { ...(opts.headers || {}), [TOKEN_HEADER]: s.access };
    const resp = await fetch(path, { ...opts, headers });
    if (resp.status === 401) {
      if (attempt === 0 && (await refresh())) continue;
      save(null);
      onExpired();
      throw new ApiError(401, await parse(resp));
    }
    return resp;
  }
}

/** JSON API call: returns the parsed body; throws ApiError on a non-2xx answer. */
export async function call(method, path, body) {
  const opts = { method };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) {
    opts.body = JSON.stringify(body);
    opts.headers = { 'Content-Type': 'application/json' };
  }
  const resp = await raw(path, opts);
  const parsed = await parse(resp);
  if (!resp.ok) throw new ApiError(resp.status, parsed);
  return parsed;
}

export const get = (path) => call('GET', path);

/** Query string from an object, skipping empty values; arrays repeat the key. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => x !== '' && u.append(k, x));
    else u.append(k, v);
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

// Media need the token header, so <img src> cannot point at them: fetch once, show as blob URL.
const blobs = new Map();
export async function blobUrl(url) {
  if (!url) return null;
  if (!blobs.has(url)) {
    blobs.set(
      url,
      (async () => {
        const resp = await raw(url);
        if (!resp.ok) throw new ApiError(resp.status, await parse(resp));
        return URL.createObjectURL(await resp.blob());
      })(),
    );
  }
  try {
    return await blobs.get(url);
  } catch (e) {
    blobs.delete(url);
    throw e;
  }
}

/** Forget blob URLs (on page change) so memory does not grow with browsing. */
export function releaseBlobs() {
  for (const p of blobs.values()) p.then((u) => URL.revokeObjectURL(u)).catch(() => {});
  blobs.clear();
}

/** Download an authenticated resource as a file (CSV export). */
export async function download(path, filename) {
  const resp = await raw(path);
  if (!resp.ok) throw new ApiError(resp.status, await parse(resp));
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
