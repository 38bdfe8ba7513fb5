"""The rating API: the flow a page walks, bad requests refused with a reason and nothing written, blinding."""

from __future__ import annotations

import json
import uuid

import pytest
from starlette.testclient import TestClient

from jtbench.study.server import create_app


def client_for(study):
    return TestClient(create_app(study), base_url="http://127.0.0.1")


def join(client, rater="r1"):
    assert client.post("/api/join", json={"rater_id": rater, "session_id": "s1"}).status_code == 200
    return client.get(f"/api/state?rater={rater}").json()


def body_for(state, dimension=None, rater="r1", **over):
    item = state["item"]
    played = {t: True for t in (item["left_token"], item["right_token"]) if t}
    body = {
        "judgment_id": uuid.uuid4().hex,
        "rater_id": rater,
        "session_id": "s1",
        "item_id": item["item_id"],
        "dimension": dimension or item["dimensions"][0],
        "left_token": item["left_token"],
        "right_token": item["right_token"],
        "response": "left",
        "score": None,
        "played": played,
        "started_at": "2026-12-06T10:00:00.000Z",
        "answered_at": "2026-12-06T10:00:05.000Z",
        "rt_ms": 5000,
        "ui_version": "1",
    }
    body.update(over)
    return body


def answer_all(client, rater="r1"):
    """Answer every item the way a page does; returns the state at the end and the bodies sent."""
    sent = []
    state = client.get(f"/api/state?rater={rater}").json()
    while state["stage"] != "done":
        for dimension in state["item"]["dimensions"]:
            body = body_for(state, dimension, rater)
            assert client.post("/api/judgment", json=body).json()["status"] == "saved"
            sent.append(body)
        state = client.get(f"/api/state?rater={rater}").json()
    return state, sent


def test_consent_practice_items_done_and_resume(study):
    client = client_for(study)
    state = client.get("/api/state?rater=r1").json()
    assert state["stage"] == "consent" and state["consent"]
    state = join(client)
    assert state["stage"] == "practice" and state["item"]["left"].startswith("/media/")
    for dimension in state["item"]["dimensions"]:
        client.post("/api/judgment", json=body_for(state, dimension))
    state = client.get("/api/state?rater=r1").json()
    assert state["stage"] == "items" and state["progress"]["done"] == 0
    first = state["item"]
    reply = client.post("/api/judgment", json=body_for(state, first["dimensions"][0])).json()
    assert reply["status"] == "saved"
    # a fresh client (a reload) resumes the same item with the answered dimension gone
    again = client_for(study).get("/api/state?rater=r1").json()
    assert again["item"]["item_id"] == first["item_id"] and again["item"]["dimensions"] == first["dimensions"][1:]
    state, _ = answer_all(client)
    study_doc = json.loads((study / "study.json").read_text())
    assert state["code"] == study_doc["completion"]["code"]
    assert state["redirect"] == f"https://app.prolific.com/submissions/complete?cc={state['code']}"
    assert state["progress"]["done"] == state["progress"]["total"] == len(study_doc["assignments"][0]["items"])


