"""The suite's own guarantees: no network, a light `import jtbench`."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest


def test_outbound_connection_fails_the_test():
    with pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)
    with pytest.raises(RuntimeError, match="network"):
        socket.socket().connect(("203.0.113.5", 80))


def test_import_jtbench_is_light():
    heavy = "('torch', 'ray', 'diffusers', 'transformers')"
    code = f"import sys, jtbench; jtbench.Benchmark; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
