"""Sign-in by emailed link in the widget: ask for the link in the sign-in form, open the page the
mail leads to (`#rejoinder-login=TOKEN`), be signed in, and find the token gone from the URL."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SITE = "testsite"  # conftest.SITE


def _login_url(server: Any, address: str) -> str:
    """The link of the sign-in mail to `address`, read from the server's outbox (the browser
    server has no SMTP; the row holds what the mail would say)."""
    path = server.env["REJOINDER_DATABASE_URL"].removeprefix("sqlite:///")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sqlite3.connect(path, timeout=10) as db:
            rows = db.execute("SELECT payload FROM outbox ORDER BY id DESC").fetchall()
        for (raw,) in rows:
            payload = json.loads(raw)
            if payload.get("to") == address and payload.get("template") == "login":
                return str(payload["vars"]["login_url"])
        time.sleep(0.1)
    raise AssertionError(f"no sign-in mail to {address}")


def test_sign_in_by_emailed_link(page, server, host_pages, thread_key, load, console):
    name = f"reader-{uuid.uuid4().hex[:8]}"
    address = f"{name}@example.org"
    url = host_pages.page(thread_key)
    host = load(page, url)
    acct = host.locator(".acct")

    # Ask for the link in the sign-in form: the email is all it takes.
    acct.get_by_role("button", name="Sign in").click()
    panel = acct.locator("form.auth")
    panel.get_by_label("Email").fill(address)
    panel.get_by_role("button", name="Email me a sign-in link").click()
    expect(acct.locator("p.note")).to_have_text("Check your email: we sent you a sign-in link.")
    expect(panel).to_have_count(0)

    link = _login_url(server, address)
    assert link.startswith(url + "#rejoinder-login=rl_"), link

    # Following the link (from the mail: a fresh load, not a same-page fragment change) signs in
    # a new account named after the address, and drops the token from the URL.
    page.goto("about:blank")
    load(page, link)
    expect(acct.locator(".who")).to_have_text(f"Signed in as {name}")
    assert page.evaluate("location.hash") == ""
    assert page.url == url
    raw = page.evaluate(f"localStorage.getItem('rejoinder:session:{SITE}')")
    assert json.loads(raw)["token"].startswith("rs_")

    # The link works once: opened again (a new browser), it says so and stays signed out.
    other = page.context.browser.new_context()
    try:
        again = other.new_page()
        again.goto(link)
        again.wait_for_selector("#rejoinder[data-rejoinder-state=ready]", state="attached")
        note = again.locator("#rejoinder .acct p.note")
        expect(note).to_have_text("This sign-in link has expired or was used already.")
        expect(again.locator("#rejoinder .acct .who")).to_have_count(0)
        assert again.evaluate("location.hash") == ""
    finally:
        other.close()
    # The refused verify was logged by the browser as a 401 in the other page only.
    assert console.errors == [], console.errors
