"""Signed-in readers in the widget: register, sign out and in, post, edit, download and delete
the account; the publisher's single sign-on (`data-sso`); an ended session."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SITE = "testsite"  # conftest.SITE
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery"
STORAGE_KEY = f"rejoinder:session:{SITE}"


def _email() -> str:
    return f"reader-{uuid.uuid4().hex[:10]}@example.org"


def _ready(page: Any) -> None:
    page.wait_for_selector("#rejoinder[data-rejoinder-state=ready]", state="attached")


def _stored_session(page: Any) -> Any:
    raw = page.evaluate(f"localStorage.getItem({json.dumps(STORAGE_KEY)})")
    return json.loads(raw) if raw else None


def _register(server: Any, name: str) -> dict[str, Any]:
    r = server.http.post(
        "/api/v1/auth/register",
        json={"site": SITE, "email": _email(), "password": PASSWORD, "name": name},
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def _only_refusals(console: Any) -> None:
    """The browser itself logs each refused request (401) as a console error: allow those only."""
    assert all("status of 401" in e for e in console.errors), console.errors
    console.errors.clear()


def _seed_session(page: Any, session: dict[str, Any]) -> None:
    """Put a session into the host page origin's storage before the widget starts."""
    value = json.dumps({"token": session["session_token"], "user": session["user"]})
    page.add_init_script(f"localStorage.setItem({json.dumps(STORAGE_KEY)}, {json.dumps(value)})")


