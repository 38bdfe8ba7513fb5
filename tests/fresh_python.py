"""Run code in a fresh interpreter: what a module imports (or leaves in ``sys.path``) shows only there."""

from __future__ import annotations

import subprocess
import sys


def run_python(code: str, timeout: float = 120) -> str:
    """``python -c code`` with this interpreter; its stdout, or a failed assertion showing its stderr."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return out.stdout
