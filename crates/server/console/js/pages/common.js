// Names for ids: the companies and users the signed-in user may list (the API scopes both).

import * as api from '../api.js';

let cache = null;
let cacheOwner = null;
export function directory() {
  const u = api.user();
  // another user signed in in this tab: their scope differs
  if (cache && cacheOwner !== (u && u.user_id)) cache = null;
  if (!cache) {
    cacheOwner = u && u.user_id;
    cache = Promise.all([
      api.get('/api/companies?limit=1000').then((r) => r.items || []).catch(() => []),
      api.get('/api/users?limit=1000').then((r) => r.items || []).catch(() => (u ? [u] : [])),
    ]).then(([companies, users]) => ({
      companies,
      users,
      company: (id) => (companies.find((c) => c.company_id === id) || {}).name || (id ? String(id).slice(0, 8) : '–'),
      user: (id) => (users.find((x) => x.user_id === id) || {}).email || (id ? String(id).slice(0, 8) : '–'),
    }));
    // names change (users created, companies renamed): keep the list for a minute at most
    setTimeout(() => (cache = null), 60000);
  }
  return cache;
}

export function forgetDirectory() {
  cache = null;
}

export const STATUSES = ['PROCESSING', 'SUCCESS', 'DECLINED', 'OPERATOR_REQUIRED', 'FAILED', 'INITIAL'];
export const TYPES = ['QUALITY', 'BIOMETRY', 'COLLECTION'];
export const RESOLUTIONS = ['SUCCESS', 'DECLINED', 'OPERATOR_REQUIRED', 'PROCESSING', 'FAILED'];
export const TYPE_LABEL = { QUALITY: 'Liveness', BIOMETRY: 'Biometry', COLLECTION: 'Blacklist', DOCUMENTS: 'Documents' };
