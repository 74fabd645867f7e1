// The reader widget: state, loading, sorting, paging, posting and the actions on comments.
import { accountArea } from './account.js';
import { openDelete, openEdit, openReport } from './actions.js';
import { ApiError } from './api.js';
import { renderComment, setExpanded, updateComment } from './comment.js';
import { adoptStyles, h } from './dom.js';
import { commentForm } from './form.js';
import { direction, translator } from './i18n/index.js';
import { CSS } from './styles.js';
import { editTokens, myVotes, saveEditToken, saveMyVote } from './store.js';
import { exportName, forgetUser, loadSession, saveSession, tokenFor } from './session.js';
import { formatRelative } from './time.js';
import { appendPage, findComment, insertComment, removeComment, updateComment as mergeComment } from './tree.js';
import { startLive } from './live.js';
import { renderSupport } from './support.js';

const SORTS = [
  ['oldest', 'sortOldest'],
  ['newest', 'sortNewest'],
  ['top', 'sortTop'],
];

export class Widget {
  constructor(host, { api, site, thread, lang, title, url, pageSize }) {
    this.host = host;
    this.api = api;
    this.site = site;
    this.threadKey = thread;
    this.lang = lang;
    this.t = translator(lang);
    this.title = title;
    this.url = url;
    this.pageSize = pageSize;
    this.sort = 'oldest';
    this.comments = [];
    this.count = 0;
    this.cursor = null;
    this.locked = false;
    this.editWindow = 0;
    this.nodes = new Map();
    this.queue = []; // live comments not shown yet ("N new comments")
    this.onChange = [];
    this.session = loadSession(site);
    this.checkedAt = 0;
    this.shadow = host.shadowRoot || host.attachShadow({ mode: 'open' });
    this.build();
  }

  build() {
    const t = this.t;
    this.heading = h('h2', { id: 'rj-heading', text: t('loading') });
    this.sortButtons = SORTS.map(([value, key]) =>
      h('button', {
        type: 'button',
        class: 'btn',
        'aria-pressed': String(value === this.sort),
        'data-sort': value,
        text: t(key),
        onclick: () => this.setSort(value),
      }),
    );
    this.supportSlot = h('div');
    this.status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
    this.account = accountArea(this);
    this.form = commentForm({ t, onSubmit: (v) => this.post(v, null, this.form), signedIn: () => !!this.session });
    this.closed = h('p', { class: 'status', hidden: true, text: t('closed') });
    this.newBar = h('button', { type: 'button', class: 'new', hidden: true, onclick: () => this.showQueued() });
    this.list = h('div', { class: 'list' });
    this.more = h('button', { type: 'button', class: 'btn more', hidden: true, text: t('loadMore'), onclick: () => this.loadMore() });
    this.root = h(
      'section',
      { class: this.session ? 'rj in' : 'rj', dir: direction(this.lang), lang: this.lang, 'aria-labelledby': 'rj-heading' },
      this.supportSlot,
      h('div', { class: 'head' }, this.heading, h('div', { class: 'sort', role: 'group', 'aria-label': t('sortLabel') }, this.sortButtons)),
      this.account.el,
      this.form.el,
      this.closed,
      this.status,
      this.newBar,
      this.list,
      this.more,
    );
    const style = adoptStyles(this.shadow, CSS);
    this.shadow.replaceChildren(...(style ? [style] : []), this.root);
    this.clock = setInterval(() => this.refreshTimes(), 60000);
  }

  announce(msg) {
    this.status.textContent = msg || '';
  }

  errorText(err) {
    if (err instanceof ApiError) {
      if (err.status === 429) return this.t('rateLimited', { s: err.retryAfter || 30 });
      if (err.status && err.status < 500 && err.message && err.code !== 'network') return err.message;
    }
    return this.t('genericError');
  }

  // ---- loading -------------------------------------------------------------------------------

  async load() {
    this.host.setAttribute('aria-busy', 'true');
    try {
      const data = await this.api.thread(this.site, this.threadKey, this.sort, null, this.pageSize);
      this.comments = data.comments || [];
      this.mergePending();
      this.cursor = data.next_cursor || null;
      const th = data.thread || {};
      this.count = th.comment_count || 0;
      this.locked = !!th.locked;
      this.editWindow = data.edit_window_seconds || 0;
      renderSupport(this.supportSlot, data.support, this.t);
      this.loaded = true;
      this.render();
      this.announce('');
    } catch (err) {
      this.heading.textContent = this.t('widgetLabel');
      this.list.replaceChildren(
        h('p', { class: 'error', text: this.t('loadError') }),
        h('button', { type: 'button', class: 'btn', text: this.t('retry'), onclick: () => this.load() }),
      );
    } finally {
      this.host.removeAttribute('aria-busy');
    }
  }

