"""Reading a thread: counts, tree, sorting, paging, live arrivals, count spans, languages."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _ids(host, selector: str = ".list > article.c") -> list[str]:
    return [el.get_attribute("data-id") for el in host.locator(selector).all()]


def test_reading_the_tree(page, server, host_pages, thread_key, load):
    first = server.post(thread_key, "First **words** here.", author_name="Ada")
    reply = server.post(thread_key, "A reply to Ada.", parent_id=first["id"])
    server.post(thread_key, "Deeper still.", parent_id=reply["id"], author_name="Cy")
    edited = server.post(thread_key, "Will be edited.", author_name="Bo")
    r = server.http.patch(
        f"/api/v1/comments/{edited['id']}",
        json={"body": "Was edited."},
        headers={"Authorization": f"Bearer {edited['edit_token']}"},
    )
    assert r.status_code == 200, r.text
    server.vote(first["id"], 1, "voter-a")

    ready = "<script>addEventListener('rejoinder:ready', () => { window.__ready = (window.__ready || 0) + 1; });</script>"
    host = load(page, host_pages.page(thread_key, head=ready))
    expect(host.locator("h2")).to_have_text("4 Comments")
    assert page.evaluate("window.__ready") == 1
    assert page.evaluate("typeof window.Rejoinder.mount") == "function"
    top = host.locator(f"#rj-c-{first['id']}")
    expect(top.locator(":scope > .card .author")).to_have_text("Ada")
    expect(top.locator(":scope > .card .body strong")).to_have_text("words")
    expect(top.locator(":scope > .card .score")).to_have_text("1")
    expect(top.locator(":scope > .card time")).to_have_text(re.compile(r"now|second|minute"))
    # The reply sits inside its parent's replies, with "Guest" for a nameless author.
    nested = top.locator(f":scope > .replies > #rj-c-{reply['id']}")
    expect(nested.locator(":scope > .card .author")).to_have_text("Guest")
    expect(nested.locator(".replies .author")).to_have_text("Cy")
    expect(host.locator(f"#rj-c-{edited['id']} .edited")).to_contain_text("edited")
    expect(host.locator(f"#rj-c-{edited['id']} .body")).to_have_text("Was edited.")
    # Replies collapse and expand.
    toggle = top.locator(":scope > .toggle")
    toggle.click()
    expect(nested).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(nested).to_be_visible()


def test_sorting_and_paging(page, server, host_pages, thread_key, load):
    a = server.post(thread_key, "Comment A", author_name="A")
    b = server.post(thread_key, "Comment B", author_name="B")
    c = server.post(thread_key, "Comment C", author_name="C")
    # The server knows a voter by site and IP: every vote here comes from one voter.
    server.vote(a["id"], 1, "v1")
    server.vote(b["id"], -1, "v1")

    host = load(page, host_pages.page(thread_key, attrs={"data-page-size": "2"}))
    expect(host.locator(".list > article.c")).to_have_count(2)
    assert _ids(host) == [str(a["id"]), str(b["id"])]
    more = host.locator("button.more")
    expect(more).to_be_visible()
    more.click()
    expect(host.locator(".list > article.c")).to_have_count(3)
    assert _ids(host) == [str(a["id"]), str(b["id"]), str(c["id"])]
    expect(more).to_be_hidden()

    host.get_by_role("button", name="Newest").click()
    expect(host.get_by_role("button", name="Newest")).to_have_attribute("aria-pressed", "true")
    expect(host.locator(".list > article.c").first).to_have_attribute("data-id", str(c["id"]))
    assert _ids(host) == [str(c["id"]), str(b["id"])]

    host.get_by_role("button", name="Most Voted").click()
    expect(host.locator(".list > article.c").first).to_have_attribute("data-id", str(a["id"]))
    assert _ids(host) == [str(a["id"]), str(c["id"])]
    host.locator("button.more").click()
    expect(host.locator(".list > article.c")).to_have_count(3)
    assert _ids(host) == [str(a["id"]), str(c["id"]), str(b["id"])]


def test_live_arrival_shows_a_new_comments_bar(page, server, host_pages, thread_key, load):
    server.post(thread_key, "Already here.")
    host = load(page, host_pages.page(thread_key))
    expect(host.locator("h2")).to_have_text("1 Comment")
    page.wait_for_timeout(500)  # let the EventSource connect
    fresh = server.post(thread_key, "Posted by another reader.", author_name="Other")
    bar = host.locator("button.new")
    expect(bar).to_have_text("Show 1 new comment")
    # Nothing jumps until the reader asks.
    expect(host.locator(f"#rj-c-{fresh['id']}")).to_have_count(0)
    bar.click()
    expect(host.locator(f"#rj-c-{fresh['id']} .body")).to_have_text("Posted by another reader.")
    expect(host.locator("h2")).to_have_text("2 Comments")
    expect(bar).to_be_hidden()


def test_count_spans_fill_with_one_request(page, server, host_pages, thread_key, load):
    other = f"/t/other-{uuid.uuid4().hex[:8]}"
    server.post(thread_key, "one")
    server.post(thread_key, "two")
    server.post(other, "three")
    spans = (
        f'<p>Here: <span id="c1" data-rejoinder-count="{thread_key}">…</span></p>'
        f'<p>Other: <span id="c2" data-rejoinder-count="{other}" data-rejoinder-number>…</span></p>'
        f'<p>None: <span id="c3" data-rejoinder-count="/t/none-{uuid.uuid4().hex}">…</span></p>'
    )
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/v1/counts" in r.url else None)
    load(page, host_pages.page(thread_key, before=spans))
    expect(page.locator("#c1")).to_have_text("2 Comments")
    expect(page.locator("#c2")).to_have_text("1")
    expect(page.locator("#c3")).to_have_text("0 Comments")
    assert len(requests) == 1, requests


def test_count_spans_work_without_a_widget(page, server, host_pages, thread_key):
    server.post(thread_key, "counted")
    spans = (
        f'<span id="c1" data-rejoinder-count="{thread_key}" data-rejoinder-site="testsite">…</span>'
    )
    page.goto(host_pages.page(thread_key, before=spans, with_widget=False))
    expect(page.locator("#c1")).to_have_text("1 Comment")


@pytest.mark.parametrize(
    ("lang", "attr", "heading", "sort_label", "direction"),
    [
        ("de", None, "1 Kommentar", "Älteste", "ltr"),
        ("en", "he", "תגובה אחת", "הישנות ביותר", "rtl"),
    ],
)
def test_languages(
    page, server, host_pages, thread_key, load, lang, attr, heading, sort_label, direction
):
    server.post(thread_key, "Hallo / שלום")
    attrs = {"data-lang": attr} if attr else {}
    host = load(page, host_pages.page(thread_key, lang=lang, attrs=attrs))
    expect(host.locator("h2")).to_have_text(heading)
    expect(host.locator("section.rj")).to_have_attribute("dir", direction)
    expect(host.locator(".sort button").first).to_have_text(sort_label)
