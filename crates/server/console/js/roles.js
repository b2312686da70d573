// Who sees what: the console's sections per role and the role checks pages share. This mirrors
// the API's policy so the console offers only what the role can do; the API still decides.

import * as api from './api.js';

const ALL = ['ADMIN', 'OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR', 'CLIENT'];
/** Sections and the roles that see them. */
export const SECTIONS = [
  { id: 'orders', label: 'Orders', roles: ALL },
  { id: 'review', label: 'Review queue', roles: ['OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR'] },
  { id: 'create', label: 'Create order', roles: ['ADMIN', 'CLIENT ADMIN', 'CLIENT OPERATOR', 'CLIENT'] },
  { id: 'blacklist', label: 'Blacklist', roles: ['ADMIN', 'OPERATOR', 'CLIENT ADMIN'] },
  { id: 'users', label: 'Users', roles: ['ADMIN', 'OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR'] },
  { id: 'companies', label: 'Companies', roles: ['ADMIN', 'OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR'] },
  { id: 'stats', label: 'Statistics', roles: ['ADMIN', 'OPERATOR', 'CLIENT ADMIN', 'CLIENT OPERATOR'] },
  { id: 'settings', label: 'Settings', roles: ALL },
];

/** The signed-in user's role ('' when signed out). */
export const role = () => (api.user() || {}).user_type || '';

export function can(section, u = api.user()) {
  const s = SECTIONS.find((x) => x.id === section);
  return !!(u && s && s.roles.includes(u.user_type));
}

/** Roles that may take the operator's decision (ADMIN manages but does not review). */
export const canDecide = (u = api.user()) => !!u && ['OPERATOR', 'CLIENT OPERATOR'].includes(u.user_type);

/** ADMIN and a company's CLIENT ADMIN: manage users, blacklists and the company's settings. */
export const manages = () => ['ADMIN', 'CLIENT ADMIN'].includes(role());

/** Company-wide readers: ADMIN and OPERATOR see every company. */
export const seesAllCompanies = () => ['ADMIN', 'OPERATOR'].includes(role());
