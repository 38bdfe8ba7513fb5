"""Append-only rating files: once per judgment id, no interleaving, a truncated last line skipped."""

from __future__ import annotations

import json
import threading

import pytest

from jtbench.study.store import RatingStore, SlotBook, read_jsonl, read_ratings


def judgment(jid: str, item: str = "it-1", dimension: str = "overall") -> dict:
    return {"judgment_id": jid, "item_id": item, "dimension": dimension, "response": "left", "rater_id": "r1"}


def test_saved_duplicate_and_conflict(tmp_path):
    store = RatingStore(tmp_path / "ratings")
    assert store.add("r1", judgment("j-00000001")) == "saved"
    assert store.add("r1", judgment("j-00000001")) == "duplicate"
    assert store.add("r1", judgment("j-00000002")) == "conflict"  # same item + dimension, another id
    assert store.add("r1", judgment("j-00000003", dimension="text_alignment")) == "saved"
    lines = (tmp_path / "ratings" / "r1.jsonl").read_text().splitlines()
    assert [json.loads(x)["judgment_id"] for x in lines] == ["j-00000001", "j-00000003"]
    # a restarted store knows both ids and both answered questions
    again = RatingStore(tmp_path / "ratings")
    assert again.add("r1", judgment("j-00000001")) == "duplicate"
    assert again.add("r1", judgment("j-00000009", dimension="text_alignment")) == "conflict"


def test_unsafe_rater_id_is_refused(tmp_path):
    with pytest.raises(ValueError, match="safe file name"):
        RatingStore(tmp_path).add("../evil", judgment("j-00000001"))
    assert not list(tmp_path.rglob("*.jsonl"))


def test_truncated_last_line_is_reported_skipped_and_the_next_line_starts_fresh(tmp_path):
    folder = tmp_path / "ratings"
    store = RatingStore(folder)
    store.add("r1", judgment("j-00000001"))
    with open(folder / "r1.jsonl", "a") as fh:  # a crash mid-write: half a line, no newline
        fh.write('{"judgment_id": "j-00000002", "item_id": "it-2", "dimen')
    records, problems = read_ratings(folder)
    assert [r["judgment_id"] for r in records] == ["j-00000001"]
    assert len(problems) == 1 and problems[0].line == 2 and "truncated last line" in str(problems[0])
    restarted = RatingStore(folder)
    assert restarted.add("r1", judgment("j-00000003", item="it-3")) == "saved"
    records, problems = read_ratings(folder)
    assert [r["judgment_id"] for r in records] == ["j-00000001", "j-00000003"]
    assert len(problems) == 1 and "not a JSON object" in problems[0].reason  # now a middle line, still skipped


def test_concurrent_raters_never_interleave_or_lose_a_line(tmp_path):
    store = RatingStore(tmp_path / "ratings")
    outcomes: list[str] = []

    def rater(r: int) -> None:
        for j in range(40):
            for _ in range(2):  # every judgment sent twice, as a retried page would
                outcomes.append(
                    store.add(f"r{r}", {**judgment(f"j-{r:03d}-{j:04d}", item=f"it-{j}"), "pad": "x" * 500})
                )

    threads = [threading.Thread(target=rater, args=(r,)) for r in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("saved") == 240 and outcomes.count("duplicate") == 240
    for r in range(6):
        records, problems, clean = read_jsonl(tmp_path / "ratings" / f"r{r}.jsonl")
        assert not problems and clean
        assert sorted(x["judgment_id"] for x in records) == [f"j-{r:03d}-{j:04d}" for j in range(40)]


def test_slot_book_keeps_slots_across_restarts_and_fills_up(tmp_path):
    book = SlotBook(tmp_path / "sessions.jsonl", 2)
    assert book.claim("a", {}) == 0 and book.claim("b", {}) == 1 and book.claim("a", {}) == 0
    assert book.claim("c", {}) is None
    assert SlotBook(tmp_path / "sessions.jsonl", 2).slot_of == {"a": 0, "b": 1}
