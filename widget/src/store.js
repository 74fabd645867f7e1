// First-party browser storage for the reader's own things: their voter id, their guest edit
// tokens, their votes, their name. Nothing leaves the browser except to the comment server.
// Falls back to memory where localStorage is blocked.

const memory = new Map();
const PREFIX = 'rejoinder:';

function storage() {
  try {
    const s = globalThis.localStorage;
    s.setItem(PREFIX + 'probe', '1');
    s.removeItem(PREFIX + 'probe');
    return s;
  } catch {
    return null;
  }
}

export function read(key, fallback = null) {
  const s = storage();
  const raw = s ? s.getItem(PREFIX + key) : memory.get(key);
  if (raw == null) return fallback;
  try {
    return JSON.parse(raw);
  } catch {
    return fallback;
  }
}

export function write(key, value) {
  const raw = JSON.stringify(value);
  const s = storage();
  try {
    if (s) s.setItem(PREFIX + key, raw);
    else memory.set(key, raw);
  } catch {
    memory.set(key, raw);
  }
}

export function remove(key) {
  const s = storage();
  if (s) s.removeItem(PREFIX + key);
  memory.delete(key);
}

/** 128 random bits as hex (getRandomValues works outside secure contexts too). */
export function randomId() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** This browser's random voter id, made once; sent as X-Rejoinder-Voter. */
export function voterId() {
  let id = read('voter');
  if (typeof id !== 'string' || id.length < 16) {
    id = randomId();
    write('voter', id);
  }
  return id;
}

/** Guest edit tokens keyed by comment id: {token, until (ms), body}; expired ones are dropped. */
export function editTokens(now = Date.now()) {
  const all = read('edit', {}) || {};
  let changed = false;
  for (const id of Object.keys(all)) {
    if (!all[id] || !(all[id].until > now)) {
      delete all[id];
      changed = true;
    }
  }
  if (changed) write('edit', all);
  return all;
}

export function saveEditToken(id, entry) {
  const all = editTokens();
  all[id] = entry;
  write('edit', all);
}

export function forgetEditToken(id) {
  const all = editTokens();
  delete all[id];
  write('edit', all);
}

export function myVotes() {
  return read('votes', {}) || {};
}

export function saveMyVote(id, value) {
  const all = myVotes();
  if (value) all[id] = value;
  else delete all[id];
  write('votes', all);
}
