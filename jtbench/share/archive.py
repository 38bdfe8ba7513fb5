"""A bundle as a file: a deterministic zip (same members → same bytes) and a reader that names bad members.

Members are written in the order given with a fixed timestamp (1980-01-01), fixed permissions and
fixed compression, so the bundle's SHA-256 depends on the members alone. ``digests.sha256`` (the last
member, ``sha256sum`` format) holds each other member's digest: a changed byte is found and the member
named, whether zip's CRC catches it first or not.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable
from pathlib import Path

from jtbench.errors import InputError
from jtbench.io.atomic import atomic_write

DIGESTS = "digests.sha256"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_STORED_SUFFIXES = (".mp4", ".webm", ".gif", ".mov", ".mkv")  # already compressed


class BundleError(InputError):
    """A bundle cannot be read as written (corrupt member, missing member, bad zip)."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_lines(members: Iterable[tuple[str, bytes]]) -> bytes:
    """``<sha256>  <name>`` per member, in order (what ``sha256sum -c`` reads)."""
    return "".join(f"{sha256_bytes(data)}  {name}\n" for name, data in members).encode()


def parse_digest_lines(text: str, source: str = DIGESTS) -> dict[str, str]:
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            fix = "rebuild with jtbench bundle"
            raise BundleError(f"line {number} is not '<sha256>  <path>'", file=source, fix=fix)
        out[name] = digest
    return out


def write_zip(path: Path, members: list[tuple[str, bytes]]) -> Path:
    """Write ``members`` and then ``digests.sha256`` to ``path`` atomically (a reader never sees half a zip)."""
    everything = [*members, (DIGESTS, digest_lines(members))]

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as zf:
            for name, data in everything:
                info = zipfile.ZipInfo(name, date_time=_EPOCH)
                info.create_system = 3  # unix, so the permissions below mean the same everywhere
                info.external_attr = 0o100644 << 16
                stored = name.lower().endswith(_STORED_SUFFIXES)
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                zf.writestr(info, data, compresslevel=None if stored else 9)

    return atomic_write(path, write)


class BundleArchive:
    """Read a bundle's members; any failure names the bundle and the member."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise BundleError("no bundle here", file=self.path, fix="pass a NAME.zip written by `jtbench bundle`")
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise BundleError(f"not a readable zip: {exc}", file=self.path, fix="rebuild with jtbench bundle") from exc
        self.names = [i.filename for i in self._zip.infolist()]

    def __enter__(self) -> BundleArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def read(self, name: str) -> bytes:
        if name not in self.names:
            raise BundleError(f"member {name} is missing", file=self.path, fix="rebuild with jtbench bundle")
        try:
            return self._zip.read(name)
        except Exception as exc:  # CRC mismatch, broken deflate stream (zlib.error): a corrupt member, named
            raise BundleError(f"member {name} is corrupt: {exc}", file=self.path, fix="get an intact copy") from exc

    def recorded_digests(self) -> dict[str, str]:
        return parse_digest_lines(self.read(DIGESTS).decode("utf-8", "replace"), f"{self.path}:{DIGESTS}")

    def digest_problems(self) -> list[str]:
        """One line per member that is corrupt, changed, missing or not listed (empty: every digest holds)."""
        try:
            recorded = self.recorded_digests()
        except BundleError as exc:
            return [exc.problem]
        problems = []
        for name in self.names:
            if name == DIGESTS:
                continue
            if name not in recorded:
                problems.append(f"member {name} is not listed in {DIGESTS}")
                continue
            try:
                actual = sha256_bytes(self.read(name))
            except BundleError as exc:
                problems.append(exc.problem)
                continue
            if actual != recorded[name]:
                problems.append(f"member {name} changed: sha256 {actual[:12]}… ≠ recorded {recorded[name][:12]}…")
        problems += [f"member {name} is listed but missing" for name in recorded if name not in self.names]
        return problems
