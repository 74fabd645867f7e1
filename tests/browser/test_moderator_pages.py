"""The moderator pages (issue 4) in real Chromium against `rejoinder serve`: keyboard-only
approve and reject, bulk actions, settings, the dashboard's SVG charts. Each test works on its
own site so that the widget tests' site keeps its settings."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.browser.conftest import ROOT, Server

pytestmark = pytest.mark.browser
HELD = "The Jew world order runs the banks"  # held by the keywords backend
SHOTS = os.environ.get("REJOINDER_SCREENSHOTS") == "1"


class ModSite:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.slug = f"mod-{uuid.uuid4().hex[:8]}"
        server.cli("site", "create", self.slug, "--origin", server.host_origin)

    def token(self, role: str = "moderator") -> str:
        return self.server.cli("token", "create", "--site", self.slug, "--role", role).strip()

    def post(self, body: str, thread: str = "/2026/11/harbour", **fields: Any) -> dict[str, Any]:
        r = self.server.http.post("/api/v1/comments", json={
            "site": self.slug, "thread": thread, "body": body,
            "thread_title": "Harbour notes", **fields})
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    def published(self, thread: str = "/2026/11/harbour") -> list[int]:
        r = self.server.http.get("/api/v1/comments", params={"site": self.slug, "thread": thread})

        def walk(nodes: list[dict[str, Any]]) -> list[int]:
            return [i for n in nodes for i in [n["id"], *walk(n["replies"])]]

        return walk(r.json()["comments"])

    def sign_in(self, page: Any, token: str) -> None:
        page.goto(f"{self.server.url}/moderation/login")
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.server.url}/moderation/{self.slug}")


@pytest.fixture
def site(server: Server) -> ModSite:
    return ModSite(server)


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        out = Path(ROOT) / "docs" / "screenshots" / name
        page.screenshot(path=str(out), full_page=False)


def test_keyboard_only_approve_and_reject(page: Any, site: ModSite) -> None:
    from playwright.sync_api import expect

    first = site.post(f"{HELD} (1)", author_name="Ada")
    site.post("A fair point about the ferry timetable.", author_name="Ben")
    reply = site.post(f"{HELD} (2)", author_name="Cy", parent_id=site.published()[0])
    assert first["status"] == reply["status"] == "pending"
    site.sign_in(page, site.token())
    items = page.locator("article.item")
    expect(items).to_have_count(2)
    expect(page.locator("mark.ev").first).to_be_visible()
    _shot(page, "moderation-queue.png")
    page.keyboard.press("j")  # the newest: the reply
    expect(page.locator(f"#c-{reply['id']}")).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("a")
    expect(page.locator(f"#c-{reply['id']}")).to_have_count(0)
    expect(page.locator("#live")).to_contain_text(f"Approved comment {reply['id']}")
    expect(page.locator(f"#c-{first['id']}")).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("r")
    expect(page.locator(f"#c-{first['id']}")).to_have_count(0)
    expect(page.locator("p.empty")).to_be_visible()
    assert reply["id"] in site.published() and first["id"] not in site.published()
    # u undoes the last action (the rejection) with a normal form post.
    page.keyboard.press("u")
    expect(page.locator(".notice")).to_contain_text("Undid 1 comment")
    expect(page.locator(f"#c-{first['id']}")).to_be_visible()


def test_bulk_approve_of_a_selection(page: Any, site: ModSite) -> None:
    from playwright.sync_api import expect

    a, b, c = (site.post(f"{HELD} ({n})") for n in ("a", "b", "c"))
    site.sign_in(page, site.token())
    page.check(f"#sel-{a['id']}")
    page.keyboard.press("k")  # from a (the oldest, focused by the click) up to b
    page.keyboard.press("k")  # and up to c, the newest
    page.keyboard.press("x")  # select it from the keyboard
    page.click("button[name=bulk][value=approve]")
    expect(page.locator(".notice")).to_contain_text("Approved 2 comments")
    expect(page.locator("article.item")).to_have_count(1)
    assert sorted(site.published()) == sorted([a["id"], c["id"]])
    assert b["id"] not in site.published()


def test_settings_save_and_read_back(page: Any, site: ModSite) -> None:
    from playwright.sync_api import expect

    site.sign_in(page, site.token("admin"))
    page.click("nav >> text=Settings")
    page.fill("#hold_spam", "0.6")
    page.check("#premoderate_first_time")
    page.fill("textarea[name=blocklist]", "parking\nmegaphone")
    page.click("button:has-text('Save settings')")
    expect(page.locator(".notice")).to_contain_text("Saved settings")
    page.reload()
    expect(page.locator("#hold_spam")).to_have_value("0.6")
    expect(page.locator("#premoderate_first_time")).to_be_checked()
    assert site.post("The parking fines again")["status"] == "pending"


def test_dashboard_shows_svg_charts(page: Any, site: ModSite) -> None:
    from playwright.sync_api import expect

    held = [site.post(f"{HELD} ({n})") for n in range(3)]
    site.post("Lovely photos of the breakwater.")
    site.sign_in(page, site.token())
    page.click(f"#c-{held[0]['id']} button[data-action=approve]")
    expect(page.locator(f"#c-{held[0]['id']}")).to_have_count(0)
    page.click(f"#c-{held[1]['id']} button[data-action=reject]")
    expect(page.locator(f"#c-{held[1]['id']}")).to_have_count(0)
    page.click("nav >> text=Dashboard")
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(4)
    expect(charts.first).to_be_visible()
    assert page.locator("svg.chart rect").count() >= 4
    expect(page.locator("#kpi-total")).to_have_text("4")
    expect(page.locator("#t-labels")).to_contain_text("hate")
    _shot(page, "moderation-dashboard.png")
