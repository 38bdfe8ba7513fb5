"""The load benchmark's check, small: 4 simulated raters × 10 judgments against a real server process that is
SIGKILLed half-way and restarted; every acknowledged judgment is on disk exactly once."""

from __future__ import annotations

from jtbench.study.loadcheck import run_load
from jtbench.study.store import read_ratings


def test_kill_9_loses_and_duplicates_nothing(study):
    result = run_load(study, raters=4, judgments=10, kill_after=20)
    assert result.acknowledged == 40
    assert result.found_once == 40 and result.lost == 0 and result.duplicated == 0
    assert result.downtime_s > 0  # the server really was killed and restarted
    records, problems = read_ratings(study / "ratings")
    assert len(records) == 40 and not problems
