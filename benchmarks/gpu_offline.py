"""``make gpu-check OFFLINE=1``: measure on a GPU node that reaches no package registry.

Run by the node's own ``python3`` (torch and ~190 packages already there, KINDS.md), from the
clone with ``gpu-bundle/`` beside it (``make gpu-bundle``, here):

1. **preflight** in seconds, before anything is installed: Python, torch, CUDA, the GPU and its
   free memory, the versions of the node's packages jtbench uses;
2. the bundle's manifest is checked (every file there, sha256 as built, one version each);
3. a venv with ``--system-site-packages`` over that Python (``--venv``; kept between runs). Where
   that Python is itself a venv (the node's /opt/torch/.venv), its site-packages are added by a
   ``.pth`` file, as ``--system-site-packages`` reaches only the base interpreter's. The venv has
   no pip of its own: the base's pip installs into it (no ensurepip needed);
4. the bundle and jtbench with ``pip --isolated --no-index --find-links gpu-bundle --no-deps``,
   every pip configuration file and ``PIP_*`` variable set aside: nothing is fetched, and a
   missing wheel fails here, in seconds, not in the middle of a measurement;
5. every import jtbench's GPU check makes, and jtbench's declared floors against what is
   installed (``pyproject.toml``), each named where it fails;
6. ``benchmarks/gpu_check.py`` inside its budget, which rewrites its JSON and Markdown after every
   item and copies them into ``--out`` (``OUT=DIR``) each time, so an interrupted run still
   returns figures; this script's own log goes there too.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from gpu_bundle import sha256  # the manifest's digest, computed one way (stdlib only, like this script)

STARTED = time.perf_counter()
REPO = Path(__file__).resolve().parents[1]
#: Modules imported in the venv before measuring (the GPU check's whole import surface).
IMPORTS = (
    "torch", "torchvision", "numpy", "transformers", "diffusers", "open_clip", "clip", "clip.simple_tokenizer",
    "pyiqa.archs.musiq_arch", "av", "lion_pytorch", "easydict", "omegaconf", "cv2", "timm", "safetensors",
    "accelerate", "scipy", "pandas", "pyarrow", "matplotlib", "yaml", "PIL", "typer", "rich", "psutil", "jtbench",
    "jtbench.cli.app", "jtbench.metrics.scorer", "jtbench.methods.base",
)
#: jtbench's extras the GPU check runs (``ray`` and ``dev`` stay off the node).
EXTRAS = ("metrics", "train")
#: Bundled wheels installed only where the venv fails this check (``Wheel.only_if``).
NEEDS = {
    "setuptools": "import setuptools, pkg_resources; from packaging.version import Version; "
                  "assert Version('77') <= Version(setuptools.__version__) < Version('81')",
}
NODE_PACKAGES = ("torch", "torchvision", "transformers", "numpy", "timm", "accelerate", "safetensors",
                 "opencv-python-headless", "huggingface-hub", "pip", "setuptools")


class Log:
    """Prints with the seconds since start, and keeps the lines for ``--out``."""

    def __init__(self, out: Path | None) -> None:
        self.out, self.lines = out, []

    def __call__(self, text: str) -> None:
        line = f"[{time.perf_counter() - STARTED:6.1f} s] {text}"
        print(line, flush=True)
        self.lines.append(line)
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "gpu-offline-log.txt").write_text("\n".join(self.lines) + "\n")


TORCH_PREFLIGHT = r"""
import torch
cuda = torch.cuda.is_available()
line = f"preflight: torch {torch.__version__}, CUDA runtime {torch.version.cuda}, cuda available {cuda}"
if cuda:
    free, total = torch.cuda.mem_get_info()
    line += (f", {torch.cuda.device_count()} GPU(s): {torch.cuda.get_device_name(0)}, "
             f"{free / 2**30:.1f} of {total / 2**30:.1f} GiB free")
