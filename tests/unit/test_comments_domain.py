"""Pure rules: status transitions, the tree, cursors, text cleaning."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rejoinder.domain.comments import (
    CommentNode,
    CommentStatus,
    SortOrder,
    build_tree,
    decode_cursor,
    encode_cursor,
    transition,
)
from rejoinder.domain.errors import InvalidInput, InvalidTransition
from rejoinder.domain.text import clean_body, clean_email, clean_line

S = CommentStatus
ALLOWED = {
    (S.PENDING, S.PUBLISHED), (S.PENDING, S.REJECTED), (S.PENDING, S.DELETED),
    (S.PUBLISHED, S.PENDING), (S.PUBLISHED, S.REJECTED), (S.PUBLISHED, S.DELETED),
    (S.REJECTED, S.PUBLISHED), (S.REJECTED, S.DELETED),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_transition(current: CommentStatus, target: CommentStatus) -> None:
    if (current, target) in ALLOWED:
        assert transition(current, target) is target
    else:
        with pytest.raises(InvalidTransition):
            transition(current, target)


def node(i: int, parent: int | None, deleted: bool = False) -> CommentNode:
    return CommentNode(id=i, parent_id=parent, author_name="a", is_guest=True, body_html="",
                       created_at=datetime(2026, 1, 1, tzinfo=UTC), edited_at=None, score=0,
                       upvotes=0, downvotes=0, deleted=deleted)


@st.composite
def forests(draw: st.DrawFn) -> tuple[list[CommentNode], list[CommentNode]]:
    n = draw(st.integers(1, 40))
    parents: list[int | None] = [None]
    for i in range(2, n + 1):
        parents.append(draw(st.one_of(st.none(), st.integers(1, i - 1))))
    deleted = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    nodes = [node(i + 1, parents[i], deleted[i]) for i in range(n)]
    return [x for x in nodes if x.parent_id is None], [x for x in nodes if x.parent_id]


@given(forests())
def test_tree_places_every_visible_reply_once_under_its_parent(
    forest: tuple[list[CommentNode], list[CommentNode]],
) -> None:
    top, replies = forest
    tree = build_tree(top, replies)
    seen: list[int] = []

    def walk(n: CommentNode, parent: int | None) -> bool:
        assert n.parent_id == parent
        seen.append(n.id)
        assert [r.id for r in n.replies] == sorted(r.id for r in n.replies)  # oldest first
        has_live = any([walk(r, n.id) for r in n.replies])
        assert not n.deleted or n.replies  # a deleted comment stays only for its replies
        return has_live or not n.deleted

    for t in tree:
        walk(t, None)
    assert len(seen) == len(set(seen))
    # Every non-deleted comment is shown.
    live = {n.id for n in top + replies if not n.deleted}
    assert live <= set(seen)


def test_orphans_are_dropped() -> None:
    tree = build_tree([node(1, None)], [node(3, 2), node(4, 1)])
    assert [r.id for r in tree[0].replies] == [4]


_IDS = st.integers(-(2**63 - 1), 2**63 - 1)
_SCORES = st.integers(-(2**31 - 1), 2**31 - 1)


@given(st.one_of(
    st.tuples(st.sampled_from([SortOrder.OLDEST, SortOrder.NEWEST]), st.tuples(_IDS)),
    st.tuples(st.just(SortOrder.TOP), st.tuples(_SCORES, _IDS)),
))
def test_cursor_round_trip(case: tuple[SortOrder, tuple[int, ...]]) -> None:
    # Every key top_level_key can make (an id, or a score and an id) comes back unchanged.
    order, key = case
    assert decode_cursor(order, encode_cursor(order, key)) == key


@pytest.mark.parametrize("bad", ["", "!!", "bnVsbA", "WyJvbGRlc3QiLFtdXQ", "WyJvbGRlc3QiLFsiYSJdXQ"])
def test_bad_cursors(bad: str) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(SortOrder.OLDEST, bad)


def test_cursor_of_another_order_is_refused() -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(SortOrder.TOP, encode_cursor(SortOrder.OLDEST, (1,)))


def test_clean_body() -> None:
    assert clean_body("  a\r\nb  ", max_chars=10) == "a\nb"
    assert clean_body("e\u0301", max_chars=10) == "\u00e9"  # NFC
    for bad in ("", "   ", "\x00", "a\u202eb", "x" * 11):
        with pytest.raises(InvalidInput):
            clean_body(bad, max_chars=10)


def test_clean_line_and_email() -> None:
    assert clean_line("  Ann  ", field="name", max_chars=10) == "Ann"
    assert clean_line("   ", field="name", max_chars=10) is None
    with pytest.raises(InvalidInput):
        clean_line("a\nb", field="name", max_chars=10)
    assert clean_email("r@example.org") == "r@example.org"
    for bad in ("r@", "@example.org", "r example@x.org", "nodomain@x"):
        with pytest.raises(InvalidInput):
            clean_email(bad)


def test_revert_undoes_only_steps_that_happened() -> None:
    from rejoinder.domain.comments import revert
    from rejoinder.domain.errors import InvalidTransition

    # A rejection of a held comment is undone back to the queue, which no decision could do.
    assert revert(CommentStatus.REJECTED, CommentStatus.PENDING) is CommentStatus.PENDING
    assert revert(CommentStatus.PUBLISHED, CommentStatus.PENDING) is CommentStatus.PENDING
    assert revert(CommentStatus.REJECTED, CommentStatus.PUBLISHED) is CommentStatus.PUBLISHED
    for current, previous in ((CommentStatus.DELETED, CommentStatus.PUBLISHED),
                              (CommentStatus.DELETED, CommentStatus.PENDING),
                              (CommentStatus.PENDING, CommentStatus.REJECTED)):
        with pytest.raises(InvalidTransition):
            revert(current, previous)
