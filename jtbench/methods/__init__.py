"""Method adapters: the interface every method implements, and the registry of methods."""

from jtbench.methods.base import (
    METHODS,
    Checkpoint,
    MethodAdapter,
    SampleRequest,
    TrainingData,
    TrainUnit,
    get_method,
)

__all__ = ["METHODS", "Checkpoint", "MethodAdapter", "SampleRequest", "TrainUnit", "TrainingData", "get_method"]
