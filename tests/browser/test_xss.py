"""XSS (issue 6): every payload of tests/security/xss_payloads.py, posted as a comment body, an
author name, a thread title and a flag note, rendered in real Chromium in the widget (second origin,
Shadow DOM), the no-JS thread page and the moderator queue. Nothing may run: no canary call, no
dialog, no console error about the canary, no live `javascript:`/`data:` URL or `on*` attribute.

Canary ids say where a payload was posted: payload i has id BASE + i for each field's BASE.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from tests.browser.conftest import SITE, HostPages, Server, open_widget
from tests.security.xss_payloads import Payload, payloads

pytestmark = pytest.mark.browser

BODY, NAME, TITLE, QBODY, QNAME, NOTE = 100_000, 200_000, 300_000, 400_000, 500_000, 600_000
PER_THREAD = 180  # the no-JS page shows at most 200 comments
PER_QUEUE = 95  # the moderator queue shows at most 100 items
CANARY = "window.__hits = []; window.__xss = (id) => { window.__hits.push(id); };"
GRACE_MS = 400  # time for onerror/onload/setTimeout of anything that got in

# In the page: every problem inside the scopes `sel` (in the document and in open shadow roots).
SCAN = """(sel) => {
  const roots = [document];
  const collect = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) { roots.push(el.shadowRoot); collect(el.shadowRoot); }
    }
  };
  collect(document);
  const BAD = new Set(['script', 'iframe', 'frame', 'object', 'embed', 'svg', 'math', 'style',
    'img', 'image', 'form', 'input', 'textarea', 'select', 'base', 'meta', 'link', 'video', 'audio',
    'source', 'details', 'marquee', 'template', 'noscript', 'xmp', 'plaintext', 'table', 'title',
    'keygen', 'isindex', 'button', 'frameset', 'applet', 'animate', 'set', 'use']);
  const out = [];
  let scopes = 0;
  for (const root of roots) {
    for (const scope of root.querySelectorAll(sel)) {
      scopes += 1;
      for (const el of [scope, ...scope.querySelectorAll('*')]) {
        const where = `<${el.localName}> in ${sel}: ${el.outerHTML.slice(0, 160)}`;
        if (BAD.has(el.localName)) out.push('tag ' + where);
        for (const a of el.attributes) {
          const v = a.value.replace(/[\\u0000-\\u0020\\u00a0\\u200b-\\u200d\\ufeff]/g, '');
          if (/^on/i.test(a.name)) out.push(`attribute ${a.name} on ${where}`);
          if (/^(javascript|vbscript|data):/i.test(v)) out.push(`url ${a.name}=${a.value} on ${where}`);
          if (/^(style|srcdoc)$/i.test(a.name)) out.push(`attribute ${a.name} on ${where}`);
        }
      }
    }
  }
  return {problems: out, scopes};
}"""
LOCATORS = ('a[href^="javascript:" i]', '[href^="data:" i]', '[src^="javascript:" i]',
            '[href^="vbscript:" i]')


@dataclass
class Seeded:
    items: list[Payload]
    widget_threads: dict[str, int] = field(default_factory=dict)  # key -> published comments
    title_threads: list[tuple[str, str, int]] = field(default_factory=list)  # site, key, title id
    queues: dict[str, int] = field(default_factory=dict)  # moderation site -> queued items
    posted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    held: int = 0


def _one_line(text: str) -> str:
    return text.replace("\n", " ")


def _post(http: httpx.Client, data: dict[str, Any], optional: dict[str, str],
          seeded: Seeded) -> dict[str, Any] | None:
    """Post; a refused optional field (name, title) is counted and dropped, a refused body skips."""
    data = {**data}
    for _ in range(len(optional) + 1):
        r = http.post("/api/v1/comments", json=data)
        if r.status_code == 201:
            for f in optional:
                if f in data:
                    seeded.posted[optional[f]] += 1
            seeded.posted["body"] += 1
            out: dict[str, Any] = r.json()
            return out
        assert r.status_code == 422, r.text  # never a 5xx: refusing is fine, failing is not
        code = r.json()["error"]["code"]
        refused = next((f for f in optional if code == f"invalid_{f}" and f in data), None)
        if refused is None:
            assert code == "invalid_body", r.text
            seeded.refused["body"] += 1
            return None
        seeded.refused[optional[refused]] += 1
        data.pop(refused)
    raise AssertionError(data)


@pytest.fixture(scope="module")
def seeded(server: Server) -> Seeded:
    items = payloads(BODY)
    n = len(items)
    names, titles = payloads(NAME), payloads(TITLE)
    qbodies, qnames, notes = payloads(QBODY), payloads(QNAME), payloads(NOTE)
    assert len(names) == len(titles) == len(qbodies) == len(notes) == n
    s = Seeded(items=items)
    run = uuid.uuid4().hex[:8]
    http = server.http

    # Widget and no-JS page: body and author name of one comment, a few threads.
    for start in range(0, n, PER_THREAD):
        key = f"/xss/{run}/w{start // PER_THREAD}"
        s.widget_threads[key] = 0
        for i in range(start, min(n, start + PER_THREAD)):
            made = _post(http, {"site": SITE, "thread": key, "body": items[i].text,
                                "thread_title": "XSS widget run",
                                "author_name": _one_line(names[i].text)},
                         {"author_name": "name"}, s)
            if made is not None and made["status"] == "published":
                s.widget_threads[key] += 1
            elif made is not None:
                s.held += 1

    # Thread titles, names and bodies in the moderator queue: one thread per payload (a title
    # belongs to a thread), on sites of PER_QUEUE comments; published ones are flagged with a note.
    for start in range(0, n, PER_QUEUE):
        slug = f"xss-{run}-{start // PER_QUEUE}"
        server.cli("site", "create", slug, "--origin", server.host_origin)
        server.cli("site", "set", slug, "flood_max=100000", "duplicate_threshold=1.01")
        s.queues[slug] = 0
        for i in range(start, min(n, start + PER_QUEUE)):
            key = f"/xss/{run}/t{i}"
            made = _post(http, {"site": slug, "thread": key, "body": qbodies[i].text,
                                "thread_title": _one_line(titles[i].text),
                                "author_name": _one_line(qnames[i].text)},
                         {"thread_title": "title", "author_name": "queue-name"}, s)
            if made is None:
                continue
            s.title_threads.append((slug, key, titles[i].id))
            if made["status"] == "pending":
                s.queues[slug] += 1
                continue
            assert made["status"] == "published", made
            flag = {"reason": "spam", "note": _one_line(notes[i].text)}
            r = http.post(f"/api/v1/comments/{made['id']}/flags", json=flag)
            if r.status_code == 422:
                s.refused["note"] += 1
                r = http.post(f"/api/v1/comments/{made['id']}/flags", json={"reason": "spam"})
            else:
                s.posted["note"] += 1
            assert r.status_code in (200, 201), r.text
            s.queues[slug] += 1
    return s


class Watch:
    """Dialogs, console messages and page errors that show a payload ran (or was blocked)."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.console: list[str] = []

    def attach(self, page: Any) -> None:
        def dialog(d: Any) -> None:
            self.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        def console(m: Any) -> None:
            text = m.text
            if "__xss" in text or "alert(" in text or "Content Security Policy" in text:
                self.console.append(f"{m.type}: {text}")

        page.on("dialog", dialog)
        page.on("console", console)
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))


