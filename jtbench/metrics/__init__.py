"""The ten paper metrics (and named variants) behind one contract and one registry."""

from jtbench.metrics.base import (
    METRICS,
    PAPER_COLUMNS,
    Metric,
    MetricSpec,
    MetricValue,
    Sample,
    ScoringContext,
    create_metric,
    list_metrics,
)

__all__ = [
    "METRICS",
    "PAPER_COLUMNS",
    "Metric",
    "MetricSpec",
    "MetricValue",
    "Sample",
    "ScoringContext",
    "create_metric",
    "list_metrics",
]
