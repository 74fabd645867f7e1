// Entry point of /embed.js: finds <div id="rejoinder">, mounts the widget in a shadow root,
// fills comment-count spans, exposes window.Rejoinder and fires "rejoinder:ready".
import { baseFromScriptSrc, createApi } from './api.js';
import { fillCounts } from './counts.js';
import { pickLanguage, translator } from './i18n/index.js';
import { setupInline } from './inline.js';
import { Widget } from './widget.js';

const VERSION = '0.1.0';
const script =
  document.currentScript || document.querySelector('script[src$="/embed.js"], script[src$="embed.js"]');

function canonicalUrl() {
  const link = document.querySelector('link[rel="canonical"]');
  const href = link ? link.href : location.href;
  return href.split('#')[0];
}

function mount(host, opts = {}) {
  if (host.__rejoinder) return host.__rejoinder;
  const d = host.dataset;
  const base = (opts.api || d.api || baseFromScriptSrc(script && script.src)).replace(/\/$/, '');
  const lang = pickLanguage(opts.lang, d.lang, document.documentElement.lang);
  const w = new Widget(host, {
    api: createApi(base),
    site: opts.site || d.site || (script && script.dataset.site) || 'default',
    thread: opts.thread || d.thread || location.pathname,
    lang,
    title: d.title || document.title,
    url: d.url || canonicalUrl(),
    pageSize: parseInt(d.pageSize || '', 10) || 20,
  });
  host.__rejoinder = w;
  const articleSel = d.article || 'article';
  if (articleSel !== 'none') setupInline(w, document.querySelector(articleSel));
  w.ready = Promise.all([w.load(), w.startSession(d.sso)]).then(() => {
    host.setAttribute('data-rejoinder-state', 'ready');
    if (d.live !== 'off') w.startLive();
    return w;
  });
  return w;
}

function counts() {
  const host = document.getElementById('rejoinder');
  const site = (host && host.dataset.site) || (script && script.dataset.site) || '';
  const lang = pickLanguage(host && host.dataset.lang, document.documentElement.lang);
  const base = ((host && host.dataset.api) || baseFromScriptSrc(script && script.src)).replace(/\/$/, '');
  return fillCounts(document, createApi(base), site, translator(lang));
}

async function start() {
  const hosts = document.querySelectorAll('#rejoinder, [data-rejoinder-thread]');
  const widgets = [...hosts].map((el) => mount(el));
  await Promise.all([counts(), ...widgets.map((w) => w.ready)]);
  const target = hosts[0] || document;
  target.dispatchEvent(new CustomEvent('rejoinder:ready', { bubbles: true, composed: true, detail: { widgets } }));
}

if (!window.Rejoinder) {
  window.Rejoinder = { version: VERSION, mount, counts };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
  else start();
}
