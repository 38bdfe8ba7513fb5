"""`jtbench export hf`: bundles as a Hugging Face dataset folder that ``datasets.load_dataset(DIR, name)`` reads.

Layout (the Hub's manual-configuration convention): ``README.md`` whose YAML header lists three
``configs`` (``prompts``: the 450 cases with their categories; ``leaderboard``: the board's rows, as
``leaderboard.csv``; ``per_video``: every bundled row) each pointing at
``data/<config>/test-0000k-of-0000N.parquet``; and, for bundles that carry videos,
``videos/<submission>/`` as a video folder (``metadata.jsonl`` with ``file_name``, and a small README
whose ``configs`` name the files, since ``datasets`` would read "train" in a case id as a split). The card states the
licences (the sources' own for the benchmark media, jtbench's for its code and tables, the submitter's
for the videos) and how every number was computed.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from jtbench.io.atomic import write_text
from jtbench.metrics.base import PAPER_COLUMNS
from jtbench.paths import manifests_dir
from jtbench.share.archive import BundleArchive
from jtbench.share.leaderboard import Entry, board, board_columns, load_entries, main_references, per_video_rows

CONFIGS = ("prompts", "leaderboard", "per_video")
SPLIT = "test"
SHARD_ROWS = 10_000
#: Each video folder names its files and split: left to inference, a case id such as
#: ``backpack__train_turning__grass`` reads as a "train" split to ``datasets``.
VIDEOFOLDER_CARD = """---
configs:
- config_name: default
  data_files:
  - split: test
    path:
    - metadata.jsonl
    - '**/*.mp4'
---
Generated videos of one submission, named <case_id>/<seed>.mp4; metadata.jsonl gives each file's case, prompt,
SHA-256 and per-video metric values. Load with datasets.load_dataset(THIS_FOLDER, split="test").
"""


def submission_slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-") or "submission"


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """A table whose all-null columns are typed as strings (datasets cannot infer a type from nulls)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields))


def write_shards(frame: pd.DataFrame, folder: Path, rows_per_shard: int = SHARD_ROWS) -> list[Path]:
    """``test-0000k-of-0000N.parquet`` shards of at most ``rows_per_shard`` rows (one, even when empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = max(1, -(-len(frame) // rows_per_shard))
    paths = []
    for k in range(n):
        path = folder / f"{SPLIT}-{k:05d}-of-{n:05d}.parquet"
        pq.write_table(_arrow(frame.iloc[k * rows_per_shard : (k + 1) * rows_per_shard]), path)
        paths.append(path)
    return paths


def prompts_frame() -> pd.DataFrame:
    """The benchmark's prompt cases with their categories (``jtbench list prompts`` columns)."""
    from jtbench.benchmark import Benchmark

    return pd.DataFrame([c.as_dict() for c in Benchmark.load().cases()])


