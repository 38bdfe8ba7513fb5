"""Model weights: a catalog of every file the metrics and methods need, and an offline-first resolver."""

from jtbench.weights.catalog import WEIGHTS, WeightSpec
from jtbench.weights.resolve import WeightResolver

__all__ = ["WEIGHTS", "WeightResolver", "WeightSpec"]
