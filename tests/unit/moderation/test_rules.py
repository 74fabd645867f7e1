from __future__ import annotations

from rejoinder.domain.moderation import Label, Scores
from rejoinder.moderation import rules
from rejoinder.moderation.normalise import normalise_text


def _labels(text: str, allow: tuple[str, ...] = ()) -> dict[Label, float]:
    out: dict[Label, float] = {}
    for h in rules.lexicon_hits(normalise_text(text), allow):
        out[h.label] = max(out.get(h.label, 0.0), h.score)
    return out


def test_slur_and_coded_terms_hit_hate() -> None:
    for text in ("the jew world order again", "zios everywhere", "Khazarian mafia",
                 "(((them)))", "ZOG lies"):
        assert _labels(text).get(Label.HATE, 0) >= 0.8, text


def test_no_match_inside_other_words() -> None:
    assert _labels("in very suspicious circumstances, a zionist congress") == {}


def test_quoted_or_discussed_slur_is_below_hold() -> None:
    assert _labels('he called me a kike at work')[Label.HATE] < 0.5
    assert _labels('the word "kike" is a slur')[Label.HATE] < 0.5


def test_allow_list_suppresses_a_term() -> None:
    assert Label.HATE not in _labels("come on you yids", allow=("yids",))


def test_spam_score_counts_links_and_lures() -> None:
    assert rules.spam_score("nice article http://a.example", []) < 0.7
    text = "buy now http://a.x http://b.x http://c.x"
    assert rules.spam_score(text, rules.lexicon_hits(normalise_text(text))) >= 0.98


def test_site_rules_block_links_duplicates_flood() -> None:
    site = rules.SiteRules.from_settings(
        {"block": ["shill", {"phrase": "paid troll", "label": "abuse"}], "flood_max": 3})
    text = "same old text here again http://a http://b"
    ctx = rules.CommentContext(is_new_author=True, recent_texts=(text.upper(),),
                               recent_timestamps=(1.0, 2.0, 3.0), now=10.0)
    s = rules.apply_site_rules(Scores.clean(), text, site, ctx)
    assert s.get(Label.SPAM) >= 0.8
    reasons = {e.text for e in s.evidence}
    assert "duplicate of a recent comment" in reasons
    assert any("link" in r for r in reasons) and any("comments in" in r for r in reasons)
    blocked = rules.apply_site_rules(Scores.clean(), "you SH1LL", site)
    assert blocked.get(Label.ABUSE) >= 0.99


def test_is_duplicate_is_about_near_copies() -> None:
    assert not rules.is_duplicate("a completely different comment", ["hello there friend"])
