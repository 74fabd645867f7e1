"""The Perspective-compatible API (issue 9) with the exact requests Coral and Comentario send.

Request bodies are written from the clients' public source:
- Coral (coralproject/talk), analyze: `src/core/server/services/comments/pipeline/phases/toxic.ts`
  and `src/core/server/services/perspective/perspective.ts` (`formatBody`): POST
  `${endpoint}/comments:analyze?key=KEY` with `{comment: {text}, doNotStore, requestedAttributes:
  {TOXICITY: {}}, languages: ["en"]}`; a comment is withheld when `score > threshold` (0.8).
- Coral, moderator feedback: `notifyPerspectiveModerationDecision` (comments:suggestscore) sends
  `{comment: {text}, context: {entries: [{text: JSON}]}, attributeScores: {APPROVED|DELETED:
  {summaryScore: {value: 1}}}, languages: ["EN"], communityId: "Coral:<tenant URL>",
  clientToken: "comment:<id>"}` and checks that the answer echoes `clientToken`.
- Comentario (gitlab.com/comentario/comentario, `internal/svc/perlustration_svc.go`,
  `perspectiveScanner.Scan`): `{comment: {text: markdown}, requestedAttributes: {...}}` with each
  attribute whose domain threshold is below 1, no `languages`, no `doNotStore`; a comment needs
  moderation when any returned value is `> threshold`.
The classifier is the real `fast` pipeline (rules + linear model), loaded once.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.factories import count_rows
from typer.testing import CliRunner

from rejoinder.config import Settings
from rejoinder.moderation.registry import load_classifier
from rejoinder.services.ports import Classifier

ANALYZE = "/v1alpha1/comments:analyze"
SUGGEST = "/v1alpha1/comments:suggestscore"
SIX = ["TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT"]
BENIGN = "Thanks for the reporting, the council budget section was really clear."
HATEFUL = "The Jew world order runs the banks and the media."
INSULT = "You are a fucking idiot and everyone here knows it."


@pytest.fixture(scope="module")
def fast() -> Classifier:
    return load_classifier("fast")


@pytest.fixture
def tc(app_factory: Callable[..., TestClient], fast: Classifier) -> TestClient:
    return app_factory(classifier_override=fast)


def new_key(tc: TestClient, name: str = "coral", qps: int = 1000, daily: int = 0) -> str:
    store = tc.app.state.perspective.store  # type: ignore[attr-defined]
    plain, _ = store.create_key(name, qps=qps, daily_quota=daily, now=datetime.now(UTC))
    return str(plain)


def coral_analyze(text: str) -> dict[str, Any]:
    return {"comment": {"text": text}, "languages": ["en"], "doNotStore": True,
            "requestedAttributes": {"TOXICITY": {}}}


def coral_feedback(text: str, comment_id: str, status: str) -> dict[str, Any]:
    url = f"https://news.example.org/story?commentID={comment_id}"
    return {
        "comment": {"text": text},
        "context": {"entries": [{"text": json.dumps(
            {"url": url, "reply_to_id_Coral_comment_id": None, "Coral_comment_id": comment_id})}]},
        "attributeScores": {status: {"summaryScore": {"value": 1}}},
        "languages": ["EN"],
        "communityId": "Coral:https://news.example.org/",
        "clientToken": f"comment:{comment_id}",
    }


def comentario_analyze(markdown: str) -> dict[str, Any]:
    return {"comment": {"text": markdown}, "requestedAttributes": {a: {} for a in SIX}}


def coral_withholds(tc: TestClient, key: str, text: str) -> bool:
    r = tc.post(f"{ANALYZE}?key={key}", content=json.dumps(coral_analyze(text), indent=2),
                headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    score = r.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    return bool(score > 0.8)


def comentario_flags(tc: TestClient, key: str, text: str, threshold: float = 0.5) -> bool:
    r = tc.post(f"{ANALYZE}?key={key}", json=comentario_analyze(text))
    assert r.status_code == 200, r.text
    scores = r.json()["attributeScores"]
    assert set(scores) == set(SIX)
    return any(scores[a]["summaryScore"]["value"] > threshold for a in SIX)


def test_coral_analyze_request_and_decisions(tc: TestClient) -> None:
    key = new_key(tc)
    r = tc.post(f"{ANALYZE}?key={key}", json=coral_analyze(BENIGN))
    body = r.json()
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert body["languages"] == ["en"] and body["detectedLanguages"] == ["en"]
    summary = body["attributeScores"]["TOXICITY"]["summaryScore"]
    assert summary["type"] == "PROBABILITY" and 0 <= summary["value"] < 0.8
    assert set(body["attributeScores"]) == {"TOXICITY"}  # only what was asked
    assert not coral_withholds(tc, key, BENIGN)
    assert coral_withholds(tc, key, HATEFUL)
    assert coral_withholds(tc, key, INSULT)
    assert count_rows(tc, "perspective_feedback") == 0  # analyze never stores text


def test_comentario_request_without_languages(tc: TestClient) -> None:
    key = new_key(tc, "comentario")
    assert not comentario_flags(tc, key, BENIGN)
    assert comentario_flags(tc, key, HATEFUL)
    assert comentario_flags(tc, key, INSULT)
    # Which attribute: identity attack for hate, insult and profanity for the insult.
    r = tc.post(f"{ANALYZE}?key={key}", json=comentario_analyze(HATEFUL)).json()
    assert r["attributeScores"]["IDENTITY_ATTACK"]["summaryScore"]["value"] > 0.8
    r = tc.post(f"{ANALYZE}?key={key}", json=comentario_analyze(INSULT)).json()
    assert r["attributeScores"]["INSULT"]["summaryScore"]["value"] > 0.8
    assert r["attributeScores"]["PROFANITY"]["summaryScore"]["value"] > 0.8
    assert r["attributeScores"]["IDENTITY_ATTACK"]["summaryScore"]["value"] < 0.8


def test_key_in_header_threshold_spans_and_client_token(tc: TestClient) -> None:
    key = new_key(tc)
    text = "A fair point about the budget. You are a stupid idiot!"
    r = tc.post(ANALYZE, headers={"X-Goog-Api-Key": key}, json={
        "comment": {"text": text}, "spanAnnotations": True, "clientToken": "abc",
        "requestedAttributes": {"INSULT": {"scoreType": "PROBABILITY"},
                                "THREAT": {"scoreThreshold": 0.9}}})
    body = r.json()
    assert r.status_code == 200 and body["clientToken"] == "abc"
    assert "THREAT" not in body["attributeScores"]  # below its scoreThreshold
    spans = body["attributeScores"]["INSULT"]["spanScores"]
    assert [text[s["begin"]:s["end"]] for s in spans] == [
        "A fair point about the budget.", "You are a stupid idiot!"]
    assert spans[1]["score"]["value"] > spans[0]["score"]["value"]


def _error(r: Any, code: int, status: str) -> str:
    assert r.status_code == code, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["status"] == status
    return str(err["message"])


def test_errors_have_googles_shape_and_status(tc: TestClient) -> None:
    key = new_key(tc)
    url = f"{ANALYZE}?key={key}"
    msg = _error(tc.post(url, json={"comment": {"text": "hi"},
                                    "requestedAttributes": {"FLIRTATION": {}}}),
                 400, "INVALID_ARGUMENT")
    assert "FLIRTATION" in msg
    msg = _error(tc.post(url, json={**coral_analyze("Bonjour"), "languages": ["fr"]}),
                 400, "INVALID_ARGUMENT")
    assert msg == "Attribute TOXICITY does not support request languages: fr"
    german = "Das ist nicht die Frage, und wir sind auch nicht sicher, ob es die richtige ist."
    msg = _error(tc.post(url, json=comentario_analyze(german)), 400, "INVALID_ARGUMENT")
    assert msg == "Attribute TOXICITY does not support request languages: de"
    r = tc.post(url, json={**comentario_analyze(german), "dropUnsupportedAttributes": True})
    assert r.status_code == 200 and r.json()["attributeScores"] == {}
    for bad in ({}, {"comment": {"text": ""}, "requestedAttributes": {"TOXICITY": {}}},
                {"comment": {"text": "x"}, "requestedAttributes": {}},
                {"comment": "x", "requestedAttributes": {"TOXICITY": {}}},
                {"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}},
                 "doNotStore": "yes"},
                {"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {
                    "scoreThreshold": 2}}},
                {"comment": {"text": "x" * 20481}, "requestedAttributes": {"TOXICITY": {}}},
                [1, 2]):
        _error(tc.post(url, json=bad), 400, "INVALID_ARGUMENT")
    _error(tc.post(url, content=b"{not json", headers={"Content-Type": "application/json"}),
           400, "INVALID_ARGUMENT")
    _error(tc.post(ANALYZE, json=coral_analyze("hi")), 403, "PERMISSION_DENIED")
    r = tc.post(f"{ANALYZE}?key=rj_wrong", json=coral_analyze("hi"))
    _error(r, 400, "INVALID_ARGUMENT")
    assert r.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert count_rows(tc, "perspective_feedback") == 0


def test_suggestscore_stores_coral_feedback_per_key(tc: TestClient) -> None:
    key = new_key(tc)
    other = new_key(tc, "comentario")
    r = tc.post(f"{SUGGEST}?key={key}", json=coral_feedback(HATEFUL, "c1", "DELETED"))
    assert r.status_code == 200 and r.json()["clientToken"] == "comment:c1"
    tc.post(f"{SUGGEST}?key={key}", json=coral_feedback(BENIGN, "c2", "APPROVED"))
    # The moderator changes their mind: the later verdict replaces the earlier one.
    tc.post(f"{SUGGEST}?key={key}", json=coral_feedback(BENIGN, "c2", "DELETED"))
    tc.post(f"{SUGGEST}?key={other}", json={"comment": {"text": INSULT}, "clientToken": "x",
                                             "attributeScores": {"TOXICITY": {
                                                 "summaryScore": {"value": 0}}}})
    store = tc.app.state.perspective.store  # type: ignore[attr-defined]
    coral = {f.client_token: f for f in store.feedback("coral")}
    assert set(coral) == {"comment:c1", "comment:c2"}
    assert coral["comment:c1"].toxic == 1 and coral["comment:c1"].text == HATEFUL
    assert coral["comment:c2"].toxic == 1
    assert coral["comment:c1"].community_id == "Coral:https://news.example.org/"
    assert coral["comment:c1"].languages == ["en"]
    assert [(f.client_token, f.toxic) for f in store.feedback("comentario")] == [("x", 0)]


def test_suggestscore_honours_do_not_store(tc: TestClient) -> None:
    key = new_key(tc)
    r = tc.post(f"{SUGGEST}?key={key}",
                json={**coral_feedback(HATEFUL, "c9", "DELETED"), "doNotStore": True})
    assert r.status_code == 200 and r.json()["clientToken"] == "comment:c9"
    assert count_rows(tc, "perspective_feedback") == 0
    bad = coral_feedback(HATEFUL, "c9", "DELETED")
    bad["attributeScores"] = {"DELETED": {"summaryScore": {"value": 7}}}
    _error(tc.post(f"{SUGGEST}?key={key}", json=bad), 400, "INVALID_ARGUMENT")
    assert count_rows(tc, "perspective_feedback") == 0


def test_per_key_qps_and_daily_quota(tc: TestClient) -> None:
    slow = new_key(tc, "slow", qps=2)
    codes = [tc.post(f"{ANALYZE}?key={slow}", json=coral_analyze(BENIGN)).status_code
             for _ in range(3)]
    assert codes[:2] == [200, 200]
    if codes[2] == 200:  # the three requests straddled a one-second window: try once more
        codes = [tc.post(f"{ANALYZE}?key={slow}", json=coral_analyze(BENIGN)).status_code
                 for _ in range(3)]
    r = tc.post(f"{ANALYZE}?key={slow}", json=coral_analyze(BENIGN))
    assert 429 in codes or r.status_code == 429
    daily = new_key(tc, "daily", daily=3)
    codes = [tc.post(f"{ANALYZE}?key={daily}", json=coral_analyze(BENIGN)).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = tc.post(f"{ANALYZE}?key={daily}", json=coral_analyze(BENIGN))
    msg = _error(r, 429, "RESOURCE_EXHAUSTED")
    assert "per day" in msg and int(r.headers["Retry-After"]) > 3600
    # Other keys are not affected.
    assert tc.post(f"{ANALYZE}?key={new_key(tc, 'other')}",
                   json=coral_analyze(BENIGN)).status_code == 200


def _metric(text: str, key: str, method: str, code: str) -> float:
    m = re.search(rf'rejoinder_perspective_requests_total\{{code="{code}",key="{key}",'
                  rf'method="{method}"\}} ([0-9.e+]+)', text)
    return float(m.group(1)) if m else 0.0


def test_usage_figures_in_metrics(tc: TestClient) -> None:
    name = f"metrics-{time.monotonic_ns()}"  # counters are process-wide
    key = new_key(tc, name, daily=2)
    for _ in range(3):
        tc.post(f"{ANALYZE}?key={key}", json=coral_analyze(BENIGN))
    tc.post(f"{SUGGEST}?key={key}", json=coral_feedback(BENIGN, "m1", "APPROVED"))
    text = tc.get("/metrics").text
    assert _metric(text, name, "analyze", "200") == 2
    assert _metric(text, name, "analyze", "429") == 1
    assert _metric(text, name, "suggestscore", "429") == 1  # the day's quota covers both
    assert f'rejoinder_perspective_scored_chars_total{{key="{name}"}} {2.0 * len(BENIGN)}' in text


def test_revoked_key_and_cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             settings_factory: Callable[..., Settings], fast: Classifier) -> None:
    from rejoinder.cli import app as cli
    from rejoinder.web.perspective import create_moderation_app

    for k, v in {"REJOINDER_ENV": "development", "REJOINDER_DATABASE_URL": db_url,
                 "REJOINDER_DATA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(k, v)
    runner = CliRunner()
    made = runner.invoke(cli, ["perspective", "key", "create", "coral", "--qps", "5",
                               "--daily", "1000"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    assert key.startswith("rj_")
    again = runner.invoke(cli, ["perspective", "key", "create", "coral"])
    assert again.exit_code == 1
    listed = runner.invoke(cli, ["perspective", "key", "list"]).stdout
    assert "coral\t5/s\t1000/day\tactive" in listed and key not in listed

    settings = settings_factory(moderation_backend="fast")
    with TestClient(create_moderation_app(settings)) as tc:
        assert tc.post(f"{ANALYZE}?key={key}", json=coral_analyze(BENIGN)).status_code == 200
        assert tc.post(f"{SUGGEST}?key={key}",
                       json=coral_feedback(HATEFUL, "k1", "DELETED")).status_code == 200
        assert tc.get("/healthz").json()["status"] == "ok"
        assert tc.get("/api/v1/comments", params={"site": "x", "thread": "y"}).status_code == 404
        assert runner.invoke(cli, ["perspective", "key", "revoke", "coral"]).exit_code == 0
        tc.app.state.perspective._keys.clear()  # type: ignore[attr-defined]  # skip the 5 s cache
        r = tc.post(f"{ANALYZE}?key={key}", json=coral_analyze(BENIGN))
        assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert runner.invoke(cli, ["perspective", "key", "revoke", "coral"]).exit_code == 1
    exported = runner.invoke(cli, ["perspective", "feedback", "export", "--key", "coral"])
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [(r["id"], r["toxic"], r["text"]) for r in rows] == [("coral:comment:k1", 1, HATEFUL)]
