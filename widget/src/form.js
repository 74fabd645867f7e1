// The comment form: top-level, reply and quoted-passage comments, with a Markdown preview
// and the "Notify of" choice. Posting itself is the widget's job (onSubmit).
import { h, uid } from './dom.js';
import { renderPreview } from './markdown.js';
import { randomId, read, write } from './store.js';

/**
 * Build a form. opts: {t, reply (bool), onSubmit(values) -> Promise, onCancel?, signedIn?() -> bool}.
 * The guest fields (name, email) carry class "guest"; the widget hides them while signed in.
 * Returns {el, focus(), setQuote(q), reset(), setError(msg)}.
 */
export function commentForm({ t, reply = false, onSubmit, onCancel, signedIn = () => false }) {
  const remembered = read('author', {}) || {};
  const taId = uid('ta');
  const hintId = uid('hint');
  let quote = null;
  let draftKey = null; // one Idempotency-Key per draft, so a retried post is not doubled

  const textarea = h('textarea', {
    id: taId,
    name: 'body',
    rows: reply ? 3 : 4,
    dir: 'auto',
    placeholder: t(reply ? 'replyPlaceholder' : 'placeholder'),
    'aria-describedby': hintId,
  });
  const preview = h('div', { class: 'preview', dir: 'auto', hidden: true, 'aria-live': 'polite' });
  const previewBtn = h('button', { type: 'button', class: 'btn', text: t('preview') });
  const name = h('input', { type: 'text', name: 'author_name', autocomplete: 'name', maxLength: 100 });
  name.value = remembered.name || '';
  const email = h('input', { type: 'email', name: 'author_email', autocomplete: 'email', maxLength: 254 });
  email.value = remembered.email || '';
  const notify = h(
    'select',
    { name: 'notify' },
    h('option', { value: '', text: t('notifyNone') }),
    h('option', { value: 'replies', text: t('notifyReplies') }),
    h('option', { value: 'thread', text: t('notifyThread') }),
  );
  const submit = h('button', { type: 'submit', class: 'btn primary', text: t(reply ? 'postReply' : 'post') });
  const error = h('p', { class: 'error', role: 'alert' });
  const chipText = h('span', { class: 'grow' });
  const chip = h(
    'div',
    { class: 'chip', hidden: true },
    chipText,
    h('button', {
      type: 'button',
      class: 'link',
      'aria-label': t('quoteRemove'),
      text: '×',
      onclick: () => setQuote(null),
    }),
  );

  previewBtn.addEventListener('click', () => {
    const on = preview.hidden;
    preview.replaceChildren();
    if (on) {
      const frag = renderPreview(document, textarea.value);
      if (frag.childNodes.length) preview.appendChild(frag);
      else preview.appendChild(h('p', { class: 'muted', text: t('previewEmpty') }));
    }
    preview.hidden = !on;
    textarea.hidden = on;
    previewBtn.textContent = on ? t('write') : t('preview');
  });

  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  const cancel = onCancel
    ? h('button', { type: 'button', class: 'btn', text: t('cancel'), onclick: () => onCancel() })
    : null;

  const form = h(
    'form',
    { class: 'form', novalidate: true },
    chip,
    h('label', { class: 'sr', for: taId, text: reply ? t('reply') : t('formLabel') }),
    textarea,
    preview,
    h('p', { class: 'hint', id: hintId, text: t('markdownHint') }),
    h(
      'div',
      { class: 'fields' },
      h('label', { class: 'guest' }, t('name'), name),
      h('label', { class: 'guest' }, t('email'), email),
      h('label', null, t('notifyLabel'), notify),
    ),
    h('div', { class: 'row' }, previewBtn, h('span', { class: 'grow' }), cancel, submit),
    error,
  );

  function setError(msg) {
    error.textContent = msg || '';
  }

  function setQuote(q) {
    quote = q && q.exact ? q : null;
    chip.hidden = !quote;
    chipText.textContent = quote ? `${t('quoteOn')}: “${quote.exact}”` : '';
  }

  function reset() {
    textarea.value = '';
    textarea.hidden = false;
    preview.hidden = true;
    previewBtn.textContent = t('preview');
    setQuote(null);
    draftKey = null;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setError('');
    const body = textarea.value.trim();
    if (!body) {
      setError(t('emptyBody'));
      if (!textarea.hidden) textarea.focus();
      return;
    }
    const guest = !signedIn();
    if (guest && notify.value && !email.value.trim()) {
      setError(t('notifyNeedsEmail'));
      email.focus();
      return;
    }
    if (guest) write('author', { name: name.value.trim(), email: email.value.trim() });
    submit.disabled = true;
    submit.textContent = t('posting');
    if (!draftKey) draftKey = randomId();
    try {
      const ok = await onSubmit({
        key: draftKey,
        body,
        author_name: (guest && name.value.trim()) || undefined,
        author_email: (guest && email.value.trim()) || undefined,
        notify: notify.value || undefined,
        quote: quote || undefined,
      });
      if (ok) reset();
    } catch (err) {
      setError(err && err.message ? err.message : t('genericError'));
    } finally {
      submit.disabled = false;
      submit.textContent = t(reply ? 'postReply' : 'post');
    }
  });

  return {
    el: form,
    focus: () => (textarea.hidden ? previewBtn : textarea).focus(),
    setQuote,
    reset,
    setError,
  };
}
