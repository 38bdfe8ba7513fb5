"""The benchmark as data: subjects, motions, pairings, backgrounds, prompt cases."""

from jtbench.benchmark.combinations import Benchmark, Combination, PromptCase
from jtbench.benchmark.manifest import Manifest, Motion, Subject, load_manifest

__all__ = ["Benchmark", "Combination", "Manifest", "Motion", "PromptCase", "Subject", "load_manifest"]
