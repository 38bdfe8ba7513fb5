"""Shared fixtures. Tests never touch the network: any non-loopback connection fails the test."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from sample_media import BICYCLE_CLIPS, CAR_TURN, SAMPLE_VIDEO, SHARED_DATA  # noqa: F401 (re-exported)

_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")
_real_connect = socket.socket.connect
_real_create_connection = socket.create_connection


def _host_of(address) -> str:
    if isinstance(address, tuple) and address:
        return str(address[0])
    return str(address)  # AF_UNIX paths are local


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _host_of(address).startswith(_LOOPBACK):
        raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


def _guarded_create_connection(address, *args, **kwargs):
    if not _host_of(address).startswith(_LOOPBACK):
        raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_create_connection(address, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    """Make any accidental outbound connection fail loudly; loopback (Ray, Chromium) stays allowed."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.create_connection = _guarded_create_connection  # type: ignore[assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.create_connection = _real_create_connection  # type: ignore[assignment]


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Tiny backbones and weights go to a per-session cache, never the user's."""
    cache = tmp_path_factory.mktemp("jtbench_cache")
    os.environ["JTBENCH_CACHE"] = str(cache)
    os.environ["VBENCH_CACHE_DIR"] = str(cache / "vbench")
    yield cache


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared sample data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_video(shared_data) -> Path:
    return SAMPLE_VIDEO


@pytest.fixture(scope="session")
def tiny_hub(_isolated_cache):
    """One ModelHub with tiny seeded backbones for the whole session (models load once)."""
    import torch

    from jtbench.models.base import ModelHub

    torch.set_num_threads(2)
    return ModelHub(backbones="tiny", device="cpu", precision="fp32", tiny_dir=_isolated_cache / "tiny")


@pytest.fixture(scope="session")
def demo_data_root(tmp_path_factory) -> Path:
    """The procedural demo slice drawn once per session (subjects/<id>/00.jpg, motions/<id>/00.mp4)."""
    from jtbench.benchmark.demo import prepare_demo

    return prepare_demo(tmp_path_factory.mktemp("demo") / "data")


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance on loopback for every test that needs it (started once, ~10 s)."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """One `jtbench run --demo` (the three dummy methods × the demo cases, all ten metrics, tiny backbones),
    made once per session for the study, meta-eval and sharing tests. Read-only: copy before changing it."""
    from typer.testing import CliRunner

    from jtbench.cli.app import app
    from jtbench.cli.demo import DEMO_METHODS

    out = tmp_path_factory.mktemp("demo_run") / "run"
    args = ["run", "--methods", ",".join(DEMO_METHODS), "--demo", "--backbones", "tiny", "--device", "cpu",
            "--report", "md", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def chromium_browser():
    """Playwright (Python) driving the machine's Chromium through ``executable_path``; never a downloaded browser.

    Skips, with the reason, where Debian's chromium (``make test`` installs it) or playwright is missing."""
    from browser_pw import launch_chromium

    with launch_chromium() as browser:
        yield browser
