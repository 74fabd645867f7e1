// Pure helpers over the comment tree as the API returns it: [{id, parent_id, replies: [...]}].

/** Depth-first walk; calls fn(comment, depth, parent). */
export function walk(comments, fn, depth = 0, parent = null) {
  for (const c of comments) {
    fn(c, depth, parent);
    if (c.replies && c.replies.length) walk(c.replies, fn, depth + 1, c);
  }
}

/** The comment with this id, or null. */
export function findComment(comments, id) {
  let found = null;
  walk(comments, (c) => {
    if (found === null && c.id === id) found = c;
  });
  return found;
}

/** How many comments the tree holds, replies included. */
export function countComments(comments) {
  let n = 0;
  walk(comments, () => {
    n += 1;
  });
  return n;
}

/**
 * Put a comment into the tree under its parent; returns true when placed.
 * atStart puts a top-level comment first (newest-first order); replies always go last.
 * A comment already present is not added twice; one whose parent is not loaded is not placed.
 */
export function insertComment(comments, comment, { atStart = false } = {}) {
  if (findComment(comments, comment.id)) return false;
  const node = { replies: [], ...comment };
  if (!Array.isArray(node.replies)) node.replies = [];
  if (node.parent_id == null) {
    if (atStart) comments.unshift(node);
    else comments.push(node);
    return true;
  }
  const parent = findComment(comments, node.parent_id);
  if (!parent) return false;
  parent.replies = parent.replies || [];
  parent.replies.push(node);
  parent.reply_count = Math.max(parent.reply_count || 0, parent.replies.length);
  return true;
}

/** Merge fields into the comment with this id (replies kept); returns it or null. */
export function updateComment(comments, id, fields) {
  const c = findComment(comments, id);
  if (!c) return null;
  const { replies, ...rest } = fields || {};
  Object.assign(c, rest);
  return c;
}

/** Take a comment and its replies out of the tree; returns how many comments went. */
export function removeComment(comments, id) {
  for (let i = 0; i < comments.length; i++) {
    const c = comments[i];
    if (c.id === id) {
      comments.splice(i, 1);
      return countComments([c]);
    }
    if (c.replies && c.replies.length) {
      const n = removeComment(c.replies, id);
      if (n) {
        c.reply_count = Math.max(0, (c.reply_count || c.replies.length + 1) - 1);
        return n;
      }
    }
  }
  return 0;
}

/** Append a page of top-level comments, skipping ids already shown. */
export function appendPage(comments, page) {
  const seen = new Set();
  walk(comments, (c) => seen.add(c.id));
  let added = 0;
  for (const c of page) {
    if (!seen.has(c.id)) {
      comments.push(c);
      added += 1;
    }
  }
  return added;
}

/** Distinct quotes in the tree, keyed by exact+prefix+suffix, each with its comment ids. */
export function collectQuotes(comments) {
  const byKey = new Map();
  walk(comments, (c) => {
    const q = c.quote;
    if (!q || !q.exact) return;
    const key = [q.prefix || '', q.exact, q.suffix || ''].join('\u0000');
    if (!byKey.has(key)) byKey.set(key, { quote: q, ids: [] });
    byKey.get(key).ids.push(c.id);
  });
  return [...byKey.values()];
}
