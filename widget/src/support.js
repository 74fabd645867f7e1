// The optional reader-support prompt a site may set: a text and up to four amounts, each a
// link to the publisher's own payment page. No payment handling here.
import { h } from './dom.js';

function safeUrl(url) {
  try {
    const u = new URL(url, location.href);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u : null;
  } catch {
    return null;
  }
}

/** Links for the amounts: an amount is a number/string, or {label, url}. */
export function supportLinks(support) {
  if (!support || !support.url) return [];
  const base = safeUrl(support.url);
  if (!base) return [];
  return (support.amounts || []).slice(0, 4).map((a) => {
    if (a && typeof a === 'object') {
      const own = a.url ? safeUrl(a.url) : null;
      const label = String(a.label ?? a.amount ?? '');
      const u = own || new URL(base.href);
      if (!own && a.amount != null) u.searchParams.set('amount', String(a.amount));
      return { label, href: u.href };
    }
    const u = new URL(base.href);
    u.searchParams.set('amount', String(a));
    return { label: String(a), href: u.href };
  });
}

export function renderSupport(slot, support, t) {
  slot.replaceChildren();
  if (!support || (!support.text && !support.url)) return;
  const links = supportLinks(support);
  const box = h('aside', { class: 'support', 'aria-label': t('support') }, support.text ? h('p', { dir: 'auto', text: support.text }) : null);
  if (links.length) {
    for (const l of links) box.appendChild(h('a', { href: l.href, target: '_blank', rel: 'noopener', text: l.label }));
  } else {
    const u = safeUrl(support.url);
    if (u) box.appendChild(h('a', { href: u.href, target: '_blank', rel: 'noopener', text: t('support') }));
  }
  slot.appendChild(box);
}