def _videofolder(entry: Entry, out: Path) -> int:
    """``videos/<submission>/<case>/<seed>.mp4`` + ``metadata.jsonl``; 0 when the bundle has no videos."""
    rows = entry.bundle.rows
    folder = out / "videos" / submission_slug(entry.label)
    written = 0
    with BundleArchive(entry.bundle.path) as archive:
        lines = []
        for row in rows.to_dict("records"):
            if row["video"] not in archive.names:
                continue
            target = folder / row["video"].removeprefix("videos/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(row["video"]))
            written += 1
            meta = {"file_name": target.relative_to(folder).as_posix(), "case_id": row["case_id"], "seed": row["seed"],
                    "prompt": row["prompt"], "method": row["method"], "video_sha256": row["video_sha256"],
                    **{c: row[c] for c in PAPER_COLUMNS}}  # fmt: skip
            lines.append(json.dumps({k: None if pd.isna(v) else v for k, v in meta.items()}, default=int))
    if written:
        write_text(folder / "metadata.jsonl", "\n".join(lines) + "\n")
        write_text(folder / "README.md", VIDEOFOLDER_CARD)
    return written


def export_hf(bundles: Sequence[str | Path], out: str | Path, *, rows_per_shard: int = SHARD_ROWS) -> Path:
    """Write the dataset folder ``out`` (data/, videos/, README.md); an existing data/ is replaced."""
    out = Path(out)
    entries = load_entries(bundles)
    frame = board(entries, main_references())
    shutil.rmtree(out / "data", ignore_errors=True)
    frames = {"prompts": prompts_frame(), "leaderboard": frame[board_columns(frame)],
              "per_video": per_video_rows(entries)}  # fmt: skip
    for name in CONFIGS:
        write_shards(frames[name], out / "data" / name, rows_per_shard)
    videos = {entry.label: _videofolder(entry, out) for entry in entries}
    write_text(out / "README.md", dataset_card(entries, frames, videos))
    return out


def _licences() -> list[str]:
    sources = yaml.safe_load((manifests_dir() / "sources.yaml").read_text())["sources"]
    return [f"- {name} ({s.get('url')}): {s.get('licence')}" for name, s in sources.items()]


def _jtbench_licence() -> str:
    try:
        meta = metadata.metadata("jtbench")
        return meta.get("License-Expression") or meta.get("License") or "see the jtbench repository"
    except metadata.PackageNotFoundError:
        return "see the jtbench repository"


def _submission_line(entry: Entry, videos: int) -> str:
    s = entry.bundle.submission
    licence = s.get("video_license") or "not stated by the submitter"
    return (
        f"- {entry.label}: method {s['method']} on {s['base_model']}, sampled by {s['sampled_by']}, evaluated by "
        f"{entry.evaluated_by}; backbones {s.get('backbones')}; videos here: {videos} (licence: {licence}); "
        f"bundle sha256 {entry.sha256}"
    )


def dataset_card(entries: Sequence[Entry], frames: dict[str, pd.DataFrame], videos: dict[str, int]) -> str:
    """README.md: the YAML header (configs → Parquet data_files) and the card's text."""
    header = {
        "pretty_name": "JointTuner benchmark results (jtbench)",
        "license": "other",
        "tags": ["text-to-video", "video-generation", "benchmark", "jtbench"],
        "configs": [{"config_name": name, "data_files": [{"split": SPLIT, "path": f"data/{name}/{SPLIT}-*.parquet"}]}
                    for name in CONFIGS],  # fmt: skip
    }
    versions = sorted({f"{k} {v}" for e in entries for k, v in e.bundle.submission.get("metric_versions", {}).items()})
    subs = [_submission_line(e, videos.get(e.label, 0)) for e in entries]
    body = [
        "# JointTuner benchmark results", "",
        "Results of text-to-video customization methods on the JointTuner benchmark (15 subjects × 12 motions, "
        "90 combinations × 5 backgrounds = 450 prompt cases), exported by `jtbench export hf` from submission bundles.",
        "", "## Configs", "",
        f"- `prompts` ({len(frames['prompts'])} rows): case_id, subject, motion, background, prompt and categories.",
        f"- `leaderboard` ({len(frames['leaderboard'])} rows): the leaderboard's rows (submissions and the paper's "
        "printed reference rows, `kind`), as `jtbench leaderboard` writes them to leaderboard.csv.",
        f"- `per_video` ({len(frames['per_video'])} rows): every scored video of every bundle (SPEC §6 columns, "
        "`submission`, `bundle_sha256`).",
        "- `videos/<submission>/`: the generated videos where a bundle carried them, a video folder with "
        "`metadata.jsonl` (`file_name`).",
        "", "## Submissions", "", *subs,
        "", "## How each number was computed", "",
        "- The ten metrics (CLIP-T, CLIP-I, Mot-Fid, Mot-Smth, Dyn-Deg, Subj-Con, Bkgd-Con, Pick-Sc, Aesth-Q, Img-Q) "
        "are per-video scores from `jtbench score` (0–100 scale; Dyn-Deg 0 or 100 per video); leaderboard values "
        "are means over each submission's videos. Metric versions: " + (", ".join(versions) or "none recorded") + ".",
        "- ARS, NAS and AAS (SPEC §3) are computed by jtbench over the rows of one base-model group (UNet or DiT) "
        "including the paper's reference rows: they are relative to the rows compared.",
        "- Columns named `<Metric>@<Paper>` are other papers' metrics (profiles) on their own scale, never in the "
        "composites.",
        "- Paper rows are the values printed in the JointTuner paper; their composites are recomputed, not copied.",
        "- 'Evaluated by' says re-scored by jtbench only where `jtbench validate` re-scored a sample of the bundle's "
        "videos and passed; otherwise it is the submitter's statement (self-reported).",
        "", "## Licences", "",
        f"- jtbench's code and the tables it writes (this card, the Parquet files): {_jtbench_licence()}.",
        "- The benchmark's media keep their sources' own licences (they are not redistributed here):", *_licences(),
        "- Generated videos: the licence each submitter states (listed above).",
    ]  # fmt: skip
    return "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n\n" + "\n".join(body) + "\n"
