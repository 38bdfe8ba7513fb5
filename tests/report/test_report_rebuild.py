"""The committed reports/paper/ files are exactly what `make reports` regenerates."""

from __future__ import annotations

from jtbench.paths import REPO_ROOT
from jtbench.report.rebuild import composite_differences, expected_files

REPORTS = REPO_ROOT / "reports"


def test_committed_paper_tables_are_not_stale():
    expected = expected_files(REPORTS)
    committed = {p for p in (REPORTS / "paper").iterdir() if p.is_file()}
    assert committed == set(expected), "reports/paper/ has missing or extra files: run `make reports`"
    stale = [p.name for p, text in expected.items() if p.read_text(encoding="utf-8") != text]
    assert not stale, f"stale committed tables {stale}: run `make reports` and commit reports/paper/"


def test_only_aas_differs_from_print_and_by_at_most_one_hundredth():
    for name in ("paper-zeroscope", "paper-modelscope", "paper-ablation"):
        diff = composite_differences(name)
        assert (diff["ARS jtbench"] == diff["ARS printed"]).all()
        assert (diff["NAS jtbench"] == diff["NAS printed"]).all()
        assert ((diff["AAS jtbench"] - diff["AAS printed"]).abs() <= 0.01 + 1e-9).all()
