"""Load and validate ``data_manifests/`` into typed records.

A broken manifest fails with the file, the key and what is wrong; nothing downstream
re-derives ids, phrases or categories.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from jtbench.errors import ManifestError
from jtbench.paths import manifests_dir

SUBJECT_CATEGORIES = ("rigid", "non_humanoid", "humanoid")
MOTION_CATEGORIES = ("rigid", "non_human", "human_no_props", "human_props")
SOURCES = ("dreambooth", "customconcept101", "motiondirector", "davis2016", "ucf101")


@dataclass(frozen=True)
class Subject:
    id: str
    category: str
    phrase: str
    source: str
    concept: str


@dataclass(frozen=True)
class Motion:
    id: str
    category: str
    phrase: str
    actor: str
    source: str
    stride: int
    clips: tuple[str, ...]


@dataclass(frozen=True)
class Pairing:
    subject_category: str
    motion_category: str

    @property
    def id(self) -> str:
        return f"{self.subject_category}/{self.motion_category}"


@dataclass(frozen=True)
class Templates:
    case_id: str
    prompt: str
    image_caption: str
    motion_caption: str


@dataclass(frozen=True)
class Manifest:
    root: Path
    subjects: dict[str, Subject]
    motions: dict[str, Motion]
    pairings: tuple[Pairing, ...]
    backgrounds: dict[str, str]
    templates: Templates
    sources: dict[str, dict[str, Any]]
    digest: str  # SHA-256 over the manifest files: recorded in every result's provenance


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ManifestError("manifest file is missing", file=path, fix="restore it from the jtbench repository")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ManifestError(f"not valid YAML: {exc}", file=path, fix="correct the YAML syntax") from exc
    if not isinstance(data, dict):
        raise ManifestError("expected a mapping at the top level", file=path, fix="see data_manifests/ for the form")
    return data


def _field(entry: Any, key: str, path: Path, where: str, kind: type | tuple[type, ...] = str) -> Any:
    if not isinstance(entry, dict) or key not in entry:
        raise ManifestError(f"{where}: missing key {key!r}", file=path, fix=f"add {key!r} to {where}")
    value = entry[key]
    if not isinstance(value, kind):
        raise ManifestError(
            f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}",
            file=path,
            fix=f"correct {where}.{key}",
        )
    return value


def _choice(value: str, allowed: tuple[str, ...], path: Path, where: str) -> str:
    if value not in allowed:
        raise ManifestError(
            f"{where}: {value!r} is not one of {', '.join(allowed)}", file=path, fix="use a listed value"
        )
    return value


def _section(data: dict[str, Any], key: str, path: Path) -> Any:
    if key not in data:
        raise ManifestError(f"missing top-level key {key!r}", file=path, fix=f"add a {key!r} section")
    return data[key]


def load_manifest(root: Path | None = None) -> Manifest:
    """Read and validate every manifest file under ``root`` (default: ``data_manifests/``)."""
    root = Path(root) if root is not None else manifests_dir()
    return _load(root.resolve())


@lru_cache(maxsize=4)
def _load(root: Path) -> Manifest:
    files = {
        name: root / f"{name}.yaml" for name in ("subjects", "motions", "pairings", "backgrounds", "prompts", "sources")
    }
    raw = {name: _read_yaml(path) for name, path in files.items()}

    subjects: dict[str, Subject] = {}
    path = files["subjects"]
    for sid, entry in _section(raw["subjects"], "subjects", path).items():
        where = f"subjects.{sid}"
        subjects[sid] = Subject(
            id=sid,
            category=_choice(_field(entry, "category", path, where), SUBJECT_CATEGORIES, path, where + ".category"),
            phrase=_field(entry, "phrase", path, where),
            source=_choice(_field(entry, "source", path, where), SOURCES, path, where + ".source"),
            concept=_field(entry, "concept", path, where),
        )

    motions: dict[str, Motion] = {}
    path = files["motions"]
    for mid, entry in _section(raw["motions"], "motions", path).items():
        where = f"motions.{mid}"
        clips = _field(entry, "clips", path, where, list)
        if not clips or not all(isinstance(c, str) for c in clips):
            raise ManifestError(
                f"{where}.clips: expected a non-empty list of clip names", file=path, fix="list the clips"
            )
        motions[mid] = Motion(
            id=mid,
            category=_choice(_field(entry, "category", path, where), MOTION_CATEGORIES, path, where + ".category"),
            phrase=_field(entry, "phrase", path, where),
            actor=_field(entry, "actor", path, where),
            source=_choice(_field(entry, "source", path, where), SOURCES, path, where + ".source"),
            stride=_field(entry, "stride", path, where, int),
            clips=tuple(clips),
        )

    path = files["pairings"]
    pairings = []
    for i, entry in enumerate(_section(raw["pairings"], "pairings", path)):
        where = f"pairings[{i}]"
        pairings.append(
            Pairing(
                _choice(_field(entry, "subject_category", path, where), SUBJECT_CATEGORIES, path, where),
                _choice(_field(entry, "motion_category", path, where), MOTION_CATEGORIES, path, where),
            )
        )

    path = files["backgrounds"]
    backgrounds = _section(raw["backgrounds"], "backgrounds", path)
    if not isinstance(backgrounds, dict) or not all(isinstance(v, str) for v in backgrounds.values()):
        raise ManifestError("backgrounds: expected id: phrase pairs", file=path, fix="write `grass: on the grass`")

    path = files["prompts"]
    templates = Templates(**{k: _field(raw["prompts"], k, path, "prompts") for k in Templates.__dataclass_fields__})

    sources = _section(raw["sources"], "sources", files["sources"])
    digest = hashlib.sha256(b"".join(files[n].read_bytes() for n in sorted(files))).hexdigest()
    return Manifest(root, subjects, motions, tuple(pairings), dict(backgrounds), templates, dict(sources), digest)
