"""SPEC §3 composites on hand-computed tables (ties, rounding, one row, NaN) and the paper's three tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jtbench.errors import InputError
from jtbench.report.composites import (
    CompositeWarning,
    aas,
    add_composites,
    ars,
    competition_rank,
    nas,
)
from jtbench.report.reference import load_reference

COLS = ("x", "y")


def _table(x, y, names=("A", "B", "C")) -> pd.DataFrame:
    return pd.DataFrame({"method": list(names), "x": x, "y": y})


def test_competition_rank_ties_share_the_better_rank_and_skip():
    ranks = competition_rank(pd.Series([46.89, 50.0, 46.89, 40.0]))
    assert ranks.tolist() == [2.0, 1.0, 2.0, 4.0]
    assert competition_rank(pd.Series([3.0, 1.0, 1.0]), higher_is_better=False).tolist() == [3.0, 1.0, 1.0]


def test_hand_computed_composites_with_a_tie():
    table = _table([46.89, 46.89, 40.0], [10.0, 20.0, 30.0])
    # x ranks 1, 1, 3 (tie shares rank 1, next is 3); y ranks 3, 2, 1
    assert ars(table, COLS).tolist() == [2.0, 1.5, 2.0]
    expected_nas = [(100 + 10 / 30 * 100) / 2, (100 + 20 / 30 * 100) / 2, (40 / 46.89 * 100 + 100) / 2]
    np.testing.assert_allclose(nas(table, COLS), expected_nas, rtol=0, atol=1e-12)
    np.testing.assert_allclose(aas(table, COLS), [28.445, 33.445, 35.0], rtol=0, atol=1e-12)


def test_ranks_use_the_values_as_shown_with_two_decimals():
    # 46.891 and 46.889 both print as 46.89, so they tie; raw ranking would separate them.
    table = _table([46.891, 46.889, 10.0], [1.0, 1.0, 1.0])
    assert ars(table, COLS).tolist() == [1.0, 1.0, 2.0]
    # with three decimals shown they are different values
    assert ars(table, COLS, decimals=3).tolist() == [1.0, 1.5, 2.0]


def test_one_row_table():
    table = _table([12.5], [30.0], names=("only",))
    out = add_composites(table, COLS)
    assert out.loc[0, ["ARS", "NAS", "AAS"]].tolist() == [1.0, 100.0, 21.25]


def test_missing_value_gives_nan_composites_for_that_row_only():
    table = _table([50.0, np.nan, 40.0], [10.0, 20.0, 30.0])
    out = add_composites(table, COLS)
    assert out["ARS"].isna().tolist() == [False, True, False]
    assert out.loc[0, "ARS"] == (1 + 3) / 2  # B's y still ranks (B is not NaN on y)
    assert np.isnan(out.loc[1, "AAS"]) and out.loc[2, "AAS"] == 35.0


def test_nas_warns_when_the_best_value_is_not_positive():
    table = _table([-1.0, -2.0, -3.0], [10.0, 20.0, 30.0])
    with pytest.warns(CompositeWarning, match="x"):
        result = nas(table, COLS)
    assert result.isna().all()


def test_grouped_tables_warn_once_for_undefined_nas():
    table = pd.DataFrame({"case": ["a", "a", "b", "b"], "x": [0.0, 0.0, 0.0, 0.0], "y": [1.0, 2.0, 3.0, 4.0]})
    with pytest.warns(CompositeWarning) as record:
        out = add_composites(table, COLS, group_by=["case"])
    assert len(record) == 1 and "(in 2 of 2 groups)" in str(record[0].message)
    assert out["NAS"].isna().all() and out["ARS"].tolist() == [1.5, 1.0, 1.5, 1.0]


def test_composites_are_inserted_before_the_metrics_and_replace_old_ones():
    table = _table([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]).assign(ARS=99.0)
    out = add_composites(table, COLS)
    assert list(out.columns) == ["method", "ARS", "NAS", "AAS", "x", "y"]
    assert out["ARS"].tolist() == [2.0, 2.0, 2.0]


def test_group_by_computes_composites_within_each_group():
    table = pd.DataFrame(
        {
            "cat": ["a", "a", "b", "b"],
            "method": ["m", "n", "m", "n"],
            "x": [1.0, 2.0, 4.0, 3.0],
            "y": [1.0, 2.0, 4.0, 3.0],
        }
    )
    out = add_composites(table, COLS, group_by=["cat"])
    assert out["ARS"].tolist() == [2.0, 1.0, 1.0, 2.0]
    assert out["NAS"].tolist() == [50.0, 100.0, 100.0, 75.0]


def test_missing_metric_column_names_the_columns():
    with pytest.raises(InputError, match="y"):
        aas(pd.DataFrame({"x": [1.0]}), COLS)


@pytest.mark.parametrize("name", ["paper-zeroscope", "paper-modelscope", "paper-ablation"])
def test_paper_tables_reproduce_the_printed_composites(name):
    """ARS and NAS exactly as printed (two decimals), AAS within 0.01 (SPEC §4)."""
    ref = load_reference(name)
    out = add_composites(ref.rows)
    printed = ref.printed
    assert out["method"].tolist() == printed["method"].tolist()
    for ours, theirs in zip(out["ARS"], printed["ARS"], strict=True):
        assert f"{ours:.2f}" == f"{theirs:.2f}"
    for ours, theirs in zip(out["NAS"], printed["NAS"], strict=True):
        assert f"{ours:.2f}" == f"{theirs:.2f}"
    np.testing.assert_allclose(out["AAS"], printed["AAS"], rtol=0, atol=0.01 + 1e-9)