def _check(page: Any, scopes: str, locator_scope: str, where: str) -> list[str]:
    page.wait_for_timeout(GRACE_MS)
    problems: list[str] = []
    hits = page.evaluate("window.__hits || null")
    assert hits is not None, f"{where}: the canary is not defined"
    problems += [f"{where}: canary hit {h}" for h in hits]
    scan = page.evaluate(SCAN, scopes)
    assert scan["scopes"] > 0, f"{where}: nothing matched {scopes}"
    problems += [f"{where}: {p}" for p in scan["problems"]]
    for sel in LOCATORS:
        count = page.locator(f"{locator_scope} {sel}").count()
        if count:
            problems.append(f"{where}: {count} × {sel}")
    return problems


def _report(watch: Watch, problems: list[str]) -> None:
    problems = [*problems, *(f"dialog {d}" for d in watch.dialogs), *watch.console]
    assert problems == [], "\n".join(problems[:50])


def test_widget_renders_no_payload(context: Any, host_pages: HostPages, seeded: Seeded) -> None:
    watch, problems, rendered = Watch(), [], 0
    page = context.new_page()
    watch.attach(page)
    for key, published in seeded.widget_threads.items():
        url = host_pages.page(key, attrs={"data-page-size": "50"},
                              head=f"<script>{CANARY}</script>")
        open_widget(page, url)
        more = page.locator("#rejoinder button.more")
        cards = page.locator("#rejoinder article.c")
        while more.is_visible():
            before = cards.count()
            more.click()
            page.wait_for_function(
                """(n) => { const r = document.getElementById('rejoinder').shadowRoot;
                   return r.querySelectorAll('article.c').length > n
                     || r.querySelector('button.more').hidden; }""", arg=before)
        assert cards.count() == published, key
        rendered += published
        problems += _check(page, "article.c .body, article.c .meta", "#rejoinder article.c",
                           f"widget {key}")
    page.close()
    print(f"\nwidget: {rendered} comments rendered (body + author name each)")
    _report(watch, problems)


