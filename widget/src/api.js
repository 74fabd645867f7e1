// The JSON API client: one place for the base URL, the voter header and error parsing.
import { voterId } from './store.js';

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.retryAfter = retryAfter;
  }
}

/** The server's origin (and path prefix) from the embed script's own src. */
export function baseFromScriptSrc(src) {
  if (!src) return '';
  try {
    const u = new URL(src, globalThis.location && globalThis.location.href);
    return u.href.replace(/\/embed\.js(\?.*)?(#.*)?$/, '').replace(/\/$/, '');
  } catch {
    return '';
  }
}

export function createApi(base) {
  const root = base + '/api/v1';

  async function request(method, path, { query, body, token, idempotent } = {}) {
    let url = root + path;
    if (query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v == null || v === '') continue;
        for (const item of Array.isArray(v) ? v : [v]) qs.append(k, item);
      }
      url += '?' + qs.toString();
    }
    const headers = { 'X-Rejoinder-Voter': voterId() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = 'Bearer ' + token;
    if (idempotent) headers['Idempotency-Key'] = idempotent;
    let res;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        mode: 'cors',
      });
    } catch (err) {
      throw new ApiError(0, 'network', err && err.message);
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      const retry = parseInt(res.headers.get('Retry-After') || '', 10);
      throw new ApiError(res.status, e.code, e.message, Number.isFinite(retry) ? retry : null);
    }
    return data;
  }

  return {
    base,
    thread: (site, thread, sort, cursor, limit) =>
      request('GET', '/comments', { query: { site, thread, sort, cursor, limit } }),
    post: (payload, key, token) => request('POST', '/comments', { body: payload, idempotent: key, token }),
    edit: (id, body, token) => request('PATCH', `/comments/${encodeURIComponent(id)}`, { body: { body }, token }),
    remove: (id, token) => request('DELETE', `/comments/${encodeURIComponent(id)}`, { token }),
    vote: (id, value, token) => request('POST', `/comments/${encodeURIComponent(id)}/votes`, { body: { value }, token }),
    flag: (id, reason, note, token) =>
      request('POST', `/comments/${encodeURIComponent(id)}/flags`, { body: note ? { reason, note } : { reason }, token }),
    // Reader accounts: kind is register, login or sso; the rest take the session token.
    auth: (kind, body) => request('POST', '/auth/' + kind, { body }),
    logout: (token) => request('POST', '/auth/logout', { token }),
    me: (token) => request('GET', '/me', { token }),
    exportMe: (token) => request('GET', '/me/export', { token }),
    deleteMe: (token) => request('DELETE', '/me', { token }),
    counts: (site, threads) => request('GET', '/counts', { query: { site, thread: threads } }),
    streamUrl: (site, thread) =>
      `${root}/stream?${new URLSearchParams({ site, thread }).toString()}`,
  };
}
