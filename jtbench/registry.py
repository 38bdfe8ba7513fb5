"""One generic registry for metrics, backbones and methods.

Entries are objects or lazy ``"module:attr"`` strings resolved on first use, so registering a
heavy back-end costs nothing until it is asked for. Third parties add entries through the
entry-point group given at construction (e.g. ``jtbench.methods``).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from jtbench.errors import UnknownNameError

T = TypeVar("T")


def import_target(target: str) -> object:
    """Resolve ``"package.module:attr"`` (``attr`` may be dotted)."""
    module_name, _, attr = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Name → entry mapping with aliases, lazy targets, entry points and did-you-mean errors."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._aliases: dict[str, str] = {}
        self._entry_points_loaded = False

    def register(self, name: str, *, aliases: tuple[str, ...] = (), replace: bool = False) -> Callable[[T], T]:
        """Decorator form: ``@METRICS.register("clip_t")``."""

        def decorator(obj: T) -> T:
            self.add(name, obj, aliases=aliases, replace=replace)
            return obj

        return decorator

    def add(self, name: str, obj: T | str, *, aliases: tuple[str, ...] = (), replace: bool = False) -> None:
        """Register ``obj`` (or a lazy ``"module:attr"`` string) under ``name``."""
        if not replace and name in self._entries and self._entries[name] is not obj:
            existing = self._entries[name]
            # Re-registering the lazy target's resolved object is the normal lazy-load path.
            if not (isinstance(existing, str) and not isinstance(obj, str)):
                raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj
        for alias in aliases:
            self._aliases[alias] = name

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded or self.entry_point_group is None:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._entries:
                self._entries[ep.name] = ep.value

    def canonical(self, name: str) -> str:
        self._load_entry_points()
        name = self._aliases.get(name, name)
        if name not in self._entries:
            choices = sorted(set(self._entries) | set(self._aliases))
            close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"choose one of: {', '.join(choices)}"
            raise UnknownNameError(f"unknown {self.kind} {name!r}", fix=hint)
        return name

    def get(self, name: str) -> T:
        """The entry for ``name`` or an alias; lazy targets are imported now."""
        key = self.canonical(name)
        entry = self._entries[key]
        if isinstance(entry, str):
            resolved = import_target(entry)
            # Importing the target may have registered it through a decorator already.
            current = self._entries[key]
            entry = current if not isinstance(current, str) else resolved
            self._entries[key] = entry
        return entry  # type: ignore[return-value]

    def names(self, pattern: str = "*") -> list[str]:
        self._load_entry_points()
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return isinstance(name, str) and (name in self._entries or name in self._aliases)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