def test_no_js_thread_page_renders_no_payload(
    context: Any, server: Server, seeded: Seeded
) -> None:
    watch, problems = Watch(), []
    context.add_init_script(CANARY)
    page = context.new_page()
    watch.attach(page)
    for key, published in seeded.widget_threads.items():
        page.goto(f"{server.url}/sites/{SITE}/threads?thread={quote(key)}")
        assert page.locator("li.comment").count() == published, key
        problems += _check(page, "body > ol, body > p", "body", f"no-JS {key}")
    # One page per thread title (a title belongs to its thread): a cheaper scan, same checks.
    for slug, key, title_id in seeded.title_threads:
        page.goto(f"{server.url}/sites/{slug}/threads?thread={quote(key)}", wait_until="load")
        hits = page.evaluate("window.__hits")
        problems += [f"no-JS title {title_id}: canary hit {h}" for h in hits]
        scan = page.evaluate(SCAN, "body > p, body > ol")
        problems += [f"no-JS title {title_id}: {p}" for p in scan["problems"]]
    page.wait_for_timeout(GRACE_MS)
    page.close()
    print(f"\nno-JS: {sum(seeded.widget_threads.values())} comments, "
          f"{len(seeded.title_threads)} thread-title pages")
    _report(watch, problems)


def test_moderator_queue_renders_no_payload(
    context: Any, server: Server, seeded: Seeded
) -> None:
    watch, problems, shown = Watch(), [], 0
    context.add_init_script(CANARY)
    page = context.new_page()
    watch.attach(page)
    for slug, queued in seeded.queues.items():
        token = server.cli("token", "create", "--site", slug, "--role", "moderator").strip()
        page.context.clear_cookies()
        page.goto(f"{server.url}/moderation/login")
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/moderation/{slug}")
        assert page.locator("article.item").count() == queued, slug
        shown += queued
        problems += _check(
            page, "article.item header, article.item p.text, article.item ul.flags, "
            "article.item blockquote.parent", "main", f"queue {slug}")
    page.close()
    print(f"\nqueue: {shown} items on {len(seeded.queues)} sites; posted {dict(seeded.posted)}, "
          f"refused {dict(seeded.refused)}, held {seeded.held}")
    _report(watch, problems)
