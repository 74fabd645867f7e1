// A signed-in reader's session, kept in the page origin's localStorage per site, and which of
// the comments posted in this browser the reader may still change. No JWT handling here: the
// publisher's sign-on token is only passed on to the server.
import { editTokens, read, remove, write } from './store.js';

const key = (site) => 'session:' + site;

/** The stored session of a site, {token, user: {id, name, email, sso}}, or null. */
export function loadSession(site) {
  const s = read(key(site));
  return s && typeof s.token === 'string' && s.token && s.user && typeof s.user.name === 'string' ? s : null;
}

/** Store a session from the API's {session_token, user} (or null to forget it); returns it. */
export function saveSession(site, data) {
  if (!data) {
    remove(key(site));
    return null;
  }
  write(key(site), { token: data.session_token || data.token, user: data.user });
  return loadSession(site);
}

/**
 * The credential that may change a comment posted in this browser: a guest comment's edit token,
 * or, for one posted while signed in (entry.user), the session of that same account.
 */
export function tokenFor(entry, session) {
  if (!entry) return null;
  if (entry.user == null) return entry.token || null;
  return session && session.user.id === entry.user ? session.token : null;
}

/** Forget the comments a deleted account posted in this browser. */
export function forgetUser(userId) {
  const all = editTokens();
  for (const id of Object.keys(all)) if (all[id].user === userId) delete all[id];
  write('edit', all);
}

/** The file name of a data download: rejoinder-SITE-YYYY-MM-DD.json. */
export function exportName(site, date) {
  const slug = String(site).replace(/[^a-z0-9_-]+/gi, '-').slice(0, 60) || 'site';
  return `rejoinder-${slug}-${date.toISOString().slice(0, 10)}.json`;
}

/** A reader-facing message key for the API's error codes of sign-in and registration. */
export function authErrorKey(err) {
  const code = err && err.code;
  if (code === 'bad_credentials') return 'badLogin';
  if (code === 'account_exists') return 'accountExists';
  if (code === 'invalid_password') return 'passwordShort';
  if (code === 'invalid_email') return 'badEmail';
  return null;
}
