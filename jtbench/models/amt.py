"""AMT-S frame interpolation (Mot-Smth), imported from the installed ``vbench`` wheel.

AMT exists on PyPI only inside ``vbench/third_party/amt``. VBench builds it with
``build_from_cfg``, which imports the module ``networks.AMT-S`` after appending the AMT folder to
``sys.path`` (the hyphen makes it unimportable by name). Here the file is loaded by path under a
valid module name instead, so nothing is copied and ``sys.path`` is left alone; the constructor
arguments come from the wheel's own ``cfgs/AMT-S.yaml``.

That private copy of the module gets one change: its ``BidirCorrBlock`` is a switch. By default it
is AMT's own block (the official numbers, bit for bit); inside :func:`correlation_on_demand` it is
:class:`~jtbench.models.correlation.LocalBidirCorrelation`, which computes the windows AMT reads
instead of keeping both full correlation volumes (11 GB per 1080p pair). VBench's own import of
AMT is a different module object and is not touched.

AMT needs nothing of VBench but its files, while ``import vbench`` runs ``vbench/utils.py``, which
imports decord at the top. Where decord is not installed (the offline GPU bundle leaves its 14 MB
out), the package is registered without running its ``__init__`` so that AMT's own
``vbench.third_party.amt...`` imports resolve; VBench's top-level names are then absent.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from jtbench.errors import JtbenchError, WeightsError
from jtbench.models.base import BACKBONES, Backbone, load_strict, read_state_dict
from jtbench.models.correlation import LocalBidirCorrelation
from jtbench.weights.catalog import WeightSpec, register_weights

AMT_S_WEIGHTS = register_weights(
    WeightSpec(
        id="amt-s",
        filename="amt-s.pth",
        urls=("https://huggingface.co/lalala125/AMT/resolve/main/amt-s.pth",),
        licence="see github.com/MCG-NKU/AMT (not verified offline)",
        used_by=("motion_smoothness",),
        vbench_path="amt_model/amt-s.pth",
    )
)

_AMT_PACKAGE = "vbench.third_party.amt"
_MODULE_NAME = "vbench.third_party.amt.networks.AMT_S"  # importable alias of networks/AMT-S.py


def _importable(name: str) -> bool:
    """Whether ``import name`` would find a module, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: blocked with sys.modules[name] = None
        return False


def _vbench_package() -> None:
    """Make ``vbench.*`` importable for AMT's files: the real package where decord is there, else
    the package without its ``__init__`` (see the module docstring)."""
    if "vbench" in sys.modules:
        return
    if not _importable("vbench"):
        raise JtbenchError(
            "AMT-S (Mot-Smth) is only distributed inside the vbench package, which is not installed",
            fix="pip install --no-deps vbench==0.1.5 (its pins must not enter the environment)",
        )
    if _importable("decord"):
        importlib.import_module("vbench")
        return
    spec = importlib.util.find_spec("vbench")
    assert spec is not None
    sys.modules["vbench"] = importlib.util.module_from_spec(spec)  # __path__ set, __init__ not run


def _amt_file(*parts: str) -> Path:
    _vbench_package()
    return Path(str(resources.files(_AMT_PACKAGE).joinpath(*parts)))


@cache
def amt_s_module() -> Any:
    """``vbench/third_party/amt/networks/AMT-S.py`` as a module (loaded once)."""
    if _MODULE_NAME in sys.modules:
        return sys.modules[_MODULE_NAME]
    path = _amt_file("networks", "AMT-S.py")
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, path)
    if spec is None or spec.loader is None:
        raise JtbenchError("cannot load AMT-S from the vbench package", file=path, fix="reinstall vbench==0.1.5")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE_NAME] = module
    spec.loader.exec_module(module)
    module.BidirCorrBlock = _switch(module.BidirCorrBlock)
    return module


_ON_DEMAND: ContextVar[bool] = ContextVar("amt_correlation_on_demand", default=False)


@contextmanager
def correlation_on_demand(enabled: bool = True) -> Iterator[None]:
    """AMT calls inside compute correlation windows on demand (memory linear in the pixels)."""
    token = _ON_DEMAND.set(enabled)
    try:
        yield
    finally:
        _ON_DEMAND.reset(token)


def _switch(official: type) -> Any:
    def bidir_corr_block(fmap1: torch.Tensor, fmap2: torch.Tensor, num_levels: int = 4, radius: int = 4) -> Any:
        block = LocalBidirCorrelation if _ON_DEMAND.get() else official
        return block(fmap1, fmap2, num_levels=num_levels, radius=radius)

    bidir_corr_block.official = official  # type: ignore[attr-defined]
    return bidir_corr_block


def amt_s_config_path() -> Path:
    """The wheel's ``cfgs/AMT-S.yaml`` (what VBench passes as ``config``)."""
    return _amt_file("cfgs", "AMT-S.yaml")


@cache
def amt_s_params() -> dict[str, Any]:
    """Constructor arguments from ``cfgs/AMT-S.yaml`` (corr_radius 3, corr_lvls 4, num_flows 3)."""
    import yaml

    network = yaml.safe_load(amt_s_config_path().read_text())["network"]
    if network.get("name") != "networks.AMT-S.Model":
        raise JtbenchError(
            f"unexpected network {network.get('name')!r}", file=amt_s_config_path(), fix="use vbench 0.1.5"
        )
    return dict(network.get("params", {}))


def build_amt_s() -> torch.nn.Module:
    return amt_s_module().Model(**amt_s_params())


@BACKBONES.register("amt_s")
class AmtS(Backbone):
    """AMT-S (2.99 M params) with ``amt-s.pth`` (``{'state_dict': ...}``), loaded strictly as VBench does."""

    name = "amt_s"
    weights = (AMT_S_WEIGHTS,)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> Any:
        path = files[AMT_S_WEIGHTS.id]
        checkpoint = read_state_dict(path, fix="re-download amt-s.pth")
        if "state_dict" not in checkpoint:
            raise WeightsError(
                "AMT checkpoint has no 'state_dict' entry", file=path, fix=f"download {AMT_S_WEIGHTS.urls[0]}"
            )
        model = build_amt_s()
        load_strict(model, checkpoint["state_dict"], path=path, network="AMT-S",
                    fix="use amt-s.pth (AMT-S), not AMT-L/AMT-G")
        return model.to(device=device, dtype=dtype).eval()

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        """The real AMT-S architecture with seeded random weights.

        AMT-S hard-codes its update-block and encoder widths, so no smaller config exists; tests keep
        frames small instead (at least 128 px, below which the correlation pyramid degenerates).
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_amt_s()
        path = Path(out_dir) / AMT_S_WEIGHTS.filename
        torch.save({"state_dict": model.state_dict()}, path)
        return {AMT_S_WEIGHTS.id: path}