@pytest.fixture(scope="module")
def sso_secret(server: Any) -> str:
    """Give the test site a single sign-on secret, straight in its settings row."""
    secret = "s3cret-" + uuid.uuid4().hex + uuid.uuid4().hex
    path = server.env["REJOINDER_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path, timeout=10) as db:
        cur = db.execute(
            "UPDATE sites SET settings = json_set(COALESCE(settings, '{}'), '$.sso_secret', ?)"
            " WHERE slug = ?",
            (secret, SITE),
        )
        assert cur.rowcount == 1
    return secret


def _sso_token(secret: str, sub: str, name: str, **extra: Any) -> str:
    claims = {
        "sub": sub,
        "name": name,
        "email": f"{sub}@publisher.example",
        "exp": int(time.time()) + 300,
        **extra,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def test_register_sign_out_sign_in_post_edit_download_delete(
    page, server, host_pages, thread_key, load, focused, tmp_path, console
):
    email = _email()
    host = load(page, host_pages.page(thread_key))
    acct = host.locator(".acct")
    create = acct.locator("button[aria-controls]", has_text="Create account")
    expect(create).to_have_attribute("aria-expanded", "false")

    # Create an account: the disclosure opens a labelled form; a short password is refused here.
    create.click()
    expect(create).to_have_attribute("aria-expanded", "true")
    panel = acct.locator("form.auth")
    expect(panel).to_have_accessible_name("Create account")
    assert focused(page).startswith("input"), focused(page)
    panel.get_by_label("Name (shown with your comments)").fill("Ada Lovelace")
    panel.get_by_label("Email").fill(email)
    panel.get_by_label("Password").fill("short")
    panel.get_by_role("button", name="Create account").click()
    expect(panel.locator(".error")).to_have_text("The password needs at least 10 characters.")
    panel.get_by_label("Password").fill(PASSWORD)
    panel.get_by_role("button", name="Create account").click()

    expect(acct.locator(".who")).to_have_text("Signed in as Ada Lovelace")
    assert focused(page).startswith("span.who"), focused(page)
    form = host.locator("form.form").first
    expect(form.get_by_label("Name (optional)")).to_be_hidden()
    expect(form.get_by_label("Email (optional, never shown)")).to_be_hidden()
    stored = _stored_session(page)
    assert stored["token"].startswith("rs_") and stored["user"]["name"] == "Ada Lovelace"

    # Sign out, then a wrong password, then sign in.
    acct.get_by_role("button", name="Sign out").click()
    expect(acct.locator("p.note")).to_have_text("You signed out.")
    expect(form.get_by_label("Name (optional)")).to_be_visible()
    assert _stored_session(page) is None
    assert (
        server.http.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {stored['token']}"}
        ).status_code
        == 401
    ), "signing out ends the session on the server"
    acct.get_by_role("button", name="Sign in").click()
    panel = acct.locator("form.auth")
    expect(panel).to_have_accessible_name("Sign in")
    panel.get_by_label("Email").fill(email)
    panel.get_by_label("Password").fill("not the password")
    panel.get_by_role("button", name="Sign in").click()
    expect(panel.locator(".error")).to_have_text("Wrong email or password.")
    _only_refusals(console)
    panel.get_by_label("Password").fill(PASSWORD)
    panel.get_by_label("Password").press("Enter")
    expect(acct.locator(".who")).to_have_text("Signed in as Ada Lovelace")

    # Post as the account: the session goes as a Bearer token, no guest name or email.
    form.locator("textarea").fill("Posted from my *account*.")
    with page.expect_request(
        lambda r: r.url.endswith("/api/v1/comments") and r.method == "POST"
    ) as req:
        form.get_by_role("button", name="Post Comment").click()
    assert req.value.all_headers()["authorization"].startswith("Bearer rs_")
    assert "author_name" not in req.value.post_data_json
    mine = host.locator(".list > article.c").first
    expect(mine.locator(":scope > .card .author")).to_have_text("Ada Lovelace")
    expect(mine.locator(":scope > .card .body em")).to_have_text("account")
    comment_id = int(mine.get_attribute("data-id"))
    served = server.thread(thread_key)["comments"][0]
    assert served["author"] == {"name": "Ada Lovelace", "is_guest": False}
    assert "Guest" not in host.locator(".list").inner_text()

    # After a reload the session (checked with /me) still edits the comment.
    page.reload()
    _ready(page)
    expect(acct.locator(".who")).to_have_text("Signed in as Ada Lovelace")
    mine = host.locator(f"#rj-c-{comment_id}")
    mine.locator(":scope > .card").get_by_role("button", name="Edit").click()
    area = mine.get_by_label("Edit your comment")
    expect(area).to_have_value("Posted from my *account*.")
    area.fill("Edited from my **account**.")
    mine.get_by_role("button", name="Save").click()
    expect(mine.locator(":scope > .card .body strong")).to_have_text("account")
    expect(mine.locator(".slot form")).to_have_count(0)

    # Download my data: a JSON file through a Blob URL.
    menu_button = acct.get_by_role("button", name="Account", exact=True)
    menu_button.click()
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    with page.expect_download() as dl:
        acct.get_by_role("button", name="Download my data").click()
    download = dl.value
    assert download.suggested_filename.startswith(f"rejoinder-{SITE}-")
    assert download.suggested_filename.endswith(".json")
    saved = tmp_path / "export.json"
    download.save_as(saved)
    exported = json.loads(saved.read_text(encoding="utf-8"))
    assert exported["account"]["email"] == email
    assert [c["body_md"] for c in exported["comments"]] == ["Edited from my **account**."]

    # Delete the account (with a confirm step); the comment, which has a reply, stays as
    # the deleted placeholder.
    server.post(thread_key, "A reply that stays.", parent_id=comment_id, author_name="Bo")
    acct.get_by_role("button", name="Delete my account").click()
    expect(acct.get_by_role("group", name="Delete your account?", exact=False)).to_be_visible()
    assert "Keep it" in focused(page), focused(page)
    acct.get_by_role("button", name="Keep it").click()
    acct.get_by_role("button", name="Delete my account").click()
    acct.get_by_role("button", name="Yes, delete my account").click()
    expect(acct.locator("p.note")).to_have_text("Your account was deleted.")
    expect(acct.get_by_role("button", name="Sign in")).to_be_visible()
    mine = host.locator(f"#rj-c-{comment_id}")
    expect(mine.locator(":scope > .card .author")).to_have_text("This comment was deleted.")
    expect(mine.locator(".replies .body")).to_have_text("A reply that stays.")
    assert _stored_session(page) is None
    r = server.http.post(
        "/api/v1/auth/login", json={"site": SITE, "email": email, "password": PASSWORD}
    )
    assert r.status_code == 401


def test_account_controls_by_keyboard_and_axe(page, server, host_pages, thread_key, load, focused):
    host = load(page, host_pages.page(thread_key))
    acct = host.locator(".acct")
    sign_in = acct.get_by_role("button", name="Sign in")
    sign_in.focus()
    page.keyboard.press("Enter")
    assert focused(page).startswith("input"), focused(page)
    page.keyboard.press("Escape")
    expect(acct.locator("form.auth")).to_have_count(0)
    expect(sign_in).to_have_attribute("aria-expanded", "false")
    assert focused(page).startswith("button.btn|Sign in"), focused(page)

    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in widget/")
    page.add_script_tag(path=str(AXE))
    axe = (
        """async () => (await axe.run('#rejoinder')).violations.map(v => [v.id, v.nodes.length])"""
    )
    acct.get_by_role("button", name="Create account").click()
    assert page.evaluate(axe) == []
    # Signed in, with the account menu and the delete confirmation open.
    acct.get_by_label("Name (shown with your comments)").fill("Kit")
    acct.get_by_label("Email").fill(_email())
    acct.get_by_label("Password").fill(PASSWORD)
    acct.locator("form.auth").get_by_role("button", name="Create account").click()
    acct.get_by_role("button", name="Account", exact=True).click()
    acct.get_by_role("button", name="Delete my account").click()
    assert page.evaluate(axe) == []


def test_an_ended_session_signs_out_and_says_so(
    context, server, host_pages, thread_key, load, console
):
    # A session that the server no longer knows: refused by /me on load.
    dead = _register(server, "Old Reader")
    r = server.http.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {dead['session_token']}"}
    )
    assert r.status_code == 204
    page = context.new_page()
    console.attach(page)
    _seed_session(page, dead)
    host = load(page, host_pages.page(thread_key))
    acct = host.locator(".acct")
    expect(acct.locator("p.note")).to_have_text("Your session has ended. Please sign in again.")
    expect(acct.get_by_role("button", name="Sign in")).to_be_visible()
    assert _stored_session(page) is None
    _only_refusals(console)


