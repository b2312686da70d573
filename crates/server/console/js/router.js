// The hash router: routes are `#/section/...?...filters`; the filters live in the hash so a page
// can be reloaded, shared, and restored after signing in again. Pages import this module (never
// app.js): the shell registers the function that draws a route with `setRenderer`.

/** Whether `s` is an object id (a UUID): what every id segment of a route must be. */
export const isId = (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

/** The parsed hash: path segments and query parameters. */
export function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

export function go(path, params) {
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v != null)).toString() : '';
  const target = `#/${path}${q ? `?${q}` : ''}`;
  if (location.hash === target) render();
  else location.hash = target;
}

let generation = 0;
let renderer = async () => {};

/** The shell's page drawing, called with the render number of each new render. */
export function setRenderer(f) {
  renderer = f;
}

/** Whether the page started as render number `g` is still the one on screen. */
export const current = (g) => g === generation;

/** Draw the current route again (a new render number: pages of older renders stop). */
export function render() {
  return renderer(++generation);
}