  async loadMore() {
    if (!this.cursor) return;
    this.more.disabled = true;
    try {
      const data = await this.api.thread(this.site, this.threadKey, this.sort, this.cursor, this.pageSize);
      const page = data.comments || [];
      const firstNew = page.find((c) => !findComment(this.comments, c.id));
      appendPage(this.comments, page);
      this.cursor = data.next_cursor || null;
      for (const c of page) {
        if (!this.nodes.has(c.id)) this.list.appendChild(renderComment(c, 0, this));
      }
      this.more.hidden = !this.cursor;
      this.changed();
      if (firstNew && this.nodes.has(firstNew.id)) this.nodes.get(firstNew.id).el.focus();
    } catch (err) {
      this.announce(this.errorText(err));
    } finally {
      this.more.disabled = false;
    }
  }

  setSort(value) {
    if (value === this.sort) return;
    this.sort = value;
    for (const b of this.sortButtons) b.setAttribute('aria-pressed', String(b.dataset.sort === value));
    this.queue = [];
    this.updateNewBar();
    this.load();
  }

  render() {
    this.nodes.clear();
    this.updateHeading();
    this.form.el.hidden = this.locked;
    this.closed.hidden = !this.locked;
    const els = this.comments.map((c) => renderComment(c, 0, this));
    if (!els.length) els.push(h('p', { class: 'muted empty', text: this.t('empty') }));
    this.list.replaceChildren(...els);
    this.more.hidden = !this.cursor;
    this.changed();
  }

  updateHeading() {
    this.heading.textContent = this.t('comments', { n: this.count });
  }

  refreshTimes() {
    for (const el of this.list.querySelectorAll('time[data-rel]')) {
      el.textContent = formatRelative(el.getAttribute('datetime'), new Date(), this.lang, this.t('justNow'));
    }
  }

  changed() {
    for (const fn of this.onChange) fn(this);
  }

  // ---- the reader's own comments ---------------------------------------------------------------

  myVote(id) {
    return myVotes()[id] || 0;
  }

  /** The edit token or session that may change comment id (posted in this browser), or null. */
  tokenOf(id) {
    return tokenFor(editTokens()[id], this.session);
  }

  editable(c) {
    return !!this.tokenOf(c.id) && !this.locked;
  }

  /** Pending comments of this reader (kept with their edit token) show again after a reload. */
  mergePending() {
    const tokens = editTokens();
    for (const entry of Object.values(tokens)) {
      if (!entry.pending || !entry.comment) continue;
      if (entry.thread !== this.threadKey || entry.site !== this.site || !tokenFor(entry, this.session)) continue;
      if (findComment(this.comments, entry.comment.id)) continue;
      insertComment(this.comments, { ...entry.comment, _pending: true }, { atStart: this.sort === 'newest' });
    }
  }

  /** Post from a form; parentId for replies. Returns true when the form may be cleared. */
  async post(values, parentId, form) {
    const payload = {
      site: this.site,
      thread: this.threadKey,
      body: values.body,
      thread_title: this.title || undefined,
      thread_url: this.url || undefined,
    };
    for (const k of ['author_name', 'author_email', 'notify', 'quote']) if (values[k]) payload[k] = values[k];
    if (parentId != null) payload.parent_id = parentId;
    // The server posts a dead session's comment as a guest's: check a session not seen lately.
    if (this.session && Date.now() - this.checkedAt > 300000 && !(await this.checkSession())) {
      form.setError(this.t('sessionExpired'));
      return false;
    }
    const s = this.session;
    let c;
    try {
      c = await this.api.post(payload, values.key, s && s.token);
    } catch (err) {
      if (s && err.status === 401) this.expire();
      form.setError(this.errorText(err));
      return false;
    }
    if (s && c.edit_token) this.expire(); // the session ended meanwhile: it went in as a guest's
    if (c.status === 'rejected') {
      form.setError(this.t('rejected'));
      return false;
    }
    const pending = c.status === 'pending';
    const comment = { replies: [], ...c, parent_id: c.parent_id ?? parentId ?? null, _pending: pending };
    if (c.edit_token || s) {
      const created = Date.parse(c.created_at) || Date.now();
      const window = (this.editWindow || 900) * 1000;
      saveEditToken(c.id, {
        ...(c.edit_token ? { token: c.edit_token } : { user: s.user.id }),
        until: Math.max(created + window, Date.now() + 60000),
        body: values.body,
        pending,
        site: this.site,
        thread: this.threadKey,
        comment: pending ? { ...comment, edit_token: undefined, _pending: false } : undefined,
      });
    }
    this.queue = this.queue.filter((q) => q.id !== c.id);
    this.updateNewBar();
    if (!pending && !findComment(this.comments, c.id)) {
      this.count += 1;
      this.updateHeading();
    }
    this.place(comment);
    this.closeSlots();
    this.announce(this.t(pending ? 'pending' : 'published'));
    const parts = this.nodes.get(c.id);
    if (parts) {
      parts.el.classList.add('fresh');
      parts.el.scrollIntoView({ block: 'nearest' });
    }
    return true;
  }

