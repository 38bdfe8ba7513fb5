"""The LaTeX output compiles with pdflatex + booktabs (installed by `make latex`; skipped when absent)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from jtbench.report import gather, report_text
from jtbench.report.build import ReportOptions

PREAMBLE = "\\documentclass{article}\n\\usepackage[margin=1cm,landscape]{geometry}\n\\usepackage{booktabs}\n"


def _have_latex() -> bool:
    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        return False
    return subprocess.run(["kpsewhich", "booktabs.sty"], capture_output=True, text=True).stdout.strip() != ""


@pytest.mark.skipif(not _have_latex(), reason="pdflatex with booktabs not installed (run `make latex`)")
def test_latex_tables_compile_with_booktabs(results_dir, tmp_path):
    tables = [report_text(gather(references=n), fmt="latex") for n in ("paper-zeroscope", "paper-ablation")]
    # result rows with characters LaTeX treats specially, CIs (en dashes) and per-category groups
    tables.append(
        report_text(
            gather([results_dir], "paper-zeroscope"), fmt="latex", options=ReportOptions(ci=True, ci_resamples=50)
        )
    )
    tables.append(
        report_text(
            gather([results_dir]), fmt="latex", table="per-category", options=ReportOptions(breakdowns=("pairing",))
        )
    )
    for i, text in enumerate(tables):
        (tmp_path / f"t{i}.tex").write_text(text)
    body = "".join(f"\\input{{t{i}.tex}}\n\\clearpage\n" for i in range(len(tables)))
    (tmp_path / "doc.tex").write_text(PREAMBLE + "\\begin{document}\n" + body + "\\end{document}\n")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert "Undefined control sequence" not in log and "Missing" not in log
