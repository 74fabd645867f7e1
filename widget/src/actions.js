// The actions a reader takes on one comment, each opened inline in the comment's slot:
// edit and delete (own comments: a guest's with its edit token, an account's with the session)
// and report.
import { setBodyHtml, updateComment } from './comment.js';
import { h } from './dom.js';
import { editTokens, forgetEditToken, saveEditToken } from './store.js';
import { findComment, updateComment as mergeComment } from './tree.js';

export function openEdit(w, id, opener) {
  const c = findComment(w.comments, id);
  const entry = editTokens()[id];
  const token = w.tokenOf(id);
  if (!c || !token) return;
  const parts = w.nodes.get(id);
  const area = h('textarea', { 'aria-label': w.t('editLabel'), rows: 4 });
  area.value = entry.body || parts.body.textContent.trim();
  const error = h('p', { class: 'error', role: 'alert' });
  let slot;
  const save = h('button', { type: 'submit', class: 'btn primary', text: w.t('save') });
  const formEl = h(
    'form',
    { class: 'edit form', novalidate: true },
    area,
    h('div', { class: 'row' }, h('span', { class: 'grow' }), h('button', { type: 'button', class: 'btn', text: w.t('cancel'), onclick: () => slot.close() }), save),
    error,
  );
  formEl.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = area.value.trim();
    if (!body) return void (error.textContent = w.t('emptyBody'));
    save.disabled = true;
    try {
      const updated = await w.api.edit(id, body, token);
      mergeComment(w.comments, id, { ...updated, edited_at: updated.edited_at || new Date().toISOString() });
      setBodyHtml(parts.body, updated.body_html);
      updateComment(parts, findComment(w.comments, id), w);
      saveEditToken(id, { ...entry, body });
      slot.close();
      w.changed();
    } catch (err) {
      error.textContent = w.errorText(err);
      if (entry.user) w.checkSession();
    } finally {
      save.disabled = false;
    }
  });
  slot = w.openSlot(id, formEl, opener);
  area.focus();
}

export function openDelete(w, id, opener) {
  const entry = editTokens()[id];
  const token = w.tokenOf(id);
  if (!token) return;
  let slot;
  const error = h('p', { class: 'error', role: 'alert' });
  const yes = h('button', {
    type: 'button',
    class: 'btn primary',
    text: w.t('deleteYes'),
    onclick: async () => {
      try {
        await w.api.remove(id, token);
      } catch (err) {
        error.textContent = w.errorText(err);
        if (entry.user) w.checkSession();
        return;
      }
      forgetEditToken(id);
      w.deleteLocal(id, !entry.pending);
      w.announce(w.t('deleted'));
    },
  });
  const box = h(
    'div',
    { class: 'row', role: 'group', 'aria-label': w.t('deleteConfirm') },
    h('span', { text: w.t('deleteConfirm') }),
    yes,
    h('button', { type: 'button', class: 'btn', text: w.t('deleteNo'), onclick: () => slot.close() }),
    error,
  );
  slot = w.openSlot(id, box, opener);
  yes.focus();
}

export function openReport(w, id, opener) {
  const t = w.t;
  const name = `rj-reason-${id}`;
  const reasons = [
    ['spam', 'reasonSpam'],
    ['abuse', 'reasonAbuse'],
    ['hate', 'reasonHate'],
    ['other', 'reasonOther'],
  ];
  const radios = reasons.map(([value, key], i) => {
    const input = h('input', { type: 'radio', name, value, checked: i === 0 });
    return h('label', null, input, ' ', t(key));
  });
  const note = h('textarea', { rows: 2, 'aria-label': t('reportNote'), placeholder: t('reportNote'), maxLength: 500 });
  const error = h('p', { class: 'error', role: 'alert' });
  let slot;
  const formEl = h(
    'form',
    { class: 'report', novalidate: true },
    h('fieldset', null, h('legend', { text: t('reportTitle') }), radios, note),
    h('div', { class: 'row' }, h('span', { class: 'grow' }), h('button', { type: 'button', class: 'btn', text: t('cancel'), onclick: () => slot.close() }), h('button', { type: 'submit', class: 'btn primary', text: t('reportSend') })),
    error,
  );
  formEl.addEventListener('submit', async (e) => {
    e.preventDefault();
    const checked = formEl.querySelector('input[type=radio]:checked');
    try {
      await w.api.flag(id, checked ? checked.value : 'other', note.value.trim() || undefined, w.session && w.session.token);
    } catch (err) {
      error.textContent = w.errorText(err);
      return;
    }
    const parts = w.nodes.get(id);
    const done = h('p', { class: 'status', role: 'status', tabindex: '-1', text: t('reported') });
    parts.slot.replaceChildren(done);
    done.focus();
    const btn = parts.el.querySelector(':scope > .card .report');
    if (btn) btn.disabled = true;
  });
  slot = w.openSlot(id, formEl, opener);
  formEl.querySelector('input').focus();
}
