"""`jtbench data prepare|verify`: build and check the prepared layout of SPEC §2."""

from __future__ import annotations

import typer

app = typer.Typer(help="Prepare and verify the benchmark data (subjects/<id>/00.jpg, motions/<id>/00.mp4).")