print(line + f", CPU capability {torch.backends.cpu.get_cpu_capability()}")
"""


def preflight(log: Log) -> None:
    """The node as it is, in seconds: nothing installed yet, no jtbench import. torch runs in a
    child process, so this one holds no CUDA context while the check runs."""
    versions = {}
    for name in NODE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    log(f"preflight: python {platform.python_version()} at {sys.executable} (prefix {sys.prefix})")
    log("preflight: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    done = subprocess.run([sys.executable, "-c", TORCH_PREFLIGHT], capture_output=True, text=True)
    for line in (done.stdout + done.stderr[-1500:]).splitlines():
        log(line)
    if done.returncode != 0:
        raise SystemExit(f"gpu_offline: {sys.executable} cannot import torch; PYTHON= must name the node's python3 "
                         "that holds torch")


def check_bundle(bundle: Path) -> dict:
    """The manifest's files, each present with its sha256; no wheel beside them."""
    manifest_path = bundle / "MANIFEST.json"
    if not manifest_path.is_file():
        raise SystemExit(f"gpu_offline: no {manifest_path}. Run `make gpu-bundle` where pip reaches PyPI "
                         f"(PYTHON_VERSION={platform.python_version_tuple()[0]}.{platform.python_version_tuple()[1]} "
                         "for this Python) and copy gpu-bundle/ beside the clone")
    manifest = json.loads(manifest_path.read_text())
    mine = ".".join(platform.python_version_tuple()[:2])
    if manifest.get("python_version") != mine:
        raise SystemExit(f"gpu_offline: {manifest_path} was built for Python {manifest.get('python_version')}, this "
                         f"is {mine}: rebuild with `make gpu-bundle PYTHON_VERSION={mine}`")
    listed = {e["file"]: e for e in manifest["files"]}
    for name, entry in listed.items():
        path = bundle / name
        if not path.is_file():
            raise SystemExit(f"gpu_offline: {path} is missing (listed in {manifest_path}); copy the whole gpu-bundle/")
        if path.stat().st_size != entry["size"] or sha256(path) != entry["sha256"]:
            raise SystemExit(f"gpu_offline: {path} differs from its manifest entry (size or sha256): copy it again")
    extra = sorted(p.name for p in bundle.glob("*.whl") if p.name not in listed)
    if extra:
        raise SystemExit(f"gpu_offline: {bundle} holds wheels its manifest does not list: {extra}; remove them or "
                         "rebuild with `make gpu-bundle` (two versions of one package stop the install)")
    return manifest


def scrubbed_env() -> dict[str, str]:
    """No pip configuration file, no PIP_* variable: only the arguments given reach pip."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def make_venv(venv: Path, log: Log) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
        log(f"venv: created {venv} over {sys.executable}")
    else:
        log(f"venv: reusing {venv}")
    if sys.prefix != sys.base_prefix:  # a venv's own site-packages are not "system" ones: add them
        import site

        site_dir = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                       check=True, capture_output=True, text=True).stdout.strip())
        # addsitedir, not bare paths: the base's own .pth files (editable installs, ...) are honoured too
        lines = [f"import site; site.addsitedir({str(d)!r})" for d in site.getsitepackages() if Path(d).is_dir()]
        (site_dir / "_base_venv.pth").write_text("\n".join(lines) + "\n")
        log(f"venv: {sys.prefix} is itself a venv; its site-packages reach the new one via {site_dir}/_base_venv.pth")
    return python


def pip_install(python: Path, bundle: Path, args: list[str], log: Log) -> None:
    command = [str(python), "-m", "pip", "--isolated", "install", "--no-index", "--find-links", str(bundle),
               "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "--quiet", *args]
    log("pip: " + " ".join(command[3:]))
    done = subprocess.run(command, env=scrubbed_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"gpu_offline: pip failed (no registry is asked; every wheel must be in {bundle}):\n"
                         f"{done.stdout[-2000:]}{done.stderr[-3000:]}")


def install(python: Path, bundle: Path, manifest: dict, log: Log) -> None:
    wanted = []
    for name, spec in manifest["wheels"].items():
        check = NEEDS.get(spec.get("only_if") or "")
        if check and subprocess.run([str(python), "-c", check], capture_output=True).returncode == 0:
            log(f"install: {name} not needed (the node's passes: {check.split(';')[-1].strip()})")
            continue
        wanted.append(f"{name}=={spec['version']}")
    pip_install(python, bundle, wanted, log)
    pip_install(python, bundle, ["--no-build-isolation", "-e", str(REPO)], log)
    log(f"install: {len(wanted)} bundled distributions and jtbench (editable), no registry asked")


CHECK = r"""
import importlib, importlib.metadata as md, json, sys, tomllib
from packaging.requirements import Requirement
imports, extras, pyproject = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
failed = []
for name in imports:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"import {name}: {type(exc).__name__}: {exc}")
try:
    from jtbench.models.amt import amt_s_module
    amt_s_module()
except Exception as exc:
    failed.append(f"AMT-S from vbench: {type(exc).__name__}: {exc}")
project = tomllib.loads(open(pyproject).read())["project"]
requirements = list(project["dependencies"]) + [r for e in extras for r in project["optional-dependencies"][e]]
rows = []
for text in requirements:
    req = Requirement(text)
    try:
        have = md.version(req.name)
    except md.PackageNotFoundError:
        failed.append(f"{req}: not installed"); continue
    ok = req.specifier.contains(have, prereleases=True)
    rows.append(f"{req.name} {have} ({req.specifier or 'any'})" + ("" if ok else " FAILS"))
    if not ok:
        failed.append(f"{req}: {have} installed")
print("floors: " + ", ".join(rows))
if failed:
    print("\n".join(failed), file=sys.stderr); sys.exit(1)
"""


def check_imports(python: Path, log: Log) -> None:
    done = subprocess.run([str(python), "-c", CHECK, json.dumps(IMPORTS), json.dumps(EXTRAS),
                           str(REPO / "pyproject.toml")], capture_output=True, text=True, cwd=REPO)
    for line in done.stdout.splitlines():
        log(line)
    if done.returncode != 0:
        raise SystemExit("gpu_offline: the venv cannot run the GPU check:\n" + done.stderr[-4000:] +
                         "\nAdd the missing wheel to BUNDLE in benchmarks/gpu_bundle.py (or fix the floor in "
                         "pyproject.toml if jtbench works with the node's version) and rebuild the bundle.")
    log(f"imports: all {len(IMPORTS)} modules and AMT-S import; jtbench's floors hold")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=REPO / "gpu-bundle")
    parser.add_argument("--venv", type=Path, default=REPO / ".venv-gpu")
    parser.add_argument("--out", type=Path, default=None, help="copy the results (and this log) here (OUT=DIR)")
    parser.add_argument("check_args", nargs=argparse.REMAINDER, help="after --: benchmarks/gpu_check.py's arguments")
    args = parser.parse_args(argv)
    log = Log(args.out)
    preflight(log)
    manifest = check_bundle(args.bundle)
    log(f"bundle: {len(manifest['files'])} wheels, {manifest['bundle_bytes'] / 2**20:.1f} MiB, sha256 as built")
    python = make_venv(args.venv.resolve(), log)
    install(python, args.bundle.resolve(), manifest, log)
    check_imports(python, log)
    check_args = [a for a in args.check_args if a != "--"]
    if args.out is not None:
        check_args += ["--copy-to", str(args.out)]
    command = [str(python), str(REPO / "benchmarks" / "gpu_check.py"), *check_args]
    log(f"setup done in {time.perf_counter() - STARTED:.0f} s; running " + " ".join(command[1:]))
    code = subprocess.run(command, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"}).returncode
    log(f"gpu_check exited {code}; whole run {time.perf_counter() - STARTED:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
