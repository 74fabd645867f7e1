"""The two real seed threads, judged by us as moderators (by comment id; text not copied).

hate: slur, conspiracy trope or dehumanisation of Jews/Israelis: must be held.
borderline: either action is acceptable (adopts the "Khazarian" framing while denying it; insults
at other commenters; dehumanising a militia). Everything else is ordinary or neutral: at most a
few may be held (target 2; docs/moderation.md reports the measured number).
"""

from __future__ import annotations

from rejoinder.domain.moderation import Action, ModerationPolicy
from rejoinder.moderation.pipeline import ModerationPipeline

HATE = {
    "s000-c04",  # "eternal jew" + "zio"
    "s000-c13",  # "Jew world order" trope
    "s000-c15",  # "Club K***" slur
    "s000-c18",  # "Jew world order" + Mossad control
    "s000-c19",  # "jew world order parasite", Jews as rats
    "s004-c15",  # Tel Aviv residents as thieves and murderers, "no tomorrow" for them
    "s004-c19",  # "so-called Jews", Khazarian-origin trope
    "s004-c44",  # "who RUNS America" control trope, in reply about Israel
}
BORDERLINE = {
    "s004-c18",  # "They are not Kahzarians": repeats the trope's framing
    "s004-c24",  # "Daesh monkeys": dehumanises a militia, not a protected group
    "s004-c30",  # "Dumbass." insult
    "s004-c40",  # "Idiots like the moron", "vermin": insults
    "s000-c14",  # "Exactly. All is said." agreeing with c04 (needs thread context)
}
MAX_NEUTRAL_HELD = 3  # target is 2; see docs/moderation.md


def test_seed_threads(pipeline: ModerationPipeline, seed_comments: dict[str, str]) -> None:
    assert len(seed_comments) == 102
    ids = list(seed_comments)
    policy = ModerationPolicy()
    actions = {i: policy.decide(s).action
               for i, s in zip(ids, pipeline.score([seed_comments[i] for i in ids]), strict=True)}
    missed = sorted(i for i in HATE if actions[i] is Action.PUBLISH)
    assert not missed, f"hateful seed comments published: {missed}"
    neutral_held = sorted(i for i in ids if i not in HATE | BORDERLINE
                          and actions[i] is not Action.PUBLISH)
    assert len(neutral_held) <= MAX_NEUTRAL_HELD, neutral_held
