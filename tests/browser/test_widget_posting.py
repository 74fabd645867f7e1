"""Writing: posting, replying, preview, moderation notice, votes, edit, delete, reports."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_post_reply_edit_delete_as_guest(page, server, host_pages, thread_key, load):
    host = load(page, host_pages.page(thread_key))
    expect(host.locator("h2")).to_have_text("0 Comments")
    form = host.locator("form.form").first
    form.locator("textarea").fill("Hello from a *guest*.")
    form.get_by_label("Name (optional)").fill("Ada")
    form.get_by_role("button", name="Post Comment").click()

    mine = host.locator(".list > article.c").first
    expect(mine.locator(":scope > .card .body em")).to_have_text("guest")
    expect(mine.locator(":scope > .card .author")).to_have_text("Ada")
    expect(host.locator("h2")).to_have_text("1 Comment")
    expect(host.locator("p.status[role=status]")).to_have_text("Your comment was published.")
    expect(form.locator("textarea")).to_have_value("")
    comment_id = mine.get_attribute("data-id")

    # Reply inline.
    mine.locator(":scope > .card").get_by_role("button", name="Reply to Ada").click()
    reply_form = mine.locator(".slot form")
    reply_form.locator("textarea").fill("Replying to myself.")
    reply_form.get_by_role("button", name="Post Reply").click()
    reply = mine.locator(":scope > .replies > article.c")
    expect(reply.locator(".body")).to_have_text("Replying to myself.")
    expect(host.locator("h2")).to_have_text("2 Comments")
    expect(mine.locator(".slot form")).to_have_count(0)

    # The server has both, the reply under the comment.
    data = server.thread(thread_key)
    assert [c["id"] for c in data["comments"]] == [int(comment_id)]
    assert len(data["comments"][0]["replies"]) == 1

    # Edit within the window, after a reload (the token is kept in localStorage).
    page.reload()
    page.wait_for_selector("#rejoinder[data-rejoinder-state=ready]", state="attached")
    mine = host.locator(f"#rj-c-{comment_id}")
    mine.locator(":scope > .card").get_by_role("button", name="Edit").click()
    area = mine.get_by_label("Edit your comment")
    expect(area).to_have_value("Hello from a *guest*.")
    area.fill("Hello, **edited**.")
    mine.get_by_role("button", name="Save").click()
    expect(mine.locator(":scope > .card .body strong")).to_have_text("edited")
    expect(mine.locator(":scope > .card .edited")).to_contain_text("edited")

    # Delete the reply.
    reply = mine.locator(":scope > .replies > article.c")
    reply.get_by_role("button", name="Delete").click()
    reply.get_by_role("button", name="Yes, delete").click()
    expect(mine.locator(":scope > .replies > article.c")).to_have_count(0)
    expect(host.locator("h2")).to_have_text("1 Comment")
    assert server.thread(thread_key)["thread"]["comment_count"] == 1


def test_deleting_a_comment_with_replies_leaves_a_placeholder(
    page, server, host_pages, thread_key, load
):
    host = load(page, host_pages.page(thread_key))
    host.locator("form.form textarea").first.fill("Parent to delete.")
    host.get_by_role("button", name="Post Comment").click()
    mine = host.locator(".list > article.c").first
    expect(mine.locator(".body")).to_have_text("Parent to delete.")
    server.post(thread_key, "A reply that stays.", parent_id=int(mine.get_attribute("data-id")))
    page.reload()
    page.wait_for_selector("#rejoinder[data-rejoinder-state=ready]", state="attached")
    expect(host.locator("h2")).to_have_text("2 Comments")
    card = mine.locator(":scope > .card")
    card.get_by_role("button", name="Delete").click()
    card.get_by_role("button", name="Yes, delete").click()
    expect(mine.locator(":scope > .card .author")).to_have_text("This comment was deleted.")
    expect(mine.locator(":scope > .card .actions")).to_be_hidden()
    expect(mine.locator(".replies .body")).to_have_text("A reply that stays.")
    expect(host.locator("h2")).to_have_text("1 Comment")


def test_held_comment_is_shown_only_to_its_author(
    page, browser, server, host_pages, thread_key, load
):
    url = host_pages.page(thread_key)
    host = load(page, url)
    host.locator("form.form textarea").first.fill("Buy now at my casino: cheap ferry tickets!")
    host.get_by_role("button", name="Post Comment").click()
    expect(host.locator("article.c .pending")).to_have_text("Your comment is awaiting moderation.")
    expect(host.locator("h2")).to_have_text("0 Comments")
    # Still shown to its author after a reload...
    page.reload()
    page.wait_for_selector("#rejoinder[data-rejoinder-state=ready]", state="attached")
    expect(host.locator("article.c .pending")).to_have_count(1)
    # ...and to nobody else.
    other = browser.new_context()
    try:
        p2 = other.new_page()
        h2 = load(p2, url)
        expect(h2.locator("h2")).to_have_text("0 Comments")
        expect(h2.locator("article.c")).to_have_count(0)
    finally:
        other.close()


def test_escape_closes_an_inline_form_and_returns_focus(
    page, server, host_pages, thread_key, load, focused
):
    server.post(thread_key, "Reply to me.", author_name="Bo")
    host = load(page, host_pages.page(thread_key))
    host.get_by_role("button", name="Reply to Bo").click()
    assert focused(page).startswith("textarea")
    page.keyboard.press("Escape")
    expect(host.locator(".slot form")).to_have_count(0)
    assert focused(page).startswith("button.link reply"), focused(page)


def test_markdown_preview_never_renders_markup(page, host_pages, thread_key, load):
    host = load(page, host_pages.page(thread_key))
    form = host.locator("form.form").first
    form.locator("textarea").fill('**bold** <img src=x onerror="window.__pwned=1">')
    form.get_by_role("button", name="Preview").click()
    preview = form.locator(".preview")
    expect(preview.locator("strong")).to_have_text("bold")
    expect(preview).to_contain_text('<img src=x onerror="window.__pwned=1">')
    assert preview.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    form.get_by_role("button", name="Write").click()
    expect(form.locator("textarea")).to_be_visible()


def test_empty_comment_is_refused_in_the_form(page, host_pages, thread_key, load):
    host = load(page, host_pages.page(thread_key))
    host.get_by_role("button", name="Post Comment").click()
    expect(host.locator("form.form .error")).to_have_text("Please write something first.")


def test_voting_once_and_changing_the_vote(page, server, host_pages, thread_key, load):
    c = server.post(thread_key, "Vote on me.", author_name="Someone")
    host = load(page, host_pages.page(thread_key))
    card = host.locator(f"#rj-c-{c['id']} > .card")
    up = card.get_by_role("button", name="Upvote")
    down = card.get_by_role("button", name="Downvote")
    up.click()
    expect(card.locator(".score")).to_have_text("1")
    expect(up).to_have_attribute("aria-pressed", "true")
    down.click()
    expect(card.locator(".score")).to_have_text("-1")
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    down.click()  # a second press takes the vote back
    expect(card.locator(".score")).to_have_text("0")
    page.reload()
    page.wait_for_selector("#rejoinder[data-rejoinder-state=ready]", state="attached")
    up.click()
    expect(card.locator(".score")).to_have_text("1")
    assert server.thread(thread_key)["comments"][0]["score"] == 1


def test_reporting_a_comment(page, server, host_pages, thread_key, load):
    c = server.post(thread_key, "Report me.", author_name="Someone")
    host = load(page, host_pages.page(thread_key))
    card = host.locator(f"#rj-c-{c['id']} > .card")
    card.get_by_role("button", name="Report").click()
    card.get_by_label("Spam").check()
    card.get_by_label("Note (optional)").fill("Looks like an advert.")
    with page.expect_response(lambda r: r.url.endswith(f"/comments/{c['id']}/flags")) as resp:
        card.get_by_role("button", name="Send report").click()
    assert resp.value.status == 201
    assert resp.value.request.post_data_json == {"reason": "spam", "note": "Looks like an advert."}
    expect(card.locator(".slot")).to_have_text("Thank you. A moderator will look at it.")
    expect(card.get_by_role("button", name="Report")).to_be_disabled()


def test_notify_choice_is_sent(page, host_pages, thread_key, load):
    host = load(page, host_pages.page(thread_key))
    form = host.locator("form.form").first
    form.locator("textarea").fill("Tell me about replies.")
    form.get_by_label("Notify of").select_option("replies")
    form.get_by_role("button", name="Post Comment").click()
    expect(form.locator(".error")).to_have_text("Enter your email address to be notified.")
    form.get_by_label("Email (optional, never shown)").fill("reader@example.org")
    with page.expect_request(
        lambda r: r.url.endswith("/api/v1/comments") and r.method == "POST"
    ) as req:
        form.get_by_role("button", name="Post Comment").click()
    body = req.value.post_data_json
    assert body["notify"] == "replies"
    assert body["author_email"] == "reader@example.org"
    assert body["thread_title"].startswith("Test story")
    assert body["thread_url"].startswith(host_pages.origin)
