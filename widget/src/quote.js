// Inline feedback: a W3C-style TextQuoteSelector {exact, prefix, suffix} over an article's text.
// The pure functions work on strings; the DOM helpers map string offsets to text nodes.

export const CONTEXT = 32;

/** Collapse runs of whitespace, as a reader sees the text. */
export function normalize(s) {
  return String(s || '').replace(/\s+/g, ' ');
}

/** The selector for text[start:end] with up to `context` characters either side. */
export function makeSelector(text, start, end, context = CONTEXT) {
  const exact = text.slice(start, end);
  const lead = exact.length - exact.trimStart().length;
  const trail = exact.length - exact.trimEnd().length;
  const s = start + lead;
  const e = end - trail;
  return {
    exact: normalize(text.slice(s, e)),
    prefix: normalize(text.slice(Math.max(0, s - context), s)),
    suffix: normalize(text.slice(e, e + context)),
  };
}

/**
 * Where a selector's exact text lies in text: {start, end} or null.
 * Prefers the occurrence whose surroundings match prefix and suffix best.
 */
export function locate(text, selector) {
  if (!selector || !selector.exact) return null;
  const exact = selector.exact;
  const prefix = selector.prefix || '';
  const suffix = selector.suffix || '';
  let best = null;
  let bestScore = -1;
  for (let i = text.indexOf(exact); i !== -1; i = text.indexOf(exact, i + 1)) {
    const before = text.slice(Math.max(0, i - prefix.length), i);
    const after = text.slice(i + exact.length, i + exact.length + suffix.length);
    const score = commonSuffix(before, prefix) + commonPrefix(after, suffix);
    if (score > bestScore) {
      best = { start: i, end: i + exact.length };
      bestScore = score;
    }
  }
  return best;
}

function commonPrefix(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function commonSuffix(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

/** The article's visible text as one normalized string, with the text node under each run. */
export function textIndex(root) {
  const doc = root.ownerDocument;
  const walker = doc.createTreeWalker(root, 4 /* NodeFilter.SHOW_TEXT */);
  const runs = [];
  let text = '';
  let lastSpace = true;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent && parent.closest('script,style,noscript,[data-rejoinder-ui]')) continue;
    const raw = node.data;
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i];
      const space = /\s/.test(ch);
      if (space && lastSpace) continue;
      runs.push([node, i]);
      text += space ? ' ' : ch;
      lastSpace = space;
    }
    if (parent && /^(P|LI|H[1-6]|BLOCKQUOTE|DIV|FIGCAPTION|TD)$/.test(parent.tagName) && !lastSpace) {
      // Block boundaries read as a space, like a reader's eye.
      const next = node.nextSibling;
      if (!next) {
        runs.push([node, raw.length]);
        text += ' ';
        lastSpace = true;
      }
    }
  }
  return { text, runs };
}

/** The selector for the current selection when it lies inside root, else null. */
export function selectorFromSelection(root, selection) {
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  if (!root.contains(range.commonAncestorContainer)) return null;
  const { text, runs } = textIndex(root);
  let start = -1;
  let end = -1;
  for (let i = 0; i < runs.length; i++) {
    const [node, off] = runs[i];
    if (off >= node.data.length) continue;
    if (range.comparePoint(node, off) >= 0 && range.comparePoint(node, off + 1) <= 0) {
      if (start === -1) start = i;
      end = i + 1;
    }
  }
  if (start === -1 || end <= start) return null;
  const sel = makeSelector(text, start, end);
  return sel.exact.trim() ? sel : null;
}

/** Wrap the located passage in <mark> elements (one per text node); returns them. */
export function highlight(root, selector, makeMark) {
  const { text, runs } = textIndex(root);
  const at = locate(text, selector);
  if (!at) return [];
  const pieces = new Map();
  for (let i = at.start; i < at.end; i++) {
    const [node, off] = runs[i];
    if (off >= node.data.length) continue;
    const p = pieces.get(node) || { node, from: off, to: off + 1 };
    p.from = Math.min(p.from, off);
    p.to = Math.max(p.to, off + 1);
    pieces.set(node, p);
  }
  const marks = [];
  for (const { node, from, to } of pieces.values()) {
    const range = root.ownerDocument.createRange();
    range.setStart(node, from);
    range.setEnd(node, to);
    const mark = makeMark();
    range.surroundContents(mark);
    marks.push(mark);
  }
  return marks;
}
