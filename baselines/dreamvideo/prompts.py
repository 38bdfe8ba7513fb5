"""DreamVideo's learned subject token in prompts: the placeholder and where it replaces the subject phrase.

Used when training the textual inversion (``adapter.py``) and when sampling (``sampling.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jtbench.errors import InputError


def placeholder_for(cfg: dict[str, Any], subject: str) -> str:
    return str(cfg["textual_inversion"]["placeholder"]).format(subject=subject)


def replace_phrase(text: str, phrase: str, token: str, *, file: Path | None = None) -> str:
    """Put the placeholder where the subject phrase stands ("A bear plushie walking." → "A <bear_plushie> walking.")."""
    lower = text.lower()
    at = lower.find(phrase.lower())
    if at < 0:
        raise InputError(f"the prompt {text!r} does not contain the subject phrase {phrase!r}", file=file,
                         fix="DreamVideo swaps the phrase for its learned token; sample prompts of this subject")
    return text[:at] + token + text[at + len(phrase):]
