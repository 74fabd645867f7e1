// The reader's session storage and who may change which comment (src/session.js).
import test from 'node:test';
import assert from 'node:assert/strict';

// A page origin's localStorage, per test file.
const data = new Map();
globalThis.localStorage = {
  getItem: (k) => (data.has(k) ? data.get(k) : null),
  setItem: (k, v) => data.set(k, String(v)),
  removeItem: (k) => data.delete(k),
};
const { authErrorKey, exportName, forgetUser, loadSession, saveSession, tokenFor } = await import('../src/session.js');
const { editTokens, saveEditToken } = await import('../src/store.js');

const user = { id: 7, name: 'Ada', email: 'ada@example.org', role: 'reader', sso: false };

test('a session is stored per site, from the API response shape', () => {
  assert.equal(loadSession('news'), null);
  const s = saveSession('news', { session_token: 'rs_abc', user });
  assert.deepEqual(s, { token: 'rs_abc', user });
  assert.deepEqual(loadSession('news'), s);
  assert.equal(loadSession('blog'), null, 'another site on the same page origin is not signed in');
  assert.ok(data.has('rejoinder:session:news'));
  // A session saved again from its own shape ({token, user}) keeps its token.
  assert.equal(saveSession('news', { token: 'rs_abc', user: { ...user, name: 'Ada L.' } }).user.name, 'Ada L.');
  assert.equal(saveSession('news', null), null);
  assert.equal(loadSession('news'), null);
  assert.ok(!data.has('rejoinder:session:news'));
});

test('a broken stored session reads as none', () => {
  for (const raw of ['not json', '{}', '{"token":"","user":{"name":"x"}}', '{"token":"rs_x"}', '{"token":5,"user":{"name":"x"}}']) {
    data.set('rejoinder:session:odd', raw);
    assert.equal(loadSession('odd'), null, raw);
  }
});

test('a guest comment uses its edit token, an account comment only that account session', () => {
  const session = { token: 'rs_s', user };
  assert.equal(tokenFor(undefined, session), null);
  assert.equal(tokenFor({ token: 'et_1' }, null), 'et_1');
  assert.equal(tokenFor({ token: 'et_1' }, session), 'et_1');
  assert.equal(tokenFor({ user: 7 }, session), 'rs_s');
  assert.equal(tokenFor({ user: 7 }, null), null, 'signed out: not editable');
  assert.equal(tokenFor({ user: 8 }, session), null, 'another account: not editable');
});

test('deleting an account forgets its comments, not the guest ones', () => {
  const until = Date.now() + 60000;
  saveEditToken(1, { user: 7, until });
  saveEditToken(2, { token: 'et_2', until });
  saveEditToken(3, { user: 9, until });
  forgetUser(7);
  assert.deepEqual(Object.keys(editTokens()).sort(), ['2', '3']);
});

test('data download file name and error messages', () => {
  assert.equal(exportName('demo', new Date('2025-03-04T10:00:00Z')), 'rejoinder-demo-2025-03-04.json');
  assert.equal(exportName('../x y', new Date('2025-03-04T10:00:00Z')), 'rejoinder--x-y-2025-03-04.json');
  assert.equal(authErrorKey({ code: 'bad_credentials' }), 'badLogin');
  assert.equal(authErrorKey({ code: 'account_exists' }), 'accountExists');
  assert.equal(authErrorKey({ code: 'invalid_password' }), 'passwordShort');
  assert.equal(authErrorKey({ code: 'invalid_email' }), 'badEmail');
  assert.equal(authErrorKey({ code: 'rate_limited' }), null);
  assert.equal(authErrorKey(null), null);
});
