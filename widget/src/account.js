// The account row above the comment form. Signed out: "Sign in" and "Create account", each a
// disclosure button opening a small form below it. Signed in: "Signed in as NAME", an "Account"
// disclosure ("Download my data", "Delete my account" with a confirm step) and "Sign out".
// Escape closes an open panel and returns focus to its button.
import { h, uid } from './dom.js';
import { authErrorKey } from './session.js';

export function accountArea(w) {
  const t = w.t;
  const note = h('p', { class: 'note', role: 'status' });
  const box = h('div');
  const el = h('div', { class: 'acct' }, box, note);

  function say(key, vars) {
    note.textContent = key ? t(key, vars) : '';
  }

  /** Rebuild for the current session; with focus, focus "Signed in as" or "Sign in". */
  function update(focus) {
    const s = w.session;
    const panelId = uid('acct');
    const panel = h('div', { id: panelId, class: 'panel', hidden: true });
    const buttons = [];
    let open = null;
    const toggle = (key, make) => {
      const b = h('button', { type: 'button', class: 'btn', 'aria-expanded': 'false', 'aria-controls': panelId, text: t(key) });
      b.addEventListener('click', () => {
        if (open === b) return close();
        const { node, first } = make();
        for (const x of buttons) x.setAttribute('aria-expanded', String(x === b));
        open = b;
        panel.replaceChildren(node);
        panel.hidden = false;
        first.focus();
      });
      buttons.push(b);
      return b;
    };
    function close() {
      const b = open;
      open = null;
      panel.hidden = true;
      panel.replaceChildren();
      for (const x of buttons) x.setAttribute('aria-expanded', 'false');
      if (b) b.focus();
    }
    panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') close();
    });

    let row;
    if (s) {
      const who = h('span', { class: 'who grow', tabindex: '-1', dir: 'auto', text: t('signedInAs', { name: s.user.name }) });
      row = h(
        'div',
        { class: 'row' },
        who,
        toggle('account', () => menu()),
        h('button', { type: 'button', class: 'btn', text: t('signOut'), onclick: () => w.signOut() }),
      );
    } else {
      row = h('div', { class: 'row' }, toggle('signIn', () => authForm(false, close)), toggle('register', () => authForm(true, close)));
    }
    box.replaceChildren(row, panel);
    if (focus) (s ? row.firstChild : buttons[0]).focus();
  }

  function authForm(reg, close) {
    const hintId = uid('hint');
    const titleId = uid('h');
    const input = (type, autocomplete, extra) => h('input', { type, autocomplete, required: true, ...extra });
    const name = reg ? input('text', 'name', { maxLength: 100 }) : null;
    const email = input('email', 'email', { maxLength: 254 });
    const pw = input('password', reg ? 'new-password' : 'current-password', {
      maxLength: 200,
      minLength: reg ? 10 : null,
      'aria-describedby': reg ? hintId : null,
    });
    const error = h('p', { class: 'error', role: 'alert' });
    const label = t(reg ? 'register' : 'signIn');
    const submit = h('button', { type: 'submit', class: 'btn primary', text: label });
    const form = h(
      'form',
      { class: 'auth', novalidate: true, 'aria-labelledby': titleId },
      h('h3', { id: titleId, text: label }),
      name && h('label', null, t('accountName'), name),
      h('label', null, t('accountEmail'), email),
      h('label', null, t('password'), pw),
      reg && h('p', { class: 'hint', id: hintId, text: t('passwordHint') }),
      error,
      h(
        'div',
        { class: 'row' },
        // Sign-in only: a single-use link by mail instead of the password (it signs up, too).
        reg ? h('span', { class: 'grow' }) : h('button', { type: 'button', class: 'link grow', text: t('mailLink'), onclick: mail }),
        h('button', { type: 'button', class: 'btn', text: t('cancel'), onclick: close }),
        submit,
      ),
    );
    async function mail() {
      const body = { site: w.site, email: email.value.trim(), return_url: location.href.split('#')[0] };
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(body.email)) return void (error.textContent = t('badEmail'));
      try {
        await w.api.auth('magic-link', body);
        close();
        say('linkSent');
      } catch (err) {
        error.textContent = w.errorText(err);
      }
    }
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = { site: w.site, email: email.value.trim(), password: pw.value };
      if (name) body.name = name.value.trim();
      const bad =
        !body.email || !body.password || (name && !body.name)
          ? 'fillAll'
          : !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(body.email)
            ? 'badEmail'
            : reg && body.password.length < 10
              ? 'passwordShort'
              : null;
      if (bad) return void (error.textContent = t(bad));
      error.textContent = '';
      submit.disabled = true;
      try {
        w.signIn(await w.api.auth(reg ? 'register' : 'login', body));
      } catch (err) {
        const key = authErrorKey(err);
        error.textContent = key ? t(key) : w.errorText(err);
        submit.disabled = false;
      }
    });
    return { node: form, first: name || email };
  }

  function menu() {
    const error = h('p', { class: 'error', role: 'alert' });
    const run = async (btn, fn) => {
      error.textContent = '';
      btn.disabled = true;
      try {
        await fn();
      } catch (err) {
        error.textContent = w.errorText(err);
      } finally {
        btn.disabled = false;
      }
    };
    const dl = h('button', { type: 'button', class: 'btn', text: t('downloadData'), onclick: () => run(dl, () => w.downloadData()) });
    const del = h('button', { type: 'button', class: 'btn', text: t('deleteAccount'), onclick: confirm });
    const group = h('div', { class: 'row', role: 'group', 'aria-label': t('account') }, dl, del);
    const node = h('div', null, group, error);
    function confirm() {
      const keep = h('button', {
        type: 'button',
        class: 'btn',
        text: t('deleteNo'),
        onclick: () => {
          node.replaceChildren(group, error);
          del.focus();
        },
      });
      const yes = h('button', { type: 'button', class: 'btn danger', text: t('deleteAccountYes'), onclick: () => run(yes, () => w.deleteAccount()) });
      const textId = uid('q');
      node.replaceChildren(
        h('div', { class: 'row', role: 'group', 'aria-labelledby': textId }, h('span', { id: textId, text: t('deleteAccountConfirm') }), yes, keep),
        error,
      );
      keep.focus();
    }
    return { node, first: dl };
  }

  update();
  return { el, update, say };
}
