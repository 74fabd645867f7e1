// Inline feedback on the host page: select a passage of the article to comment on it, and see
// commented passages highlighted with a count. The floating button lives in its own shadow root.
import { adoptStyles, h } from './dom.js';
import { highlight, selectorFromSelection } from './quote.js';
import { collectQuotes } from './tree.js';

const BUTTON_CSS = `:host{all:initial!important;position:absolute!important;display:block!important;z-index:2147483000!important}
:host([hidden]){display:none!important}
button{font:600 14px/1.4 system-ui,sans-serif;background:#1b5fc1;color:#fff;border:0;border-radius:6px;
padding:6px 12px;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}
button:focus-visible{outline:3px solid #0b1d38;outline-offset:2px}`;

export function setupInline(w, article) {
  if (!article) return;
  const doc = article.ownerDocument;
  const holder = h('div', { 'data-rejoinder-ui': '', hidden: true });
  const shadow = holder.attachShadow({ mode: 'open' });
  const button = h('button', { type: 'button', text: w.t('commentOnPassage') });
  const style = adoptStyles(shadow, BUTTON_CSS);
  if (style) shadow.append(style);
  shadow.append(button);
  // Right after the article, so the button comes next in keyboard order.
  article.after(holder);
  let current = null;

  function place() {
    const sel = doc.getSelection();
    const selector = selectorFromSelection(article, sel);
    if (!selector || w.locked) {
      holder.hidden = true;
      current = null;
      return;
    }
    current = selector;
    const rect = sel.getRangeAt(0).getBoundingClientRect();
    holder.hidden = false;
    // Measured against the holder's containing block, wherever the page positions it.
    const box = holder.offsetParent && holder.offsetParent !== doc.body ? holder.offsetParent : null;
    const origin = box ? box.getBoundingClientRect() : { top: -window.scrollY, left: -window.scrollX };
    const top = rect.bottom - origin.top + (box ? box.scrollTop : 0) + 6;
    const left = Math.max(4, rect.left - origin.left + (box ? box.scrollLeft : 0));
    holder.style.setProperty('top', `${top}px`, 'important');
    holder.style.setProperty('left', `${left}px`, 'important');
  }

  let timer = 0;
  doc.addEventListener('selectionchange', () => {
    clearTimeout(timer);
    timer = setTimeout(place, 150);
  });
  // Keep the selection when the button is pressed with a mouse.
  button.addEventListener('mousedown', (e) => e.preventDefault());
  button.addEventListener('click', () => {
    if (!current) return;
    const q = current;
    holder.hidden = true;
    w.quotePassage(q);
  });

  w.onChange.push(() => paintHighlights(w, article));
  w.inline = { button: holder, select: place };
}

function clearHighlights(article) {
  for (const el of article.querySelectorAll('[data-rejoinder-ui]')) el.remove();
  for (const mark of article.querySelectorAll('mark[data-rejoinder-quote]')) {
    const parent = mark.parentNode;
    while (mark.firstChild) parent.insertBefore(mark.firstChild, mark);
    mark.remove();
    parent.normalize();
  }
}

/** Mark every quoted passage of the loaded comments, with a count button after it. */
export function paintHighlights(w, article) {
  clearHighlights(article);
  for (const { quote, ids } of collectQuotes(w.comments)) {
    const marks = highlight(article, quote, () => {
      const m = article.ownerDocument.createElement('mark');
      m.setAttribute('data-rejoinder-quote', '');
      m.style.cssText = 'background:#fde68a;color:#1d2125;border-radius:2px;padding:0 1px';
      return m;
    });
    if (!marks.length) continue;
    const label = w.t('passageComments', { n: ids.length });
    const badge = h('button', {
      type: 'button',
      'data-rejoinder-ui': '',
      'aria-label': label,
      title: label,
      text: String(ids.length),
      onclick: () => w.focusComment(ids[0]),
    });
    badge.style.cssText =
      'font:700 11px/1 system-ui,sans-serif;background:#1b5fc1;color:#fff;border:0;border-radius:999px;' +
      'padding:2px 6px;margin-inline-start:2px;vertical-align:super;cursor:pointer';
    const last = marks[marks.length - 1];
    last.after(badge);
  }
}
