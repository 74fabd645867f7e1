from __future__ import annotations

import pytest

from rejoinder.moderation.normalise import ECHO_TOKEN, normalise, normalise_text


@pytest.mark.parametrize(
    "raw",
    ["kike", "K1K3", "k i k e", "k.i.k.e", "k-i-k-e", "ｋｉｋｅ", "𝐤𝐢𝐤𝐞", "kі\u200bke",
     "kiiiiike", "k\u00adike", "KÎKÉ"],
)
def test_evasions_collapse_to_the_word(raw: str) -> None:
    assert normalise_text(raw) == "kike"


def test_echo_is_rewritten_and_recorded() -> None:
    n = normalise("written by (((Goldberg))) of course")
    assert ECHO_TOKEN in n.text and n.echoes == ("goldberg",)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("The S400 and F-35 in 2019", "the s400 and f-35 in 2019"),
     ("the 76th Guards", "the 76th guards"),
     ("Hello!!! Really???", "hello! really?"),
     ("see http://Example.com/A1?x=10 now", "see http://example.com/a1?x=10 now"),
     ("mail me@x.com", "mail me@x.com"),
     ("@user1 hi", "@user1 hi")],
)
def test_ordinary_text_is_left_alone(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected
