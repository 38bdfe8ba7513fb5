"""The offline GPU node's path: ``make gpu-bundle`` here, ``make gpu-check OFFLINE=1`` there.

Fast tests of the mechanism (manifest, size limit, venv over a venv, ``pip --no-index`` with every
pip setting scrubbed, the import and floor check, results copied into OUT), then one slow test of
the whole rehearsal: a base venv standing in for the node's python3, the real bundle, the tiny CPU run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import gpu_bundle  # noqa: E402
import gpu_offline  # noqa: E402
from gpu_budget import Results  # noqa: E402

PY = ".".join(map(str, sys.version_info[:2]))


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def tiny_wheel(folder: Path, name: str = "jtb_probe", version: str = "1.0") -> Path:
    """A pure-Python wheel built by hand (no registry, no build backend)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": b"VALUE = 42\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "\n".join(_record_line(k, v) for k, v in files.items()) + f"\n{dist}/RECORD,,\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for key, data in files.items():
            archive.writestr(key, data)
        archive.writestr(f"{dist}/RECORD", record)
    return path


def probe_bundle(folder: Path) -> Path:
    """A bundle of one hand-made wheel, with the manifest ``gpu_bundle.py`` writes."""
    tiny_wheel(folder)
    manifest = gpu_bundle.write_manifest(folder, PY, 60.0)
    manifest["wheels"] = {"jtb_probe": {"version": "1.0", "why": "test", "only_if": ""}}
    (folder / gpu_bundle.MANIFEST).write_text(json.dumps(manifest))
    return folder


# -- make gpu-bundle -------------------------------------------------------------------------------
def test_bundle_is_what_the_node_lacks_and_never_decord():
    names = {w.name for w in gpu_bundle.BUNDLE}
    assert {"diffusers", "open_clip_torch", "openai-clip", "ftfy", "pyiqa", "vbench", "av", "lion-pytorch"} <= names
    banned = {"decord", "bitsandbytes", "datasets", "facexlib", "tensorboard", "torch", "transformers", "numpy"}
    assert not names & banned
    assert [w.name for w in gpu_bundle.BUNDLE if w.sdist] == ["openai-clip"]
    assert all(w.only_if in ("", *gpu_offline.NEEDS) for w in gpu_bundle.BUNDLE)


def test_bundle_fails_over_the_limit_and_writes_its_manifest(tmp_path, monkeypatch, capsys):
    def fake_download(wheels, python_version, folder):
        (folder / "big-1.0-py3-none-any.whl").write_bytes(b"x" * (2 * gpu_bundle.MIB))

    monkeypatch.setattr(gpu_bundle, "download", fake_download)
    monkeypatch.setattr(gpu_bundle, "build_sdist", lambda wheel, folder: tiny_wheel(folder, "openai_clip", "1.0.1"))
    assert gpu_bundle.main(["--out", str(tmp_path / "b"), "--python-version", PY, "--limit-mib", "1"]) == 1
    assert "exceeds 1 MiB" in capsys.readouterr().err
    manifest = json.loads((tmp_path / "b" / gpu_bundle.MANIFEST).read_text())
    assert {e["file"] for e in manifest["files"]} == {"big-1.0-py3-none-any.whl", "openai_clip-1.0.1-py3-none-any.whl"}
    big = next(e for e in manifest["files"] if e["file"].startswith("big"))
    assert big["size"] == 2 * gpu_bundle.MIB and big["sha256"] == hashlib.sha256(b"x" * big["size"]).hexdigest()
    assert manifest["tree_bytes"] > 100_000  # the clone travels too
    limit = gpu_bundle.MIB * 1000
    assert gpu_bundle.main(["--out", str(tmp_path / "c"), "--python-version", PY, "--limit-mib", str(limit)]) == 0
    assert "tree + bundle" in capsys.readouterr().out


