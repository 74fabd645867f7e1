// One comment as DOM: meta line, optional quote, the server's sanitised body, actions, replies.
import { h } from './dom.js';
import { formatAbsolute, formatRelative } from './time.js';

export const COLLAPSE_DEPTH = 3; // replies deeper than this start collapsed
export const INDENT_DEPTH = 4; // and indentation stops growing here

/** The only place HTML goes into the widget: body_html, sanitised by the server. */
export function setBodyHtml(el, html) {
  el.innerHTML = typeof html === 'string' ? html : '';
  for (const a of el.querySelectorAll('a[href]')) {
    a.setAttribute('rel', 'nofollow ugc noopener noreferrer');
    a.setAttribute('target', '_blank');
  }
}

export function timeEl(iso, w) {
  const el = h('time', { datetime: iso || '', title: formatAbsolute(iso, w.lang) });
  el.textContent = formatRelative(iso, new Date(), w.lang, w.t('justNow'));
  el.dataset.rel = '1';
  return el;
}

/** Render comment c at depth; w is the widget (strings, state and action handlers). */
export function renderComment(c, depth, w) {
  const t = w.t;
  const a = c.author || {};
  // The server names nameless guests "Guest"; say it in the reader's language.
  const anonymous = !a.name || (a.is_guest && a.name === 'Guest');
  const name = c.deleted ? t('deletedPlaceholder') : anonymous ? t('guest') : a.name;
  const authorId = `rj-a-${c.id}`;
  const upBtn = h('button', { type: 'button', class: 'vote up', 'aria-label': t('upvote'), text: '▲' });
  const downBtn = h('button', { type: 'button', class: 'vote down', 'aria-label': t('downvote'), text: '▼' });
  const score = h('span', { class: 'score' });
  const body = h('div', { class: 'body', dir: 'auto' });
  if (!c.deleted) setBodyHtml(body, c.body_html);
  const slot = h('div', { class: 'slot' });
  const meta = h('div', { class: 'meta' }, h('span', { class: c.deleted ? 'author muted' : 'author', id: authorId, dir: 'auto', text: name }));
  meta.appendChild(timeEl(c.created_at, w));
  const edited = h('span', { class: 'edited' });
  meta.appendChild(edited);

  const actions = h('div', { class: 'actions', hidden: !!c.deleted }, upBtn, score, downBtn);
  const canWrite = !w.locked && !c.deleted;
  if (canWrite && !c._pending) {
    actions.appendChild(
      h('button', { type: 'button', class: 'link reply', text: t('reply'), 'aria-label': t('replyTo', { name }), onclick: (e) => w.openReply(c.id, e.currentTarget) }),
    );
  }
  const own = !c.deleted && w.editable(c);
  if (own) {
    actions.appendChild(h('button', { type: 'button', class: 'link edit', text: t('edit'), onclick: (e) => w.openEdit(c.id, e.currentTarget) }));
    actions.appendChild(h('button', { type: 'button', class: 'link delete', text: t('delete'), onclick: (e) => w.openDelete(c.id, e.currentTarget) }));
  }
  if (!c._pending && !c.deleted) {
    actions.appendChild(h('button', { type: 'button', class: 'link report', text: t('report'), onclick: (e) => w.openReport(c.id, e.currentTarget) }));
  }
  upBtn.addEventListener('click', () => w.vote(c.id, 1));
  downBtn.addEventListener('click', () => w.vote(c.id, -1));

  const card = h(
    'div',
    { class: 'card' },
    meta,
    c.quote && c.quote.exact ? h('blockquote', { class: 'quote', dir: 'auto', text: `“${c.quote.exact}”` }) : null,
    body,
    c._pending ? h('p', { class: 'pending', role: 'status', text: t('pending') }) : null,
    actions,
    slot,
  );
  const replies = h('div', { class: depth + 1 >= INDENT_DEPTH ? 'replies flat' : 'replies' });
  const toggle = h('button', { type: 'button', class: 'link toggle', 'aria-expanded': 'true' });
  const el = h('article', { class: 'c', id: `rj-c-${c.id}`, 'aria-labelledby': authorId, tabindex: '-1' }, card, toggle, replies);
  el.dataset.id = String(c.id);

  const parts = { el, body, score, upBtn, downBtn, edited, slot, replies, toggle, depth };
  w.nodes.set(c.id, parts);
  updateComment(parts, c, w);
  for (const r of c.replies || []) replies.appendChild(renderComment(r, depth + 1, w));
  toggle.addEventListener('click', () => setExpanded(parts, replies.hidden, w));
  setExpanded(parts, depth + 1 < COLLAPSE_DEPTH || !!c._expanded, w);
  return el;
}

/** Show or hide a comment's replies; the toggle says how many there are. */
export function setExpanded(parts, open, w) {
  const n = parts.replies.children.length;
  parts.toggle.hidden = n === 0;
  parts.replies.hidden = !open || n === 0;
  parts.toggle.setAttribute('aria-expanded', String(open));
  parts.toggle.textContent = open ? w.t('hideReplies') : w.t('showReplies', { n });
}

/** Refresh the parts of a comment that can change: score, my vote, body, edited mark. */
export function updateComment(parts, c, w) {
  parts.score.textContent = String(c.score || 0);
  parts.score.setAttribute('aria-label', w.t('score', { n: c.score || 0 }));
  const mine = w.myVote(c.id);
  parts.upBtn.setAttribute('aria-pressed', String(mine === 1));
  parts.downBtn.setAttribute('aria-pressed', String(mine === -1));
  parts.upBtn.title = `${w.t('upvote')} (${c.upvotes || 0})`;
  parts.downBtn.title = `${w.t('downvote')} (${c.downvotes || 0})`;
  parts.edited.textContent = c.edited_at ? `· ${w.t('edited')}` : '';
  parts.edited.title = c.edited_at ? formatAbsolute(c.edited_at, w.lang) : '';
}
