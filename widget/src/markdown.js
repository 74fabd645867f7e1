// A small, safe Markdown preview: text becomes tokens, tokens become DOM nodes through
// textContent. No HTML string is ever built from reader input (the server renders the real thing).

const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*|__[^_\n]+__)|(\*[^*\s][^*\n]*\*|_[^_\s][^_\n]*_)/g;

/** Inline tokens of one line: [{type: 'text'|'code'|'strong'|'em', text}]. */
export function parseInline(line) {
  const out = [];
  let last = 0;
  for (const m of line.matchAll(INLINE)) {
    if (m.index > last) out.push({ type: 'text', text: line.slice(last, m.index) });
    const s = m[0];
    if (m[1]) out.push({ type: 'code', text: s.slice(1, -1) });
    else if (m[2]) out.push({ type: 'strong', text: s.slice(2, -2) });
    else out.push({ type: 'em', text: s.slice(1, -1) });
    last = m.index + s.length;
  }
  if (last < line.length) out.push({ type: 'text', text: line.slice(last) });
  return out;
}

/** Blocks of a comment: [{type: 'p'|'quote'|'pre', lines: [...]}], paragraphs split on blank lines. */
export function parseMarkdown(text) {
  const blocks = [];
  const lines = String(text || '').replace(/\r\n?/g, '\n').split('\n');
  let cur = null;
  let fence = false;
  for (const line of lines) {
    if (/^\s*```/.test(line)) {
      if (fence) {
        fence = false;
        cur = null;
      } else {
        fence = true;
        cur = { type: 'pre', lines: [] };
        blocks.push(cur);
      }
      continue;
    }
    if (fence) {
      cur.lines.push(line);
      continue;
    }
    if (!line.trim()) {
      cur = null;
      continue;
    }
    const isQuote = /^\s*>/.test(line);
    const type = isQuote ? 'quote' : 'p';
    const content = isQuote ? line.replace(/^\s*>\s?/, '') : line;
    if (!cur || cur.type !== type) {
      cur = { type, lines: [] };
      blocks.push(cur);
    }
    cur.lines.push(content);
  }
  return blocks;
}

/** DOM nodes for the preview, built with createElement and textContent only. */
export function renderPreview(doc, text) {
  const frag = doc.createDocumentFragment();
  for (const block of parseMarkdown(text)) {
    if (block.type === 'pre') {
      const pre = doc.createElement('pre');
      const code = doc.createElement('code');
      code.textContent = block.lines.join('\n');
      pre.appendChild(code);
      frag.appendChild(pre);
      continue;
    }
    const el = doc.createElement(block.type === 'quote' ? 'blockquote' : 'p');
    block.lines.forEach((line, i) => {
      if (i > 0) el.appendChild(doc.createElement('br'));
      for (const tok of parseInline(line)) {
        if (tok.type === 'text') {
          el.appendChild(doc.createTextNode(tok.text));
        } else {
          const tag = tok.type === 'strong' ? 'strong' : tok.type === 'em' ? 'em' : 'code';
          const inline = doc.createElement(tag);
          inline.textContent = tok.text;
          el.appendChild(inline);
        }
      }
    });
    frag.appendChild(el);
  }
  return frag;
}
