"""Find a weight file locally, in this order, before ever touching the network:

1. an explicit path given for that weight id (``--weights ID=PATH`` / ``JTBENCH_WEIGHTS_<ID>``),
2. ``$JTBENCH_CACHE/weights/<id>/<filename>``,
3. VBench's cache (``$VBENCH_CACHE_DIR`` or ``~/.cache/vbench``) in VBench's own layout,
4. the torch hub checkpoint folder (and pyiqa's ``hub/pyiqa``), openai-clip's ``~/.cache/clip``, the HF cache,
   and a file an installed package ships (``package_file``: openai-clip's BPE vocabulary),
5. download into (2), only when downloads are allowed and not ``offline``; a file published only inside
   a zip archive (RAFT's ``models.zip``) is extracted from it. Each first download's SHA-256 goes to
   the lock file (:mod:`jtbench.weights.lock`), which later downloads and loads are checked against.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import urllib.request
import zipfile
from pathlib import Path

from jtbench.errors import WeightsError
from jtbench.io.digest import file_sha256
from jtbench.paths import cache_dir
from jtbench.weights.catalog import WeightSpec
from jtbench.weights.lock import WeightLock, weight_digest


def _hf_repo_of(url: str) -> str | None:
    """``org/repo`` of a ``https://huggingface.co/org/repo/resolve/...`` address (its HF cache folder)."""
    prefix = "https://huggingface.co/"
    if url.startswith(prefix) and "/resolve/" in url:
        return url[len(prefix) :].split("/resolve/")[0]
    return None


def _package_file(target: str) -> list[Path]:
    """``"package:file"`` inside the installed package, or nothing when the package is absent."""
    package, _, name = target.partition(":")
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    locations = spec.submodule_search_locations if spec is not None else None
    return [Path(folder) / name for folder in locations or ()]


def _env_key(weight_id: str) -> str:
    return "JTBENCH_WEIGHTS_" + "".join(c if c.isalnum() else "_" for c in weight_id).upper()


class WeightResolver:
    """Resolve :class:`WeightSpec` to local paths; ``offline=True`` guarantees no network call."""

    def __init__(
        self, *, offline: bool = True, overrides: dict[str, Path] | None = None, root: Path | None = None
    ) -> None:
        self.offline = offline
        self.overrides = {k: Path(v) for k, v in (overrides or {}).items()}
        self.root = Path(root) if root is not None else cache_dir() / "weights"
        self.lock = WeightLock(self.root)

    def home(self, spec: WeightSpec) -> Path:
        """Where jtbench keeps (and downloads) this weight."""
        return self.root / spec.id / spec.filename

    def candidates(self, spec: WeightSpec) -> list[Path]:
        out: list[Path] = []
        if spec.id in self.overrides:
            out.append(self.overrides[spec.id])
        if env := os.environ.get(_env_key(spec.id)):
            out.append(Path(env))
        out.append(self.home(spec))
        if spec.vbench_path:
            vbench = Path(os.environ.get("VBENCH_CACHE_DIR", Path.home() / ".cache" / "vbench"))
            out.append(vbench / spec.vbench_path)
        torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
        out.append(torch_home / "hub" / "checkpoints" / spec.filename)
        out.append(torch_home / "hub" / "pyiqa" / spec.filename)  # where pyiqa itself downloads (MUSIQ)
        out.append(Path.home() / ".cache" / "clip" / spec.filename)  # openai-clip's own download folder
        for repo in filter(None, {spec.hf_repo, *map(_hf_repo_of, spec.urls)}):
            hf_home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
            snapshots = hf_home / "hub" / ("models--" + repo.replace("/", "--")) / "snapshots"
            if snapshots.is_dir():  # a folder weight is the snapshot; a file weight lies inside it
                for snapshot in sorted(snapshots.iterdir(), reverse=True):
                    out.append(snapshot if spec.is_dir else snapshot / spec.filename)
        if spec.package_file:
            out.extend(_package_file(spec.package_file))
        return out

    def find(self, spec: WeightSpec) -> Path | None:
        """The first existing candidate, or None (never downloads)."""
        for path in self.candidates(spec):
            if path.is_dir() if spec.is_dir else path.is_file():
                return path
        return None

    def expected_digests(self, spec: WeightSpec) -> dict[str, str]:
        """What ``spec`` is checked against: ``{"published": sha, "lock": sha}``, whichever are known."""
        known = {"published": spec.sha256, "lock": self.lock.expected(spec.id)}
        return {k: v for k, v in known.items() if v is not None and not (k == "published" and spec.is_dir)}

    def verify(self, spec: WeightSpec, path: Path) -> bool | None:
        """True/False against the published SHA-256 and the lock file's; None when neither is known."""
        expected = self.expected_digests(spec)
        if not expected:
            return None
        digest = weight_digest(path)
        return all(digest == sha for sha in expected.values())

    def resolve(self, spec: WeightSpec) -> Path:
        """A verified local path for ``spec``; downloads only if allowed. Errors say where to put the file."""
        path = self.find(spec)
        if path is not None:
            # Folders (multi-GB Hugging Face snapshots) are hashed by `jtbench weights verify`, not on every load.
            if not path.is_dir() and self.verify(spec, path) is False:
                expected = " or ".join(f"{v} ({k})" for k, v in self.expected_digests(spec).items())
                raise WeightsError(
                    f"checksum mismatch for {spec.id} (expected sha256 {expected})",
                    file=path,
                    fix="delete the file and download it again (`jtbench weights download`)",
                )
            return path
        if self.offline or not spec.urls:
            where = self.home(spec)
            how = f"download {spec.urls[0]}" if spec.urls else f"get {spec.hf_repo or spec.torch_hub or spec.filename}"
            raise WeightsError(
                f"weights {spec.id!r} not found" + (" (offline mode: no download attempted)" if self.offline else ""),
                file=where,
                fix=f"{how} and place it at {where}, or pass --weights {spec.id}=PATH",
            )
        return self.download(spec)

    def download(self, spec: WeightSpec) -> Path:
        if self.offline:
            raise WeightsError(f"refusing to download {spec.id} in offline mode", fix="drop --offline")
        target = self.home(spec)
        target.parent.mkdir(parents=True, exist_ok=True)
        errors = []
        for url in spec.urls:
            tmp = target.with_name(target.name + ".part")
            try:
                fetched = _fetch(url, tmp.with_name(tmp.name + ".zip") if spec.archive_member else tmp)
                if spec.archive_member:
                    _extract(fetched, spec.archive_member, tmp)
            except (OSError, zipfile.BadZipFile, KeyError) as exc:
                tmp.unlink(missing_ok=True)
                errors.append(f"{url}: {exc}")
                continue
            digest = file_sha256(tmp)
            if spec.sha256 and digest != spec.sha256:
                tmp.unlink(missing_ok=True)
                errors.append(f"{url}: checksum mismatch (got {digest}, published {spec.sha256})")
                continue
            try:
                self.lock.record(spec.id, digest, url)  # first download: recorded; later ones: must match
            except WeightsError:
                tmp.unlink(missing_ok=True)
                raise
            tmp.replace(target)
            return target
        raise WeightsError(
            f"could not download {spec.id}: " + "; ".join(errors), file=target, fix=f"download it by hand to {target}"
        )


def _fetch(url: str, dest: Path) -> Path:
    """Stream ``url`` into ``dest`` (removed again if the transfer fails)."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as fh:
            shutil.copyfileobj(response, fh)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


def _extract(archive: Path, member: str, dest: Path) -> None:
    """Copy one member of a zip archive to ``dest``, then delete the archive (only the one file is kept)."""
    try:
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(dest, "wb") as fh:
            shutil.copyfileobj(src, fh)
    finally:
        archive.unlink(missing_ok=True)
