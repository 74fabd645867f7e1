"""Quality bars: a hostile host stylesheet, keyboard-only posting, inline feedback, the demo
page (no console errors, zero axe-core violations) and its screenshots."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"

HOSTILE = """<style>
body *, body *::before, body *::after { display: none !important; color: red !important;
  visibility: hidden !important; font-size: 3px !important; opacity: 0 !important; }
div { position: absolute !important; left: -9999px !important; }
button, textarea, h2, section { display: none !important; }
</style>"""


def test_hostile_host_stylesheet_cannot_hide_the_widget(page, server, host_pages, thread_key, load):
    server.post(thread_key, "Still readable.", author_name="Ada")
    host = load(page, host_pages.page(thread_key, head=HOSTILE))
    heading = host.locator("h2")
    expect(heading).to_be_visible()
    expect(heading).to_have_text("1 Comment")
    expect(host.locator("article.c .body")).to_be_visible()
    expect(host.get_by_role("button", name="Post Comment")).to_be_visible()
    color = heading.evaluate("el => getComputedStyle(el).color")
    assert color != "rgb(255, 0, 0)"
    size = heading.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size > 12
    box = host.bounding_box()
    assert box is not None and box["x"] >= 0 and box["height"] > 100
    # And ours does not leak out: the host page's own <h1> keeps the page's (hidden) style.
    assert page.locator("article h1").evaluate("el => getComputedStyle(el).display") == "none"


def test_keyboard_only_posting(page, host_pages, thread_key, load, focused):
    host = load(page, host_pages.page(thread_key))
    page.locator("body").click(position={"x": 5, "y": 5})
    for _ in range(15):
        page.keyboard.press("Tab")
        if focused(page).startswith("textarea"):
            break
    assert focused(page).startswith("textarea"), focused(page)
    page.keyboard.type("Typed without a mouse.")
    for _ in range(10):
        page.keyboard.press("Tab")
        if "Post Comment" in focused(page):
            break
    assert "Post Comment" in focused(page)
    outline = page.evaluate(
        """() => { const a = document.getElementById('rejoinder').shadowRoot.activeElement;
        const s = getComputedStyle(a); return [s.outlineStyle, s.outlineWidth]; }"""
    )
    assert outline[0] != "none" and outline[1] != "0px", outline
    page.keyboard.press("Enter")
    expect(host.locator("article.c .body")).to_have_text("Typed without a mouse.")
    # Reply from the keyboard too: Reply, type, Ctrl+Enter.
    host.get_by_role("button", name="Reply to Guest").focus()
    page.keyboard.press("Enter")
    assert focused(page).startswith("textarea")
    page.keyboard.type("And a reply.")
    page.keyboard.press("Control+Enter")
    expect(host.locator("article.c .replies .body")).to_have_text("And a reply.")


def test_inline_feedback_on_a_passage(page, server, host_pages, thread_key, load):
    host = load(page, host_pages.page(thread_key))
    # Select "the ferry bell rang twice" in the article.
    page.evaluate(
        """() => {
        const p = document.querySelectorAll('#story p')[1];
        const node = p.firstChild; const text = node.data;
        const start = text.indexOf('the ferry bell');
        const r = document.createRange();
        r.setStart(node, start); r.setEnd(node, start + 'the ferry bell rang twice'.length);
        const sel = getSelection(); sel.removeAllRanges(); sel.addRange(r); }"""
    )
    button = page.get_by_role("button", name="Comment on this passage")
    expect(button).to_be_visible()
    button.click()
    form = host.locator("form.form").first
    expect(form.locator(".chip")).to_contain_text("the ferry bell rang twice")
    form.locator("textarea").fill("Twice means the last crossing.")
    with page.expect_request(
        lambda r: r.url.endswith("/api/v1/comments") and r.method == "POST"
    ) as req:
        form.get_by_role("button", name="Post Comment").click()
    quote = req.value.post_data_json["quote"]
    assert quote["exact"] == "the ferry bell rang twice"
    assert quote["prefix"].endswith("lifted and ")
    assert quote["suffix"].startswith(" across the water.")
    expect(host.locator("article.c .quote")).to_have_text("“the ferry bell rang twice”")
    mark = page.locator("#story mark[data-rejoinder-quote]")
    expect(mark).to_have_text("the ferry bell rang twice")
    # After a reload the passage is highlighted from the stored quote, with its count.
    page.reload()
    page.wait_for_selector("#rejoinder[data-rejoinder-state=ready]", state="attached")
    expect(mark).to_have_text("the ferry bell rang twice")
    badge = page.get_by_role("button", name="1 comment on this passage")
    expect(badge).to_have_text("1")
    badge.click()
    assert server.thread(thread_key)["comments"][0]["quote"]["exact"] == "the ferry bell rang twice"


def _screenshot_dir(tmp_path: Path) -> Path:
    if os.environ.get("REJOINDER_SCREENSHOTS"):
        out = ROOT / "docs" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_demo_page_loads_cleanly(browser, server, scheme, tmp_path):
    """Zero console errors (CSP violations included) in both themes; a screenshot of each."""
    ctx = browser.new_context(color_scheme=scheme, viewport={"width": 1000, "height": 900})
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server.url}/demo")
        page.wait_for_selector("#rejoinder[data-rejoinder-state=ready]", state="attached")
        host = page.locator("#rejoinder")
        expect(host.locator("h2")).to_have_text(re.compile(r"^\d+ Comments?$"))
        assert host.locator("article.c").count() > 0
        expect(page.locator("[data-rejoinder-count='/demo/welcome']").first).to_have_text(
            re.compile(r"^\d+ Comments?$")
        )
        assert page.locator("noscript").count() == 1
        support = host.locator("aside.support a")
        assert support.count() >= 1
        assert "amount=" in (support.first.get_attribute("href") or "")
        page.wait_for_timeout(300)
        page.screenshot(path=str(_screenshot_dir(tmp_path) / f"demo-{scheme}.png"), full_page=True)
        assert errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_demo_page_has_no_axe_violations(browser, server, scheme):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in widget/")
    # axe is injected as a script; the demo page's CSP would (rightly) refuse it.
    ctx = browser.new_context(bypass_csp=True, color_scheme=scheme)
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/demo")
        page.wait_for_selector("#rejoinder[data-rejoinder-state=ready]", state="attached")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => (await axe.run(document)).violations")
        report = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5]) for v in result]
        assert report == [], report
    finally:
        ctx.close()
