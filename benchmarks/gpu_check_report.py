"""The Markdown view of a ``gpu_check.py`` results file (also what it prints at the end)."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return ["(nothing measured)", ""]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _items(data: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    return data.get("stages", {}).get(stage, {}).get("items", [])


def render(data: dict[str, Any]) -> str:
    pre = data.get("preflight", {})
    title = "tiny code-path check (NOT real-size figures)" if data.get("tiny") else "real-size, random weights"
    out = [
        f"# gpu-check: {data.get('device_name')} ({data.get('device')}), {data.get('started')}",
        "",
        f"{title}; budget {data.get('budget_s')} s, took {_fmt(data.get('wall_s'))} s. "
        f"torch {pre.get('torch')}, CUDA {pre.get('cuda_runtime')}, diffusers {pre.get('diffusers')}, "
        f"jtbench {pre.get('jtbench')}" + (f", {pre.get('free_gib')} of {pre.get('total_gib')} GiB free" if
                                           pre.get("total_gib") else "") + ".",
        f"Command: `{data.get('command')}`",
        "",
    ]
    if data.get("aborted"):
        out += [f"**Aborted:** {data['aborted']}", ""]
    out += ["## Stages", ""]
    out += _table(["stage", "status", "slice s", "wall s", "note"], [
        [name, s.get("status"), s.get("slice_s"), s.get("wall_s"), s.get("reason", "")]
        for name, s in data.get("stages", {}).items()
    ])
    scoring = [r for r in _items(data, "scoring") if r.get("side")]
    out += ["## Scoring (nine metrics; one video per run, model loads apart)", ""]
    out += _table(["video", "structure", "status", "s/video", "videos/min", "load s", "decode s", "peak GiB"], [
        [r.get("video"), r.get("side"), r["status"], r.get("per_video_s"), r.get("videos_per_min"), r.get("load_s"),
         r.get("decode_s"), r.get("peak_gib")] for r in scoring
    ])
    comparison = data.get("stages", {}).get("scoring", {}).get("comparison", {})
    if comparison:
        out += _table(["video", "official / jtbench", "projected min (jtbench)", "projected min (official)"], [
            [video, c.get("ratio"), *next((v for k, v in c.items() if k.startswith("projected")), {}).values()]
            for video, c in comparison.items()
        ])
    done = [r for r in scoring if r["status"] == "done"]
    if done:
        metrics = list(done[0].get("metrics_s", {}))
        out += ["Per-metric seconds:", ""]
        out += _table(["video", "structure", *metrics],
                      [[r["video"], r["side"], *(r["metrics_s"].get(m) for m in metrics)] for r in done])
    out += ["## Training (a few steps after warm-up)", ""]
    out += _table(["method", "unit", "status", "res", "frames", "precision", "s/step", "peak GiB", "full steps",
                   "projected min"], [
        [r.get("method"), r.get("unit"), r["status"], r.get("resolution"), r.get("frames"), r.get("precision"),
         r.get("s_per_step"), r.get("peak_gib"), r.get("full_steps"), r.get("projected_full_min")]
        for r in _items(data, "training") if r.get("method") or r["status"] != "done"
    ])
    per_combo = data.get("stages", {}).get("training", {}).get("per_combination", {})
    if per_combo:
        out += ["Per combination (sum of its units' steps; loading and latent caching not included):", ""]
        out += _table(["method", "units", "projected min", "peak GiB"],
                      [[m, "+".join(c["units"]), c["projected_full_min"], c["peak_gib"]] for m, c in per_combo.items()])
    out += ["## Sampling (one video per method, configured steps)", ""]
    out += _table(["method", "status", "sampler steps", "s/video", "peak GiB"], [
        [r.get("method") or r["item"], r["status"], r.get("sample_steps"), r.get("s_per_video"), r.get("peak_gib")]
        for r in _items(data, "sampling")
    ])
    dit = _items(data, "dit")
    if dit:
        out += ["## DiT: JointTuner on CogVideoX-2B (cached text/latents, gradient checkpointing)", ""]
        out += _table(["item", "status", "precision", "clip", "s/step clip", "s/step image", "peak GiB",
                       "projected min", "s/sampler step", "projected s/video"], [
            [r["item"], r["status"], r.get("precision"), f"{r.get('frames')}x{r.get('height')}x{r.get('width')}",
             r.get("s_per_step_video"), r.get("s_per_step_image"), r.get("peak_gib"), r.get("projected_full_min"),
             r.get("s_per_sampler_step"), r.get("projected_s_per_video")] for r in dit
        ])
    problems = [(stage, r) for stage in data.get("stages", {}) for r in _items(data, stage)
                if r["status"] not in ("done",)]
    if problems:
        out += ["## Not measured", ""]
        out += [f"- {stage} / {r['item']}: {r['status']} — {r.get('reason', '')}" for stage, r in problems] + [""]
    flagged = []
    for row in _items(data, "scoring"):
        found = row.get("problems") or []
        flagged += [(row["item"], f"{k}: {v}" if isinstance(found, dict) else k) for k, v in (
            found.items() if isinstance(found, dict) else ((p, None) for p in found))]
    if flagged:  # a metric that failed inside a run (e.g. out of memory): its seconds are not comparable
        out += ["## Metric problems inside the scoring runs", ""]
        out += [f"- {item}: {problem}" for item, problem in flagged] + [""]
    return "\n".join(out)
