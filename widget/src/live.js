// Live arrivals over Server-Sent Events. New comments wait behind an "N new comments" bar so the
// page never jumps under the reader; edits and removals of shown comments apply in place.
import { findComment, updateComment as mergeComment } from './tree.js';
import { setBodyHtml, updateComment } from './comment.js';

function parse(e) {
  try {
    return JSON.parse(e.data);
  } catch {
    return null;
  }
}

export function startLive(w) {
  if (typeof EventSource === 'undefined') return null;
  const es = new EventSource(w.api.streamUrl(w.site, w.threadKey));

  es.addEventListener('comment.created', (e) => {
    const d = parse(e);
    const c = d && d.comment;
    if (!c || findComment(w.comments, c.id) || w.queue.some((q) => q.id === c.id)) return;
    if (c.status && c.status !== 'published') return;
    w.queue.push({ ...c, parent_id: c.parent_id ?? d.parent_id ?? null });
    w.updateNewBar();
  });

  es.addEventListener('comment.edited', (e) => {
    const d = parse(e);
    if (!d || !d.comment) return;
    const c = mergeComment(w.comments, d.id, d.comment);
    const parts = w.nodes.get(d.id);
    if (c && parts) {
      setBodyHtml(parts.body, c.body_html);
      updateComment(parts, c, w);
      w.changed();
    }
  });

  es.addEventListener('comment.removed', (e) => {
    const d = parse(e);
    if (!d) return;
    w.queue = w.queue.filter((q) => q.id !== d.id);
    w.updateNewBar();
    if (findComment(w.comments, d.id)) w.deleteLocal(d.id);
  });

  return es;
}
