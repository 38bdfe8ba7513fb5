"""README and CLI cannot drift: the quick start's offline lines run, every documented command parses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jtbench.cli.app import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands(block: str) -> list[list[str]]:
    """The ``jtbench`` command lines of a fenced block: continuations joined, comments, ``...`` and pipes dropped."""
    text = block.replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        words = shlex.split(line.split(" | ")[0], comments=True)
        if words[:1] == ["jtbench"]:
            commands.append([w for w in words[1:] if w != "..."])
    return commands


def _blocks(markdown: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", markdown, flags=re.S)


def _quick_start_offline() -> list[list[str]]:
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return _commands(_blocks(section)[0])


def test_quick_start_offline_lines_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    commands = _quick_start_offline()
    assert [c[:2] for c in commands][:2] == [["list", "prompts"], ["data", "prepare"]], "the quick start moved"
    runner = CliRunner()
    for args in commands:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, f"README line `jtbench {shlex.join(args)}` failed:\n{result.output}"
    assert (tmp_path / "demo_data" / "jtbench-data.lock.json").is_file()


def _documented() -> list[list[str]]:
    return [c for block in _blocks(README.read_text()) for c in _commands(block)]


@pytest.mark.parametrize("args", _documented(), ids=lambda a: " ".join(a[:3]))
def test_every_documented_command_parses(args):
    """Each README command line with --help appended: unknown commands or options fail to parse."""
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"`jtbench {shlex.join(args)}` does not parse:\n{result.output}"