def test_resubmission_is_recorded_once(study):
    client = client_for(study)
    state = join(client)
    body = body_for(state)
    assert client.post("/api/judgment", json=body).json()["status"] == "saved"
    assert client.post("/api/judgment", json=body).json()["status"] == "duplicate"
    other = {**body, "judgment_id": uuid.uuid4().hex}
    assert client.post("/api/judgment", json=other).status_code == 409
    lines = (study / "ratings" / "r1.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["judgment_id"] == body["judgment_id"]


def _bad(state, study):
    doc = json.loads((study / "study.json").read_text())
    mine = {e["item_id"] for e in doc["assignments"][0]["items"]}
    foreign = next(e["item_id"] for a in doc["assignments"][1:] for e in a["items"] if e["item_id"] not in mine)
    item = state["item"]
    return {
        "unknown rater": (403, body_for(state, rater="nobody")),
        "unsafe rater id": (400, body_for(state, rater="../x")),
        "unknown item": (404, body_for(state, item_id="it-0000000000")),
        "item of another rater": (403, body_for(state, item_id=foreign)),
        "malformed body": (400, "{not json"),
        "body not an object": (400, [1, 2]),
        "response outside the scale": (400, body_for(state, response="much better")),
        "a score on a pair": (400, body_for(state, score=3)),
        "dimension not asked": (400, body_for(state, dimension="beauty")),
        "token not in the study": (404, body_for(state, left_token="deadbeef" * 3)),
        "token of another item": (404, body_for(state, played={"feedface" * 3: True})),
        "not played to the end": (400, body_for(state, played={item["left_token"]: True, item["right_token"]: False})),
        "sides swapped": (400, body_for(state, left_token=item["right_token"], right_token=item["left_token"])),
        "bad judgment id": (400, body_for(state, judgment_id="x")),
        "bad time": (400, body_for(state, answered_at="yesterday")),
        "time without a zone": (400, body_for(state, answered_at="2026-12-06T10:00:05")),
        "negative rt": (400, body_for(state, rt_ms=-1)),
        "huge body": (413, body_for(state, session_id="x" * 70_000)),
    }


def test_bad_requests_get_a_reason_and_write_nothing(study):
    client = client_for(study)
    state = join(client)
    for name, (status, body) in _bad(state, study).items():
        if isinstance(body, str):
            reply = client.post("/api/judgment", content=body, headers={"Content-Type": "application/json"})
        else:
            reply = client.post("/api/judgment", json=body)
        assert reply.status_code == status, (name, reply.text)
        assert reply.json()["error"], name
    assert (study / "ratings" / "r1.jsonl").read_text() == ""  # created empty at consent, still empty
    assert sorted(p.name for p in (study / "ratings").iterdir()) == ["r1.jsonl"]


def test_join_refuses_bad_ids_and_a_full_study(study):
    client = client_for(study)
    assert client.post("/api/join", json={"rater_id": "a/b"}).status_code == 400
    assert client.get("/api/state?rater=").status_code == 400
    for r in range(4):
        assert client.post("/api/join", json={"rater_id": f"r{r}"}).status_code == 200
    full = client.post("/api/join", json={"rater_id": "r9"})
    assert full.status_code == 409 and "no free place" in full.json()["error"]


def test_only_study_media_is_served(study):
    client = client_for(study)
    state = join(client)
    assert client.get(state["item"]["left"]).status_code == 200
    for path in (
        "/media/key.json",
        "/media/../private/key.json",
        "/private/key.json",
        "/study.json",
        "/media/" + "0" * 24 + ".mp4",
        "/static/../private/key.json",
    ):
        assert client.get(path).status_code == 404, path


def test_nothing_served_names_a_method_or_an_original_file(study, demo_secrets):
    client = client_for(study)
    join(client)
    served = [client.get("/").text, client.get("/static/rate.js").text]
    state = client.get("/api/state?rater=r1").json()
    urls = set()
    while state["stage"] != "done":
        served.append(json.dumps(state))
        item = state["item"]
        urls |= {item.get("left"), item.get("right"), item["references"]["motion"], *item["references"]["images"]}
        for dimension in item["dimensions"]:
            client.post("/api/judgment", json=body_for(state, dimension))
        state = client.get("/api/state?rater=r1").json()
    served.append(json.dumps(state))
    media = [client.get(u).content for u in urls if u]
    assert len(media) >= 5
    text = "\n".join(served)
    for secret in demo_secrets:
        assert secret not in text
        assert all(secret.encode() not in blob for blob in media), secret


@pytest.mark.parametrize("method", ["dummy", "dummy-static", "dummy-noise"])
def test_media_files_carry_no_metadata(demo_study, method):
    import av

    for path in (demo_study / "media").glob("*.mp4"):
        with av.open(str(path)) as container:
            assert set(container.metadata) <= {"major_brand", "minor_version", "compatible_brands"}
            assert set(container.streams.video[0].metadata) <= {"language", "handler_name", "vendor_id"}
        assert method.encode() not in path.read_bytes()


def test_absolute_design_takes_scores_on_the_scale(demo_run, tmp_path):
    from jtbench.study.create import CreateOptions, create_study
    from jtbench.study.export import export_study

    study = tmp_path / "abs"
    opts = CreateOptions(design="absolute", dimensions=["overall"], raters=2, per_item=1, repeats_per_rater=1)
    create_study([demo_run], demo_run / "data", study, opts, progress=False)
    client = client_for(study)
    state = join(client)
    assert state["item"]["video"] and state["item"]["right_token"] is None
    for bad in ({"score": 6, "response": None}, {"score": 2.5, "response": None}, {"score": None, "response": "left"}):
        assert client.post("/api/judgment", json=body_for(state, **bad)).status_code == 400, bad
    while state["stage"] != "done":
        client.post("/api/judgment", json=body_for(state, response=None, score=4))
        state = client.get("/api/state?rater=r1").json()
    _, df, notes = export_study(study, tmp_path / "out")
    assert len(df) == 3 + 1 and (df["score"] == 4).all() and df["response"].isna().all()
    assert df["method_b"].isna().all() and set(df["kind"]) == {"single", "repeat"}
    assert any("absolute" in n for n in notes)
