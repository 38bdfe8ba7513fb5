"""SPEC §7's ``ratings.parquet``: the one contract between ``jtbench study export`` and ``jtbench meta-eval``.

Both sides import it from here (low in the house) so the study and the meta-evaluation never import
each other's internals and can never disagree on a column.
"""

from __future__ import annotations

import pyarrow as pa

RATINGS_SCHEMA = pa.schema(
    [
        ("study_id", pa.string()),
        ("rater_id", pa.string()),
        ("item_id", pa.string()),
        ("case_id", pa.string()),
        ("seed", pa.int64()),
        ("dimension", pa.string()),
        ("kind", pa.string()),  # pair | single | gold | repeat
        ("method_a", pa.string()),
        ("method_b", pa.string()),  # null for absolute ratings
        ("video_sha256_a", pa.string()),
        ("video_sha256_b", pa.string()),
        ("response", pa.string()),  # a | b | tie | both_bad; null for absolute ratings
        ("score", pa.int64()),  # the scale's integer; null for pairwise judgments
        ("position_a", pa.string()),  # left | right: where video a was shown
        ("gold_expected", pa.string()),  # null unless gold
        ("rt_ms", pa.int64()),
        ("answered_at", pa.timestamp("ms", tz="UTC")),
    ]
)
RATING_COLUMNS: tuple[str, ...] = tuple(RATINGS_SCHEMA.names)
KINDS = ("pair", "single", "gold", "repeat")
RESPONSES = ("a", "b", "tie", "both_bad")
