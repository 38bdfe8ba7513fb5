"""The submission record of a bundle (SPEC §8 ``submission.json``): what the submitter declares, checked.

Leaderboards lose trust when who sampled and evaluated, the seed rule or prompt rewriting are guessed
after the fact (VBench#130, #154, #163): here they are required fields of the ``--info`` file and are
copied as written, never filled in. Facts the results already hold (jtbench version, metric versions,
weight digests, reference set, backbones) are taken from the rows, not from the submitter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from jtbench.errors import InputError

ACCESS = ("open", "closed", "api")
#: Declared by the submitter in the --info file (every one required; see ``check_info``).
INFO_REQUIRED = (
    "model_name", "revision", "model_link", "team", "contact", "access", "sampled_by", "evaluated_by",
    "seed_rule", "samples_per_case", "resolution", "fps", "frames", "prompt_rewriting",
)  # fmt: skip
#: May be given: ``prompt_rewriting_how`` becomes required when ``prompt_rewriting`` is true;
#: ``base_model`` / ``method`` must then agree with the rows; ``slice`` defaults to ``full``.
INFO_OPTIONAL = ("prompt_rewriting_how", "base_model", "method", "slice", "date", "venue", "video_license", "notes")
#: Taken from the results rows and the run's provenance, never from the submitter.
FROM_RESULTS = ("jtbench_version", "metric_versions", "weights_sha256", "reference_set", "backbones", "created_at")
#: Recorded by ``jtbench bundle`` itself.
FROM_BUNDLE = ("format", "slice_cases", "rows", "videos_included", "allow_missing", "missing_cells")
#: Every key of submission.json, in the order written.
SUBMISSION_FIELDS = (
    "format", *INFO_REQUIRED[:5], "access", "base_model", "method", *INFO_REQUIRED[6:], "prompt_rewriting_how",
    *FROM_RESULTS, "slice", "slice_cases", "rows", "videos_included", "allow_missing", "missing_cells",
    "date", "venue", "video_license", "notes",
)  # fmt: skip
FORMAT = "jtbench-bundle/1"
SLICES = ("full", "demo")  # or an explicit list of case ids


def read_info(path: str | Path) -> dict[str, Any]:
    """The ``--info`` file (YAML or JSON: JSON is YAML) as a mapping, checked by :func:`check_info`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the submission info: {exc}", file=path, fix="pass a YAML or JSON file") from exc
    if not isinstance(data, dict):
        raise InputError("the submission info is not a mapping of fields", file=path, fix="write key: value lines")
    return check_info(data, path)


def _problems(info: Mapping[str, Any]) -> list[str]:
    """Every problem of the declared fields (missing ones first, all listed at once)."""
    missing = [k for k in INFO_REQUIRED if info.get(k) in (None, "")]
    out = [f"missing required field(s): {', '.join(missing)}"] if missing else []
    unknown = sorted(set(info) - set(INFO_REQUIRED) - set(INFO_OPTIONAL))
    if unknown:
        out.append(f"unknown field(s): {', '.join(unknown)} (allowed: {', '.join((*INFO_REQUIRED, *INFO_OPTIONAL))})")
    if info.get("access") not in (None, "") and info["access"] not in ACCESS:
        out.append(f"access must be one of {', '.join(ACCESS)}, not {info['access']!r}")
    link = info.get("model_link")
    if link not in (None, "") and not re.match(r"^https?://\S+$", str(link)):
        out.append(f"model_link must be an http(s) URL, not {link!r}")
    for key in ("samples_per_case", "frames"):
        value = info.get(key)
        if value not in (None, "") and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            out.append(f"{key} must be a positive integer, not {value!r}")
    fps = info.get("fps")
    if fps not in (None, "") and (isinstance(fps, bool) or not isinstance(fps, (int, float)) or fps <= 0):
        out.append(f"fps must be a positive number, not {fps!r}")
    resolution = info.get("resolution")
    if resolution not in (None, "") and not re.match(r"^\d+x\d+$", str(resolution)):
        out.append(f"resolution must read WIDTHxHEIGHT (e.g. 576x320), not {resolution!r}")
    rewriting = info.get("prompt_rewriting")
    if rewriting not in (None, "") and not isinstance(rewriting, bool):
        out.append(f"prompt_rewriting must be true or false, not {rewriting!r}")
    if rewriting is True and not str(info.get("prompt_rewriting_how") or "").strip():
        out.append("prompt_rewriting is true: say how in prompt_rewriting_how (model, instruction, prompts file)")
    slice_ = info.get("slice", "full")
    if not (slice_ in SLICES or (isinstance(slice_, list) and slice_ and all(isinstance(c, str) for c in slice_))):
        out.append(f"slice must be one of {', '.join(SLICES)} or a list of case ids, not {slice_!r}")
    return out


def check_info(info: Mapping[str, Any], source: str | Path = "submission info") -> dict[str, Any]:
    """The declared fields, or one error listing every problem (a submitter fixes them in one go)."""
    problems = _problems(info)
    if problems:
        raise InputError(
            "; ".join(problems), file=source,
            fix="see the submission fields in `jtbench bundle --help` and SPEC §8; nothing is filled in for you",
        )  # fmt: skip
    out = dict(info)
    out.setdefault("slice", "full")
    return out


def check_submission(record: Mapping[str, Any]) -> list[str]:
    """Problems of a bundle's submission.json (validate): declared fields as above, and every recorded key."""
    problems = _problems({k: record.get(k) for k in (*INFO_REQUIRED, *INFO_OPTIONAL) if k in record})
    absent = [k for k in (*FROM_RESULTS, *FROM_BUNDLE) if k not in record]
    if absent:
        problems.append(f"fields jtbench records are absent: {', '.join(absent)}")
    if record.get("format") != FORMAT:
        problems.append(f"format is {record.get('format')!r}, this jtbench reads {FORMAT!r}")
    return problems


def ordered(record: Mapping[str, Any]) -> dict[str, Any]:
    """submission.json's keys in :data:`SUBMISSION_FIELDS` order (optional fields not given are left out)."""
    return {k: record[k] for k in SUBMISSION_FIELDS if k in record}


def slice_cases(slice_: str | list[str]) -> list[str]:
    """The case ids a submission declares: ``full`` (all 450), ``demo`` (the demo slice) or an explicit list."""
    from jtbench.benchmark import Benchmark

    bench = Benchmark.load()
    if isinstance(slice_, list):
        known = {c.case_id for c in bench.cases()}
        unknown = [c for c in slice_ if c not in known]
        if unknown:
            fix = "see `jtbench list prompts`"
            raise InputError(f"slice names unknown case ids: {', '.join(unknown[:8])}", fix=fix)
        return sorted(set(slice_))
    if slice_ == "demo":
        from jtbench.benchmark.demo import demo_backgrounds, demo_combinations

        return sorted(c.case_id for c in bench.cases(demo_backgrounds(), demo_combinations(bench)))
    return sorted(c.case_id for c in bench.cases())
