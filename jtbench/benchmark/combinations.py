"""Pairing rules → 90 combinations → 450 prompt cases.

Prompts are not unique (four motions read "walking"); the case_id is the key.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from jtbench.benchmark.manifest import Manifest, load_manifest
from jtbench.errors import InputError


@dataclass(frozen=True)
class Combination:
    subject: str
    motion: str
    subject_category: str
    motion_category: str

    @property
    def pairing(self) -> str:
        return f"{self.subject_category}/{self.motion_category}"

    @property
    def id(self) -> str:
        return f"{self.subject}__{self.motion}"


@dataclass(frozen=True)
class PromptCase:
    case_id: str
    subject: str
    motion: str
    background: str
    prompt: str
    subject_category: str
    motion_category: str
    pairing: str

    @property
    def combination_id(self) -> str:
        return f"{self.subject}__{self.motion}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


PREPARE_FIX = "run `jtbench data prepare --source jointtuner=PATH` (the JointTuner release; see its --help)"


def _match(value: str, wanted: str | Sequence[str] | None) -> bool:
    if wanted is None:
        return True
    patterns = [wanted] if isinstance(wanted, str) else list(wanted)
    return any(fnmatch.fnmatch(value, p) for p in patterns)


class Benchmark:
    """The validated benchmark: one source of truth for combinations, prompts and references."""

    def __init__(self, manifest: Manifest, data_root: Path | None = None) -> None:
        self.manifest = manifest
        self.data_root = Path(data_root) if data_root is not None else None

    @classmethod
    def load(cls, manifests: Path | None = None, data_root: Path | None = None) -> Benchmark:
        return cls(load_manifest(manifests), data_root)

    # -- combinations and cases -------------------------------------------------------------
    def combinations(
        self,
        *,
        subject: str | Sequence[str] | None = None,
        motion: str | Sequence[str] | None = None,
        subject_category: str | Sequence[str] | None = None,
        motion_category: str | Sequence[str] | None = None,
        pairing: str | Sequence[str] | None = None,
    ) -> list[Combination]:
        """Every compatible (subject, motion), in manifest order, filtered (glob patterns allowed)."""
        m = self.manifest
        allowed = {(p.subject_category, p.motion_category) for p in m.pairings}
        out = []
        for s in m.subjects.values():
            for mo in m.motions.values():
                if (s.category, mo.category) not in allowed:
                    continue
                combo = Combination(s.id, mo.id, s.category, mo.category)
                if (
                    _match(s.id, subject)
                    and _match(mo.id, motion)
                    and _match(s.category, subject_category)
                    and _match(mo.category, motion_category)
                    and _match(combo.pairing, pairing)
                ):
                    out.append(combo)
        return out

    def case(self, combination: Combination, background: str) -> PromptCase:
        m = self.manifest
        if background not in m.backgrounds:
            raise InputError(f"unknown background {background!r}", fix=f"use one of {', '.join(m.backgrounds)}")
        subject, motion = m.subjects[combination.subject], m.motions[combination.motion]
        case_id = m.templates.case_id.format(subject=subject.id, motion=motion.id, background=background)
        prompt = m.templates.prompt.format(
            subject_phrase=subject.phrase, motion_phrase=motion.phrase, background_phrase=m.backgrounds[background]
        )
        return PromptCase(
            case_id, subject.id, motion.id, background, prompt, subject.category, motion.category, combination.pairing
        )

    def cases(
        self,
        backgrounds: str | Sequence[str] | None = None,
        combinations: Iterable[Combination] | None = None,
        **filters,
    ) -> list[PromptCase]:
        """Prompt cases: each combination on each (selected) background."""
        combos = list(combinations) if combinations is not None else self.combinations(**filters)
        bgs = [b for b in self.manifest.backgrounds if _match(b, backgrounds)]
        return [self.case(c, b) for c in combos for b in bgs]

    def case_by_id(self, case_id: str) -> PromptCase:
        """Parse and validate ``<subject>__<motion>__<background>``."""
        parts = case_id.split("__")
        m = self.manifest
        if len(parts) != 3 or parts[0] not in m.subjects or parts[1] not in m.motions or parts[2] not in m.backgrounds:
            raise InputError(
                f"unknown case_id {case_id!r}",
                fix="case ids read <subject>__<motion>__<background>; see `jtbench list prompts`",
            )
        combo = self.combinations(subject=parts[0], motion=parts[1])
        if not combo:
            raise InputError(
                f"case_id {case_id!r} pairs an incompatible subject and motion", fix="see `jtbench list combinations`"
            )
        return self.case(combo[0], parts[2])

    def cases_by_prompt(self, prompt: str) -> list[PromptCase]:
        """All cases with this prompt text (several for the "walking" motions)."""
        return [c for c in self.cases() if c.prompt == prompt]

    # -- training captions ------------------------------------------------------------------
    def image_caption(self, subject: str) -> str:
        return self.manifest.templates.image_caption.format(subject_phrase=self.manifest.subjects[subject].phrase)

    def motion_caption(self, motion: str) -> str:
        mo = self.manifest.motions[motion]
        return self.manifest.templates.motion_caption.format(actor=mo.actor, motion_phrase=mo.phrase)

    # -- references (prepared layout: SPEC §2) ----------------------------------------------
    def _require_root(self) -> Path:
        if self.data_root is None:
            raise InputError("no prepared data folder given", fix="pass --data DIR (made by `jtbench data prepare`)")
        return self.data_root

    def subject_images(self, subject: str) -> list[Path]:
        return sorted((self._require_root() / "subjects" / subject).glob("*.jpg"))

    def motion_clips(self, motion: str, frames: int | None = None) -> list[Path]:
        """The motion's training clips: of ``motions/`` (16 frames), or of the set of exactly
        ``frames`` frames (``motions_49f/`` for 49, the DiT bases' length) when given."""
        from jtbench.benchmark.prepared import MOTION_SETS

        folder = "motions"
        if frames is not None:
            matching = [s.folder for s in MOTION_SETS if s.frames == frames]
            if not matching:
                raise InputError(f"no prepared motion set has {frames}-frame clips",
                                 fix=f"use one of {', '.join(f'{s.frames} ({s.folder}/)' for s in MOTION_SETS)}")
            folder = matching[0]
        return sorted((self._require_root() / folder / motion).glob("*.mp4"))

    def reference_image(self, subject: str) -> Path:
        """The subject's ``00.jpg`` (CLIP-I reference)."""
        path = self._require_root() / "subjects" / subject / "00.jpg"
        if not path.is_file():
            raise InputError("reference image is missing", file=path, fix=PREPARE_FIX)
        return path

    def reference_video(self, motion: str, frames: int | None = None) -> Path:
        """The motion's ``00.mp4`` (Mot-Fid reference): of the set that fits a ``frames``-frame
        video (``motions/`` 16 frames, ``motions_49f/`` 49; :func:`~jtbench.benchmark.prepared.motion_clip`),
        of ``motions/`` when ``frames`` is None."""
        from jtbench.benchmark.prepared import motion_clip

        root = self._require_root()
        path = motion_clip(root, motion, frames)
        if path is None:
            path = root / "motions" / motion / "00.mp4"
            raise InputError("reference video is missing", file=path, fix=PREPARE_FIX)
        return path
