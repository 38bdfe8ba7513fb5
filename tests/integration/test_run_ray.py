"""`--executor ray` on a local loopback Ray instance gives the same tables as `--executor local`."""

from __future__ import annotations

import pandas as pd
from _run_helpers import invoke, reference_run, table


def test_ray_executor_matches_local(tmp_path, tmp_path_factory, demo_data_root, ray_local):
    reference = reference_run(tmp_path_factory, demo_data_root)
    out = tmp_path / "ray"
    result = invoke(out, demo_data_root, "--executor", "ray", "--address", "auto")
    assert result.exit_code == 0, result.output
    assert "ran: train 3, sample 3, score 3, report 1" in result.output
    pd.testing.assert_frame_equal(table(out), table(reference))
    assert ray_local.is_initialized(), "an executor leaves a Ray session it did not start running"

    again = invoke(out, demo_data_root, "--executor", "ray")
    assert again.exit_code == 0 and "already done: train 3, sample 3, score 3" in again.output