def test_make_targets(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")

    def dry(*args: str) -> str:
        # Under `make test` the parent's MAKELEVEL/MAKEFLAGS would make this make print "Entering directory".
        env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
        return subprocess.run(["make", "--no-print-directory", "-n", *args], cwd=REPO, env=env, capture_output=True,
                              text=True, check=True).stdout

    offline = dry("gpu-check", "OFFLINE=1", "PYTHON=/opt/py", "DEVICE=cpu", "TINY=1", "OUT=/tmp/o")
    assert "pip install" not in offline, "OFFLINE=1 must not depend on `install`"
    assert offline.split() == ["/opt/py", "benchmarks/gpu_offline.py", "--bundle", "gpu-bundle", "--venv", ".venv-gpu",
                               "--out", "/tmp/o", "--", "--device", "cpu", "--budget", "420", "--tiny"]
    assert dry("gpu-bundle").split()[1:] == ["benchmarks/gpu_bundle.py", "--python-version", "3.12", "--out",
                                             "gpu-bundle"]
    online = dry("gpu-check", "OUT=/tmp/o").splitlines()[-1]
    assert online.endswith("--copy-to /tmp/o")
    if (REPO / ".git").exists() and shutil.which("git"):
        ignored = subprocess.run(["git", "check-ignore", "gpu-bundle/x.whl", ".venv-gpu/bin/python"], cwd=REPO,
                                 capture_output=True, text=True).stdout.split()
        assert ignored == ["gpu-bundle/x.whl", ".venv-gpu/bin/python"]


# -- make gpu-check OFFLINE=1 ----------------------------------------------------------------------
def test_bundle_check_names_what_is_wrong(tmp_path):
    with pytest.raises(SystemExit, match="make gpu-bundle"):
        gpu_offline.check_bundle(tmp_path)
    bundle = probe_bundle(tmp_path / "b")
    assert gpu_offline.check_bundle(bundle)["files"][0]["file"] == "jtb_probe-1.0-py3-none-any.whl"
    wheel = next(bundle.glob("*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    with pytest.raises(SystemExit, match="differs from its manifest"):
        gpu_offline.check_bundle(bundle)
    wheel.unlink()
    with pytest.raises(SystemExit, match="missing"):
        gpu_offline.check_bundle(bundle)
    tiny_wheel(bundle)
    tiny_wheel(bundle, version="2.0")
    with pytest.raises(SystemExit, match="does not list"):
        gpu_offline.check_bundle(bundle)
    manifest = json.loads((bundle / gpu_bundle.MANIFEST).read_text())
    (bundle / gpu_bundle.MANIFEST).write_text(json.dumps({**manifest, "python_version": "2.7"}))
    with pytest.raises(SystemExit, match="PYTHON_VERSION="):
        gpu_offline.check_bundle(bundle)


def test_pip_sees_no_configuration(monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    env = gpu_offline.scrubbed_env()
    assert env["PIP_CONFIG_FILE"] == os.devnull and not {k for k in env if k.startswith("PIP_")} - {"PIP_CONFIG_FILE"}


def test_results_are_copied_after_every_save(tmp_path):
    results = Results(tmp_path / "res" / "gpu-x.json", lambda d: f"# {d['n']}\n", {"n": 1},
                      copies=(tmp_path / "out",))
    results.save()
    results.data["n"] = 2
    results.save()
    assert json.loads((tmp_path / "out" / "gpu-x.json").read_text()) == {"n": 2}
    assert (tmp_path / "out" / "gpu-x.md").read_text() == "# 2\n" == results.md_path.read_text()
    assert not list((tmp_path / "out").glob(".*tmp"))


def test_offline_run_over_a_venv_installs_with_no_index(tmp_path):
    """The whole OFFLINE=1 path over this test's own interpreter (itself a venv, like the node's
    /opt/torch/.venv), with a one-wheel bundle, a registry address that cannot answer and the
    preflight first: the venv sees the base's packages, the probe installs from the bundle alone,
    every import and floor is checked, and gpu_check's files land in OUT."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    if subprocess.run([sys.executable, "-c", gpu_offline.NEEDS["setuptools"]], capture_output=True).returncode:
        pytest.skip("this interpreter's setuptools cannot build jtbench without isolation and the probe bundle "
                    "carries none (the slow rehearsal installs the bundled one)")
    bundle, out = probe_bundle(tmp_path / "bundle"), tmp_path / "OUT"
    env = {**os.environ, "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_FIND_LINKS": str(tmp_path / "none"),
           "PYTHONPATH": ""}
    env.pop("ATEN_CPU_CAPABILITY", None)
    proc = subprocess.run(
        ["make", "gpu-check", "OFFLINE=1", f"PYTHON={sys.executable}", "DEVICE=cpu", "TINY=1", "BUDGET=300",
         f"GPU_BUNDLE={bundle}", f"GPU_VENV={tmp_path / 'venv'}", f"OUT={out}",
         f"GPU_CHECK_ARGS=--stages sampling --out {tmp_path / 'results'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    log = (out / "gpu-offline-log.txt").read_text()
    assert log.splitlines()[0].split("] ", 1)[1].startswith("preflight: python")
    assert "--no-index" in log and "imports: all" in log and "floors:" in log
    venv_python = tmp_path / "venv" / "bin" / "python"
    probe = subprocess.run([str(venv_python), "-c", "import jtb_probe, torch, sys; print(jtb_probe.__file__)"],
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert probe.returncode == 0 and str(tmp_path / "venv") in probe.stdout, probe.stderr
    copied = sorted(p.name for p in out.glob("gpu-*.*") if p.name != "gpu-offline-log.txt")
    assert len(copied) == 2 and {Path(p).suffix for p in copied} == {".json", ".md"}
    assert copied == sorted(p.name for p in (tmp_path / "results").glob("gpu-*.*"))
    data = json.loads(next(out.glob("gpu-*.json")).read_text())
    assert data["tiny"] is True and data["preflight"]["cpu_capability"] and "sampling" in data["stages"]


#: What the GPU node's image already holds of jtbench's needs (KINDS.md "Python packages already
#: there"; transformers at the node's 5.17.0), installed into a base venv that stands in for its python3.
NODE_SET = ("transformers==5.17.0", "numpy", "pandas", "pyarrow", "scipy", "matplotlib", "pillow", "pyyaml", "timm",
            "opencv-python-headless", "safetensors", "accelerate", "peft", "huggingface-hub", "einops", "rich", "typer",
            "tqdm", "psutil", "regex", "requests", "filelock", "packaging", "imageio", "scikit-image", "sentencepiece",
            "setuptools")


def _torch_spec() -> list[str]:
    line = next(ln for ln in (REPO / "Makefile").read_text().splitlines() if ln.startswith("TORCH_SPEC ?="))
    return line.split("?=", 1)[1].split()


@pytest.fixture(scope="module")
def node_python(tmp_path_factory) -> Path:
    """The stand-in for the node's python3: ``JTBENCH_GPU_BASE_PYTHON`` when given, else a fresh
    venv (torch as ``make install`` pins it, plus :data:`NODE_SET`; pip's cache is reused)."""
    given = os.environ.get("JTBENCH_GPU_BASE_PYTHON")
    if given:
        return Path(given)
    base = tmp_path_factory.mktemp("node") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(base)], check=True)
    python = base / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", *_torch_spec(), *NODE_SET], check=True, timeout=3000)
    return python


@pytest.mark.slow
def test_rehearsal_bundle_then_offline_tiny_run(node_python, tmp_path):
    """`make gpu-bundle PYTHON_VERSION=<this Python>` (registry), then `make gpu-check OFFLINE=1` over
    the stand-in with every pip setting pointing nowhere: the three stages run from the bundle alone,
    decord absent as on the node."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    bundle, out = tmp_path / "gpu-bundle", tmp_path / "OUT"
    built = subprocess.run(["make", "gpu-bundle", f"PYTHON={sys.executable}", f"PYTHON_VERSION={PY}",
                            f"GPU_BUNDLE={bundle}"], cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert "tree + bundle" in built.stdout
    names = {e["file"].split("-")[0] for e in json.loads((bundle / gpu_bundle.MANIFEST).read_text())["files"]}
    assert {"av", "diffusers", "pyiqa", "vbench", "openai_clip"} <= names and "decord" not in names
    assert subprocess.run([str(node_python), "-c", "import decord"], capture_output=True).returncode != 0
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ATEN_CPU_CAPABILITY")}
    env.update(PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_EXTRA_INDEX_URL="http://127.0.0.1:9/simple",
               PIP_FIND_LINKS=str(tmp_path / "none"))
    run = subprocess.run(
        ["make", "gpu-check", "OFFLINE=1", f"PYTHON={node_python}", "DEVICE=cpu", "TINY=1", f"GPU_BUNDLE={bundle}",
         f"GPU_VENV={tmp_path / 'venv'}", f"OUT={out}", f"GPU_CHECK_ARGS=--out {tmp_path / 'results'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1500,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    data = json.loads(next(out.glob("gpu-*.json")).read_text())
    stages = data["stages"]
    assert set(stages) == {"scoring", "training", "sampling", "dit"}
    not_done = [(s, r["item"], r["status"]) for s in stages for r in stages[s]["items"] if r["status"] != "done"]
    assert not not_done, not_done
    assert data["preflight"]["transformers"] == "5.17.0" and data["wall_s"] < 420
    assert "install: " in (out / "gpu-offline-log.txt").read_text()
