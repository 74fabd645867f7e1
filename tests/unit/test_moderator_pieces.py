"""Pure pieces of the moderator pages: evidence highlighting, signed sessions, CSRF, SVG."""

from __future__ import annotations

from rejoinder.services.moderator import Segment, highlight
from rejoinder.web.moderation import charts
from rejoinder.web.moderation import session as sess

SECRET = "unit-test-secret-key"


def test_highlight_uses_checked_offsets_and_falls_back_to_the_words() -> None:
    text = "You <b>vile</b> IDIOT"
    segments = highlight(text, [
        {"label": "hate", "text": "vile", "start": 7, "end": 11},
        {"label": "abuse", "text": "idiot", "start": -1, "end": -1},  # no offsets
        {"label": "spam", "text": "nowhere", "start": 0, "end": 7},  # offsets that lie
        {"label": "hate", "text": "x", "start": 50, "end": 99},  # out of range
    ])
    assert segments == [Segment("You <b>"), Segment("vile", "hate"), Segment("</b> "),
                        Segment("IDIOT", "abuse")]
    assert "".join(s.text for s in segments) == text


def test_overlapping_evidence_is_merged() -> None:
    segments = highlight("jew world order", [
        {"label": "hate", "text": "jew world", "start": 0, "end": 9},
        {"label": "hate", "text": "world order", "start": 4, "end": 15},
    ])
    assert segments == [Segment("jew world order", "hate")]


def test_sessions_are_signed_and_expire() -> None:
    s = sess.new_session(7, 3, "moderator", now=1000)
    cookie = sess.sign_session(SECRET, s)
    assert sess.read_session(SECRET, cookie, 1000 + 60) == s
    assert sess.read_session(SECRET, cookie, 1000 + sess.MAX_AGE_S + 1) is None
    assert sess.read_session("another-secret-key", cookie, 1001) is None
    _, mac = cookie.rsplit(".", 1)
    forged = sess.sign_session(SECRET, sess.new_session(7, 3, "admin", now=1000)).split(".")[0]
    assert sess.read_session(SECRET, f"{forged}.{mac}", 1001) is None
    assert sess.read_session(SECRET, "garbage", 1001) is None


def test_csrf_tokens_are_bound_to_the_nonce() -> None:
    token = sess.csrf_token(SECRET, "nonce-a")
    assert sess.check_csrf(SECRET, "nonce-a", token)
    assert not sess.check_csrf(SECRET, "nonce-b", token)
    assert not sess.check_csrf(SECRET, "nonce-a", "")
    assert not sess.check_csrf(SECRET, None, token)
    assert not sess.check_csrf(SECRET, "nonce-a", ["list"])


def test_svg_charts_escape_their_labels() -> None:
    svg = str(charts.bar_chart([("<script>", 3.0), ("b", 1.0)], title="A & B"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "A &amp; B" in svg
    assert svg.count("<rect") == 2
    stacked = str(charts.stacked_bars([("hate", {"approved": 2, "rejected": 1})],
                                      ["approved", "rejected"], title="t"))
    assert stacked.count("<rect") == 2 + 2  # legend swatches + segments