  /** Put a comment into the tree and the DOM (no-op when it is already there). */
  place(comment) {
    const atStart = this.sort === 'newest' && comment.parent_id == null;
    if (!insertComment(this.comments, comment, { atStart })) return false;
    const node = findComment(this.comments, comment.id);
    if (comment.parent_id == null) {
      const empty = this.list.querySelector('.empty');
      if (empty) empty.remove();
      const el = renderComment(node, 0, this);
      if (atStart) this.list.prepend(el);
      else this.list.appendChild(el);
    } else {
      const parent = this.nodes.get(comment.parent_id);
      if (!parent) return false;
      parent.replies.appendChild(renderComment(node, parent.depth + 1, this));
      setExpanded(parent, true, this);
    }
    this.changed();
    return true;
  }

  // ---- actions on a comment (each opens in the comment's slot) --------------------------------

  closeSlots() {
    for (const parts of this.nodes.values()) {
      if (parts.slot.firstChild) parts.slot.replaceChildren();
    }
  }

  openSlot(id, content, opener) {
    const parts = this.nodes.get(id);
    if (!parts) return null;
    this.closeSlots();
    parts.slot.replaceChildren(content);
    const restore = () => {
      parts.slot.replaceChildren();
      if (opener && opener.isConnected) opener.focus();
    };
    content.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') restore();
    });
    return { parts, close: restore };
  }

  openReply(id, opener) {
    let slot;
    const form = commentForm({
      t: this.t,
      reply: true,
      onSubmit: (v) => this.post(v, id, form),
      onCancel: () => slot.close(),
    });
    slot = this.openSlot(id, form.el, opener);
    form.focus();
  }

  /** A deleted comment with replies stays as a placeholder; one without goes. */
  deleteLocal(id, counted = true) {
    const c = findComment(this.comments, id);
    const parts = this.nodes.get(id);
    if (!c || !parts || c.deleted) return;
    if (!c.replies || !c.replies.length) return this.removeLocal(id, counted);
    c.deleted = true;
    c.body_html = '';
    const el = renderComment(c, parts.depth, this);
    parts.el.replaceWith(el);
    if (counted) {
      this.count = Math.max(0, this.count - 1);
      this.updateHeading();
    }
    this.changed();
  }

  /** Take a comment out of the tree and the DOM; counted when it was published. */
  removeLocal(id, counted = true) {
    const parts = this.nodes.get(id);
    const n = removeComment(this.comments, id);
    if (!n) return;
    if (parts) {
      const parentEl = parts.el.parentElement && parts.el.parentElement.closest('article.c');
      parts.el.remove();
      const parentParts = parentEl && this.nodes.get(findIdOf(this, parentEl));
      if (parentParts) setExpanded(parentParts, !parentParts.replies.hidden, this);
    }
    const gone = [];
    for (const key of this.nodes.keys()) if (!findComment(this.comments, key)) gone.push(key);
    for (const key of gone) this.nodes.delete(key);
    if (counted) {
      this.count = Math.max(0, this.count - n);
      this.updateHeading();
    }
    this.changed();
  }

  openEdit(id, opener) {
    openEdit(this, id, opener);
  }

  openDelete(id, opener) {
    openDelete(this, id, opener);
  }

  openReport(id, opener) {
    openReport(this, id, opener);
  }

  async vote(id, value) {
    const current = this.myVote(id);
    const next = current === value ? 0 : value;
    try {
      const res = await this.api.vote(id, next, this.session && this.session.token);
      const mine = res && typeof res.my_vote === 'number' ? res.my_vote : next;
      saveMyVote(id, mine);
      const c = mergeComment(this.comments, id, { score: res.score, upvotes: res.upvotes, downvotes: res.downvotes });
      const parts = this.nodes.get(id);
      if (c && parts) updateComment(parts, c, this);
    } catch (err) {
      this.announce(this.errorText(err));
    }
  }

  // ---- the reader's account ------------------------------------------------------------------

  /** Sign in (or out, with null) in this widget; re-renders who may edit what. */
  setSession(data, focus) {
    this.session = saveSession(this.site, data);
    this.checkedAt = data ? Date.now() : 0;
    this.root.classList.toggle('in', !!this.session);
    this.account.say('');
    this.account.update(focus);
    if (this.loaded) this.render();
  }

  signIn(data) {
    this.setSession(data, true);
  }

  signOut(silent) {
    const s = this.session;
    if (!s) return;
    this.api.logout(s.token).catch(() => {});
    this.setSession(null, !silent);
    if (!silent) this.account.say('signedOut');
  }

  /** The session was refused (401): sign out here and say so. */
  expire() {
    this.setSession(null);
    this.account.say('sessionExpired');
  }

  /** Ask the server whether the session still holds; false when it has ended. */
  async checkSession() {
    const s = this.session;
    if (!s) return false;
    try {
      const user = await this.api.me(s.token);
      if (this.session !== s) return !!this.session;
      this.checkedAt = Date.now();
      if (user && user.name !== s.user.name) this.setSession({ token: s.token, user });
    } catch (err) {
      if (err.status !== 401) return true;
      if (this.session === s) this.expire();
      return false;
    }
    return true;
  }

  /**
   * On load: exchange the publisher's sign-on token (data-sso) for a session, quietly staying a
   * guest when it is refused; else check a stored session. A stored single-sign-on session ends
   * on a page without data-sso (the reader signed out at the publisher).
   */
  async startSession(sso) {
    const old = this.session;
    // An emailed sign-in link leads back here with #rejoinder-login=TOKEN: use it once, and take
    // it out of the address bar (and the history) first.
    const link = !sso && /rejoinder-login=([\w-]+)/.exec(location.hash);
    if (link) history.replaceState(history.state, '', location.href.split('#')[0]);
    if (sso || link) {
      try {
        this.setSession(await this.api.auth(sso ? 'sso' : 'magic-link/verify', { site: this.site, token: sso || link[1] }));
        if (old) this.api.logout(old.token).catch(() => {});
      } catch {
        if (link) this.account.say('linkBad');
        else if (old && old.user.sso) this.signOut(true);
      }
    } else if (old && old.user.sso) {
      this.signOut(true);
    } else if (old) {
      await this.checkSession();
    }
  }

  /** Account requests: a 401 signs out (and resolves); other errors are thrown. */
  async mine(call) {
    const s = this.session;
    if (!s) return null;
    try {
      return await call(s.token);
    } catch (err) {
      if (err.status !== 401) throw err;
      this.expire();
      return null;
    }
  }

  /** "Download my data": /me/export as a JSON file, through a Blob URL. */
  async downloadData() {
    const data = await this.mine(this.api.exportMe);
    if (!data) return;
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
    const a = h('a', { href: url, download: exportName(this.site, new Date()), hidden: true });
    this.root.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  /** "Delete my account": the server keeps its comments as [deleted]; reload to show that. */
  async deleteAccount() {
    const s = this.session;
    if (!(await this.mine(this.api.deleteMe))) return;
    forgetUser(s.user.id);
    this.setSession(null, true);
    this.account.say('accountDeleted');
    await this.load();
  }

  // ---- inline feedback -----------------------------------------------------------------------

  /** Start a comment on a quoted passage of the article. */
  quotePassage(selector) {
    if (this.locked) return;
    this.form.setQuote(selector);
    this.host.scrollIntoView({ block: 'start' });
    this.form.focus();
  }

  focusComment(id) {
    const parts = this.nodes.get(id);
    if (!parts) return;
    let el = parts.el.parentElement && parts.el.parentElement.closest('article.c');
    while (el) {
      const p = this.nodes.get(findIdOf(this, el));
      if (p) setExpanded(p, true, this);
      el = el.parentElement && el.parentElement.closest('article.c');
    }
    parts.el.scrollIntoView({ block: 'center' });
    parts.el.focus();
  }

  // ---- live arrivals -------------------------------------------------------------------------

  startLive() {
    this.live = startLive(this);
  }

  updateNewBar() {
    const n = this.queue.length;
    this.newBar.hidden = n === 0;
    this.newBar.textContent = n ? this.t('newComments', { n }) : '';
  }

  showQueued() {
    const queued = this.queue;
    this.queue = [];
    let first = null;
    // Parents before their replies.
    queued.sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    for (const c of queued) {
      if (this.place({ replies: [], ...c })) {
        this.count += 1;
        const parts = this.nodes.get(c.id);
        parts.el.classList.add('fresh');
        first = first || parts;
      }
    }
    this.updateHeading();
    this.updateNewBar();
    if (first) {
      first.el.scrollIntoView({ block: 'nearest' });
      first.el.focus();
    }
  }

  destroy() {
    clearInterval(this.clock);
    if (this.live) this.live.close();
  }
}

function findIdOf(w, el) {
  for (const [id, parts] of w.nodes) if (parts.el === el) return id;
  return null;
}