def test_a_session_ending_while_reading_is_caught_before_posting(
    context, server, host_pages, thread_key, load, console
):
    live = _register(server, "Night Reader")
    page = context.new_page()
    console.attach(page)
    _seed_session(page, live)
    host = load(page, host_pages.page(thread_key))
    acct = host.locator(".acct")
    expect(acct.locator(".who")).to_have_text("Signed in as Night Reader")
    # The session ends elsewhere; the widget last checked it long ago.
    server.http.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {live['session_token']}"}
    )
    page.evaluate("document.getElementById('rejoinder').__rejoinder.checkedAt = 0")
    form = host.locator("form.form").first
    form.locator("textarea").fill("Am I still signed in?")
    form.get_by_role("button", name="Post Comment").click()
    expect(form.locator(".error")).to_have_text("Your session has ended. Please sign in again.")
    expect(acct.locator("p.note")).to_have_text("Your session has ended. Please sign in again.")
    expect(form.get_by_label("Name (optional)")).to_be_visible()
    assert server.thread(thread_key)["comments"] == [], "nothing was posted as a guest"
    _only_refusals(console)


def test_single_sign_on_from_data_sso(
    context, server, host_pages, thread_key, load, sso_secret, console
):
    sub = "pub-" + uuid.uuid4().hex[:8]
    token = _sso_token(sso_secret, sub, "Grace Hopper")
    page = context.new_page()
    console.attach(page)
    host = load(page, host_pages.page(thread_key, attrs={"data-sso": token}))
    acct = host.locator(".acct")
    # Signed in on load, without any form.
    expect(acct.locator(".who")).to_have_text("Signed in as Grace Hopper")
    expect(acct.get_by_role("button", name="Sign in")).to_have_count(0)
    assert _stored_session(page)["user"]["sso"] is True
    form = host.locator("form.form").first
    expect(form.get_by_label("Name (optional)")).to_be_hidden()
    form.locator("textarea").fill("Signed in by the publisher.")
    form.get_by_role("button", name="Post Comment").click()
    mine = host.locator(".list > article.c").first
    expect(mine.locator(":scope > .card .author")).to_have_text("Grace Hopper")
    expect(mine.locator(":scope > .card").get_by_role("button", name="Edit")).to_be_visible()
    assert server.thread(thread_key)["comments"][0]["author"] == {
        "name": "Grace Hopper",
        "is_guest": False,
    }
    assert console.errors == []

    # A page of the publisher without data-sso (the reader signed out there) ends the session.
    host = load(page, host_pages.page(thread_key))
    expect(acct.get_by_role("button", name="Sign in")).to_be_visible()
    expect(acct.locator(".who")).to_have_count(0)
    expect(acct.locator("p.note")).to_have_text("")
    assert _stored_session(page) is None
    expect(mine.locator(":scope > .card").get_by_role("button", name="Edit")).to_have_count(0)


@pytest.mark.parametrize("kind", ["wrong-secret", "expired", "garbage"])
def test_a_refused_sso_token_falls_back_to_guest_quietly(
    context, server, host_pages, thread_key, load, sso_secret, console, kind
):
    if kind == "wrong-secret":
        token = _sso_token("x" * 40, "pub-mallory", "Mallory")
    elif kind == "expired":
        token = _sso_token(sso_secret, "pub-late", "Late Reader", exp=int(time.time()) - 3600)
    else:
        token = "not.a.jwt"
    page = context.new_page()
    console.attach(page)
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    host = load(page, host_pages.page(thread_key, attrs={"data-sso": token}))
    acct = host.locator(".acct")
    expect(acct.get_by_role("button", name="Sign in")).to_be_visible()
    expect(acct.locator(".who")).to_have_count(0)
    expect(acct.locator("p.note")).to_have_text("")
    assert _stored_session(page) is None
    # Guest posting still works.
    form = host.locator("form.form").first
    form.get_by_label("Name (optional)").fill("Mal")
    form.locator("textarea").fill("As a guest after all.")
    form.get_by_role("button", name="Post Comment").click()
    expect(host.locator(".list > article.c .author")).to_have_text("Mal")
    # Nothing about the token was logged (the browser itself reports the refused request).
    assert not any(token in m for m in messages), messages
    _only_refusals(console)
